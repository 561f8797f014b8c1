"""Hypothesis profiles: a developer's run explores new examples every time; CI (``CI`` set) runs a fixed,
derandomized set, so a CI run fails on a change of the code and never on the luck of the draw. Examples a
developer's run finds go into the test as ``@example`` (see tests/matching/test_fair.py)."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
