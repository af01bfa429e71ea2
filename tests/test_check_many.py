"""check_many and derivkit check --file: one verdict per item, a summary, malformed items named."""

from __future__ import annotations

import io
import json
import sys
import time

import pytest

import derivkit
from derivkit import check_many
from derivkit.cli import main
from derivkit.errors import InputError, LimitError, MissingDependencyError
from derivkit.verify import batch
from derivkit.verify.batch import check_file, read_items

RIGHT = {"id": "q1", "expr": "x^2 sin(x)", "claimed": "2x sin(x) + x^2 cos(x)", "wrt": "x"}
WRONG = {"id": "q2", "expr": "sin(x^2)", "claimed": "cos(x^2)", "wrt": "x"}


# ---------------------------------------------------------------- the library

def test_one_verdict_per_item_and_a_summary():
    r = check_many([RIGHT, WRONG, {"id": 3, "expr": "x^3", "claimed": 12, "wrt": "x", "at": {"x": 2}}])
    assert [i.id for i in r.items] == ["q1", "q2", "3"]
    assert [i.status for i in r.items] == ["right", "wrong", "right"]
    assert r.items[1].verdict.diagnosis == ("missing_chain_factor",)
    assert (r.right, r.wrong, r.malformed, r.undecided) == (2, 1, 0, 0)
    assert r.message == "Graded 3 items: 2 right, 1 wrong." and r.exit_code == 1 and not r.ok


def test_all_right_exits_0_and_is_true():
    r = check_many([RIGHT, {"expr": "e^(2x)", "claimed": "2e^(2x)", "wrt": "x"}])
    assert r.ok and bool(r) and r.exit_code == 0


@pytest.mark.parametrize("item, error", [
    ({"expr": "x^3", "wrt": "x"}, "missing field 'claimed'"),
    ({"expr": "x^3", "claimed": "3x^2", "wrt": "x", "clamed": "3x^2"}, "unknown field 'clamed'"),
    ({"expr": "x^3", "claimed": "3x^2 +", "wrt": "x"}, "3x^2 +"),                       # a parse error, with the place
    ({"expr": "ln(x)", "claimed": "1", "wrt": "x", "at": {"x": -1}}, "outside the domain"),
    ({"expr": "x^3", "claimed": "3", "wrt": "x", "at": "x=1"}, "'at' must be a mapping"),
    ({"expr": "x^3", "claimed": "3x^2", "wrt": "y"}, None),                              # a wrong variable: wrong, 0
    ("x^2", "must be a mapping"),
])
def test_a_malformed_item_is_named_and_the_others_still_graded(item, error):
    r = check_many([RIGHT, item, WRONG])
    assert [i.status for i in (r.items[0], r.items[2])] == ["right", "wrong"]
    if error is None:
        assert r.items[1].status == "wrong"
        return
    bad = r.items[1]
    assert bad.status == "malformed" and bad.verdict is None and error in bad.error
    assert bad.id == "item 2" and r.exit_code == 2
    assert "item 2" in r.to_text() and "malformed" in r.to_text()


def test_a_repeated_id_is_malformed():
    r = check_many([RIGHT, dict(WRONG, id="q1")])
    assert r.items[1].status == "malformed" and "used twice (first at item 1)" in r.items[1].error


def test_descent_tables_in_a_batch():
    r = check_many([{"expr": "5b^2 - 3b + 2", "wrt": "b", "start": 4, "lr": 0.01, "claimed": ["3.63", "3.297", "2.9973"]},
                    {"expr": "5b^2 - 3b + 2", "wrt": "b", "start": 4, "lr": 0.01, "claimed": ["3.63", "3.279"]},
                    {"expr": "5b^2 - 3b + 2", "wrt": "b", "start": 4, "claimed": ["3.63"]}])
    assert [i.status for i in r.items] == ["right", "wrong", "malformed"]
    assert "both start and lr" in r.items[2].error


def test_check_many_refuses_a_string():
    with pytest.raises(InputError, match="check_file"):
        check_many("answers.jsonl")


def test_too_many_items_is_refused_with_the_limit(monkeypatch):
    monkeypatch.setattr(batch, "MAX_ITEMS", 2)
    with pytest.raises(LimitError) as err:
        check_many([RIGHT] * 3)
    assert err.value.limit == "size" and "the limit is 2" in str(err.value)


