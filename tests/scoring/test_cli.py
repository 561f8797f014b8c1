"""``python -m scoring rank problem.json``: JSON out, exit 1 with every error on stderr, 2 on usage errors."""

import json
import math
import subprocess
import sys

import pytest

from scoring.__main__ import main

BAD_SHEETS = [
    {"expert": "E1", "application": "P1", "scores": {"c1": 21, "c2": 60}},
    {"expert": "E2", "application": "P1", "scores": {"c1": 7.3, "c2": 60}},
    {"expert": "E3", "application": "P1", "scores": {"c1": math.nan, "c2": 60}},
    {"expert": "E4", "application": "P1", "scores": {"c1": "很好", "c2": 60}},
    {"expert": "E5", "application": "P1", "scores": {"c1": 10, "c2": 60, "c3": 5}},
    {"expert": "E1", "application": "P1", "scores": {"c1": 10, "c2": 60}},
]
TEMPLATE = {"criteria": [{"id": "c1", "max": 20, "step": 0.5}, {"id": "c2", "max": 80, "step": 0.5}]}


def write(tmp_path, data) -> str:
    path = tmp_path / "problem.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")   # NaN is written as NaN
    return str(path)


def test_rank_prints_the_result(tmp_path, capsys, five, totals_problem):
    assert main(["rank", write(tmp_path, totals_problem(five, bootstrap=500))]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [line["application"] for line in result["ranking"]] == ["P2", "P5", "P1", "P3", "P4"]
    assert result["ranking"][2]["interval"] == [78.0471, 89.1529]
    assert result["errors"] == []


def test_bad_input_exits_1_with_every_error(tmp_path, capsys):
    assert main(["rank", write(tmp_path, {"template": TEMPLATE, "sheets": BAD_SHEETS})]) == 1
    captured = capsys.readouterr()
    refused = json.loads(captured.out)                     # the §10 result: errors listed, nothing ranked
    assert refused["ranking"] == [] and len(refused["errors"]) == 6
    for expected in ("scores.c1: 21 is above the maximum 20", "scores.c1: 7.3 is not a multiple of the step 0.5",
                     "scores.c1: nan is not a finite number", "scores.c1: '很好' is not a number",
                     "scores.c3: unknown criterion", "duplicate sheet: expert E1 already scored application P1"):
        assert expected in captured.err
    assert captured.err.startswith("refused: 6 error(s)")


def test_disconnected_calibration_exits_1(tmp_path, capsys):
    sheets = [{"expert": expert, "application": app, "scores": {"c1": 10, "c2": 60}}
              for app, expert in [("A", "E1"), ("B", "E1"), ("C", "E2"), ("C", "E3"), ("D", "E2"), ("D", "E3")]]
    data = {"template": TEMPLATE, "sheets": sheets, "settings": {"calibrate": True, "bootstrap": 0}}
    assert main(["rank", write(tmp_path, data)]) == 1
    assert "{A, B} × {E1}; {C, D} × {E2, E3}" in capsys.readouterr().err


def test_invalid_json_is_refused(tmp_path, capsys):
    path = tmp_path / "broken.json"
    path.write_text("{", encoding="utf-8")
    assert main(["rank", str(path)]) == 1
    assert "not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [[], ["sort", "x.json"], ["rank"]])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2


def test_missing_file_is_a_usage_error(tmp_path, capsys):
    assert main(["rank", str(tmp_path / "absent.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_module_entry_point_runs_as_a_subprocess(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "scoring", "rank", write(tmp_path, {"template": TEMPLATE,
                                                                                   "sheets": BAD_SHEETS})],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 7     # the count line and six errors
    usage = subprocess.run([sys.executable, "-m", "scoring"], capture_output=True, text=True)
    assert usage.returncode == 2
