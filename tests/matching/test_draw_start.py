"""The capped master at a cap m/n starts its first LP on the flow's spanning tree, not from scratch."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import matching.draw as draw_module
from matching.greedy import greedy_panels, initial_candidates
from matching.instance import Instance
from matching.lp import AT_LOWER, BASIC, Master
from tests.matching.test_draw import dense_capped_lp
from tests.matching.test_solve import random_instance


def tied_instance(seed: int) -> Instance:
    """120 experts, 40 applications of 4 seats in three pools, fits that tie (as ``contended_instance``), a fixed
    pair: large enough that the first capped LP takes a hundred or more simplex iterations from scratch."""
    instance = random_instance(seed, 120, 40, panel=4, n_orgs=12, load_cap=3, conflict_rate=0.1,
                               quotas=((1, 2), (1, 2), (0, 2)), n_fixed=1)
    rng = np.random.default_rng(seed + 1)
    taxonomy = rng.choice([0.1, 0.5, 1.0], size=instance.fit.shape, p=[0.5, 0.3, 0.2])
    text = rng.choice([0.1, 0.2], size=instance.fit.shape)
    return dataclasses.replace(instance, fit=np.round(0.6 * taxonomy + 0.4 * text, 3))


@pytest.mark.parametrize("q", [0.4, 0.3])
def test_the_first_lp_at_a_cap_m_over_n_starts_on_the_flows_basis(q):
    """HiGHS takes the flow's tree as the first LP's basis and reaches the same optimum as from scratch over the
    same columns, in fewer simplex iterations over four rounds: here 152 against 701 at q = 0.4 and 369 against 705
    at q = 0.3 (a pair carrying fewer than m units and off the tree starts at its cap; the dual simplex repairs it),
    at contended 1,000 × 5,000 1.0 k against 62.7 k at q = 0.4."""
    m, n = draw_module.cap_fraction(q)
    started, scratch = 0, 0
    for seed in range(4):
        instance = tied_instance(seed)
        scaled = draw_module.scaled_instance(instance, q)
        greedy = greedy_panels(scaled, instance.fit)
        first = initial_candidates(scaled, instance.fit, 20, greedy=greedy)
        master = Master(instance, instance.fit, pair_cap=q)
        assert draw_module._start_on_flow(master, first, greedy, m, n)
        lp = master.solve_lp()
        fresh = Master(instance, instance.fit, pair_cap=q)
        fresh.add(master.col_e, master.col_a)
        assert lp.objective == pytest.approx(fresh.solve_lp().objective, rel=1e-9)
        assert not (lp.shortfall > 1e-7).any()
        started += master.simplex_iterations
        scratch += fresh.simplex_iterations
    assert started < 0.75 * scratch


def test_the_capped_lp_after_a_pricing_round_of_many_columns_is_reoptimized_by_the_primal_simplex(monkeypatch):
    """From the round's greedy panels alone (4 pairs a panel of 4 seats, short at the cap), pricing's first round
    adds 3,200 columns, more than :func:`~matching.draw._few` counts as few (80 for 40 applications); the LP after
    each such round is re-optimized by the primal simplex all the same (its basis stays primal feasible; contended
    1,000 × 5,000 at q = 0.3: 61 k columns in 52.3 k dual iterations), and reaches the capped optimum over every
    pair, organization rows included."""
    instance, q = tied_instance(0), 0.4
    master = Master(instance, instance.fit, pair_cap=q)
    master.add(instance.fixed[:, 0], instance.fixed[:, 1])
    master.add(*greedy_panels(instance, instance.fit))        # 4 pairs a panel: short at the cap, priced
    rounds, primal = [], []
    price_once, solve_lp_primal = draw_module._price_once, Master.solve_lp_primal

    def spy_price_once(master: Master) -> int | None:
        rounds.append(price_once(master))
        return rounds[-1]

    def spy_primal(self: Master) -> object:
        primal.append(rounds[-1])
        return solve_lp_primal(self)

    monkeypatch.setattr(draw_module, "_price_once", spy_price_once)
    monkeypatch.setattr(Master, "solve_lp_primal", spy_primal)
    marginals, value, shortfall = draw_module._solve_capped(master)
    many = [added for added in rounds if added is not None and not draw_module._few(master, added)]
    assert many and all(added in primal for added in many)
    assert primal == [added for added in rounds if added is not None]
    assert not (shortfall > 1e-7).any()
    assert value == pytest.approx(dense_capped_lp(instance, q), rel=1e-7, abs=1e-7)


@pytest.mark.parametrize("broken", ["one basic too few", "singular"])
def test_a_start_basis_highs_must_repair_still_gives_the_capped_optimum(broken, monkeypatch):
    """The flow's tree is only where the first LP starts: a basis with a basic variable too few, or with as many
    as rows but singular (every load row basic, as many of the tree's pairs at 0), is still taken by HiGHS (1.16
    accepts both and repairs them, so start_from's "refused, from scratch" path is not what guards this) and the
    capped LP over every pair still reaches its optimum (independent dense LP)."""
    flow_statuses, corrupted = draw_module.flow_statuses, []

    def corrupt(master: Master, optimum: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        columns, shortfall, rows = (codes.copy() for codes in flow_statuses(master, optimum))
        loads = rows[:master.instance.n_experts]
        if broken == "one basic too few":
            rows[np.flatnonzero(rows == BASIC)[0]] = AT_LOWER
        else:
            columns[np.flatnonzero(columns == BASIC)[:int((loads != BASIC).sum())]] = AT_LOWER
            loads[:] = BASIC
        corrupted.append(broken)
        return columns, shortfall, rows

    monkeypatch.setattr(draw_module, "flow_statuses", corrupt)
    for seed in range(3):
        instance = tied_instance(seed)
        for q in (0.4, 0.3):
            _, value, shortfall = draw_module.fractional_assignment(instance, q)
            assert not (shortfall > 1e-7).any()
            assert value == pytest.approx(dense_capped_lp(instance, q), rel=1e-9)
    assert len(corrupted) == 6