def test_json_report():
    d = json.loads(check_many([RIGHT, WRONG, {"id": "bad", "expr": "x"}]).to_json())
    assert d["summary"] == {"items": 3, "right": 1, "wrong": 1, "undecided": 0, "malformed": 1, "ok": False,
                            "exit_code": 2, "message": "Graded 3 items: 1 right, 1 wrong, 1 malformed.", "source": None}
    assert d["items"][1]["diagnosis"] == ["missing_chain_factor"]
    assert d["items"][1]["verdict"]["counterexample"]["point"] == {"x": 0.0}
    assert d["items"][2]["verdict"] is None and "missing field" in d["items"][2]["error"]


def test_markdown_and_latex_reports():
    r = check_many([RIGHT, WRONG])
    assert r.to_markdown().startswith("**Graded 2 items: 1 right, 1 wrong.**") and "| `q2` | wrong |" in r.to_markdown()
    assert r"\begin{array}{lll}" in r.to_latex()


# ---------------------------------------------------------------- files

def test_json_lines_skip_blank_and_comment_lines_and_keep_line_numbers(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text("# week 3\n" + json.dumps(RIGHT) + "\n\n" + "{not json\n" + json.dumps(WRONG) + "\n")
    r = check_file(path)
    assert [(i.id, i.line, i.status) for i in r.items] == [("q1", 2, "right"), ("line 4", 4, "malformed"),
                                                            ("q2", 5, "wrong")]
    assert "line 4 is not valid JSON" in r.items[1].error
    assert r.message == f"Graded 3 items from {path}: 1 right, 1 wrong, 1 malformed."


def test_yaml_list(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text("- id: q1\n  expr: x^2\n  claimed: 2x\n  wrt: x\n"
                    "- id: q2\n  expr: tan(x)\n  claimed: -sec(x)^2\n  wrt: x\n"
                    "- id: q3\n  expr: x^3\n  claimed: 12\n  wrt: x\n  at: {x: 2}\n"
                    "- expr: x^2\n  wrt: x\n")
    r = check_file(path)
    assert [(i.id, i.line, i.status) for i in r.items] == [("q1", 1, "right"), ("q2", 5, "wrong"), ("q3", 9, "right"),
                                                            ("line 14", 14, "malformed")]


def test_yaml_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("- id: q1\n  expr: [x^2\n  wrt: x\n")
    with pytest.raises(InputError, match="cannot be read at line"):
        check_file(path)
    path.write_text("expr: x^2\n")
    with pytest.raises(InputError, match="is a list of items"):
        check_file(path)


def test_yaml_without_pyyaml_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)          # import yaml now fails
    path = tmp_path / "a.yaml"
    path.write_text("- id: q1\n")
    with pytest.raises(MissingDependencyError) as err:
        check_file(path)
    assert "derivkit[yaml]" in str(err.value)
    # JSON lines need nothing beyond the core.
    (tmp_path / "a.jsonl").write_text(json.dumps(RIGHT) + "\n")
    assert check_file(tmp_path / "a.jsonl").ok


def test_a_json_array_and_a_json_file_of_lines(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([RIGHT, WRONG]))
    assert [i.status for i in check_file(tmp_path / "a.json").items] == ["right", "wrong"]
    (tmp_path / "b.json").write_text(json.dumps(RIGHT) + "\n" + json.dumps(WRONG) + "\n")
    assert [i.status for i in check_file(tmp_path / "b.json").items] == ["right", "wrong"]


def test_the_format_is_recognised_from_the_text():
    assert read_items("[]") == [] and read_items("") == []
    assert read_items(json.dumps(RIGHT))[0] == (1, RIGHT)
    assert read_items("- expr: x\n")[0] == (1, {"expr": "x"})
    with pytest.raises(InputError, match="unknown batch format"):
        read_items("", format="csv")


def test_missing_and_oversized_files(tmp_path, monkeypatch):
    with pytest.raises(InputError, match="no such batch file"):
        check_file(tmp_path / "nothing.jsonl")
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps(RIGHT) + "\n")
    monkeypatch.setattr(batch, "MAX_FILE_BYTES", 10)
    with pytest.raises(LimitError, match="the limit is 10"):
        check_file(path)


# ---------------------------------------------------------------- the command line

