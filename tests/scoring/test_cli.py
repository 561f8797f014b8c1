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


# --- inputs that once crashed the command: each is refused with a sentence on stderr and JSON on stdout --------

ONE_SHEET = {"expert": "E1", "application": "P1", "scores": {"c1": 10, "c2": 60}}


def refused(tmp_path, capsys, data=None, text=None) -> tuple[str, dict]:
    """Run the command on ``data`` (or raw ``text``); it must exit 1, say why, and print the refusal as JSON."""
    path = tmp_path / "problem.json"
    path.write_text(text if text is not None else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert main(["rank", str(path)]) == 1
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["ranking"] == [] and result["errors"]
    assert captured.err.startswith("refused:")
    return captured.err, result


def sheets_of(*experts, application="P1"):
    return [{**ONE_SHEET, "expert": expert, "application": application} for expert in experts]


def test_a_number_too_large_for_a_float_is_refused_wherever_it_is(tmp_path, capsys):
    huge = 10**400
    cases = [
        ({"template": TEMPLATE, "sheets": [{**ONE_SHEET, "scores": {"c1": huge, "c2": 60}}]}, "sheets[0].scores.c1"),
        ({"template": TEMPLATE, "sheets": [{**ONE_SHEET, "confidence": huge}]}, "sheets[0].confidence"),
        ({"template": TEMPLATE, "sheets": [ONE_SHEET], "settings": {"threshold": huge}}, "settings.threshold"),
        ({"template": TEMPLATE, "sheets": [ONE_SHEET], "settings": {"robust_z": -huge}}, "settings.robust_z"),
    ]
    for data, where in cases:
        err, result = refused(tmp_path, capsys, data)
        assert f"{where}: a number of 401 digits is too large" in err
        assert any(where in error for error in result["errors"])


def test_a_step_too_fine_to_add_up_exactly_is_refused(tmp_path, capsys):
    template = {"criteria": [{"id": "c1", "max": 20, "step": 1e-17}, {"id": "c2", "max": 80, "step": 0.5}]}
    err, _ = refused(tmp_path, capsys, {"template": template, "sheets": [ONE_SHEET]})
    assert "template.criteria[0].step: 1e-17 is finer than the smallest step 0.0001" in err


def test_json_nested_too_deep_is_refused(tmp_path, capsys):
    err, _ = refused(tmp_path, capsys, text="[" * 100_000 + "]" * 100_000)
    assert "nested too deeply" in err


def test_the_number_of_bootstrap_draws_is_bounded(tmp_path, capsys):
    err, _ = refused(tmp_path, capsys, {"template": TEMPLATE, "sheets": [ONE_SHEET],
                                        "settings": {"bootstrap": 10**8}})
    assert "settings.bootstrap: must be a whole number from 0 to 100000, got 100000000" in err


def test_expert_references_are_trimmed_so_a_padded_id_is_the_same_expert(tmp_path, capsys):
    err, _ = refused(tmp_path, capsys, {"template": TEMPLATE, "sheets": sheets_of("E1", " E1 ")})
    assert "duplicate sheet: expert E1 already scored application P1 in sheets[0]" in err


def test_a_padded_reference_ranks_as_the_trimmed_one(tmp_path, capsys):
    sheets = sheets_of("E1", "E2 ", "E3") + [{**ONE_SHEET, "expert": "E2", "application": " P2"}]
    data = {"template": TEMPLATE, "sheets": sheets, "excluded": [{"expert": "E2", "application": "P1 "}],
            "settings": {"bootstrap": 0}}
    assert main(["rank", write(tmp_path, data)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sorted(line["application"] for line in result["ranking"]) == ["P1", "P2"]
    assert sorted(expert["expert"] for expert in result["experts"]) == ["E1", "E2", "E3"]
    p1 = next(line for line in result["ranking"] if line["application"] == "P1")
    assert [sheet["status"] for sheet in p1["trace"]["sheets"] if sheet["expert"] == "E2"] == ["excluded"]


def test_an_empty_sheet_list_is_refused(tmp_path, capsys):
    err, _ = refused(tmp_path, capsys, {"template": TEMPLATE, "sheets": []})
    assert "sheets: the list is empty: there is nothing to rank" in err


def test_an_exclusion_of_an_unknown_expert_is_refused(tmp_path, capsys):
    data = {"template": TEMPLATE, "sheets": sheets_of("E1", "E2", "E3"),
            "excluded": [{"expert": "E9", "application": "P1"}]}
    err, _ = refused(tmp_path, capsys, data)
    assert "excluded[0] (E9 → P1): expert E9 has no sheet" in err


@pytest.mark.slow
def test_a_panel_larger_than_a_16_bit_index_is_ranked(tmp_path, capsys):
    sheets = [{"expert": f"E{index}", "application": "P1", "scores": {"c1": index % 41 / 2, "c2": 60}}
              for index in range(32_769)] + sheets_of("E1", "E2", "E3", application="P2")
    path = write(tmp_path, {"template": TEMPLATE, "sheets": sheets, "settings": {"bootstrap": 20}})
    status = main(["rank", path])
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert status == 0, captured.err
    assert {line["application"]: line["n"] for line in result["ranking"]} == {"P1": 32_769, "P2": 3}
