"""benchmarks/import_speed.py as a newcomer runs it: each path imports into a fresh migrated database of its own,
and the bulk path and the ORM baseline it is timed against write the same rows.

The database the benchmark builds must keep its reference data past the app context that seeded it (the seeding
service only flushes): without it every generated record was refused for an unknown field code and the
benchmark printed no figure at all."""

from __future__ import annotations

import pytest

from benchmarks import import_speed
from web.demo import generate_demo


@pytest.mark.slow
def test_the_import_benchmark_runs_on_a_fresh_database_and_both_paths_write_the_same_rows():
    demo = generate_demo(3, applications=4, experts=6)
    lines = import_speed.targets(None, {"applications": demo.applications, "experts": demo.experts}, baseline=True)
    rows = {(kind, step): written for _, kind, step, _, written, *_ in lines if step.startswith("import")}
    assert set(rows) == {(kind, f"import {path}") for kind in ("experts", "applications") for path in ("ORM", "bulk")}
    for kind, records in (("experts", demo.experts), ("applications", demo.applications)):
        assert rows[(kind, "import bulk")] == rows[(kind, "import ORM")] > len(records)