def run(capsys, *argv, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_exit_codes(tmp_path, capsys):
    right = tmp_path / "right.jsonl"
    right.write_text(json.dumps(RIGHT) + "\n")
    assert run(capsys, "--file", str(right))[0] == 0
    some_wrong = tmp_path / "wrong.jsonl"
    some_wrong.write_text(json.dumps(RIGHT) + "\n" + json.dumps(WRONG) + "\n")
    code, out, _ = run(capsys, "--file", str(some_wrong))
    assert code == 1 and out.startswith(f"Graded 2 items from {some_wrong}: 1 right, 1 wrong.")
    assert "q2" in out and "inner factor" in out
    malformed = tmp_path / "malformed.jsonl"
    malformed.write_text(json.dumps(RIGHT) + '\n{"id": "q9", "expr": "x^2"}\n' + json.dumps(WRONG) + "\n")
    code, out, err = run(capsys, "--file", str(malformed))
    assert code == 2 and "q9" in out and "missing field 'claimed'" in out and "q2" in out and err == ""


def test_cli_json_and_stdin(capsys, monkeypatch):
    code, out, _ = run(capsys, "--file", "-", "--format", "json",
                       stdin=json.dumps(RIGHT) + "\n" + json.dumps(WRONG) + "\n", monkeypatch=monkeypatch)
    d = json.loads(out)
    assert code == 1 and d["summary"]["right"] == 1 and d["summary"]["source"] == "<stdin>"
    code, out, _ = run(capsys, "--file", "-", stdin="- expr: x^2\n  claimed: 2x\n  wrt: x\n", monkeypatch=monkeypatch)
    assert code == 0 and "1 right" in out


def test_cli_file_refuses_a_problem_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(RIGHT) + "\n")
    code, _, err = run(capsys, "x^2", "--file", str(path))
    assert code == 2 and "--file" in err
    code, _, err = run(capsys, "--file", str(tmp_path / "none.jsonl"))
    assert code == 2 and "no such batch file" in err
    code, _, err = run(capsys, "x^2", "2x")                   # neither --wrt nor --file
    assert code == 2 and "--wrt" in err
    code, _, err = run(capsys, "--file", str(path), "--at", "x=1")
    assert code == 2 and "--at is set for each item in the file (its field 'at')" in err
    code, _, err = run(capsys, "--file", str(path), "--latex-input")
    assert code == 2 and "field 'latex'" in err


# ---------------------------------------------------------------- a class's worth of answers

TEMPLATES = [  # (function, right answer, wrong answer), with k = 2, 3, ...
    ("{k}x^2 + sin({k}x)", "{k2}x + {k}cos({k}x)", "{k2}x + cos({k}x)"),
    ("e^({k}x)", "{k}e^({k}x)", "e^({k}x)"),
    ("x^{k1}", "{k1}x^{k}", "{k1}x^{k1}"),
    ("ln({k}x + 1)", "{k}/({k}x + 1)", "1/({k}x + 1)"),
    ("x/(x + {k})", "{k}/(x + {k})^2", "-{k}/(x + {k})^2"),
    ("sigmoid({k}x)", "{k} sigmoid({k}x)(1 - sigmoid({k}x))", "{k} sigmoid({k}x)^2"),
    ("tanh({k}x)", "{k}(1 - tanh({k}x)^2)", "{k}(1 + tanh({k}x)^2)"),
    ("x^2 cos({k}x)", "2x cos({k}x) - {k}x^2 sin({k}x)", "-{k2}x sin({k}x)"),
    ("({k}x - 2)^2", "{k2}({k}x - 2)", "2({k}x - 2)"),
    ("sqrt(x^2 + {k})", "x/sqrt(x^2 + {k})", "1/(2 sqrt(x^2 + {k}))"),
]


def class_batch(n: int) -> tuple[list[dict], int]:
    items, right = [], 0
    for i in range(n):
        f, good, bad = TEMPLATES[i % len(TEMPLATES)]
        k = 2 + i // len(TEMPLATES)
        fill = dict(k=k, k1=k + 1, k2=2 * k)
        ok = (i // 2) % 2 == 0
        right += ok
        items.append({"id": f"s{i:03d}", "expr": f.format(**fill), "claimed": (good if ok else bad).format(**fill),
                      "wrt": "x"})
    return items, right


def test_a_200_item_batch_file_is_graded_with_the_right_count(tmp_path, capsys):
    items, right = class_batch(200)
    path = tmp_path / "class.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    start = time.process_time()            # CPU time: other work on a shared machine does not count
    code, out, _ = run(capsys, "--file", str(path), "--format", "json")
    elapsed = time.process_time() - start
    d = json.loads(out)
    assert d["summary"]["items"] == 200 and d["summary"]["right"] == right == 100
    assert d["summary"]["wrong"] == 100 and d["summary"]["malformed"] == 0 and code == 1
    # Each wrong answer is wrong for the planted reason: every one of them gets a diagnosis.
    assert all(i["diagnosis"] for i in d["items"] if i["status"] == "wrong")
    assert elapsed < 10, f"200 items took {elapsed:.1f} s"      # generous: benchmarks/bench_check.py has the figure


def test_check_many_is_exported():
    assert derivkit.check_many is check_many
