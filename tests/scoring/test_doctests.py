"""The examples in the scoring docstrings are true (they quote DESIGN §7.1's worked examples)."""

import doctest
import importlib

import pytest

MODULES = ["scoring.aggregate", "scoring.outliers", "scoring.interval", "scoring.recommend", "scoring.templates",
           "scoring.indicators", "scoring.assessment", "scoring.combine"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    outcome = doctest.testmod(importlib.import_module(name))
    assert outcome.attempted > 0 and outcome.failed == 0
