"""The engine against real panels: the ISU's official program-component marks (../shared/data).

The data tests skip when the shared data folder is absent; it is never copied into the repository.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from scoring.aggregate import olympic_trim, round_half_up

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"
needs_skating_data = pytest.mark.skipif(not (DATA / "skating_judges").is_dir(),
                                        reason=f"shared data not found at {DATA}")


def load_benchmark_module(name: str):
    """Import ``benchmarks/<name>.py`` (the benchmarks are scripts, not an installed package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="module")
def component_rows():
    """Every component row: marks of the seated judges (NaN in the one empty seat), shape (8630, 9), and the
    official ``scores_of_panel``, shape (8630,)."""
    skating = load_benchmark_module("shared_data").load_skating(DATA)
    n_components = skating.marks.shape[2]
    marks = skating.marks.transpose(0, 2, 1).reshape(-1, skating.marks.shape[1])
    seated = np.repeat(skating.seated, n_components, axis=0)
    return np.where(seated, marks, np.nan), skating.official.reshape(-1)


def matched(values: np.ndarray, official: np.ndarray) -> np.ndarray:
    return np.array([round_half_up(value) == target for value, target in zip(values, official, strict=True)])


@needs_skating_data
def test_olympic_mean_rounded_half_up_reproduces_every_official_component_mark(component_rows):
    marks, official = component_rows
    assert marks.shape == (8630, 9)
    hits = matched(olympic_trim(marks).means, official)
    misses = [(row, marks[row].tolist(), official[row]) for row in np.flatnonzero(~hits)[:5]]
    assert hits.all(), f"{(~hits).sum()} of {hits.size} rows differ, e.g. {misses}"


@needs_skating_data
def test_plain_mean_reproduces_few_official_component_marks(component_rows):
    marks, official = component_rows
    share = matched(olympic_trim(marks, trim=False).means, official).mean()
    assert 0.10 < share < 0.20  # the data README: a plain mean reproduces 13.8 %


def test_benchmark_exits_2_naming_the_missing_data_folder(tmp_path, capsys):
    benchmark = load_benchmark_module("aggregation_quality")
    absent = tmp_path / "no-such-folder"
    assert benchmark.main(["--data", str(absent)]) == 2
    assert str(absent) in capsys.readouterr().err


def test_benchmark_exits_2_naming_the_missing_files(tmp_path, capsys):
    benchmark = load_benchmark_module("aggregation_quality")
    (tmp_path / "skating_judges").mkdir()
    assert benchmark.main(["--data", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "performances.csv" in error and "judge_scores.csv" in error
