"""Templates, problem parsing and sheet validation: malformed input is refused with every error listed."""

import math
from dataclasses import replace

import pytest

from scoring import rank
from scoring.problem import ProblemError, parse_problem
from scoring.templates import DEFAULT_TEMPLATES, SELECTION_REVIEW, validate_template
from scoring.types import Criterion, Settings, Template

TWO_CRITERIA = {"criteria": [{"id": "c1", "name": "技术", "max": 20, "step": 0.5},
                             {"id": "c2", "name": "市场", "max": 80, "step": 0.5}]}


def sheet(expert, application, c1, c2=60, **extra):
    return {"expert": expert, "application": application, "scores": {"c1": c1, "c2": c2}, **extra}


def refused(data) -> list[str]:
    with pytest.raises(ProblemError) as caught:
        parse_problem(data)
    return caught.value.errors


@pytest.mark.parametrize("kind", sorted(DEFAULT_TEMPLATES))
def test_default_templates_are_valid(kind):
    assert validate_template(DEFAULT_TEMPLATES[kind]) == []
    assert DEFAULT_TEMPLATES[kind].total == 100


def test_template_rules_are_all_reported():
    broken = Template("custom", "x", "x", (
        Criterion("a", "A", "A", 30, step=0.7),
        Criterion("a", "A2", "A2", 30),
        Criterion("b", "B", "B", -5),
    ))
    errors = validate_template(broken)
    assert any("duplicate criterion id 'a'" in error for error in errors)
    assert any("0.7 does not divide the maximum 30" in error for error in errors)
    assert any("(b): max: must be a positive number" in error for error in errors)
    assert any("sum to 55, not 100" in error for error in errors)


def test_default_template_by_kind():
    full_marks = {criterion.id: criterion.max for criterion in SELECTION_REVIEW.criteria}
    problem = parse_problem({"template": {"kind": "selection_review"},
                             "sheets": [{"expert": "E1", "application": "P1", "scores": full_marks}]})
    assert problem.template is SELECTION_REVIEW
    assert problem.settings == Settings()


def test_valid_problem_is_parsed():
    problem = parse_problem({"template": TWO_CRITERIA, "sheets": [sheet("E1", "P1", 17.5, confidence=0.8)],
                             "excluded": [{"expert": "E1", "application": "P1", "reason": "同单位"}],
                             "settings": {"threshold": 75, "capacity": 2}})
    assert problem.sheets[0].scores == {"c1": 17.5, "c2": 60}
    assert problem.sheets[0].confidence == 0.8
    assert problem.excluded[0].reason == "同单位"
    assert (problem.settings.threshold, problem.settings.capacity) == (75.0, 2)


def test_bad_scores_are_all_listed_at_once():
    errors = refused({"template": TWO_CRITERIA, "sheets": [
        sheet("E1", "P1", 21),                                   # above the maximum
        sheet("E2", "P1", 7.3),                                  # off the 0.5 step
        sheet("E3", "P1", math.nan),
        sheet("E4", "P1", "17"),
        {"expert": "E5", "application": "P1", "scores": {"c1": 10, "c2": 50, "c9": 3}},
        sheet("E1", "P1", 10),                                   # duplicate of sheets[0]
        {"expert": "E6", "application": "P1", "scores": {"c1": 10}},
    ]})
    assert errors == [
        "sheets[0] (E1 → P1): scores.c1: 21 is above the maximum 20",
        "sheets[1] (E2 → P1): scores.c1: 7.3 is not a multiple of the step 0.5",
        "sheets[2] (E3 → P1): scores.c1: nan is not a finite number",
        "sheets[3] (E4 → P1): scores.c1: '17' is not a number",
        "sheets[4] (E5 → P1): scores.c9: unknown criterion (the template has c1, c2)",
        "sheets[5] (E1 → P1): duplicate sheet: expert E1 already scored application P1 in sheets[0]",
        "sheets[6] (E6 → P1): scores.c2: missing",
    ]


