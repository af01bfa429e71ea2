"""``derivkit --help`` and every command's help: each example runs; every command module is
registered; the parser and a derivation import only what they need (the cold start)."""

from __future__ import annotations

import argparse
import io
import json
import pkgutil
import shlex
import subprocess
import sys

import pytest

import derivkit.cli
from derivkit.cli import HELPERS, build_parser, main


def _commands() -> dict[str, argparse.ArgumentParser]:
    for action in build_parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no subcommands")


def _cut_comment(line: str) -> str:
    """An example line without its comment: the text before two spaces outside quotes."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif line.startswith("  ", i):
            return line[:i]
    return line


def examples() -> list[tuple[str, str]]:
    out = []
    for name, parser in _commands().items():
        for line in (parser.epilog or "").splitlines():
            line = line.strip()
            if line.startswith(("derivkit ", "echo ")):
                out.append((name, _cut_comment(line)))
    return out


EXAMPLES = examples()
#: Files that examples read, as a user would have them.
EXAMPLE_FILES = {
    "answers.jsonl": '{"id": "q1", "expr": "x^2", "claimed": "2x", "wrt": "x"}\n'
                     '{"id": "q2", "expr": "sin(x)", "claimed": "-cos(x)", "wrt": "x"}\n',
    "answers.yaml": "- id: q1\n  expr: x^2\n  claimed: 2x\n  wrt: x\n",
}
#: Commands that run until stopped (a server): their examples are shown, and tested where the command is.
LONG_RUNNING = {"serve"}


def test_every_command_has_examples_in_its_help():
    per_command = {name: [e for n, e in EXAMPLES if n == name] for name in _commands()}
    assert all(len(lines) >= 2 for lines in per_command.values()), per_command
    for name, lines in per_command.items():
        assert all(f"derivkit {name}" in line for line in lines), (name, lines)
        assert "examples:" in _commands()[name].format_help()


@pytest.mark.parametrize("line", [line for name, line in EXAMPLES if name not in LONG_RUNNING])
def test_each_example_runs(line, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name, content in EXAMPLE_FILES.items():  # the files the examples read
        (tmp_path / name).write_text(content)
    stdin = None
    if line.startswith("echo "):
        left, _, line = line.partition(" | ")
        stdin = shlex.split(left)[1] + "\n"
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    line, _, redirect = line.partition(" > ")  # a shell redirection: the output is what the test reads
    argv = shlex.split(line)
    assert argv[0] == "derivkit"
    code = main(argv[1:])
    out, err = capsys.readouterr()
    assert code == 0 or (code == 1 and argv[1] == "check"), err   # 1: the example's answer is wrong
    assert err == "" and out.strip()
    if "--format" in argv and argv[argv.index("--format") + 1] == "json":
        json.loads(out)


def test_every_module_of_the_package_defines_commands():
    parser_commands = set(_commands())
    for info in pkgutil.iter_modules(derivkit.cli.__path__):
        if info.name in HELPERS:
            continue
        module = __import__(f"derivkit.cli.{info.name}", fromlist=["register"])
        assert callable(getattr(module, "register", None)), f"derivkit/cli/{info.name}.py has no register()"
        sub = argparse.ArgumentParser().add_subparsers()
        module.register(sub)
        assert sub.choices and set(sub.choices) <= parser_commands, info.name


def test_commands_are_listed_in_order():
    names = list(_commands())
    assert names[:4] == ["derive", "grad", "jacobian", "hessian"] and names.index("check") < names.index("train")


def test_top_level_help_states_inputs_and_exit_statuses(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for words in ("exit status:", "  2     bad input", "  130   interrupted", "@FILE", "after --",
                  'echo "sin(x^2)" | derivkit derive -'):
        assert words in out


def _modules_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def test_building_the_parser_imports_neither_sympy_nor_numpy():
    loaded = _modules_after("from derivkit.cli import build_parser; build_parser().format_help()")
    assert not {"sympy", "numpy"} & loaded


def test_a_derivation_imports_no_numpy_checker_training_or_graph():
    loaded = _modules_after("import io, contextlib\nfrom derivkit.cli import main\n"
                            "with contextlib.redirect_stdout(io.StringIO()):\n    main(['derive', 'sin(x^2)'])")
    assert "derivkit.calculus.steps" in loaded
    heavy = {m for m in loaded if m == "numpy" or m.startswith(("derivkit.verify", "derivkit.training",
                                                                 "derivkit.nn", "derivkit.graph",
                                                                 "derivkit.compile", "matplotlib", "tqdm"))}
    assert not heavy, sorted(heavy)


def test_the_render_table_names_the_module_of_every_renderer():
    import importlib

    import derivkit.render as render

    for info in pkgutil.iter_modules(render.__path__):
        importlib.import_module(f"derivkit.render.{info.name}")
    for cls, _fmt in render._REGISTRY:
        module = render.MODULES.get(cls.__name__)
        assert module is not None, f"add {cls.__name__!r}: '<module>' to derivkit.render.MODULES"
        assert any(fn.__module__ == f"derivkit.render.{module}" for (c, _), fn in render._REGISTRY.items()
                   if c is cls), (cls.__name__, module)
