"""Speed and memory of the scoring engine at scale (issue 4, item 5).

10,000 applications × 9 experts × 10 criteria by default, each application reviewed by 9 of a pool of 300
experts (an incomplete design, so calibration has work to do), bootstrap with 10,000 draws. Prints seconds and
peak traced memory per stage of :func:`scoring.rank`, then the whole ``rank()`` call end to end, then a per-
application Python-loop baseline for the bootstrap measured in the same process, with the machine's details.
Wall-clock seconds suffer when the machine is shared; the CPU seconds of this process (``time.process_time``)
are the steadier figure.

    python3 benchmarks/scoring.py                     # the full size (about a minute on 2 cores)
    python3 benchmarks/scoring.py --applications 1000 --draws 2000
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from typing import Any

# This script shares its name with the package it measures; drop its own folder from the path so that
# ``import scoring`` finds the package, not this file.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402

import scoring  # noqa: E402
from scoring import pipeline  # noqa: E402
from scoring.aggregate import decimal_places, olympic_trim  # noqa: E402
from scoring.bootstrap import bootstrap_ranks  # noqa: E402
from scoring.calibrate import calibrate  # noqa: E402
from scoring.interval import trimmed_mean_interval_matrix  # noqa: E402
from scoring.outliers import dixon, grubbs  # noqa: E402
from scoring.panels import INSUFFICIENT, build_panels, panel_status  # noqa: E402
from scoring.rank import rank_applications  # noqa: E402
from scoring.recommend import recommend  # noqa: E402

MAXIMA = np.array([15, 15, 10, 10, 10, 10, 10, 10, 5, 5], dtype=float)     # 10 criteria summing to 100


def make_problem(n_apps: int, n_experts: int, pool: int, draws: int, seed: int) -> dict[str, Any]:
    """A synthetic round: true quality ~ N(75, 8), expert bias ~ N(0, 3), noise ~ N(0, 4) on the total, spread
    over the criteria in proportion to their maxima, rounded to the 0.5 step and clipped to [0, max]."""
    rng = np.random.default_rng(seed)
    panels = np.argsort(rng.random((n_apps, pool)), axis=1)[:, :n_experts]           # 9 of 300, no repeats
    quality = rng.normal(75, 8, n_apps)
    bias = rng.normal(0, 3, pool)
    totals = quality[:, None] + bias[panels] + rng.normal(0, 4, panels.shape)        # (A, n)
    share = totals[:, :, None] / 100 * MAXIMA + rng.normal(0, 0.6, panels.shape + (MAXIMA.size,))
    points = np.clip(np.round(share * 2) / 2, 0, MAXIMA)                               # (A, n, C)
    criteria = [{"id": f"c{index}", "name": f"指标{index}", "max": float(maximum), "step": 0.5,
                 "priority": 1 if index == 0 else 0} for index, maximum in enumerate(MAXIMA)]
    ids = [criterion["id"] for criterion in criteria]
    sheets = [{"expert": f"E{panels[a, slot]:04d}", "application": f"P{a:05d}",
               "scores": dict(zip(ids, points[a, slot].tolist(), strict=True))}
              for a in range(n_apps) for slot in range(n_experts)]
    return {"template": {"criteria": criteria}, "sheets": sheets,
            "settings": {"calibrate": True, "bootstrap": draws, "capacity": max(1, n_apps // 10)}}


class Stages:
    """Times each stage, or records the peak memory traced during it (tracemalloc slows Python-heavy stages
    several-fold, so seconds and memory come from two separate passes)."""

    def __init__(self, trace_memory: bool) -> None:
        self.trace_memory = trace_memory
        self.rows: list[tuple[str, float, float, str]] = []

    def run(self, name: str, call: Callable[[], Any], note: str = "") -> Any:
        if self.trace_memory:
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            value = call()
            self.rows.append((name, (tracemalloc.get_traced_memory()[1] - base) / 2**20, 0.0, note))
        else:
            started, cpu_started = time.perf_counter(), time.process_time()
            value = call()
            self.rows.append((name, time.perf_counter() - started, time.process_time() - cpu_started, note))
        return value


def print_table(timed: Stages, traced: Stages) -> None:
    print(f"{'stage':<54} {'seconds':>8} {'CPU s':>7} {'peak MiB':>9}  note")
    for (name, seconds, cpu, note), (_, peak, _, _) in zip(timed.rows, traced.rows, strict=True):
        print(f"{name:<54} {seconds:>8.2f} {cpu:>7.2f} {peak:>9.1f}  {note}")


def staged_run(data: dict[str, Any], trace_memory: bool) -> Stages:
    """The steps of :func:`scoring.pipeline.rank`, one by one, then ``rank()`` itself."""
    stages = Stages(trace_memory)
    problem = stages.run("parse + validate", lambda: scoring.parse_problem(data), "per sheet (Python)")
    settings = problem.settings
    panels = stages.run("build panel matrices", lambda: build_panels(problem), "per-sheet dict reads, then numpy")
    experts = stages.run("index experts", lambda: pipeline._index_experts(panels))
    status = panel_status(panels.counts, settings)
    scored = status != INSUFFICIENT
    outliers = stages.run("outlier statistics: ROBUST, DEVIATION, per criterion",
                          lambda: pipeline._outliers(panels), "vectorized")

    def calibration():
        rows, slots = np.nonzero(panels.present)
        return calibrate(rows, experts.slot_index[rows, slots], panels.totals[rows, slots],
                         panels.confidence[rows, slots] ** 2, panels.applications, experts.refs)
    fit = stages.run(f"calibration (WLS, Σb = 0, {len(experts.refs)} experts)", calibration,
                     "sparse design, E × E dense solve")
    totals = np.where(scored[:, None], panels.totals, np.nan)
    trimmed = stages.run("Olympic mean", lambda: olympic_trim(totals, settings.min_panel), "vectorized")
    without_bootstrap = replace(settings, bootstrap=0, capacity=None)
    numbers = stages.run("2-decimal scores, criterion means, medians",
                         lambda: pipeline._numbers(panels, totals, trimmed, scored, without_bootstrap,
                                                   decimal_places(c.step for c in problem.template.criteria)),
                         "vectorized (exact integer arithmetic)")
    stages.run("Tukey–McLaughlin intervals", lambda: trimmed_mean_interval_matrix(totals, trimmed), "vectorized")
    uncertainty = stages.run(f"bootstrap rank intervals + P(top-k), {settings.bootstrap:,} draws",
                             lambda: bootstrap_ranks(totals[scored], settings.bootstrap, settings.seed,
                                                     settings.min_panel, True, 0.95, settings.capacity),
                             "vectorized, chunks of 64 draws")
    numbers["rank_interval"] = np.column_stack([uncertainty.low, uncertainty.high])
    numbers["p_top_k"] = uncertainty.p_top_k
    ranking = stages.run("rank (score, priority criterion, median)",
                         lambda: rank_applications(numbers["score"], pipeline._tie_breakers(problem, numbers)),
                         "vectorized")
    decisions = stages.run("recommend", lambda: recommend(numbers["score"], numbers["interval"], numbers["criteria"],
                                                           problem.template, settings, numbers["rank_interval"][:, 0],
                                                           numbers["p_top_k"]), "vectorized")

    def diagnostics():
        for row in range(len(panels.applications)):
            values = panels.totals[row, panels.present[row]]
            grubbs(values)
            dixon(values)
    stages.run("Grubbs + Dixon diagnostics", diagnostics, "per application (Python loop)")
    stages.run("result lines: flags, sentences, trace", lambda: [
        pipeline._application_result(problem, panels, row, status, trimmed, numbers, ranking, decisions, fit,
                                     None, outliers) for row in range(len(panels.applications))],
        "per application (Python loop), includes the diagnostics")
    result = stages.run("rank() end to end", lambda: scoring.rank(problem), "all of the above")
    stages.run("Result.to_dict()", result.to_dict, "per application")
    return stages


def loop_baseline(totals: np.ndarray, draws: int, seed: int) -> float:
    """CPU seconds of a plain per-application Python loop doing the bootstrap's work (Olympic mean of a resample,
    then ranking), for comparison with the vectorized version on the same input."""
    rng = np.random.default_rng(seed)
    started = time.process_time()
    for _ in range(draws):
        scores = []
        for row in totals:
            sample = row[rng.integers(0, row.size, row.size)]
            scores.append((sample.sum() - sample.min() - sample.max()) / (row.size - 2))
        np.argsort(-np.array(scores))
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--experts", type=int, default=9, help="experts per application")
    parser.add_argument("--pool", type=int, default=300)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20200901)
    arguments = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.processor() or ''} {platform.system()} {platform.release()}, "
          f"nproc {os.cpu_count()}, memory {_memory_gib():.1f} GiB, Python {platform.python_version()}, "
          f"numpy {np.__version__}")
    print(f"instance: {arguments.applications:,} applications × {arguments.experts} experts (of a pool of "
          f"{arguments.pool}) × {MAXIMA.size} criteria = {arguments.applications * arguments.experts:,} sheets; "
          f"bootstrap {arguments.draws:,} draws; calibration on")
    started = time.perf_counter()
    data = make_problem(arguments.applications, arguments.experts, arguments.pool, arguments.draws, arguments.seed)
    print(f"generated in {time.perf_counter() - started:.1f} s (not counted below)\n")
    timed = staged_run(data, trace_memory=False)
    tracemalloc.start()
    traced = staged_run(data, trace_memory=True)
    tracemalloc.stop()
    print_table(timed, traced)
    print(f"\npeak resident set size of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")
    baseline_apps, baseline_draws = min(arguments.applications, 1_000), 200
    panels = build_panels(scoring.parse_problem(dict(data, sheets=data["sheets"][:baseline_apps * arguments.experts])))
    loop = loop_baseline(panels.totals, baseline_draws, arguments.seed)
    started = time.process_time()
    bootstrap_ranks(panels.totals, baseline_draws, arguments.seed)
    vectorized = time.process_time() - started
    print(f"bootstrap baseline, {baseline_apps:,} applications × {baseline_draws} draws, CPU seconds: Python loop "
          f"{loop:.2f} s, vectorized {vectorized:.3f} s, ratio {loop / vectorized:.0f}×")


def _memory_gib() -> float:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        return int(meminfo.readline().split()[1]) / 2**20


if __name__ == "__main__":
    main()
