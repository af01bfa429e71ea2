"""Typing: derivkit ships its types (PEP 561), and a type checker sees through the lazy exports."""

from __future__ import annotations

import ast
import importlib
import os
import re
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
mypy_api = pytest.importorskip("mypy.api")


def _type_checking_imports(package: str) -> dict[str, str]:
    """``name -> module`` for the ``from M import N as N`` lines under ``if TYPE_CHECKING:``."""
    path = Path(importlib.import_module(package).__file__)
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom), ast.dump(imp)
                for alias in imp.names:
                    assert alias.asname == alias.name, f"{alias.name}: write 'import X as X' to re-export"
                    found[alias.name] = imp.module
    return found


@pytest.mark.parametrize("package", ["derivkit", "derivkit.nn", "derivkit.training"])
def test_type_checking_imports_match_the_lazy_exports(package):
    mod = importlib.import_module(package)
    declared = _type_checking_imports(package)
    lazy = dict(mod._EXPORTS)
    submodules = {s: package for s in getattr(mod, "_SUBMODULES", ())}
    if package == "derivkit.training":
        submodules = {"datasets": package, "plot": package}
    # a name added to _EXPORTS needs its "from M import N as N" line under "if TYPE_CHECKING:" too
    assert {k: v for k, v in declared.items() if k not in submodules} == lazy
    assert {k for k in declared if k in submodules} == set(submodules)
    for name, module in declared.items():  # and they name the objects the lazy lookup returns
        assert getattr(mod, name) is getattr(importlib.import_module(module), name)


def test_py_typed_is_shipped():
    assert (ROOT / "derivkit" / "py.typed").exists()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["derivkit"]
    assert "Typing :: Typed" in config["project"]["classifiers"]


USER_SCRIPT = '''
import derivkit
from derivkit import nn
from derivkit.optim import SGD, Adam

d = derivkit.derive("sin(x^2)", "x")
reveal_type(d)
reveal_type(d.steps)
reveal_type(d.rules)
reveal_type(derivkit.check("x^2", "2*x", "x"))
reveal_type(derivkit.hessian("x*y", "x, y"))
reveal_type(derivkit.chain({"y": "3*x - 2", "z": "y^2"}, "x"))
reveal_type(derivkit.descend("x^2", "x", start=1, lr=0.1, steps=2))
reveal_type(derivkit.gradcheck)
net = nn.mlp([2, 3, 1])
reveal_type(net)
reveal_type(derivkit.train(net, {}, Adam(0.01), epochs=1))
reveal_type(SGD(0.1, momentum=0.9, weight_decay=1e-4))
reveal_type(derivkit.optim.Momentum(0.1, eta=0.5).momentum)
SGD(0.1, momentum="a lot")
'''

EXPECTED = [
    "derivkit.calculus.derivation.Derivation",
    "derivkit.calculus.derivation.Step",
    "tuple[str, ...]",
    "derivkit.verify.check.Verdict",
    "derivkit.calculus.several.MatrixDerivation",
    "derivkit.calculus.chains.Chain",
    "derivkit.training.descend.Descent",
    "-> derivkit.verify.gradcheck.GradcheckReport",
    "derivkit.graph.graph.Graph",
    "derivkit.training.loop.History",
    "derivkit.training.optim.SGD",
    "float",
]


def test_mypy_strict_sees_real_types_in_a_users_script(tmp_path, monkeypatch):
    script = tmp_path / "user.py"
    script.write_text(textwrap.dedent(USER_SCRIPT))
    # the package as an installed one: its own errors are not the user's (follow-imports silent)
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    monkeypatch.chdir(tmp_path)
    out, err, status = mypy_api.run([
        "--strict", "--follow-imports=silent", "--ignore-missing-imports", "--no-incremental",
        "--cache-dir", os.devnull, str(script),
    ])
    revealed = re.findall(r'Revealed type is "(.*)"', out)
    assert len(revealed) == len(EXPECTED), out
    for got, want in zip(revealed, EXPECTED):
        assert want in got, (got, want)
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 1 and 'Argument "momentum" to "SGD" has incompatible type "str"' in errors[0], out


def test_mypy_derivkit_is_clean():
    out, err, status = mypy_api.run(["--config-file", str(ROOT / "pyproject.toml"), str(ROOT / "derivkit")])
    assert status == 0, out[-4000:]
