"""Speed and memory of the scoring engine at scale.

10,000 applications × 9 experts × 10 criteria by default, each application reviewed by 9 of a pool of 300
experts (an incomplete design, so calibration has work to do), bootstrap with 10,000 draws. Prints seconds and
peak traced memory per stage of :func:`scoring.rank`, then the whole ``rank()`` call end to end beside the
engine of an earlier commit (``--baseline``, extracted with ``git archive`` into a temporary folder and imported
under another name, so both run in this process on the same round, and their ``to_dict()`` are compared), then
the bootstrap beside the numpy baseline (kept below: gathered copies of every resample and a sort per draw), with
the machine's details. Wall-clock seconds suffer when the machine is shared; the CPU seconds of this process
(``time.process_time``) are the steadier figure.

    python3 benchmarks/scoring.py                     # the full size (a few minutes on 2 shared cores)
    python3 benchmarks/scoring.py --applications 1000 --draws 2000
    python3 benchmarks/scoring.py --baseline HEAD~3   # any commit with a scoring/ folder
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import os
import platform
import resource
import subprocess
import sys
import tarfile
import tempfile
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
from scoring.bootstrap import bootstrap_ranks, min_ranks  # noqa: E402
from scoring.calibrate import calibrate, lone_links  # noqa: E402
from scoring.interval import trimmed_mean_interval_matrix  # noqa: E402
from scoring.outliers import diagnostic_steps  # noqa: E402
from scoring.panels import INSUFFICIENT, build_panels, panel_status  # noqa: E402
from scoring.rank import rank_applications  # noqa: E402
from scoring.recommend import recommend  # noqa: E402

BASELINE = "9934a03"   # main before rank() paused the cycle collector and the bootstrap added in narrow integers
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

    def run(self, name: str, call: Callable[[], Any], note: str = "", whole: bool = False) -> Any:
        """Time or trace ``call``; a stage of ``rank()`` runs with the cycle collector paused as inside it, a
        ``whole`` call (``rank()`` itself, ``to_dict()``) as a caller runs it."""
        if whole:
            return self._run(name, call, note)
        with pipeline._no_cycle_collection():
            return self._run(name, call, note)

    def _run(self, name: str, call: Callable[[], Any], note: str) -> Any:
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
                          lambda: pipeline._outliers(panels, problem), "vectorized")

    def calibration():
        rows, slots = np.nonzero(panels.present)
        return calibrate(rows, experts.slot_index[rows, slots], panels.totals[rows, slots],
                         panels.confidence[rows, slots] ** 2, panels.applications, experts.refs)
    fit = stages.run(f"calibration (WLS, Σb = 0, {len(experts.refs)} experts)", calibration,
                     "sparse design, E × E dense solve")
    rows, slots = np.nonzero(panels.present)
    stages.run("one-link experts", lambda: lone_links(rows, experts.slot_index[rows, slots],
                                                      len(panels.applications), len(experts.refs)),
               "one cut-vertex search on the experts' graph")
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
                             "compositions from an alias table, ranks by counting")
    numbers["rank_interval"] = np.column_stack([uncertainty.low, uncertainty.high])
    numbers["p_top_k"] = uncertainty.p_top_k
    ranking = stages.run("rank (score, priority criterion, median)",
                         lambda: rank_applications(numbers["score"], pipeline._tie_breakers(problem, numbers)),
                         "vectorized")
    decisions = stages.run("recommend", lambda: recommend(numbers["score"], numbers["interval"], numbers["criteria"],
                                                           problem.template, settings, numbers["rank_interval"][:, 0],
                                                           numbers["p_top_k"]), "vectorized")

    stages.run("Grubbs + Dixon diagnostics", lambda: diagnostic_steps(panels.totals), "rows of one size at once")
    stages.run("result lines: flags, sentences, trace", lambda: pipeline._application_results(
        problem, panels, status, trimmed, numbers, ranking, decisions, fit, None, outliers),
        "per application (Python), includes the diagnostics")
    result = stages.run("rank() end to end", lambda: scoring.rank(problem), "all of the above", whole=True)
    stages.run("Result.to_dict()", result.to_dict, "per application", whole=True)
    return stages


def load_baseline(commit: str) -> Any:
    """The ``scoring`` package of ``commit``, imported as ``scoring_baseline`` from a ``git archive`` copy."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    archive = subprocess.run(["git", "-C", root, "archive", commit, "scoring"], capture_output=True, check=True)
    folder = tempfile.mkdtemp(prefix="scoring-baseline-")
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    package = os.path.join(folder, "scoring")
    spec = importlib.util.spec_from_file_location("scoring_baseline", os.path.join(package, "__init__.py"),
                                                  submodule_search_locations=[package])
    module = importlib.util.module_from_spec(spec)
    sys.modules["scoring_baseline"] = module
    spec.loader.exec_module(module)
    return module


