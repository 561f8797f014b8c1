"""Speed and quality of the exact assignment solver on synthetic instances, against a greedy baseline.

Usage::

    python3 benchmarks/matching.py                  # S, M and L, synthetic and contended
    python3 benchmarks/matching.py --sizes S,M,L
    python3 benchmarks/matching.py --sizes Q,10K --kinds synthetic   # minutes and gigabytes (docs/scale.md)
    python3 benchmarks/matching.py --sizes XL       # 20,000 applications × 50,000 experts (see docs/matching.md)
    python3 benchmarks/matching.py --extras S       # also fair objective, randomized draw, meeting mode on S
    python3 benchmarks/matching.py --draw S,M,L --repeats 2   # the draw beside the exact solve, same process
    python3 benchmarks/matching.py --sizes D,S --dense D,S   # against the dense MILP over every pair (S by default)
    python3 benchmarks/matching.py --cli Q,10K --timeout 900  # contended records through python -m matching assign
    python3 benchmarks/matching.py --prepare 10K     # its conflicts, fit and presolve alone (wall, CPU, peak)
    python3 benchmarks/matching.py --prepare Q --report   # and the report on greedy panels, beside the old reserves
    python3 benchmarks/matching.py --cli 10K --time-limit 60  # pricing in the first 36 s, bound steps to 60 s; gap
    python3 benchmarks/matching.py --conflicts-cli 10K --checkouts .,/tmp/old --folder /tmp/records  # conflicts
    python3 benchmarks/matching.py --panel-page 10000x4000 --page-baseline 4eea017  # one panel's explanation

Two kinds of instance (``--kinds``). **contended** (:mod:`realistic`): import-shaped records — Zipf-distributed
fields and organizations, member units, shareholders, past affiliations — run through Panel's own conflicts and fit
(:func:`matching.assign.build_context`), so loads bind on the popular fields' specialists, fits tie and the master
LP is degenerate; its ``build`` column includes conflicts and fit. **synthetic**, described next.

Synthetic instances (DESIGN §6, issue 3 item 9): panel 7 = technology [3, 5] + industry, economics, management, law [1, 3];
load cap 4; at most one expert per organization per panel; about 2 % of pairs conflicted. Fit = 0.6 · taxonomy
match (same field 1, same sector 0.5, other 0.1) + 0.4 · a Beta(2, 5) stand-in for text similarity. Sizes are
applications × experts. Peak memory is the process's maximum resident set (it only grows, so sizes run in
increasing order), which includes the instance generator and HiGHS's own allocations; ``solveMB`` is the peak of
the arrays the solver itself allocates (tracemalloc, which sees numpy's memory but not HiGHS's). ``--cli`` prints
the child's peak (``peakMB``, MiB) beside the engine's estimate of it (``estMB``, :mod:`matching.memory`), so the
estimate's constants stay honest.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import resource
import sys
import time
import tracemalloc
from pathlib import Path

# This script shares its name with the package it measures; drop its own folder from the path so that
# ``import matching`` finds the package, not this file.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import numpy as np  # noqa: E402

from matching.draw import draw, sample  # noqa: E402
from matching.fair import solve_fair  # noqa: E402
from matching.instance import Instance, assignment_violations  # noqa: E402
from matching.meeting import solve_meeting  # noqa: E402
from matching.solve import solve_total  # noqa: E402

SIZES = {"S": (60, 400), "M": (300, 2_000), "L": (1_000, 5_000), "XL": (20_000, 50_000),
         "LT": (1_000, 2_000),   # L's applications with 2,000 experts, so loads and pools contend
         "D": (200, 600),        # the size at which the issue timed a dense MILP (6 s)
         "Q": (5_000, 12_500),   # a quarter of XL per side
         "10K": (10_000, 25_000)}
LARGE = ("Q", "10K", "XL")
"""Sizes that take minutes and gigabytes; run only when named in ``--sizes``."""
POOLS = ("technology", "industry", "economics", "management", "law")
POOL_SHARE = (0.40, 0.15, 0.15, 0.15, 0.15)
QUOTAS = np.array([[3, 5], [1, 3], [1, 3], [1, 3], [1, 3]])
N_SECTORS, FIELDS_PER_SECTOR = 5, 4


BYTES_PER_PAIR = 27
"""Peak memory per (expert, application) pair of this script at scale: the generator's dense inputs (fit, Beta
draws, taxonomy, allowed) and the solver's masks. Measured at Q: 1,715 MB peak resident set over 62.5 M pairs
(blocked pricing keeps the solver's own arrays at 596 MB there, mostly the 4 M-pair pricing blocks)."""


def synthetic_instance(n_apps: int, n_experts: int, seed: int = 0, conflict_rate: float = 0.02,
                       load_cap: int = 4) -> Instance:
    """A random instance shaped like the commission's rounds (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n_fields = N_SECTORS * FIELDS_PER_SECTOR
    app_field = rng.integers(0, n_fields, n_apps)
    expert_fields = rng.integers(0, n_fields, (n_experts, 2))
    same_field = (expert_fields[:, :, None] == app_field[None, None, :]).any(axis=1)
    same_sector = (expert_fields[:, :, None] // FIELDS_PER_SECTOR == app_field[None, None, :] // FIELDS_PER_SECTOR
                   ).any(axis=1)
    taxonomy = np.where(same_field, 1.0, np.where(same_sector, 0.5, 0.1))
    fit = 0.6 * taxonomy + 0.4 * rng.beta(2, 5, (n_experts, n_apps))
    n_orgs = max(1, n_experts // 3)
    weights = 1.0 / (np.arange(n_orgs) + 5.0) ** 1.2          # a few large universities, many small units
    organization = rng.choice(n_orgs, n_experts, p=weights / weights.sum())
    return Instance(
        fit=fit, allowed=rng.random((n_experts, n_apps)) >= conflict_rate,
        expert_pool=rng.choice(len(POOLS), n_experts, p=POOL_SHARE), pools=POOLS, expert_org=organization,
        load_cap=np.full(n_experts, load_cap), panel_size=np.full(n_apps, 7), pool_quotas=QUOTAS, max_per_org=1,
    )


def greedy(instance: Instance) -> np.ndarray | None:
    """The baseline: application by application, each seat gets the best expert still available.

    Pool minimums are filled first, then the remaining seats from any pool below its maximum; an expert is
    available if allowed, under the load cap and from an organization not yet on the panel. Returns the (E, A)
    assignment, or None when greedy paints itself into a corner.
    """
    load = np.zeros(instance.n_experts, dtype=int)
    assigned = np.zeros(instance.fit.shape, dtype=bool)
    quotas = instance.pool_quotas
    for a in range(instance.n_apps):
        taken = np.zeros(instance.n_pools, dtype=int)
        orgs: set[int] = set()
        for seat in range(int(instance.panel_size[a])):
            short = taken < quotas[:, 0]
            seats_left = instance.panel_size[a] - seat
            deficit = np.clip(quotas[:, 0] - taken, 0, None).sum()
            open_pools = short if deficit >= seats_left else (taken < quotas[:, 1])
            ok = (instance.allowed[:, a] & (load < instance.load_cap) & ~assigned[:, a]
                  & open_pools[instance.expert_pool]
                  & ~np.isin(instance.expert_org, list(orgs) or [-2]))
            if not ok.any():
                return None
            e = int(np.argmax(np.where(ok, instance.fit[:, a], -np.inf)))
            assigned[e, a] = True
            load[e] += 1
            taken[instance.expert_pool[e]] += 1
            if instance.expert_org[e] >= 0:
                orgs.add(int(instance.expert_org[e]))
    return assigned


def traced_peak_mb(work) -> float:
    """Peak MB of the Python/numpy allocations made by ``work()`` (HiGHS's own memory is not traced)."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    load1, load5, _ = os.getloadavg()
    return (f"{platform.processor() or platform.machine()}, nproc={os.cpu_count()}, "
            f"memory={total_kb / 1024 ** 2:.1f} GiB, load average {load1:.1f}/{load5:.1f}, "
            f"python {platform.python_version()}")


def contended_instance(n_apps: int, n_experts: int, seed: int = 0, load_cap: int = 4) -> Instance:
    """A contended realistic round (:mod:`realistic`): import-shaped records, Panel's own conflicts and fit."""
    from matching.assign import build_context

    spec = importlib.util.spec_from_file_location("realistic", Path(__file__).with_name("realistic.py"))
    realistic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(realistic)
    return build_context(realistic.realistic_problem(n_apps, n_experts, seed=seed, max_load=load_cap)).instance


KINDS = {"synthetic": synthetic_instance, "contended": contended_instance}


def run_size(name: str, kind: str, seed: int, load_cap: int, trace: bool,
             time_limit: float | None = None) -> tuple[Instance, float, float] | None:
    """One size of one kind: build, greedy, exact solve, one table line. The instance with the exact solve's
    objective and wall seconds (for the reference MILP beside it), or None when the size is skipped."""
    n_apps, n_experts = SIZES[name]
    needed = BYTES_PER_PAIR * n_apps * n_experts / 2**30
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    if needed > 0.8 * available:
        print(f"{name:<3} {n_apps:>6}×{n_experts:<6} skipped: this script would need ≈{needed:.0f} GiB "
              f"({BYTES_PER_PAIR} B × {n_apps * n_experts:,} pairs), this machine has {available:.1f} GiB")
        return None
    clock = time.perf_counter()
    instance = KINDS[kind](n_apps, n_experts, seed, load_cap=load_cap)
    build = time.perf_counter() - clock
    clock = time.perf_counter()
    baseline = greedy(instance)
    greedy_seconds = time.perf_counter() - clock
    greedy_value = float(instance.fit[baseline].sum()) if baseline is not None else float("nan")
    if baseline is not None:
        broken = assignment_violations(instance, baseline)
        assert not broken, broken[:3]
    clock, cpu = time.perf_counter(), time.process_time()
    solution = solve_total(instance, pricing_time_limit=time_limit)
    seconds, cpu = time.perf_counter() - clock, time.process_time() - cpu
    # a second solve, traced (tracing slows it down), only where asked: it doubles the run
    solver_mb = traced_peak_mb(lambda: solve_total(instance)) if trace else float("nan")
    broken = assignment_violations(instance, solution.assigned) if solution.status != "infeasible" else []
    stats = solution.stats
    print(f"{kind[:4]:<4} {name:<3} {n_apps:>6}×{n_experts:<6} {build:6.1f} {seconds:8.2f} {cpu:7.2f} "
          f"{peak_rss_mb():8.0f} "
          f"{solver_mb:8.0f} "
          f"{solution.status:<10} {solution.objective:12.4f} {solution.bound or float('nan'):12.4f} "
          f"{solution.gap or 0.0:9.2e} {stats.get('rounds', 0):>3} {stats.get('simplex_iterations', 0):>8} "
          f"{stats.get('columns', 0):>9} "
          f"{str(stats.get('lp_integral', '-')):<5} "
          f"{greedy_seconds:7.2f} {greedy_value:12.4f} {greedy_value / solution.objective:7.4f} "
          f"{len(broken)}", flush=True)
    return instance, solution.objective, seconds


def run_dense(name: str, instance: Instance, time_limit: float, objective: float, exact_seconds: float) -> None:
    """The textbook formulation — every allowed pair a binary, all rows — solved by HiGHS MIP, for comparison with
    the exact solve's ``objective`` and ``exact_seconds`` on the same instance in this process."""
    from matching.lp import Master

    clock = time.perf_counter()
    master = Master(instance, instance.fit)
    master.add(*instance.allowed.nonzero())
    _, _, value, dual_bound, proven = master.solve_mip(time_limit)
    seconds = time.perf_counter() - clock
    print(f"{name} dense MILP over all {len(master.col_e):,} allowed pairs: {seconds:.2f} s, objective {value:.4f}, "
          f"dual bound {dual_bound:.4f}, {'proven' if proven else f'stopped at {time_limit:.0f} s'}; "
          f"{seconds / exact_seconds:.0f}× the exact solve's {exact_seconds:.2f} s, objective relative difference "
          f"{abs(value - objective) / max(abs(objective), 1.0):.1e}", flush=True)


def run_extras(name: str, instance: Instance, samples: int) -> None:
    """Fair objective, randomized draw (q = 0.5) with marginal deviation over seeds, meeting mode."""
    clock = time.perf_counter()
    total = solve_total(instance)
    total_seconds = time.perf_counter() - clock
    clock = time.perf_counter()
    fair = solve_fair(instance)
    worst = lambda s: (instance.fit * s.assigned).sum(axis=0).min()  # noqa: E731
    print(f"{name} fair: {time.perf_counter() - clock:.2f} s (total alone {total_seconds:.2f} s), {fair.status}; "
          f"worst panel {worst(total):.4f} → {worst(fair):.4f} (bound {fair.stats['min_panel_bound']:.4f}); "
          f"total {total.objective:.4f} → {fair.objective:.4f}", flush=True)
    clock = time.perf_counter()
    first = draw(instance, 0.5, seed=0)
    draw_seconds = time.perf_counter() - clock
    frequency = np.zeros(instance.fit.shape)
    clock = time.perf_counter()
    for seed in range(samples):
        frequency += sample(instance, first.probabilities, seed).assigned
    per_sample = (time.perf_counter() - clock) / samples
    support = first.probabilities > 0
    deviation = np.abs(frequency / samples - first.probabilities)[support]
    margin = np.sqrt(np.log(2 * support.sum() / 1e-3) / (2 * samples))
    print(f"{name} draw q=0.5: LP+first sample {draw_seconds:.2f} s, {per_sample:.3f} s per further sample; "
          f"exact={first.exact}, {first.restricted_pairs} pairs restricted to one pool per organization; "
          f"expected fit {first.expected_fit:.4f} = {first.expected_fit / total.objective:.4%} of the optimum; "
          f"over {samples} seeds max |freq − p| = {deviation.max():.3f} (Hoeffding 99.9 % margin {margin:.3f}), "
          f"max freq {(frequency / samples).max():.3f}", flush=True)
    groups = np.array_split(np.arange(instance.n_apps), -(-instance.n_apps // 8))
    clock = time.perf_counter()
    meeting = solve_meeting(instance, groups, time_limit=600)
    print(f"{name} meeting, {len(groups)} panels of ≤ 8: {time.perf_counter() - clock:.2f} s, {meeting.status}, "
          f"objective {meeting.objective:.4f}, bound {meeting.bound or float('nan'):.4f}, "
          f"{len(meeting.recusals)} recusals", flush=True)


def run_draw(name: str, kind: str, instance: Instance, repeats: int) -> None:
    """The randomized draw (q = 0.5, seed 0) beside the exact solve of the same instance, alternating in this
    process: wall and CPU seconds of each, and their ratios (the CPU ratio is the one a shared machine distorts
    least). Also whether the draw was exact (no redraw-and-repair), its restricted pairs and expected fit."""
    for _ in range(repeats):
        clock, cpu = time.perf_counter(), time.process_time()
        total = solve_total(instance)
        exact_wall, exact_cpu = time.perf_counter() - clock, time.process_time() - cpu
        clock, cpu = time.perf_counter(), time.process_time()
        drawn = draw(instance, 0.5, seed=0)
        draw_wall, draw_cpu = time.perf_counter() - clock, time.process_time() - cpu
        broken = assignment_violations(instance, drawn.assigned) if drawn.status == "sampled" else []
        print(f"draw {kind[:4]:<4} {name:<3} exact {exact_wall:7.2f} s {exact_cpu:7.2f} cpu_s | draw {draw_wall:7.2f} s "
              f"{draw_cpu:7.2f} cpu_s | draw/exact wall {draw_wall / exact_wall:5.2f} cpu {draw_cpu / exact_cpu:5.2f} | "
              f"{drawn.status} exact={drawn.exact} attempts={drawn.attempts} restricted={drawn.restricted_pairs} "
              f"expected fit {drawn.expected_fit:.4f} ({drawn.expected_fit / total.objective:.2%} of optimum) "
              f"max p {drawn.probabilities.max():.3f} viol {len(broken)}", flush=True)


def run_cli(name: str, seed: int, load_cap: int, timeout: float, folder: Path,
            time_limit: float | None = None) -> None:
    """A contended round written as the §10 problem JSON and solved by ``python -m matching assign`` in a child
    process (the entry point users call): wall time, CPU time (user + system) and peak resident memory of the
    child (GNU time) beside the peak :func:`matching.memory.problem_memory` estimates for it, its status,
    objective, bound and per-phase timing."""
    import dataclasses
    import json
    import subprocess

    from matching.memory import MIB, problem_memory

    realistic = _realistic()
    n_apps, n_experts = SIZES[name]
    path, out = folder / f"{name}.json", folder / f"{name}.out.json"
    clock = time.perf_counter()
    problem = realistic.realistic_problem(n_apps, n_experts, seed=seed, max_load=load_cap)
    data = realistic.problem_json(problem)
    if time_limit is not None:
        data["settings"]["time_limit"] = time_limit
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    del data
    estimate = problem_memory(dataclasses.replace(
        problem, settings=dataclasses.replace(problem.settings, time_limit=time_limit))).peak / MIB
    del problem
    write = time.perf_counter() - clock
    command = ["/usr/bin/time", "-f", "%e %M %U %S", "timeout", str(timeout), sys.executable, "-m", "matching", "assign",
               str(path)]
    with open(out, "w") as stdout:
        child = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, text=True,
                               cwd=Path(importlib.util.find_spec("matching").origin).parents[1])  # this package
    wall, peak_kb, user, system = child.stderr.strip().splitlines()[-1].split()[-4:]
    head = (f"cli  {name:<3} {n_apps:>6}×{n_experts:<6} {write:6.1f} {float(wall):8.1f} "
            f"{float(user) + float(system):7.1f} {int(peak_kb) / 1024:8.0f} {estimate:7.0f}")
    if child.returncode != 0:
        reason = "timeout" if child.returncode == 124 else f"exit {child.returncode}"
        print(f"{head} {reason:<10} (json {path.stat().st_size / 2**20:.0f} MB)", flush=True)
        return
    result = json.loads(out.read_text(encoding="utf-8"))
    timing = " ".join(f"{k} {v:.1f}" for k, v in result["timing"].items())
    print(f"{head} {result['status']:<10} {result['objective'] or float('nan'):12.4f} "
          f"{result['bound'] or float('nan'):12.4f} {result['gap'] or 0.0:9.2e}  timing: {timing}", flush=True)


def run_conflicts_cli(name: str, seed: int, load_cap: int, timeout: float, folder: Path,
                      checkouts: list[Path]) -> None:
    """``python -m matching conflicts`` on a contended round's §10 JSON in a child process, once per checkout (e.g.
    this package and an older commit extracted beside it): wall, CPU and peak resident memory of the child,
    the output's size and whether every checkout wrote the same bytes. The problem JSON is written once to
    ``folder`` and reused when it is there (the same records for every checkout and run)."""
    import hashlib
    import json
    import subprocess

    n_apps, n_experts = SIZES[name]
    path = folder / f"{name}-{seed}-{load_cap}.json"
    if not path.exists():
        realistic = _realistic()
        data = realistic.problem_json(realistic.realistic_problem(n_apps, n_experts, seed=seed, max_load=load_cap))
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        del data
    digests = []
    for checkout in checkouts:
        out = folder / f"{name}.conflicts.json"
        command = ["/usr/bin/time", "-f", "%e %M %U %S", "timeout", str(timeout), sys.executable, "-m", "matching",
                   "conflicts", str(path)]
        with open(out, "w") as stdout:
            child = subprocess.run(command, stdout=stdout, stderr=subprocess.PIPE, text=True, cwd=checkout)
        wall, peak_kb, user, system = child.stderr.strip().splitlines()[-1].split()[-4:]
        digest = hashlib.sha256()
        with open(out, "rb") as written:
            for chunk in iter(lambda: written.read(1 << 24), b""):
                digest.update(chunk)
        digests.append(digest.hexdigest())
        with open(out, "rb") as written:
            written.seek(max(out.stat().st_size - 4, 0))
            complete = written.read() == b"]\n}\n"          # a cut-off output is no JSON at all
        print(f"conflicts {name:<3} {n_apps:>6}×{n_experts:<6} {str(checkout):<28} exit {child.returncode} "
              f"wall {float(wall):7.1f} s, cpu {float(user) + float(system):7.1f} s, peak {int(peak_kb) / 1024:8.0f} "
              f"MiB, output {out.stat().st_size:,} bytes (ends the JSON: {complete}), sha256 {digests[-1][:12]}, load "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        out.unlink()
    print(f"conflicts {name}: same output from every checkout: {len(set(digests)) == 1}", flush=True)


def run_prepare(name: str, seed: int, load_cap: int, report: bool = False) -> None:
    """The preparation alone (parse, conflicts, fit, instance, presolve) of a contended round given as §10 JSON,
    in this process: for sizes whose solve does not finish in the time a shared machine allows."""
    from matching.assign import build_context
    from matching.infeasibility import presolve
    from matching.problem import parse_problem

    realistic = _realistic()
    n_apps, n_experts = SIZES[name]
    data = realistic.problem_json(realistic.realistic_problem(n_apps, n_experts, seed=seed, max_load=load_cap))
    cpu, clock = time.process_time(), time.perf_counter()
    problem = parse_problem(data)
    del data
    timing = {"parse": time.perf_counter() - clock}
    context = build_context(problem, timing)
    clock = time.perf_counter()
    presolve(context.instance, context.labels)
    timing["presolve"] = time.perf_counter() - clock
    phases = " ".join(f"{k} {v:.1f}" for k, v in timing.items())
    print(f"prep {name:<3} {n_apps:>6}×{n_experts:<6} wall {sum(timing.values()):6.1f} s, cpu "
          f"{time.process_time() - cpu:6.1f} s, peak {peak_rss_mb():6.0f} MB, {len(context.conflict_arrays):,} "
          f"conflicts; {phases}", flush=True)
    if report:          # after the preparation's line: its CPU seconds and peak are the preparation's alone
        run_report(name, context)


def run_report(name: str, context, sample: int = 100) -> None:
    """The report phase (explanations and reserves) on the greedy panels of a prepared round, beside the
    per-application reserve lists (:func:`matching.reserves.reserve_list`, one column at a time) on the first
    ``sample`` applications: seconds per application of each, wall and CPU, in this process."""
    from matching.explain import explain
    from matching.reserves import all_reserves, reserve_list

    instance = context.instance
    assigned = greedy(instance)
    if assigned is None:
        print(f"report {name}: greedy found no panels", flush=True)
        return
    cpu, clock = time.process_time(), time.perf_counter()
    field_fit, text_fit = context.fit.component_lookups(*np.nonzero(assigned))
    explanations = explain(instance, assigned, context.labels, exclusions=context.exclusions,
                           field_fit=field_fit, text_fit=text_fit)
    explained, explained_cpu = time.perf_counter() - clock, time.process_time() - cpu
    cpu, clock = time.process_time(), time.perf_counter()
    reserves = all_reserves(instance, assigned, 5)
    ranked, ranked_cpu = time.perf_counter() - clock, time.process_time() - cpu
    n = min(sample, instance.n_apps)
    cpu, clock = time.process_time(), time.perf_counter()
    load = assigned.sum(axis=1)
    alone = [reserve_list(instance, assigned, a, 5, load) for a in range(n)]
    column, column_cpu = time.perf_counter() - clock, time.process_time() - cpu
    same = all(r.tolist() == s.tolist() for r, s in zip(reserves[:n], alone, strict=True))
    per = 1000 / instance.n_apps
    print(f"report {name}: explanations {explained:.1f} s ({explained_cpu:.1f} CPU, "
          f"{sum(len(p.not_chosen) for p in explanations):,} sentences); reserves {ranked:.1f} s ({ranked_cpu:.1f} "
          f"CPU) = {ranked * per:.2f} ms/application; per-application reserve_list on {n}: "
          f"{column * 1000 / n:.2f} ms/application ({column_cpu * 1000 / n:.2f} CPU), ratio "
          f"{column / n / (ranked / instance.n_apps):.0f}x; same lists: {same}", flush=True)


def run_panel_page(n_apps: int, n_experts: int, repeats: int, baseline: str | None, seed: int = 0) -> None:
    """The panel page's explanation of one panel (``web.services.panels.explanation``'s engine work: the seats
    read into the engine's form, one departed member, ``explain(applications=[a])``) on random panels of 7 of a
    synthetic round with a float32 fit, as the web holds it: CPU and wall seconds per page over ``repeats``
    panels, and, with ``baseline`` (a commit), the same pages by that commit's engine — a dense E × A assignment
    and a copy of ``allowed`` — loaded beside it in this process, with a check that both say the same. The
    ``-explain`` rows time ``explain`` alone, given the assignment in each one's form."""
    import dataclasses

    from matching.explain import explain
    from matching.instance import Labels, Panels

    instance = synthetic_instance(n_apps, n_experts, seed)
    instance = dataclasses.replace(instance, fit=instance.fit.astype(np.float32))
    rng = np.random.default_rng(seed)
    experts = np.concatenate([rng.choice(n_experts, 7, replace=False) for _ in range(n_apps)])
    apps = np.repeat(np.arange(n_apps), 7)
    labels = Labels.numbered(instance)
    asked = rng.choice(n_apps, repeats, replace=False)

    def page_now(a: int):
        panels = Panels.from_pairs(experts, apps, instance.fit.shape)
        gone = {(int(panels.members(a)[0]), a): "已拒绝"}
        return explain(instance, panels, labels, withdrawn=gone, applications=[a])

    def page_then(a: int, old):
        assigned = np.zeros(instance.fit.shape, dtype=bool)
        assigned[experts, apps] = True
        allowed = instance.allowed.copy()
        e = int(np.nonzero(assigned[:, a])[0][0])
        allowed[e, a] = False
        return old.explain(dataclasses.replace(instance, allowed=allowed), assigned, labels,
                           exclusions={(e, a): "已拒绝"}, applications=[a])

    panels = Panels.from_pairs(experts, apps, instance.fit.shape)
    timed = {"now": page_now, "now-explain": lambda a: explain(instance, panels, labels, applications=[a])}
    if baseline:
        old = _module_at(baseline, "matching/explain.py", "matching/instance.py")
        assigned = panels.dense()
        timed["then"] = lambda a: page_then(a, old)
        timed["then-explain"] = lambda a: old.explain(instance, assigned, labels, applications=[a])
    results = {}
    for name, page in timed.items():
        page(int(asked[0]))                                   # warm: imports, first-touch of the fit
        cpu, clock = time.process_time(), time.perf_counter()
        results[name] = [page(int(a)) for a in asked]
        print(f"page {name:<12} {n_apps:>6}×{n_experts:<6} {1000 * (time.process_time() - cpu) / repeats:8.1f} ms CPU, "
              f"{1000 * (time.perf_counter() - clock) / repeats:8.1f} ms wall per page ({repeats} pages), "
              f"load {os.getloadavg()[0]:.1f}", flush=True)
    if baseline:
        same = [[dataclasses.asdict(p) for p in r] for r in results["now"]] == \
            [[dataclasses.asdict(p) for p in r] for r in results["then"]]      # two modules: two classes
        print(f"page same explanations: {same}", flush=True)


def _module_at(commit: str, path: str, instance_path: str):
    """``path`` as it was at ``commit``, importing ``instance_path`` of that commit as ``matching.instance``."""
    import subprocess
    import types

    def load(name: str, source_path: str):
        source = subprocess.run(["git", "show", f"{commit}:{source_path}"], capture_output=True, text=True,
                                check=True, cwd=Path(__file__).parent).stdout
        module = types.ModuleType(name)
        sys.modules[name] = module                      # dataclasses look their module up while decorating
        exec(compile(source, f"{commit}:{source_path}", "exec"), module.__dict__)
        return module

    current = sys.modules["matching.instance"]
    sys.modules["matching.instance"] = load("matching_instance_then", instance_path)
    try:
        return load("matching_explain_then", path)
    finally:
        sys.modules["matching.instance"] = current


def _realistic():
    spec = importlib.util.spec_from_file_location("realistic", Path(__file__).with_name("realistic.py"))
    realistic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(realistic)
    return realistic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="S,M,L", help=f"comma-separated from {', '.join(SIZES)}; "
                        f"{', '.join(LARGE)} take minutes and gigabytes")
    parser.add_argument("--kinds", default="synthetic,contended",
                        help="instance kinds: synthetic (formula fit) and/or contended (realistic records)")
    parser.add_argument("--trace", action="store_true", help="also trace the solver's own allocations "
                        "(solveMB; solves each size twice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--load-cap", type=int, default=4, help="expert load cap (4 in the issue; 2 is tighter)")
    parser.add_argument("--extras", default="", help="sizes on which to also run fair, draw and meeting")
    parser.add_argument("--draw", default="", help="sizes on which to time the randomized draw beside the exact "
                        "solve (ratios in one process)")
    parser.add_argument("--repeats", type=int, default=1, help="exact/draw pairs per size for --draw")
    parser.add_argument("--dense", default="S", help="sizes on which to also time the reference MILP, the dense "
                        "formulation over every allowed pair (default S, where it finishes in seconds: at M it "
                        "runs for minutes; '' for none)")
    parser.add_argument("--dense-limit", type=float, default=600, help="seconds allowed to the dense MILP")
    parser.add_argument("--samples", type=int, default=200, help="draws per size for the marginal check")
    parser.add_argument("--cli", default="", help="sizes to run as contended records through "
                        "python -m matching assign (a child process: wall seconds and peak memory)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed to each --cli run")
    parser.add_argument("--time-limit", type=float, default=None, help="the solve's own time limit in seconds "
                        "(settings.time_limit): past it the best panels at hand are reported with their gap")
    parser.add_argument("--prepare", default="", help="size whose preparation alone (conflicts, fit, presolve) "
                        "is timed in this process, contended records")
    parser.add_argument("--report", action="store_true", help="with --prepare: also time the report (explanations "
                        "and reserves) on greedy panels, beside the per-application reserve lists")
    parser.add_argument("--panel-page", default="", help="APPSxEXPERTS (e.g. 10000x4000): time the panel page's "
                        "explanation of one panel")
    parser.add_argument("--page-baseline", default=None, help="with --panel-page: a commit whose engine is timed "
                        "beside this one in the same process")
    parser.add_argument("--conflicts-cli", default="", help="size whose contended records go through python -m "
                        "matching conflicts in a child process")
    parser.add_argument("--checkouts", default="", help="with --conflicts-cli: the folders holding a matching "
                        "package to run the command from, comma-separated (default: this one; e.g. also an older "
                        "commit extracted by git archive)")
    parser.add_argument("--folder", default=None, help="with --conflicts-cli: where the problem JSON is kept")
    args = parser.parse_args()
    print(f"# machine: {machine()}")
    if args.conflicts_cli:
        import tempfile

        here = Path(importlib.util.find_spec("matching").origin).parents[1]
        checkouts = [Path(c) for c in args.checkouts.split(",") if c] or [here]
        folder = Path(args.folder or tempfile.mkdtemp())
        for name in args.conflicts_cli.split(","):
            run_conflicts_cli(name.strip().upper(), args.seed, args.load_cap, args.timeout, folder, checkouts)
        return
    if args.panel_page:
        n_apps, n_experts = (int(n) for n in args.panel_page.lower().split("x"))
        run_panel_page(n_apps, n_experts, args.repeats if args.repeats > 1 else 20, args.page_baseline, args.seed)
        return
    if args.prepare:
        run_prepare(args.prepare.strip().upper(), args.seed, args.load_cap, args.report)
        return
    if args.cli:
        import tempfile

        print(f"{'kind':<4} {'sz':<3} {'apps×experts':>13} {'write':>6} {'wall_s':>8} {'cpu_s':>7} {'peakMB':>8} "
              f"{'estMB':>7} {'status':<10} "
              f"{'objective':>12} {'bound':>12} {'gap':>9}")
        with tempfile.TemporaryDirectory() as folder:
            for name in args.cli.split(","):
                run_cli(name.strip().upper(), args.seed, args.load_cap, args.timeout, Path(folder), args.time_limit)
        return
    print("# shared machine: other engineers' jobs were running; compare ratios, not absolute seconds")
    print(f"{'kind':<4} {'sz':<3} {'apps×experts':>13} {'build':>6} {'seconds':>8} {'cpu_s':>7} {'peakMB':>8} "
          f"{'solveMB':>8} {'status':<10} "
          f"{'objective':>12} {'bound':>12} {'gap':>9} {'rnd':>3} {'iters':>8} {'columns':>9} {'int':<5} "
          f"{'greedy_s':>7} {'greedy_obj':>12} {'ratio':>7} viol")
    extras = {name.strip().upper() for name in args.extras.split(",") if name.strip()}
    dense = {name.strip().upper() for name in args.dense.split(",") if name.strip()}
    draws = {name.strip().upper() for name in args.draw.split(",") if name.strip()}
    for kind in args.kinds.split(","):
        for name in args.sizes.split(","):
            name = name.strip().upper()
            run = run_size(name, kind.strip(), args.seed, args.load_cap, args.trace, args.time_limit)
            instance = run[0] if run is not None else None
            if instance is not None and name in extras:
                run_extras(name, instance, args.samples)
            if instance is not None and name in draws:
                run_draw(name, kind.strip(), instance, args.repeats)
            if instance is not None and name in dense:
                run_dense(name, instance, args.dense_limit, *run[1:])


if __name__ == "__main__":
    main()
