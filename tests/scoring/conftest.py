"""Builders for scoring problems in their JSON form (DESIGN §10)."""

import pytest

# DESIGN §7.1 worked examples: the five applications' expert totals.
FIVE = {
    "P1": [82, 85, 79, 91, 60, 84, 88],
    "P2": [88, 90, 86, 92, 87, 89, 85],
    "P3": [78, 80, 83, 76, 81, 79, 82],
    "P4": [70, 72, 75, 68, 74, 71, 73],
    "P5": [78, 80, 83, 85, 85, 85, 95],
}

ONE_CRITERION = {"criteria": [{"id": "total", "name": "总分", "name_en": "Total", "max": 100, "step": 0.5}]}


def totals_problem(totals: dict[str, list[float]], **settings) -> dict:
    """A problem whose single 100-point criterion carries each expert's total (experts E1, E2, … per panel)."""
    sheets = [{"expert": f"E{slot + 1}", "application": application, "scores": {"total": value}}
              for application, values in totals.items() for slot, value in enumerate(values)]
    return {"template": ONE_CRITERION, "sheets": sheets, "settings": settings}


@pytest.fixture(name="totals_problem")
def totals_problem_fixture():
    """The :func:`totals_problem` builder."""
    return totals_problem


@pytest.fixture
def five():
    return {key: list(values) for key, values in FIVE.items()}
