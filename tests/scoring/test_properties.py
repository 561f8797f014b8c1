"""Invariants of the whole pipeline (hypothesis): order of input, relabelling, constant shifts, the trace."""

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import scoring

TEMPLATE = {"criteria": [{"id": "total", "max": 100, "step": 0.5}]}
SETTINGS = {"bootstrap": 200, "capacity": 2, "threshold": 60}

half_points = st.integers(40, 160).map(lambda value: value / 2)           # 20 … 80, on the 0.5 step
panels = st.dictionaries(st.sampled_from([f"P{i}" for i in range(1, 7)]),
                         st.lists(half_points, min_size=1, max_size=9), min_size=1, max_size=6)


def build(totals: dict[str, list[float]], names=lambda slot: f"E{slot + 1}", excluded=()) -> dict:
    sheets = [{"expert": names(slot), "application": app, "scores": {"total": value}}
              for app, values in totals.items() for slot, value in enumerate(values)]
    return {"template": TEMPLATE, "sheets": sheets, "settings": SETTINGS,
            "excluded": [{"expert": expert, "application": app, "reason": "回避"} for app, expert in excluded]}


def run(data) -> scoring.types.Result:
    result = scoring.rank(scoring.parse_problem(data))
    assert result.errors == ()
    json.dumps(result.to_dict(), allow_nan=False)          # strict JSON: no NaN leaks into the output
    return result


def numbers(result) -> dict:
    return {line.application: (line.rank, line.score, line.median, line.interval, line.rank_interval,
                               line.p_top_k, line.recommendation, line.criteria) for line in result.ranking}


@settings(max_examples=40, deadline=None)
@given(panels, st.randoms(use_true_random=False))
def test_order_of_sheets_and_applications_changes_nothing(totals, rng):
    data = build(totals)
    shuffled = dict(data, sheets=rng.sample(data["sheets"], len(data["sheets"])))
    assert run(shuffled).to_dict() == run(data).to_dict()


@settings(max_examples=40, deadline=None)
@given(panels, st.randoms(use_true_random=False))
def test_relabelling_experts_changes_no_number(totals, rng):
    labels = [f"X{i}" for i in range(9)]
    rng.shuffle(labels)
    original = run(build(totals))
    relabelled = run(build(totals, names=lambda slot: labels[slot]))
    assert numbers(relabelled) == numbers(original)
    rename = {f"E{slot + 1}": labels[slot] for slot in range(9)}
    for before, after in zip(original.ranking, relabelled.ranking, strict=True):
        renamed = sorted(f"{flag.code} {flag.criterion} {rename.get(flag.expert, flag.expert)}" for flag in before.flags)
        assert renamed == sorted(f"{flag.code} {flag.criterion} {flag.expert}" for flag in after.flags)


@settings(max_examples=60, deadline=None)
@given(panels, st.integers(0, 40).map(lambda value: value / 2), st.data())
def test_a_constant_added_to_one_application_shifts_its_score_and_flags_nothing_new(totals, shift, data):
    target = data.draw(st.sampled_from(sorted(totals)))
    shifted = dict(totals, **{target: [value + shift for value in totals[target]]})
    before = {line.application: line for line in run(build(totals)).ranking}[target]
    after = {line.application: line for line in run(build(shifted)).ranking}[target]
    if before.score is None:
        assert after.score is None
        return
    assert after.score == pytest.approx(before.score + shift, abs=1e-9)
    assert after.median == pytest.approx(before.median + shift, abs=1e-9)
    old = {(flag.code, flag.expert) for flag in before.flags if flag.code != "TIE"}
    new = {(flag.code, flag.expert) for flag in after.flags if flag.code != "TIE"}
    assert new <= old                                     # DEVIATION is relative: a rise can only clear it
    assert {pair for pair in new if pair[0] == "ROBUST"} == {pair for pair in old if pair[0] == "ROBUST"}


@settings(max_examples=60, deadline=None)
@given(panels, st.data())
def test_every_sheet_stays_in_the_trace(totals, data):
    pairs = [(app, f"E{slot + 1}") for app, values in totals.items() for slot in range(len(values))]
    excluded = data.draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs)))
    result = run(build(totals, excluded=excluded))
    for line in result.ranking:
        traced = sorted(sheet.expert for sheet in line.trace.sheets)
        assert traced == sorted(f"E{slot + 1}" for slot in range(len(totals[line.application])))
        assert {sheet.expert for sheet in line.trace.sheets if sheet.status == "excluded"} == \
               {expert for app, expert in excluded if app == line.application}
        flagged = {flag.expert for flag in line.flags if flag.expert}
        assert flagged <= {sheet.expert for sheet in line.trace.sheets if sheet.status != "excluded"}
    assert len(result.ranking) == len({app for app in totals})


def test_random_module_is_not_used_for_draws():
    # The bootstrap is seeded: the same problem gives the same rank intervals twice.
    data = build({"P1": [80, 81, 79, 90, 60], "P2": [85, 84, 86, 83, 88], "P3": [70, 75, 72, 71, 74]})
    random.seed(1)
    first = run(data).to_dict()
    random.seed(2)
    assert run(data).to_dict() == first


@settings(max_examples=40, deadline=None)
@given(panels, st.data())
def test_calibrated_results_are_strict_json_or_a_refusal(totals, data):
    pairs = [(app, f"E{slot + 1}") for app, values in totals.items() for slot in range(len(values))]
    excluded = data.draw(st.lists(st.sampled_from(pairs), unique=True, max_size=3))
    problem = build(totals, excluded=excluded)
    problem["settings"] = dict(SETTINGS, calibrate=True, rank_on_calibrated=True)
    result = scoring.rank(scoring.parse_problem(problem))
    if result.errors:
        assert result.ranking == () and "calibration refused" in result.errors[0]
    else:
        json.dumps(result.to_dict(), allow_nan=False)
        assert {line.application for line in result.ranking} == set(totals)