def test_structural_errors_come_with_sheet_errors():
    errors = refused({"template": TWO_CRITERIA, "sheets": [sheet("E1", "P1", 21), {"expert": "E2"}],
                      "settings": {"treshold": 80, "bootstrap": -1}, "extra": 1})
    assert "problem: extra: unknown key (allowed: excluded, settings, sheets, template)" in errors
    assert "sheets[1]: application: missing" in errors and "sheets[1]: scores: missing" in errors
    assert any(error.startswith("settings: treshold: unknown key") for error in errors)
    assert "settings.bootstrap: must be a whole number from 0 to 100000, got -1" in errors
    assert "sheets[0] (E1 → P1): scores.c1: 21 is above the maximum 20" in errors


@pytest.mark.parametrize(("extra", "message"), [
    ({"confidence": 0}, "confidence: must be a number in (0, 1], got 0"),
    ({"confidence": 1.5}, "confidence: must be a number in (0, 1], got 1.5"),
    ({"opinion": "maybe"}, "opinion: must be one of recommend, conditional, reject, got 'maybe'"),
])
def test_sheet_fields_are_checked(extra, message):
    assert refused({"template": TWO_CRITERIA, "sheets": [sheet("E1", "P1", 10, **extra)]}) == [
        f"sheets[0] (E1 → P1): {message}"]


def test_comment_required_by_a_criterion():
    template = {"criteria": [{"id": "c1", "max": 20, "comment_required": True}, {"id": "c2", "max": 80}]}
    assert refused({"template": template, "sheets": [sheet("E1", "P1", 10)]}) == [
        "sheets[0] (E1 → P1): comment: required by criterion c1"]


@pytest.mark.parametrize(("settings", "message"), [
    ({"trim": "winsor"}, "settings.trim: must be one of olympic, none, got 'winsor'"),
    ({"rank_on_calibrated": True}, "settings.rank_on_calibrated: needs calibrate: true, got True"),
    ({"gate": 1.5}, "settings.gate: must be a fraction in (0, 1] or null, got 1.5"),
    ({"min_panel": 2}, "settings.min_panel: must be a whole number ≥ 3, got 2"),
    ({"capacity": 0}, "settings.capacity: must be a whole number ≥ 1 or null, got 0"),
    ({"capacity": 2, "bootstrap": 0}, "settings.capacity: needs the bootstrap (bootstrap > 0) for P(top-k) and rank "
                                      "intervals, got 2"),
])
def test_bad_settings_are_refused(settings, message):
    assert message in refused({"template": TWO_CRITERIA, "sheets": [], "settings": settings})


def test_not_an_object():
    assert refused([1, 2]) == ["problem: must be a JSON object, got list"]


def test_an_unknown_default_template_kind():
    assert refused({"template": {"kind": "final"}, "sheets": []})[0].startswith(
        "template: criteria missing and 'final' is not a default template")


def test_excluded_sheets_are_not_errors():
    problem = parse_problem({"template": TWO_CRITERIA, "sheets": [sheet("E1", "P1", 10)],
                             "excluded": [{"expert": "E1", "application": "P1", "reason": "回避"}]})
    assert len(problem.sheets) == 1 and problem.excluded[0].expert == "E1"


def test_a_parsed_problem_changed_afterwards_is_validated_again():
    """rank() trusts parse_problem's check of the very problem it returned; a copy with other settings or other
    sheets is a new problem and is refused by rank() when it breaks a rule."""
    problem = parse_problem({"template": TWO_CRITERIA, "sheets": [sheet(f"E{i}", "P1", 10 + i) for i in range(5)]})
    assert rank(problem).ok
    bad_settings = replace(problem, settings=replace(problem.settings, min_panel=2))
    assert [error for error in rank(bad_settings).errors if error.startswith("settings.min_panel")]
    bad_sheet = replace(problem.sheets[0], scores={"c1": 21, "c2": 60})
    errors = rank(replace(problem, sheets=(bad_sheet, *problem.sheets[1:]))).errors
    assert errors == ("sheets[0] (E0 → P1): scores.c1: 21 is above the maximum 20",)
