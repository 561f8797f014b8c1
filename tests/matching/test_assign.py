"""The whole pipeline on parsed problems: §10 result, rules never broken, explanations, draw replay, replace."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from scipy.optimize import Bounds, LinearConstraint, milp

import matching.assign
from matching.assign import (
    PHASES,
    AssignResult,
    assign,
    build_context,
    input_hash,
    replace_expert,
    stopped_at_limit,
)
from matching.draw import draw
from matching.explain import explain
from matching.instance import assignment_violations
from matching.problem import parse_problem
from matching.reserves import NoReplacement
from matching.types import POOLS
from tests.matching.conftest import (
    application,
    expert,
    five_pool_experts,
    organization_cycle_problem,
    problem,
    problems,
)

RESULT_KEYS = {"status", "objective", "bound", "gap", "assignments", "panels", "reserves", "conflicts",
               "probabilities", "seed", "input_hash", "diagnostics", "timing"}
ALL_POOLS_ONE = {p: [1, 1] for p in ("economics", "technology", "industry", "management", "law")}


def scored(experts, applications, scores, **settings_):
    """A problem whose fit is given pair by pair (``scores``: {(expert, application): score}, default 0.1)."""
    data = problem(experts, applications, **settings_)
    data["affinity"] = [{"expert": e["ref"], "application": a["ref"], "score": scores.get((e["ref"], a["ref"]), 0.1)}
                        for e in experts for a in applications]
    return parse_problem(data)


def independent_optimum(p, fit: np.ndarray, hard: set[tuple[str, str]]) -> float | None:
    """The best total fit of ``p`` by a MILP written here from the rules (None when no assignment exists).

    Rows are panel sizes, pool quotas, organizations (by their drawn, canonical names) and loads; hard-conflicted
    pairs are fixed to 0. Checks the engine's presolve, diagnostics and solver from outside.
    """
    experts, apps = p.experts, p.applications
    n_e, n_a = len(experts), len(apps)
    upper = np.array([[0.0 if (e.ref, a.ref) in hard else 1.0 for a in apps] for e in experts]).ravel()
    rows, low, high = [], [], []

    def row(members, a, lo, hi):
        vector = np.zeros((n_e, n_a))
        vector[members, a] = 1
        rows.append(vector.ravel())
        low.append(lo)
        high.append(hi)

    everyone = list(range(n_e))
    for a in range(n_a):
        row(everyone, a, p.settings.panel_size, p.settings.panel_size)
        for pool in POOLS:
            row([i for i, e in enumerate(experts) if e.pool == pool], a, *p.settings.quota(pool))
        for name in {e.organization.name for e in experts}:
            row([i for i, e in enumerate(experts) if e.organization.name == name], a, 0,
                p.settings.max_per_organization)
    for i, e in enumerate(experts):
        vector = np.zeros((n_e, n_a))
        vector[i, :] = 1
        rows.append(vector.ravel())
        low.append(0)
        high.append(p.settings.max_load if e.max_load is None else e.max_load)
    solution = milp(-fit.ravel(), integrality=np.ones(n_e * n_a), bounds=Bounds(0, upper),
                    constraints=LinearConstraint(np.array(rows), low, high))
    return -solution.fun if solution.status == 0 else None


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(p=problems(max_experts=10, max_applications=4))
def test_every_rule_holds_on_random_rounds(p):
    """No conflicted pair seated or reserved; panel size, pool quotas, organization limit and loads all hold;
    the round is called infeasible exactly when an independent MILP finds no assignment, and optimal means its
    optimum."""
    result = assign(p).to_dict()
    assert set(result) >= RESULT_KEYS
    conflicted = {(c["expert"], c["application"]) for c in result["conflicts"] if c["kind"] == "hard"}
    context = build_context(p)
    best = independent_optimum(p, context.fit.fit, conflicted)
    if result["status"] != "optimal":
        assert result["status"] == "infeasible" and result["diagnostics"], "an infeasible round must say why"
        assert best is None, f"called infeasible, but an assignment of fit {best} exists: {result['diagnostics']}"
        return
    assert result["objective"] == pytest.approx(result["bound"], abs=1e-6)   # optimal means proven
    assert result["objective"] == pytest.approx(best, abs=1e-5)
    panels = {entry["application"]: [m["expert"] for m in entry["experts"]] for entry in result["assignments"]}
    assert set(panels) == {a.ref for a in p.applications}
    experts = {e.ref: e for e in p.experts}
    for app, members in panels.items():
        assert len(members) == len(set(members)) == p.settings.panel_size
        assert not {(m, app) for m in members} & conflicted
        assert not {(r, app) for r in result["reserves"].get(app, [])} & conflicted
        pools = Counter(experts[m].pool for m in members)
        for pool in POOLS:
            low, high = p.settings.quota(pool)
            assert low <= pools[pool] <= high, (app, pool, pools[pool])
        units = Counter(experts[m].organization.name for m in members)   # drawn names are canonical
        assert max(units.values()) <= p.settings.max_per_organization, (app, units)
    loads = Counter(m for members in panels.values() for m in members)
    for ref, load in loads.items():
        cap = experts[ref].max_load if experts[ref].max_load is not None else p.settings.max_load
        assert load <= cap, (ref, load, cap)
    assigned = np.zeros(context.instance.fit.shape, dtype=bool)
    for app, members in panels.items():
        assigned[[p.expert_index[m] for m in members], p.application_index[app]] = True
    assert assignment_violations(context.instance, assigned) == []


def test_organization_limit_is_explained_in_chinese():
    experts = five_pool_experts(1) + [
        expert("L2", "law", organization={"name": "E5研究所"}),       # same unit as law expert E5
        expert("L3", "law", organization={"name": "另一律师事务所"}),
    ]
    scores = {("E5", "A1"): 0.9, ("L2", "A1"): 0.8, ("L3", "A1"): 0.3}
    quotas = {**ALL_POOLS_ONE, "law": [2, 2]}
    result = assign(scored(experts, [application("A1")], scores, panel_size=6, pool_quotas=quotas)).to_dict()
    assert result["status"] == "optimal"
    (entry,) = result["assignments"]
    assert {m["expert"] for m in entry["experts"] if m["pool"] == "law"} == {"E5", "L3"}
    assert entry["explanation"] == ["第二位法律专家 L2（匹配度 0.80）因同单位限制未选（同单位的 E5 已在组内）"]
    assert result["reserves"]["A1"] == ["L2"]     # L2 can still take E5's own seat if E5 declines


def test_conflicted_best_expert_is_left_out_with_the_rule_reason():
    experts = five_pool_experts(2)
    experts[2]["organization"] = {"name": "上海A1科技有限公司"}          # E3, technology, works at the bearer
    scores = {("E3", "A1"): 0.99}
    result = assign(scored(experts, [application("A1")], scores, panel_size=5, pool_quotas=ALL_POOLS_ONE))
    entry = result.to_dict()["assignments"][0]
    assert "E3" not in [m["expert"] for m in entry["experts"]]
    (sentence,) = [s for s in entry["explanation"] if "E3" in s]
    assert sentence.startswith("第一位技术专家 E3（匹配度 0.99）因利益冲突：专家所在单位")
    assert "E3" not in result.reserves["A1"]


def test_infeasible_round_names_application_pool_and_numbers():
    experts = five_pool_experts(1)
    experts[4]["organization"] = {"name": "上海A2科技有限公司"}          # the only law expert works at A2's bearer
    data = problem(experts, [application("A1"), application("A2")], panel_size=5, pool_quotas=ALL_POOLS_ONE)
    result = assign(parse_problem(data)).to_dict()
    assert result["status"] == "infeasible"
    assert "申报 A2：法律类专家无冲突可用 0 人，需要 1 人" in result["diagnostics"]
    assert result["assignments"] == []


def test_randomized_draw_replays_from_seed_and_hash():
    experts = five_pool_experts(4)
    apps = [application(f"A{j}") for j in range(1, 5)]
    data = problem(experts, apps, panel_size=5, pool_quotas=ALL_POOLS_ONE, max_load=3,
                   randomize={"max_probability": 0.5, "seed": 7})
    first, again = assign(parse_problem(data)).to_dict(), assign(parse_problem(data)).to_dict()
    assert first["assignments"] == again["assignments"] and first["input_hash"] == again["input_hash"]
    assert first["seed"] == 7 and first["status"] == "optimal"
    assert max(p["p"] for p in first["probabilities"]) <= 0.5 + 1e-9
    assert 0 < first["expected_share"] <= 1 + 1e-9
    data["settings"]["randomize"]["seed"] = 8
    assert assign(parse_problem(data)).to_dict()["input_hash"] != first["input_hash"]


def test_a_draw_none_of_whose_samples_can_keep_the_organization_limit_gives_no_panels_and_says_why():
    """Every sample puts an organization twice on a panel and nothing can mend it: the draw returns nothing
    rather than a panel that breaks the limit, and the result says so in Chinese, with what to relax."""
    problem_ = parse_problem(organization_cycle_problem(randomize={"max_probability": 0.5, "seed": 0}))
    outcome = draw(build_context(problem_).instance, 0.5, seed=0)
    assert outcome.status == "unrepaired" and not outcome.assigned.any() and outcome.attempts == 20
    result = assign(problem_).to_dict()
    assert result["status"] == "infeasible" and result["assignments"] == [] and result["reserves"] == {}
    first = result["diagnostics"][0]
    assert first.startswith("随机抽取（种子 0）：在每对专家–申报概率上限 0.5 下抽取了 20 次")
    assert "同单位人数上限 1" in first and "不会给出违反规则的结果" in first
    assert "不使用随机抽取同样无法排满" in first           # the exact solve cannot keep every rule either
    assert any(s.startswith("放宽以下任一规则即可排满") and "同单位限制" in s for s in result["diagnostics"][1:])


def test_input_hash_ignores_nothing_that_matters():
    data = problem(five_pool_experts(1), [application("A1")], panel_size=5, pool_quotas=ALL_POOLS_ONE)
    before = input_hash(parse_problem(data))
    data["experts"][0]["max_load"] = 1
    assert input_hash(parse_problem(data)) != before


def test_input_hash_leaves_out_the_solve_time_limit():
    """How long the solve may run is no part of the problem: a replay with another limit has the same hash."""
    data = problem(five_pool_experts(1), [application("A1")], panel_size=5, pool_quotas=ALL_POOLS_ONE)
    before = input_hash(parse_problem(data))
    data["settings"]["time_limit"] = 60
    limited = assign(parse_problem(data)).to_dict()
    assert limited["input_hash"] == before and limited["status"] == "optimal"


def test_meeting_mode_reports_panels_and_recusals():
    experts = five_pool_experts(3)
    experts[3]["organization"] = {"name": "上海A1科技有限公司"}          # E4, technology, conflicted with A1 only
    apps = [application("A1"), application("A2"), application("B1", field="BIO-PH")]
    quotas = {**ALL_POOLS_ONE, "technology": [1, 2]}      # room for E4 and the colleague who replaces him on A1
    data = problem(experts, apps, mode="meeting", panel_size=5, pool_quotas=quotas,
                   meeting={"max_applications_per_panel": 2})
    data["fixed"] = [{"expert": "E4", "application": "A2"}]               # the organizer wants E4 on that panel
    scores = {("E4", a): 0.95 for a in ("A1", "A2")}
    data["affinity"] = [{"expert": e["ref"], "application": a["ref"], "score": scores.get((e["ref"], a["ref"]), 0.2)}
                        for e in experts for a in apps]
    result = assign(parse_problem(data)).to_dict()
    assert result["status"] == "optimal"
    panels = {tuple(p["applications"]): p for p in result["panels"]}
    assert set(panels) == {("A1", "A2"), ("B1",)}
    ai = panels[("A1", "A2")]
    assert "E4" in ai["experts"]
    assert [(r["expert"], r["application"], r["rule"]) for r in ai["recusals"]] == [("E4", "A1", "same-organization")]
    seated = [e for p in result["panels"] for e in p["experts"]]
    assert len(seated) == len(set(seated))
    reviewers = {entry["application"]: [m["expert"] for m in entry["experts"]] for entry in result["assignments"]}
    assert "E4" not in reviewers["A1"] and len(reviewers["A1"]) >= 5
    conflicted = {(c["expert"], c["application"]) for c in result["conflicts"]}
    for app, reserves in result["reserves"].items():
        assert reserves and not set(reserves) & set(seated)
        assert not {(r, app) for r in reserves} & conflicted


def test_meeting_mode_ignores_the_load_cap_one_panel_per_expert():
    """A load cap of 1 fits meeting mode (each expert sits on one panel for several applications); the
    individual-mode capacity count (load × applications) must not refuse it (found in review)."""
    experts = five_pool_experts(2)                 # 10 experts, load 1: 10 reviews < 3 panels × 5 seats
    apps = [application("A1"), application("A2"), application("A3")]
    data = problem(experts, apps, mode="meeting", panel_size=5, max_load=1, pool_quotas=ALL_POOLS_ONE,
                   meeting={"max_applications_per_panel": 3})
    result = assign(parse_problem(data)).to_dict()
    assert result["status"] == "optimal", result["diagnostics"]
    seated = [e for p in result["panels"] for e in p["experts"]]
    assert len(seated) == len(set(seated))


def test_replace_expert_moves_nobody_else():
    experts = five_pool_experts(3)
    apps = [application("A1"), application("A2")]
    p = parse_problem(problem(experts, apps, panel_size=5, pool_quotas=ALL_POOLS_ONE, max_load=1))
    result = assign(p).to_dict()
    before = {e["application"]: sorted(m["expert"] for m in e["experts"]) for e in result["assignments"]}
    leaving = before["A1"][0]
    swap = replace_expert(p, result["assignments"], "A1", leaving)
    after = swap["assignments"]
    assert sorted(after["A2"]) == before["A2"]
    assert set(after["A1"]) == set(before["A1"]) - {leaving} | {swap["added"]}
    pool = {e["ref"]: e["pool"] for e in experts}
    assert pool[swap["added"]] == pool[leaving]
    assert swap["added"] not in before["A2"]          # load cap 1: nobody already busy


def test_replace_expert_without_candidates_says_so():
    p = parse_problem(problem(five_pool_experts(1), [application("A1")], panel_size=5, pool_quotas=ALL_POOLS_ONE))
    result = assign(p).to_dict()
    with pytest.raises(NoReplacement, match="申报 A1：没有符合全部规则、可替换专家 E1 的人选"):
        replace_expert(p, result["assignments"], "A1", "E1")


def test_fair_objective_lifts_the_worst_panel():
    experts = five_pool_experts(2)
    apps = [application("A1"), application("A2")]
    # technology experts E3, E4 (load 1 each); everyone else fits 0.1, so a panel's fit is 0.4 + its tech expert
    scores = {("E3", "A1"): 1.0, ("E3", "A2"): 0.5, ("E4", "A1"): 0.4, ("E4", "A2"): 0.3}
    common = dict(panel_size=5, pool_quotas=ALL_POOLS_ONE, max_load=1)
    total = assign(scored(experts, apps, scores, **common)).to_dict()
    fair = assign(scored(experts, apps, scores, objective="fair", **common)).to_dict()

    def worst(result):
        return min(sum(m["fit"] for m in e["experts"]) for e in result["assignments"])

    assert np.isclose(worst(total), 0.7) and np.isclose(total["objective"], 2.1)   # E3→A1, E4→A2
    assert np.isclose(worst(fair), 0.8) and np.isclose(fair["objective"], 1.7)     # E3→A2, E4→A1
    assert fair["status"] == "optimal" and fair["bound"] == pytest.approx(1.7)


def test_not_chosen_lists_only_experts_above_the_lowest_seated_fit():
    # The law pool may seat nobody: its experts are measured against the weakest seated member (fit 0.50), so
    # the poorly fitting L1 (0.02) is not "better-fitting", while L2 (0.95), kept off by the quota, is.
    experts = [expert(f"T{i}", "technology") for i in (1, 2, 3)] + [expert("L1", "law"), expert("L2", "law")]
    scores = {("T1", "A1"): 0.7, ("T2", "A1"): 0.6, ("T3", "A1"): 0.5, ("L1", "A1"): 0.02, ("L2", "A1"): 0.95}
    quotas = {"technology": [3, 3], "law": [0, 0]}
    result = assign(scored(experts, [application("A1")], scores, panel_size=3, pool_quotas=quotas)).to_dict()
    (entry,) = result["assignments"]
    assert {m["expert"] for m in entry["experts"]} == {"T1", "T2", "T3"}
    assert [sentence for sentence in entry["explanation"] if "L1" in sentence] == []
    (sentence,) = [sentence for sentence in entry["explanation"] if "L2" in sentence]
    assert sentence.startswith("第一位法律专家 L2（匹配度 0.95）因法律类已达上限 0 人未选")
    fits = [float(s.split("匹配度 ")[1][:4]) for s in entry["explanation"]]
    assert min(fits) > 0.5


def test_progress_names_each_phase_in_order_and_counts_pricing_rounds():
    experts = five_pool_experts(4)
    apps = [application(f"A{j}") for j in range(1, 5)]
    data = problem(experts, apps, panel_size=5, pool_quotas=ALL_POOLS_ONE, max_load=3)
    reports: list[tuple[str, int]] = []
    watched = assign(parse_problem(data), progress=lambda step, number: reports.append((step, number))).to_dict()
    phases = [report for report in reports if report[0] != "pricing"]
    assert phases == [(phase, number) for number, phase in enumerate(PHASES, start=1)]
    rounds = [number for step, number in reports if step == "pricing"]
    assert rounds and rounds == list(range(1, len(rounds) + 1))
    solving, explaining = reports.index(("solve", 4)), reports.index(("report", 5))
    assert all(solving < reports.index(("pricing", number)) < explaining for number in rounds)
    unwatched = assign(parse_problem(data)).to_dict()
    assert {key: value for key, value in watched.items() if key != "timing"} == \
        {key: value for key, value in unwatched.items() if key != "timing"}


def test_an_infeasible_round_reports_no_phase_after_the_checks():
    experts = five_pool_experts(1)
    experts[4]["organization"] = {"name": "上海A2科技有限公司"}
    data = problem(experts, [application("A1"), application("A2")], panel_size=5, pool_quotas=ALL_POOLS_ONE)
    reports: list[tuple[str, int]] = []
    assign(parse_problem(data), progress=lambda step, number: reports.append((step, number)))
    assert [step for step, _ in reports] == ["conflicts", "fit", "checks"]


def test_one_panel_explained_alone_reads_as_in_the_whole_explanation():
    experts = five_pool_experts(2)
    experts[2]["organization"] = {"name": "上海A1科技有限公司"}          # a conflict, so a reason is written
    applications = [application("A1"), application("A2"), application("A3")]
    p = scored(experts, applications, {("E3", "A1"): 0.99, ("E4", "A2"): 0.7}, panel_size=5,
               pool_quotas=ALL_POOLS_ONE)
    context = build_context(p)
    assigned = np.zeros(context.instance.fit.shape, dtype=bool)
    for entry in assign(p).to_dict()["assignments"]:
        for member in entry["experts"]:
            assigned[p.expert_index[member["expert"]], p.application_index[entry["application"]]] = True
    whole = explain(context.instance, assigned, context.labels, exclusions=context.exclusions)
    for a in range(len(applications)):
        (alone,) = explain(context.instance, assigned, context.labels, exclusions=context.exclusions,
                           applications=[a])
        assert alone == whole[a] and alone.application == a


def test_a_time_limit_where_it_does_not_apply_is_named_in_the_diagnostics():
    """settings.time_limit bounds the exact total solve only; with the fair objective the run says so instead of
    passing over it silently, and without a limit nothing is said."""
    data = problem(five_pool_experts(1), [application("A1")], panel_size=5, pool_quotas=ALL_POOLS_ONE)
    data["settings"]["objective"] = "fair"
    assert not any("求解时间上限" in line for line in assign(parse_problem(data)).diagnostics)
    data["settings"]["time_limit"] = 60
    assert "求解时间上限只用于网评（individual）模式总匹配度的精确求解；本次公平目标的每次求解按其固定的 60 秒上限求解" \
        in assign(parse_problem(data)).diagnostics


def test_a_time_limit_on_a_draw_says_the_draw_runs_to_its_end():
    """The randomized draw has no time limit of its own: with the round's limit set, the run says the draw (and
    the deterministic optimum it is compared with) ran to the end, not that it kept a limit of its own."""
    data = problem(five_pool_experts(4), [application(f"A{j}") for j in range(1, 5)], panel_size=5,
                   pool_quotas=ALL_POOLS_ONE, max_load=3, randomize={"max_probability": 0.5, "seed": 7})
    data["settings"]["time_limit"] = 60
    diagnostics = assign(parse_problem(data)).diagnostics
    assert "求解时间上限只用于网评（individual）模式总匹配度的精确求解；本次随机抽取（及用于对照的确定性最优）不设时间上限，求解至结束" \
        in diagnostics


def test_a_solve_stopped_by_its_limit_names_the_flow_rounds_that_gave_its_answer():
    """A time-limited solve may answer with the min-cost flow's mended panels before any master round; the
    sentence used to read "0 轮定价" then, as if nothing had run."""
    assert stopped_at_limit(60, {"rounds": 0, "flow_rounds": 3}) == \
        "求解达到时间上限 60 秒，给出当时最好的专家组（最小费用流 3 轮、主问题 0 轮定价）"
    assert stopped_at_limit(60, {"rounds": 2}) == "求解达到时间上限 60 秒，给出当时最好的专家组（2 轮定价）"
    assert stopped_at_limit(60, {"rounds": 4, "converged": True, "mip_stopped": True}) == \
        "求解达到时间上限 60 秒，给出当时最好的专家组（4 轮定价，整数规划未完成）"


def test_a_solve_that_ran_past_its_limit_says_so(monkeypatch):
    """A time-limited solve with nothing within every rule at hand when the limit passed runs on to the end; the
    run said nothing of the limit then, as if it had been kept."""
    data = problem(five_pool_experts(1), [application("A1")], panel_size=5, pool_quotas=ALL_POOLS_ONE)
    data["settings"]["time_limit"] = 60
    solve = matching.assign.solve_total

    def ran_past_the_limit(instance, **options):
        solution = solve(instance, **options)
        solution.stats["past_limit"] = True
        return solution

    monkeypatch.setattr(matching.assign, "solve_total", ran_past_the_limit)
    diagnostics = assign(parse_problem(data)).diagnostics
    assert "求解时间上限 60 秒内没有找到满足全部规则的专家组，求解超过上限继续至结束" in diagnostics
    assert not any("求解达到时间上限" in line for line in diagnostics)


def run_whose_integer_programs_stopped(monkeypatch, status: str | None) -> AssignResult:
    """A one-application run under a 60 s limit whose solve says its integer programs stopped at the limit after
    3 master rounds, reporting ``status`` (the solve's own when None)."""
    data = problem(five_pool_experts(1), [application("A1")], panel_size=5, pool_quotas=ALL_POOLS_ONE)
    data["settings"]["time_limit"] = 60
    solve = matching.assign.solve_total

    def stopped_in_its_integer_programs(instance, **options):
        solution = solve(instance, **options)
        solution.stats.update(converged=True, mip_stopped=True, rounds=3)
        solution.status = status or solution.status
        return solution

    monkeypatch.setattr(matching.assign, "solve_total", stopped_in_its_integer_programs)
    return assign(parse_problem(data))


def test_a_solve_whose_integer_programs_stopped_at_the_limit_says_so(monkeypatch):
    """A master that converged before the limit but to a fractional LP places the split seats by integer
    programs, which now stop at the limit too: the run names that, beside the bound it could prove."""
    diagnostics = run_whose_integer_programs_stopped(monkeypatch, "feasible").diagnostics
    assert "求解达到时间上限 60 秒，给出当时最好的专家组（最小费用流 1 轮、主问题 3 轮定价，整数规划未完成）" in diagnostics


def test_a_solve_proven_optimal_says_nothing_of_the_limit_its_integer_programs_reached(monkeypatch):
    """An integer program the limit stopped may still have found panels whose value meets the bound: the run is
    proven optimal, and a sentence saying it answered with the best panels at the limit would contradict that."""
    result = run_whose_integer_programs_stopped(monkeypatch, None)
    assert result.status == "optimal"
    assert not any("求解达到时间上限" in line for line in result.diagnostics)


@pytest.mark.parametrize("seed", range(6))
def test_a_draw_with_approximate_marginals_says_truly_whether_it_was_redrawn_or_repaired(seed):
    """The cycle round with one law expert outside every organization: some samples keep the limit, at the first
    attempt (seeds 1–5) or after a redraw (seed 0). With a technology expert outside them too, the draw now
    restricts its way to exact marginals. The sentence on approximate marginals used to say every such draw
    "went through redraws or repair", also when its first sample kept every rule; now it says what happened to
    this draw."""
    data = organization_cycle_problem(randomize={"max_probability": 0.5, "seed": seed})
    data["experts"] += [expert("L4", "law")]
    problem_ = parse_problem(data)
    outcome = draw(build_context(problem_).instance, 0.5, seed=seed)
    assert outcome.status == "sampled" and not outcome.exact and not outcome.repaired
    sentence = [s for s in assign(problem_).to_dict()["diagnostics"] if "边际概率为近似值" in s]
    assert len(sentence) == 1
    if outcome.attempts == 1:
        assert "第 1 次抽取即满足全部规则" in sentence[0] and "重抽" not in sentence[0]
    else:
        assert f"共抽取 {outcome.attempts} 次" in sentence[0] and "修补" not in sentence[0]