def compare_rank(data: dict[str, Any], commit: str, repeats: int) -> None:
    """parse + rank() end to end, the engine of ``commit`` beside the current one, on the same round: CPU and
    wall seconds (the run with the least CPU of ``repeats``, the two engines taking turns so that both see the
    same load), peak traced memory, and whether the two ``to_dict()`` are identical."""
    engines = ((f"baseline: scoring/ of {commit}", load_baseline(commit)), ("current", scoring))
    runs: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name, _ in engines}
    answers = {}
    for _ in range(repeats):
        for name, engine in engines:
            cpu_started = time.process_time()
            problem = engine.parse_problem(data)
            parse_cpu = time.process_time() - cpu_started
            started, cpu_started = time.perf_counter(), time.process_time()
            result = engine.rank(problem)
            rank_cpu, seconds = time.process_time() - cpu_started, time.perf_counter() - started
            cpu_started = time.process_time()
            answers[name] = result.to_dict()          # after rank(): pays any collection rank() left pending
            runs[name].append((rank_cpu, seconds, parse_cpu, time.process_time() - cpu_started))
            del result, problem
    print(f"\nrank() end to end (after parse_problem), same round, same process, least CPU of {repeats} turns:")
    print(f"{'engine':<54} {'seconds':>8} {'CPU s':>7} {'peak MiB':>9}  CPU s of parse_problem before it and "
          "to_dict after it; every turn's rank()")
    least = []
    for name, engine in engines:
        problem = engine.parse_problem(data)
        tracemalloc.start()
        engine.rank(problem)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        cpu, seconds, parse_cpu, to_dict_cpu = min(runs[name])
        least.append(cpu)
        turns = ", ".join(f"{turn[0]:.2f}" for turn in runs[name])
        print(f"rank() {name:<47} {seconds:>8.2f} {cpu:>7.2f} {peak:>9.1f}  {parse_cpu:.2f}, {to_dict_cpu:.2f}; "
              f"{turns}")
    first, second = answers.values()
    print(f"CPU ratio baseline / current: {least[0] / least[1]:.2f}×; results (to_dict) "
          f"{'identical' if first == second else 'DIFFERENT'}")


def previous_bootstrap(totals: np.ndarray, draws: int, seed: int, min_panel: int = 5, trim: bool = True,
                       level: float = 0.95, capacity: int | None = None) -> tuple[np.ndarray, np.ndarray, Any]:
    """The bootstrap as it was before resampling compositions, kept as the baseline: for chunks of 64 draws,
    n random picks per application and draw gathered into copies of the totals, the Olympic mean from their sum,
    minimum and maximum, a sort per draw for the ranks, and a partition for the percentiles."""
    totals = np.asarray(totals, dtype=float)
    n_apps = totals.shape[0]
    counts = (~np.isnan(totals)).sum(axis=1)
    by_slot = np.ascontiguousarray(np.nan_to_num(totals).T)                       # (N, A)
    groups = [(int(n), np.flatnonzero(counts == n)) for n in np.unique(counts)]
    rng = np.random.default_rng(seed)
    ranks = np.empty((n_apps, draws), dtype=np.uint16 if n_apps < np.iinfo(np.uint16).max else np.uint32)
    in_top_k = np.zeros(n_apps)
    for start in range(0, draws, 64):
        size = min(64, draws - start)
        scores = np.empty((size, n_apps))
        for n, columns in groups:
            picks = rng.integers(0, n, size=(size, n, columns.size), dtype=np.int16)
            sample = by_slot[picks, columns]                                      # (b, n, A_n)
            if trim and n >= min_panel:
                scores[:, columns] = (sample.sum(axis=1) - sample.min(axis=1) - sample.max(axis=1)) / (n - 2)
            else:
                scores[:, columns] = sample.sum(axis=1) / n
        chunk_ranks = min_ranks(scores)
        ranks[:, start:start + size] = chunk_ranks.T
        if capacity is not None:
            in_top_k += (chunk_ranks <= capacity).sum(axis=0)
    alpha = 1 - level
    low_index, high_index = int(np.floor(alpha / 2 * (draws - 1))), int(np.ceil((1 - alpha / 2) * (draws - 1)))
    ranks.partition((low_index, high_index), axis=1)
    return ranks[:, low_index].astype(int), ranks[:, high_index].astype(int), in_top_k / draws


