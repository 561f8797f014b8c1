"""The result lines built from whole-round arrays match a plain per-sheet reference, and ranking a round leaves
Python's cycle collector as it found it."""

import gc
import random

import pytest

import scoring

CRITERIA = [{"id": f"c{index}", "name": f"指标{index}", "max": maximum, "step": 0.1}
            for index, maximum in enumerate([40, 30, 20, 10])]


def random_round(seed: int, min_panel: int, trim: str) -> dict:
    """Panels of 0–9 sheets on the 0.1 step (sums that are not exact in binary), with exclusions and equal totals."""
    rng = random.Random(seed)
    sheets, excluded = [], []
    for application in range(12):
        for expert in rng.sample(range(20), rng.randint(1, 9)):
            scores = {criterion["id"]: round(rng.randint(0, criterion["max"] * 10) / 10, 1) for criterion in CRITERIA}
            if rng.random() < 0.2 and sheets and sheets[-1]["application"] == f"P{application:02d}":
                scores = dict(sheets[-1]["scores"])                                   # an equal total
            sheets.append({"expert": f"E{expert:02d}", "application": f"P{application:02d}", "scores": scores})
            if rng.random() < 0.1:
                excluded.append({"expert": f"E{expert:02d}", "application": f"P{application:02d}", "reason": "回避"})
    return {"template": {"criteria": CRITERIA}, "sheets": sheets, "excluded": excluded,
            "settings": {"bootstrap": 0, "min_panel": min_panel, "trim": trim, "insufficient_below": 3}}


def reference_sheets(problem, application: str) -> list[tuple]:
    """What each sheet of ``application`` went through, worked out sheet by sheet from the problem."""
    criteria = [criterion.id for criterion in problem.template.criteria]
    excluded = {(item.expert, item.application): item.reason for item in problem.excluded}
    used, left_out = [], []
    for sheet in problem.sheets:
        if sheet.application != application:
            continue
        if (sheet.expert, application) in excluded:
            left_out.append((sheet.expert, None, "excluded", excluded[sheet.expert, application], {}))
        else:
            values = [float(sheet.scores[key]) for key in criteria]
            used.append((sum(values), sheet.expert, dict(zip(criteria, values, strict=True))))
    used.sort(key=lambda item: (item[0], item[1]))
    settings = problem.settings
    n = len(used)
    lines = []
    for slot, (total, expert, scores) in enumerate(used):
        if n < settings.insufficient_below:
            status, reason = "unused", "too_few_sheets"
        elif settings.trim == "olympic" and n >= settings.min_panel and slot == 0:
            status, reason = "trimmed", "lowest_dropped"                       # the first of equal lowest
        elif settings.trim == "olympic" and n >= settings.min_panel and slot == n - 1:
            status, reason = "trimmed", "highest_dropped"                      # the last of equal highest
        else:
            status, reason = "used", ""
        lines.append((expert, total, status, reason, scores))
    return lines + left_out


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("min_panel", "trim"), [(3, "olympic"), (5, "olympic"), (3, "none")])
def test_sheet_traces_match_a_per_sheet_reference(seed, min_panel, trim):
    problem = scoring.parse_problem(random_round(seed, min_panel, trim))
    result = scoring.rank(problem)
    assert result.errors == ()
    for line in result.ranking:
        traced = [(sheet.expert, sheet.total, sheet.status, sheet.reason, dict(sheet.scores))
                  for sheet in line.trace.sheets]
        assert traced == reference_sheets(problem, line.application)
        for sheet in line.trace.sheets:                   # bit for bit, as sum() adds them, not merely close
            assert sheet.total is None or repr(sheet.total) == repr(sum(sheet.scores.values()))


@pytest.mark.parametrize("enabled", [True, False])
def test_ranking_leaves_the_cycle_collector_as_it_found_it(enabled, five, totals_problem):
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        result = scoring.rank(scoring.parse_problem(totals_problem(five, bootstrap=100)))
        assert result.ranking and gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_a_ranking_that_fails_still_switches_the_collector_back_on(monkeypatch, five, totals_problem):
    """The collector is paused inside rank(); an exception there (a bug, a MemoryError) must not leave a long-lived
    server process without it."""
    from scoring import pipeline

    def failing(problem):
        assert not gc.isenabled()                       # paused while the round is ranked
        raise MemoryError("the bootstrap's rank matrix")

    problem = scoring.parse_problem(totals_problem(five, bootstrap=100))
    monkeypatch.setattr(pipeline, "_rank", failing)
    was = gc.isenabled()
    gc.enable()
    try:
        with pytest.raises(MemoryError):
            scoring.rank(problem)
        assert gc.isenabled()
    finally:
        gc.enable() if was else gc.disable()