def compare_bootstraps(totals: np.ndarray, draws: int, seed: int, capacity: int) -> None:
    """The previous and the current bootstrap on the same totals: CPU and wall seconds, peak traced memory, and
    how far apart their answers are (different random streams, so they differ by Monte Carlo noise only)."""
    def current() -> tuple[np.ndarray, np.ndarray, Any]:
        result = bootstrap_ranks(totals, draws, seed, capacity=capacity)
        return result.low, result.high, result.p_top_k
    rows, answers = [], []
    for name, call in (("previous: gathered copies, a sort per draw", lambda: previous_bootstrap(
            totals, draws, seed, capacity=capacity)), ("current: compositions, ranks by counting", current)):
        started, cpu_started = time.perf_counter(), time.process_time()
        answers.append(call())
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        tracemalloc.start()
        call()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rows.append((name, seconds, cpu, peak))
    print(f"\nbootstrap, {totals.shape[0]:,} applications × {draws:,} draws, same totals, same process:")
    print(f"{'algorithm':<54} {'seconds':>8} {'CPU s':>7} {'peak MiB':>9}")
    for name, seconds, cpu, peak in rows:
        print(f"{name:<54} {seconds:>8.2f} {cpu:>7.2f} {peak:>9.1f}")
    (low_0, high_0, top_0), (low_1, high_1, top_1) = answers
    print(f"CPU ratio previous / current: {rows[0][2] / rows[1][2]:.1f}×; peak memory ratio "
          f"{rows[0][3] / rows[1][3]:.2f}×")
    print(f"answers (Monte Carlo noise only): rank interval ends differ by {np.abs(low_1 - low_0).mean():.1f} and "
          f"{np.abs(high_1 - high_0).mean():.1f} ranks on average (signed {np.mean(low_1 - low_0):+.2f}, "
          f"{np.mean(high_1 - high_0):+.2f}); P(top-k) by at most {np.abs(top_1 - top_0).max():.3f} "
          f"(mean signed {np.mean(top_1 - top_0):+.5f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--experts", type=int, default=9, help="experts per application")
    parser.add_argument("--pool", type=int, default=300)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20200901)
    parser.add_argument("--baseline", default=BASELINE, help="commit whose rank() is the baseline")
    parser.add_argument("--repeats", type=int, default=3, help="turns of each engine's rank() end to end")
    parser.add_argument("--end-to-end-only", action="store_true",
                        help="only rank() beside the baseline: no stage table, no bootstrap comparison")
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
    if arguments.end_to_end_only:
        compare_rank(data, arguments.baseline, arguments.repeats)
        return
    timed = staged_run(data, trace_memory=False)
    tracemalloc.start()
    traced = staged_run(data, trace_memory=True)
    tracemalloc.stop()
    print_table(timed, traced)
    print(f"\npeak resident set size of the process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB")
    compare_rank(data, arguments.baseline, arguments.repeats)
    panels = build_panels(scoring.parse_problem(data))
    compare_bootstraps(panels.totals, arguments.draws, arguments.seed, max(1, arguments.applications // 10))


def _memory_gib() -> float:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        return int(meminfo.readline().split()[1]) / 2**20


if __name__ == "__main__":
    main()
