"""Randomized draw (随机抽取): every pair assigned with probability at most q, expected fit as high as possible.

Following Jecmen, Zhang, Liu, Shah, Conitzer and Fang, "Mitigating manipulation in peer review via randomized
reviewer assignments" (NeurIPS 2020):

1. solve the *fractional* assignment LP with every pair variable capped at ``q`` (the same column-generation
   master as the exact solver, so it scales the same way); its value is the best expected total fit any draw
   with marginals ≤ q can have;
2. sample an integral assignment whose pair marginals equal that fractional solution, by dependent rounding on
   the flow network source → expert → [organization] → (application, pool) → application → sink: repeatedly
   find a cycle of arcs with fractional flow and push flow around it, up or down, with the probabilities that
   keep every arc's expectation unchanged. Each step makes one arc integral, and every arc stays between the
   floor and ceiling of its fractional value, so load caps, pool quotas and panel sizes always hold.

Exactness needs the constraint families to form a *bihierarchy* — two laminar families, here the expert side
{load of e} and the application side {pair} ⊂ {(a, organization)} ⊂ {(a, pool)} ⊂ {a} (Budish, Che, Kojima and
Milgrom, "Designing random allocation mechanisms", AER 2013). The per-organization limit fits that nesting only
when, for an application, the organization's experts with positive probability all sit in one pool. Where an
organization spans pools (a university with technology and law experts), its limit is outside the bihierarchy:
:func:`draw` therefore restricts such an organization to one pool for that application and solves the LP again
(this costs a little expected fit, reported), after which the draw is exact. Only if that does not converge, or a
restriction would leave a panel short, is a sample that breaks a limit drawn again, then repaired by giving the
surplus seat to the best feasible reserve or trading it with a member of another panel; both keep every
constraint but bend the marginals (``exact`` is then False). When no sample can be repaired, the draw returns no
assignment (status ``unrepaired``), never one that breaks a rule (docs/matching.md §3).
``DrawResult.exact`` says whether that happened to be possible; ``benchmarks/matching.py`` measures the deviation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from matching.bits import BitMatrix
from matching.greedy import greedy_panels, initial_candidates
from matching.instance import Instance, org_counts
from matching.lp import LPResult, Master, block_width, largest_magnitude
from matching.network import PRICED_PER_APP, best_per_column, near_zero_pairs, network_optimum, pairs_above
from matching.reserves import NoReplacement, exchange, replace
from matching.rounding import SNAP, FlowNetwork
from matching.solve import (
    NEAR_PER_APP,
    PRICED_PER_SEAT,
    PRICING_TOLERANCE,
    fixed_pairs_unkeepable,
    flow_statuses,
    generate_columns,
    start_on_network,
)

REPICKS = 3
"""Times a pool restriction that left a panel short is chosen again toward the short pools (see :func:`draw`)."""


@dataclass
class DrawResult:
    """A seeded draw.

    Attributes
    ----------
    status : str
        ``sampled``; ``infeasible`` when no fractional assignment meets the quotas under the cap or the fixed pairs
        alone break a rule (:func:`~matching.solve.fixed_pairs_unkeepable`, as the exact solve); ``unrepaired``
        when every sample broke an organization limit outside the bihierarchy and none could be repaired
        (:func:`repair_organizations`): ``assigned`` is then all False — a draw never returns a panel that breaks
        a rule.
    assigned : ndarray, shape (E, A), bool
        The drawn assignment.
    probabilities : ndarray, shape (E, A), float
        Marginal probability of each pair (the fractional optimum), every one ≤ ``max_probability`` except
        fixed pairs (probability 1).
    expected_fit : float
        Σ probability · fit: the expected total fit of the draw.
    seed : int
    exact : bool
        True when all constraints lie in the bihierarchy, so the marginals are exactly ``probabilities``;
        False when cross-pool organization limits may need redraws or repair (marginals then approximate).
    attempts : int
        Samples drawn, at most ``max_attempts``. When every one broke an organization limit, the assignment
        returned is the first of them, newest first, that could be repaired (``repaired``), or none
        (``unrepaired``).
    repaired : bool
        Whether ``assigned`` is a repaired sample (:func:`repair_organizations`) rather than one drawn as it is:
        ``attempts`` alone cannot tell, since the last of ``max_attempts`` samples may have kept every rule.
    shortfall : ndarray, shape (A, P)
        Seats per (application, pool) the capped LP could not fill (infeasible draws only).
    restricted_pairs : int
        Pairs forbidden to keep organizations within one pool per application (see :func:`draw`).
    allowed : BitMatrix, shape (E, A), or None
        The pairs the draw could use: the instance's, less the restricted ones (None when infeasible).
        ``probabilities`` is the capped LP optimum over exactly these pairs.
    """

    status: str
    assigned: np.ndarray
    probabilities: np.ndarray
    expected_fit: float
    seed: int
    exact: bool
    attempts: int
    shortfall: np.ndarray
    restricted_pairs: int = 0
    allowed: BitMatrix | None = None
    repaired: bool = False


def fractional_assignment(instance: Instance, max_probability: float) -> tuple[np.ndarray, float, np.ndarray]:
    """The fractional assignment maximizing total fit with every pair ≤ ``max_probability``.

    Returns
    -------
    probabilities : ndarray, shape (E, A)
    value : float
        Its total fit (an upper bound on any draw's expectation, and the LP optimum of the full problem).
    shortfall : ndarray, shape (A, P)
        Non-zero where the cap makes the quotas impossible.
    """
    marginals, value, shortfall = _solve_capped(_capped_master(instance, max_probability))
    return marginals.dense(instance), value, shortfall


def _capped_master(instance: Instance, max_probability: float) -> Master:
    """A capped master whose first LP already holds a capped solution, from the first columns of
    :func:`scaled_instance` (greedy panels and load-priced shortlists for panels of ``k`` times the seats): the
    master holds them and the pairs that price out of its organization-free LP until none does
    (:func:`_price_without_organizations`), or, when ``q = 1/k``, what the flow started from them adds (below):
    either way its first LP is the capped organization-free optimum, which the start restriction reads.

    When ``q = 1/k`` (:func:`units_per_seat`, ``k`` at most the number of experts: see :func:`scaled_instance`),
    the master starts on the network as the exact solve does (:func:`~matching.solve.start_on_network` with
    ``k`` units per seat, grown from those columns): the capped organization-free relaxation is then a
    min-cost flow with every count times ``k`` and pair arcs of capacity 1, and the first capped LP starts at
    its optimum, with only the organization rows to repair. The first columns start the flow but do not
    join the master: it holds what the start adds (the flow's pairs and basis, the pairs it prices near
    zero, the greedy panels, the mending alternatives), and the near ties, added with the start restriction
    or else before the first restriction (:func:`_add_near_ties`), are the room the restrictions need. Every dual pivot walks every column: contended
    5,000 × 12,500 started on 0.90 M columns instead of 1.33 M, and the restriction's re-optimization took
    27.6 CPU s instead of 43.1 for the same 46–47 k iterations; contended 300 × 2,000, on another path,
    drew in 1.09–1.10 CPU s instead of 0.79–0.93 (docs/matching.md §3). Small rounds start there too (100
    contended 40 × 8 rounds at q = 0.5: expected fit 1,784.88 against 1,785.30 with the first columns in the
    master, lower on 13 and higher on 13; 1.58 against 1.44 CPU s in all).

    Another cap ``m / n`` (:func:`cap_fraction`, such as 0.4 = 2 / 5) starts on the flow with ``n`` units a
    seat and ``m`` a pair, grown from them: its pairs, those its potentials price near zero and its spanning
    tree as the first LP's basis (:func:`_start_on_flow`); pricing that LP over every pair then adds a few
    columns (contended 1,000 × 5,000 at q = 0.4: the start 2.4–2.7 CPU s, against 5.3–6.0 from scratch over the
    flow's columns and 16.0–16.6 over the greedy ones; docs/matching.md §3)."""
    master = Master(instance, instance.fit, pair_cap=max_probability)
    seats = instance.pool_quotas[:, 1].max(initial=1) / max(max_probability, 1e-9)
    per_seat = min(int(np.ceil(seats)), instance.n_experts) + 8        # no shortlist is longer than the experts
    scaled = scaled_instance(instance, max_probability)
    greedy = greedy_panels(scaled, instance.fit)
    first = initial_candidates(scaled, instance.fit, per_seat, greedy=greedy)
    units = units_per_seat(max_probability)
    if units is not None and units <= instance.n_experts and instance.allowed.any():
        start_on_network(master, instance.fit, first, greedy, units=units)
        return master
    master.add(instance.fixed[:, 0].astype(np.int64), instance.fixed[:, 1].astype(np.int64))
    fraction = cap_fraction(max_probability)
    if fraction is not None and fraction[1] <= instance.n_experts and instance.allowed.any():
        _start_on_flow(master, first, greedy, *fraction)
    else:
        master.add(*first)
    _price_without_organizations(master)
    return master


def _start_on_flow(master: Master, first: tuple[np.ndarray, np.ndarray], greedy: tuple[np.ndarray, np.ndarray],
                   m: int, n: int) -> bool:
    """Give the capped master at a cap ``m / n`` its first columns and a starting basis from the capped
    organization-free flow (``n`` units a seat, ``m`` a pair) grown from ``first``: the flow's pairs, those its
    potentials price near zero, the pairs of its spanning tree and the greedy panels; the tree is the basis
    (:func:`~matching.solve.flow_statuses`). Returns whether the basis was set (HiGHS repairs one it
    cannot use: :meth:`~matching.lp.Master.start_from`).

    The tree is a basis of the capped LP and, taken among the arcs tight under the potentials, dual feasible
    (:meth:`~matching.network.FlowNetwork.basis`), but unlike at ``1 / k`` not always primal feasible: a pair
    carrying fewer than ``m`` units sits strictly inside its bounds, and where such pairs close a cycle, one of
    them is off the tree and starts at the cap. The dual simplex repairs those: contended 1,000 × 5,000, the
    first LP in 1,039 iterations at q = 0.4 and 2,826 at q = 0.3, against 62.7 k and 61.2 k from scratch over the
    flow's columns, to the same optimum (docs/matching.md §3)."""
    instance = master.instance
    per_seat = int(np.ceil(n / m))
    optimum = network_optimum(instance, instance.fit, *first, units=n, pair_units=m,
                              per_app=PRICED_PER_APP * per_seat)
    basis = optimum.basis
    master.add(optimum.experts, optimum.apps)
    master.add(*near_zero_pairs(instance, instance.fit, optimum, NEAR_PER_APP * per_seat))
    master.add(basis.basic_experts, basis.basic_apps)
    master.add(*greedy)
    return master.start_from(*flow_statuses(master, optimum))


MAX_DENOMINATOR = 20
"""Largest ``n`` of a cap ``m / n`` whose first columns come from a flow (:func:`cap_fraction`)."""


def cap_fraction(max_probability: float) -> tuple[int, int] | None:
    """``(m, n)`` when the cap is ``m / n`` in lowest terms with ``n`` at most :data:`MAX_DENOMINATOR` (to
    rounding), else None."""
    if not 0 < max_probability <= 1:
        return None
    fraction = Fraction(max_probability).limit_denominator(MAX_DENOMINATOR)
    if abs(float(fraction) - max_probability) >= 1e-9:
        return None
    return fraction.numerator, fraction.denominator


def _price_without_organizations(master: Master) -> None:
    """Price the master's organization-free LP over every allowed pair until no pair prices out (each round adds
    pairs not yet in the master, or ends): for a cap not ``1/k``, what the flow start adds for ``1/k``.
    :func:`_restrict_at_start` restricts from that LP's solution, which then is the capped organization-free
    optimum whatever ``q``; read off the first columns alone, unpriced, it restricted organizations to pools the
    optimum does not favour and forbade pairs the optimum uses (contended 1,000 × 5,000 at q = 0.4: five rounds,
    14.5 of the draw's 19.5 CPU s, before the first columns came from a flow: :func:`_start_on_flow`).

    A round that added few columns (:func:`_few`) is re-optimized by the primal simplex: from the flow's columns
    the second round adds about a hundred (96 at contended 1,000 × 5,000), which the dual simplex took 27.7 k
    iterations (1.7 CPU s) to place and the primal 11."""
    per_app = _priced_per_app(master)
    added = 0
    while True:
        lp = master.solve_lp_primal() if _few(master, added) else master.solve_lp()
        added = master.add(*_pairs_above(master, lp, PRICING_TOLERANCE, per_app))
        if added == 0:
            return


def units_per_seat(max_probability: float) -> int | None:
    """``k`` when the cap is ``1/k`` (to rounding), else None.

    Only then is the capped organization-free relaxation a flow with pair arcs of capacity 1 after scaling
    every count by ``k``. Another cap ``m/n`` would need counts times ``n`` and pair arcs of capacity ``m``,
    whose flows may leave pairs strictly between 0 and the cap (they must then be basic, which the flow's
    spanning tree does not promise); such caps start on that flow's tree as a basis the dual simplex may still
    have to make primal feasible (:func:`cap_fraction`, :func:`_start_on_flow`), their organization-free LP
    priced over every pair (:func:`_price_without_organizations`; docs/matching.md §3)."""
    if not 0 < max_probability <= 1:
        return None
    k = round(1.0 / max_probability)
    return k if abs(k * max_probability - 1.0) < 1e-9 else None


def scaled_instance(instance: Instance, max_probability: float) -> Instance:
    """The instance with every count multiplied by ``k = ⌈1/q⌉`` — loads, panel sizes, pool quotas and the
    organization limit — and no fixed pairs: an assignment of it divided by ``k`` is a capped fractional
    assignment of ``instance`` (each pair at most 1/k ≤ q, every row within its bound).

    ``k`` is at most the number of experts ``E``: with ``q < 1/E`` no seat that is not fixed can be filled (all
    the experts together give ``q·E < 1``), the capped LP reports the shortfall, and ``k = ⌈1/q⌉`` would only
    make the first columns costly (40 × 8 at q = 1e-6: 150 CPU s; :func:`_capped_master` bounds its shortlists
    by ``E`` too, which at q = 1e-9 asked for 358 GiB).

    Only the capped master's first columns come from it (the proof prices every pair of ``instance``). With
    the exact solve's first columns at the original counts, the greedy panels used each pair at 1 where the
    cap allows q, and the first capped LP of contended 1,000 × 5,000 stood at 5,017 against its optimum
    5,262.7; with these, the greedy panels give every seat ``k`` experts sharing it and the first LP is at
    5,256.2 (docs/matching.md §3).
    """
    k = min(int(np.ceil(1.0 / max(max_probability, 1e-9) - 1e-9)), max(instance.n_experts, 1))
    return dataclasses.replace(instance, load_cap=instance.load_cap * k, panel_size=instance.panel_size * k,
                               pool_quotas=instance.pool_quotas * k, max_per_org=instance.max_per_org * k,
                               fixed=np.zeros((0, 2), dtype=np.int64))


def _solve_capped(master: Master) -> tuple[Marginals, float, np.ndarray]:
    """:func:`fractional_assignment` on a master that may already hold columns and a basis: columns are priced
    over every allowed pair until the LP is optimal for the master's instance.

    Pricing waits until the LP breaks no organization limit: the rows its solution breaks are added and the LP
    re-optimized first (:func:`_reoptimize`, warm pivots), where a pricing round of the exact solve's loop walks
    every pair for each batch of rows (contended 1,000 × 5,000: seven of its eleven rounds added rows only, at
    0.5 CPU s of pricing each).

    The LP after a round that added columns is re-optimized by the primal simplex however many they are (where
    :func:`_few` draws the line elsewhere): its basis was optimal, so it stays primal feasible and only the new
    columns price out. The first call, after the start restriction, is where it counts: contended 1,000 × 5,000
    from the m/n start (:func:`_start_on_flow`), the round added 4,763 columns at q = 0.4 and 61 k at q = 0.3,
    which the dual simplex placed in 29.6 k and 52.3 k iterations (2.1 and 4.8 CPU s); with the primal simplex
    the draw took 5.9 CPU s instead of 7.3 at q = 0.4, 11.5 instead of 18.0 at q = 0.3 and 5.5 instead of 7.2 at
    q = 0.55 = 11/20, with a higher expected fit each time (docs/matching.md §3). At q = 0.5 its rounds add few
    columns and were re-optimized by the primal simplex already."""
    added = 0
    while True:
        result = _reoptimize(master, primal=added > 0)
        added = _price_once(master)
        if added is None:
            return result


CAPPED_PRICED_PER_SEAT = 2 * PRICED_PER_SEAT
"""Columns a pricing round of the capped LP may add per application, per panel seat: twice the exact solve's,
as a capped panel spreads each seat over at least two experts (see :func:`_priced_per_app`)."""


def _priced_per_app(master: Master) -> int:
    """Columns a pricing round may add per application: :data:`CAPPED_PRICED_PER_SEAT` per seat, more for
    small caps, whose panels spread over more experts. Contended 1,000 × 5,000, first capped LP: 29 CPU s at 4
    a seat, 23 s at 10 (the exact solve's number); at 20, 114 k, 111 k and 118 k simplex iterations on three
    rounds against 133 k, 130 k and 139 k at 10 (CPU 12.6, 11.7, 14.6 s against 14.5, 14.3, 14.4); at 30 no
    fewer than at 20; contended 300 × 2,000 the same at 10 and 20 (its rounds rarely reach the limit)."""
    seats = int(master.instance.panel_size.max(initial=1))
    return max(CAPPED_PRICED_PER_SEAT * seats, int(np.ceil(2 * seats / max(master.pair_cap, 1e-9))))


def _price_once(master: Master) -> int | None:
    """One pricing round over every allowed pair: None if it proved the master's present LP optimal (it added
    no column and the LP breaks no organization limit), else the number of columns it added (the LP must then
    be re-optimized).

    The round may add organization rows the LP holds exactly at the limit (``tight``): they need no
    re-optimization and no second pricing round. No column prices out, so the LP's solution is optimal over
    every pair under the rows it was solved with; it meets the new rows too, and rows only shrink the feasible
    set, so it stays optimal. The draw priced a second time after each such round, a full pass over every pair
    that found nothing (contended 1,000 × 5,000: 0.1–0.16 CPU s a pass, two a draw; docs/matching.md §3)."""
    columns, rows = len(master.col_e), len(master.org_rows)
    lp, _, _ = generate_columns(master, per_app=_priced_per_app(master), max_rounds=1)
    if len(master.col_e) == columns and not _breaks_new_rows(master, lp.x[:columns], rows):
        return None
    return len(master.col_e) - columns


def _breaks_new_rows(master: Master, x: np.ndarray, rows: int) -> bool:
    """Whether ``x`` (over the columns before the round) breaks one of the organization rows added after the
    first ``rows``, by :meth:`~matching.lp.Master.org_rows_over`'s own arithmetic, so that a row added as broken
    is broken here: each such answer adds a row, and the rows are finite."""
    new = set(list(master.org_rows)[rows:])
    if not new:
        return False
    columns = len(x)
    padded = np.zeros(len(master.col_e))
    padded[:columns] = x
    return not new.isdisjoint(master.org_rows_over(padded))


PRIMAL_AFTER = 2
"""A re-optimization after a pricing round that added at most this many columns per application (and at least
one) runs HiGHS's primal simplex (:meth:`~matching.lp.Master.solve_lp_primal`)."""


def _few(master: Master, added: int) -> bool:
    """Whether ``added`` new columns are few enough for the primal simplex (:data:`PRIMAL_AFTER`).

    After a restriction cascade a pricing round adds a handful to a few thousand columns, and the dual simplex
    re-optimized each such master in ≈ 21–24 k iterations (contended 1,000 × 5,000: 21,362 after 6 new
    columns, 23,775 after 1,628), the primal simplex in 58 and 1,203. The first LP's rounds add tens of
    thousands, where the exact solve measured the primal simplex slower (docs/matching.md §1).
    """
    return 0 < added <= PRIMAL_AFTER * master.instance.n_apps


def _reoptimize(master: Master, *, primal: bool = False) -> tuple[Marginals, float, np.ndarray]:
    """The capped LP over the master's present columns only, with the organization rows its solution breaks
    and, whenever it breaks some, those it holds exactly at the limit (``tight``, as the exact solve's pricing
    rounds add them): they cost no pivot when they enter and are where the next solve would break the limit.
    Contended 5,000 × 12,500: the draw 169.6 CPU s against 183.8, the first restriction's rows in 3 solves
    instead of 9; contended 1,000 × 5,000: 13 solves instead of 16, 5.3–5.7 against 6.8–7.3 s (busy machine).

    No pricing: after a restriction, this is a few warm pivots, where pricing walks every allowed pair. The
    result is feasible and capped but optimal only over these columns; :func:`draw` prices whenever the
    restrictions have settled. ``primal``: the first solve by the primal simplex (the caller decides: after any
    added columns in :func:`_solve_capped`, after few of them elsewhere, :func:`_few`); the solves after
    organization rows are added keep the dual simplex (a new row leaves the basis dual feasible)."""
    lp = master.solve_lp_primal() if primal else master.solve_lp()
    while _breaks_organization_limit(master, lp.x) and master.add_org_rows(lp.x):
        master.add_org_rows(lp.x, tight=True)
        lp = master.solve_lp()
    return _probabilities(master, lp)


NEAR_TIE = 0.004
"""Pairs whose reduced cost is above −this × the largest |fit| join the master with the first restriction (at
most :func:`_ties_per_app` an application): at the organization-free first LP when the draw restricts at the start
(:func:`_restrict_at_start`), else at the first capped optimum (:func:`_add_near_ties`)."""


def _add_near_ties(master: Master) -> None:
    """Add the allowed pairs priced within :data:`NEAR_TIE` of zero at the master's (priced, optimal) LP, the best
    :func:`_ties_per_app` of each application.

    They change nothing at that optimum (reduced cost ≤ 0: they enter at zero and the basis stays optimal),
    but they are what a restriction reaches for: on a contended round the fit ties and most reduced costs crowd
    just below zero, so when a restriction takes pairs away, a master without them re-optimizes into a poorer
    vertex, whose organizations span pools again, and the pricing after the restrictions settle brings the
    tied pairs in one round at a time, each a re-optimization of some 23 k dual-simplex iterations at
    1,000 × 5,000. With them (82 k pairs there) the restrictions settle over the right pairs: 153 k simplex
    iterations in the whole draw against 204 k, 236 k restricted pairs against 374 k, and a higher expected fit
    (5,262.11 against 5,262.01; docs/matching.md §3). Nothing here is part of the proof: pricing over every
    pair still decides when the LP is optimal.
    """
    master.add(*_near_ties(master, master.solve_lp()))
    master.solve_lp()       # into the HiGHS model now (no pivot): Master.restrict holds only those at zero


def _near_ties(master: Master, lp: LPResult) -> tuple[np.ndarray, np.ndarray]:
    """The allowed pairs outside the master that ``lp``'s duals price within :data:`NEAR_TIE` of zero, at most
    :func:`_ties_per_app` per application, the best first."""
    return _pairs_above(master, lp, -NEAR_TIE * largest_magnitude(master.instance.fit), _ties_per_app(master))


def _pairs_above(master: Master, lp: LPResult, threshold: float, per_app: int) -> tuple[np.ndarray, np.ndarray]:
    """The allowed pairs outside the master whose reduced cost at ``lp`` is above ``threshold``, at most ``per_app``
    per application, the best first."""
    experts, apps = [], []
    for block, rc in master.reduced_cost_blocks(lp):
        e, a = pairs_above(rc, master.instance.allowed[:, block], master.in_set, block.start, threshold)
        best = best_per_column(rc[e, a], a, per_app)
        experts.append(e[best]), apps.append(a[best] + block.start)
    return np.concatenate(experts), np.concatenate(apps)


NEAR_TIES_PER_SEAT = 4
"""Near ties an application may take per pair its panel holds at the cap (:func:`_ties_per_app`)."""


def _ties_per_app(master: Master) -> int:
    """Most near ties per application: :data:`NEAR_TIES_PER_SEAT` for each of the ``n_a / q`` pairs at the cap
    that its panel spreads over (56 for a panel of 7 at q = 0.5).

    Every near tie is a column of the HiGHS model, and the dual simplex that repairs the start restriction
    walks every column at each of its ≈ 50 k iterations at contended 5,000 × 12,500, where the flow's vertex
    priced 3.8 M pairs within :data:`NEAR_TIE` (760 an application, against 112 at 1,000 × 5,000): that
    re-optimization took 144 CPU s over 5.2 M columns, 54 s with 140 ties an application and 33 s with 56
    (47–51 k iterations each; docs/matching.md §3)."""
    seats = int(master.instance.panel_size.max(initial=1))
    return int(np.ceil(NEAR_TIES_PER_SEAT * seats / max(master.pair_cap, 1e-9)))


def _breaks_organization_limit(master: Master, x: np.ndarray) -> bool:
    """Whether the LP values ``x`` put more than ``max_per_org`` of one organization on a panel, counted over
    the columns with positive value only (a few thousand of the master's hundreds of thousands): the check
    :meth:`~matching.lp.Master.add_org_rows` makes over every column, for the common case where nothing is
    broken. Leaving out negative round-off only raises the sums, so a False here is a False there."""
    positive = np.nonzero(x > 0)[0]
    orgs = master.instance.expert_org[master.col_e[positive]]
    limited = orgs >= 0
    if not limited.any():
        return False
    n_orgs = int(orgs.max()) + 1
    code = master.col_a[positive[limited]].astype(np.int64) * n_orgs + orgs[limited]
    _, inverse = np.unique(code, return_inverse=True)
    return bool((np.bincount(inverse, weights=x[positive[limited]]) > master.instance.max_per_org + 1e-9).any())


@dataclass
class Marginals:
    """The pairs of a capped LP solution with positive probability (values below :data:`SNAP` dropped), as
    three arrays: the restriction loop reads a few thousand pairs where an E × A matrix is millions (5 M at
    1,000 × 5,000, 40 MB to fill and scan after each of some ninety warm re-optimizations)."""

    experts: np.ndarray
    apps: np.ndarray
    values: np.ndarray

    def dense(self, instance: Instance) -> np.ndarray:
        """The probabilities as an (E, A) matrix."""
        probabilities = np.zeros(instance.fit.shape)
        probabilities[self.experts, self.apps] = self.values
        return probabilities


def _probabilities(master: Master, lp: LPResult) -> tuple[Marginals, float, np.ndarray]:
    """The LP's marginals, their expected fit and the LP's shortfall."""
    positive = np.nonzero(lp.x >= SNAP)[0]
    experts, apps, values = master.col_e[positive], master.col_a[positive], lp.x[positive]
    value = float((values * master.instance.fit[experts, apps]).sum(dtype=np.float64))
    return Marginals(experts, apps, values), value, lp.shortfall


def draw(instance: Instance, max_probability: float, seed: int, *, max_attempts: int = 20,
         max_restrictions: int = 100) -> DrawResult:
    """Solve the capped fractional assignment and sample from it (see the module docstring).

    Organizations whose experts would share an application's probability across several pools are first
    restricted to one pool for that application (the pool holding most of their probability) and the LP is solved
    again, until every organization limit nests under a pool: then the draw is exact and the cap holds for every
    pair. With each such restriction, the organizations whose probability on an application lies in one pool are
    held in that pool (:func:`in_one_pool`; only pairs at zero are forbidden), so that the re-optimization does
    not make them span pools in turn. The expected fit this restriction costs is visible in ``expected_fit``.
    The first restriction is made from the organization-free LP, before the first capped LP
    (:func:`_restrict_at_start`).

    Parameters
    ----------
    instance : Instance
    max_probability : float
        The cap ``q`` on every pair's probability, 0 < q ≤ 1.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed and instance give the same draw.
    max_attempts : int
        Redraws allowed for organization limits outside the bihierarchy (only if restriction did not converge).
    max_restrictions : int
        Rounds of pool restriction before falling back to redraw-and-repair. A round costs a warm
        re-optimization; a contended 1,000 × 5,000 round needs 2–3 since the organizations present in one pool
        are held there with each restriction (:func:`in_one_pool`), 11–43 before (docs/matching.md §3).
    """
    if fixed_pairs_unkeepable(instance):      # neither the capped LP nor the flow has a solution
        empty = np.zeros(instance.fit.shape, dtype=bool)
        return DrawResult("infeasible", empty, np.zeros(instance.fit.shape), 0.0, seed, True, 0,
                          np.zeros((instance.n_apps, instance.n_pools)))
    master = _capped_master(instance, max_probability)
    restricted = _restrict_at_start(master)
    marginals, value, shortfall = _solve_capped(master)
    if (shortfall > 1e-7).any() and restricted is not instance:
        # the first restriction left a panel short: take it back (the LP over every pair says whether it was)
        master.restrict(restricted := instance)
        marginals, value, shortfall = _solve_capped(master)
    kept_start = restricted is not instance     # restricted at the start, with its near ties, and kept
    if (shortfall > 1e-7).any():
        empty = np.zeros(instance.fit.shape, dtype=bool)
        return DrawResult("infeasible", empty, marginals.dense(instance), value, seed, True, 0, shortfall)
    members = organization_members(instance)
    priced, restrictions = True, 0      # priced: the LP is optimal over every pair
    while True:
        spanning = _spanning(restricted, marginals.experts, marginals.apps)
        if not spanning and priced:
            break
        if not spanning or restrictions == max_restrictions:
            if not priced:
                # The restrictions were re-optimized over the columns at hand; price over every allowed pair,
                # one round at a time: the columns a round brings in may make organizations span pools again,
                # and those are restricted before the next round rather than after a full re-solve.
                added = _price_once(master)
                if added is None:
                    priced = True
                else:
                    marginals, value, _ = _reoptimize(master, primal=_few(master, added))
                continue
            break
        if restrictions == 0 and not kept_start:
            _add_near_ties(master)
        restrictions += 1
        kept = heaviest_pools(restricted, marginals, spanning)
        settled = in_one_pool(restricted, marginals)
        narrower = restrict_to_one_pool(restricted, settled | kept)
        master.restrict(narrower)                 # warm: the last basis, the forbidden columns held at zero
        narrower_marginals, narrower_value, shortfall = _reoptimize(master)
        if (shortfall > 1e-7).any() and settled:
            # The organizations held in their one pool may be what the short panel needed: restrict the
            # spanning ones alone, as if the others had not been held.
            narrower = restrict_to_one_pool(restricted, kept)
            master.restrict(narrower)
            narrower_marginals, narrower_value, shortfall = _reoptimize(master)
        narrower_priced = False
        if (shortfall > 1e-7).any():
            # The columns at hand may only be too few: price before concluding that a panel is short.
            narrower_marginals, narrower_value, shortfall = _solve_capped(master)
            narrower_priced = True
        for _ in range(REPICKS):
            if not (shortfall > 1e-7).any():
                break
            # The heaviest pool starved another pool of a panel: keep the short pool instead, where the
            # organization has experts there, and solve again on a fresh master, whose first columns follow
            # the pools now kept (Master.restrict could also give the forbidden columns back, warm; not
            # measured here, since no benchmark draw repicks).
            repicked = keep_short_pools(restricted, kept, shortfall, members=members)
            if repicked == kept:
                break
            kept, narrower = repicked, restrict_to_one_pool(restricted, repicked)
            master = _capped_master(narrower, max_probability)
            narrower_marginals, narrower_value, shortfall = _solve_capped(master)
        if (shortfall > 1e-7).any():
            # No choice of pools found keeps every panel fillable: keep the last feasible LP (optimal over
            # every pair it allows) and let redraw-and-repair handle the organization limits still outside the
            # bihierarchy (``exact`` False).
            if not priced:
                marginals, value, _ = _solve_capped(_capped_master(restricted, max_probability))
            break
        restricted, marginals, value = narrower, narrower_marginals, narrower_value
        priced = narrower_priced
    result = sample(restricted, marginals.dense(instance), seed, expected_fit=value, max_attempts=max_attempts)
    result.restricted_pairs = int((instance.allowed & ~restricted.allowed).sum())
    result.allowed = restricted.allowed
    return result


def _restrict_at_start(master: Master) -> Instance:
    """Restrict organizations to one pool per application from the capped master's first LP, before any
    organization row, and add the pairs that LP prices near zero among those the restriction leaves; return the
    instance the master goes on with (the master's own when nothing spans pools).

    The first LP is the capped organization-free relaxation (started on the network, it is the flow's vertex, no pivot;
    when q is not 1/k, the LP over the first columns priced over every pair: docs/matching.md §3): the restrictions it
    implies (:func:`heaviest_pools` for the organizations spanning pools, :func:`in_one_pool` for the others) are those
    the first priced LP mostly implied too, and made now, one dual re-optimization repairs the organization rows and the
    restrictions together, where the draw repaired the rows, then re-optimized each restriction over a master of near
    ties (contended 1,000 × 5,000: 8.0 k simplex iterations in the draw against 9.3 k). The near ties
    (:func:`_add_near_ties`) are added with it, priced by the same LP: without them the restricted LP lacked the
    substitutes, and pricing brought 540 columns that the primal simplex took 3.4 k iterations to place. Like any
    restriction, it forbids pairs and costs a little expected fit, and :func:`draw` takes it back when it leaves a panel
    short."""
    instance = master.instance
    lp = master.solve_lp()
    marginals, _, _ = _probabilities(master, lp)
    spanning = _spanning(instance, marginals.experts, marginals.apps)
    if not spanning:
        return instance
    kept = heaviest_pools(instance, marginals, spanning)
    restricted = restrict_to_one_pool(instance, in_one_pool(instance, marginals) | kept)
    ties = _near_ties(master, lp)
    master.restrict(restricted)
    master.add(*ties)                   # the restricted pairs among them are left out
    return restricted


def spanning_organizations(instance: Instance, probabilities: np.ndarray) -> list[tuple[int, int]]:
    """(application, organization) limits outside the bihierarchy: more than ``max_per_org`` experts with
    positive probability, from more than one pool; sorted by application, then organization."""
    return _spanning(instance, *np.nonzero(probabilities > SNAP))


def _spanning(instance: Instance, experts: np.ndarray, apps: np.ndarray) -> list[tuple[int, int]]:
    """:func:`spanning_organizations` given the pairs with positive probability."""
    orgs, pools = instance.expert_org[experts], instance.expert_pool[experts]
    keep = orgs >= 0
    if not keep.any():
        return []
    n_orgs, n_pools = int(instance.expert_org.max()) + 1, max(instance.n_pools, 1)
    codes = apps[keep].astype(np.int64) * n_orgs + orgs[keep]
    keys, counts = np.unique(codes, return_counts=True)
    distinct = np.unique(codes * n_pools + pools[keep]) // n_pools       # one entry per (key, pool) present
    pools_per_key = np.bincount(np.searchsorted(keys, distinct), minlength=len(keys))
    bad = keys[(counts > instance.max_per_org) & (pools_per_key > 1)]
    return [(int(a), int(o)) for a, o in zip(*np.divmod(bad, n_orgs), strict=True)]


def in_one_pool(instance: Instance, marginals: Marginals) -> dict[tuple[int, int], int]:
    """(application, organization) pairs whose organization has positive probability on the application in one
    pool only, and more experts than ``max_per_org``, each with that pool.

    :func:`draw` restricts them to that pool together with the spanning organizations. It forbids only pairs
    at zero, so the LP at hand stays feasible and optimal; what it prevents is the cascade: when a restriction
    takes probability away from a panel, the re-optimization gave it to tied experts of organizations already
    on that panel in another pool, which then spanned pools and were restricted in the next round (contended
    1,000 × 5,000: 11–19 restriction rounds without this, 2–3 with it; docs/matching.md §3).
    """
    orgs = instance.expert_org[marginals.experts]
    keep = orgs >= 0
    if not keep.any():
        return {}
    n_orgs, n_pools = int(instance.expert_org.max()) + 1, max(instance.n_pools, 1)
    codes = marginals.apps[keep].astype(np.int64) * n_orgs + orgs[keep]
    present = np.unique(codes * n_pools + instance.expert_pool[marginals.experts[keep]])   # (key, pool)
    keys, first, pools_per_key = np.unique(present // n_pools, return_index=True, return_counts=True)
    apps, orgs = np.divmod(keys, n_orgs)
    sizes = np.bincount(instance.expert_org[instance.expert_org >= 0], minlength=n_orgs)
    chosen = (pools_per_key == 1) & (sizes[orgs] > instance.max_per_org)
    pools = present[first[chosen]] % n_pools
    return dict(zip(zip(apps[chosen].tolist(), orgs[chosen].tolist(), strict=True), pools.tolist(), strict=True))


def organization_members(instance: Instance) -> dict[int, np.ndarray]:
    """Experts of each organization, ascending (a restriction changes no expert's organization, so one draw
    computes this once)."""
    order = np.argsort(instance.expert_org, kind="stable")
    orgs = instance.expert_org[order]
    starts = np.flatnonzero(np.r_[True, orgs[1:] != orgs[:-1]]) if len(orgs) else np.zeros(0, dtype=int)
    return {int(orgs[s]): group for s, group in zip(starts, np.split(order, starts[1:]), strict=True)
            if orgs[s] >= 0}


def heaviest_pools(instance: Instance, marginals: Marginals, spanning: list[tuple[int, int]],
                   ) -> dict[tuple[int, int], int]:
    """For each spanning (application, organization), the pool holding most of the organization's probability
    for that application (the first such pool on a tie): the pool to keep, as it costs the least expected fit.
    A pool holding one of the organization's fixed pairs on that application is kept before any other: the
    restriction would forbid the fixed pair, and the LP would hold it at zero."""
    if not spanning:
        return {}
    n_orgs, n_pools = int(instance.expert_org.max()) + 1, max(instance.n_pools, 1)
    keys = np.array([a * n_orgs + o for a, o in spanning], dtype=np.int64)     # ascending, as listed
    where, inside = _key_of(keys, instance.expert_org[marginals.experts], marginals.apps, n_orgs)
    mass = np.bincount(where[inside] * n_pools + instance.expert_pool[marginals.experts[inside]],
                       weights=marginals.values[inside], minlength=len(keys) * n_pools).reshape(len(keys), n_pools)
    fixed_e, fixed_a = instance.fixed[:, 0], instance.fixed[:, 1]
    where, inside = _key_of(keys, instance.expert_org[fixed_e], fixed_a, n_orgs)
    mass[where[inside], instance.expert_pool[fixed_e[inside]]] = np.inf
    pools = np.argmax(mass, axis=1)
    return {key: int(pool) for key, pool in zip(spanning, pools, strict=True)}


def _key_of(keys: np.ndarray, orgs: np.ndarray, apps: np.ndarray, n_orgs: int) -> tuple[np.ndarray, np.ndarray]:
    """For pairs given by their experts' organizations and their applications: the index of each one's
    (application, organization) in the ascending ``keys``, and whether it is there at all."""
    code = apps.astype(np.int64) * n_orgs + orgs
    where = np.minimum(np.searchsorted(keys, code), len(keys) - 1)
    return where, (orgs >= 0) & (keys[where] == code)


def keep_short_pools(instance: Instance, kept: dict[tuple[int, int], int], shortfall: np.ndarray, *,
                     members: dict[int, np.ndarray] | None = None) -> dict[tuple[int, int], int]:
    """``kept`` with each organization of a short application moved to a pool that application is short of,
    where the organization has allowed experts in that pool (the others keep their pool)."""
    members_of = organization_members(instance) if members is None else members
    repicked = dict(kept)
    for (a, o), pool in kept.items():
        short = np.nonzero(shortfall[a] > 1e-7)[0]
        if len(short) == 0 or pool in short:
            continue
        experts = members_of[o]
        experts = experts[instance.allowed[experts, a]]
        present = [p for p in short if (instance.expert_pool[experts] == p).any()]
        if present:
            repicked[(a, o)] = int(present[0])
    return repicked


def restrict_to_one_pool(instance: Instance, kept: dict[tuple[int, int], int]) -> Instance:
    """Forbid, for each (application, organization) in ``kept``, the organization's experts outside the kept
    pool, fixed pairs excepted (an organization fixed on an application in two pools cannot nest).

    A block of applications at a time, each through a table (application, organization) → kept pool read at
    every expert's organization: gathering each kept organization's experts cost work in the sum of their
    sizes, tens of millions at contended 5,000 × 12,500, where organizations of hundreds of experts are kept
    on thousands of applications (1.1–1.4 CPU s a call against 0.6–0.7; docs/matching.md §3). The table reads
    every expert for every application with a kept organization whatever the organizations' sizes, so it is the
    slower of the two when they are small (60 k keys of organizations of a few experts at that size: 0.72–0.88
    against 0.06–0.22 s), which the draw's keys are not (:func:`in_one_pool` keeps only organizations larger
    than the limit)."""
    allowed = instance.allowed.copy()
    if kept:
        apps, orgs = np.array(list(kept), dtype=np.int64).reshape(-1, 2).T
        pools = np.fromiter(kept.values(), dtype=np.int16, count=len(kept))
        order = np.argsort(apps, kind="stable")
        apps, orgs, pools = apps[order], orgs[order], pools[order]
        n_orgs = int(instance.expert_org.max()) + 1
        column = np.where(instance.expert_org >= 0, instance.expert_org, n_orgs)     # n_orgs: no organization
        own = instance.expert_pool.astype(np.int16)[:, None]
        touched = np.unique(apps)
        width = block_width(instance)
        for start in range(0, len(touched), width):
            block = touched[start:start + width]
            first, last = np.searchsorted(apps, block[0]), np.searchsorted(apps, block[-1], side="right")
            table = np.full((len(block), n_orgs + 1), -1, dtype=np.int16)
            table[np.searchsorted(block, apps[first:last]), orgs[first:last]] = pools[first:last]
            held = table[:, column].T                                  # (E, block): the kept pool, or −1
            experts, columns = np.nonzero((held >= 0) & (held != own))
            allowed.clear(experts, block[columns])
    fixed_e, fixed_a = instance.fixed[:, 0], instance.fixed[:, 1]
    allowed[fixed_e, fixed_a] = instance.allowed[fixed_e, fixed_a]
    return dataclasses.replace(instance, allowed=allowed)


def sample(instance: Instance, probabilities: np.ndarray, seed: int, *, expected_fit: float | None = None,
           max_attempts: int = 20) -> DrawResult:
    """Draw an integral assignment with the given pair marginals (a feasible fractional assignment).

    Samples that break a cross-pool organization limit are redrawn up to ``max_attempts`` times; if all do, they
    are repaired by :func:`repair_organizations`, the last one first (the marginals then deviate; see
    ``exact``). If none can be repaired, the result is ``unrepaired``: no assignment (``assigned`` all False),
    never one that breaks a rule.
    """
    rng = np.random.default_rng(seed)
    network = FlowNetwork(instance, probabilities)
    value = float((probabilities * instance.fit).sum()) if expected_fit is None else expected_fit
    broken: list[np.ndarray] = []
    assigned: np.ndarray | None = None
    while assigned is None and len(broken) < max_attempts:
        drawn = network.round(rng)
        if _broken_limits(instance, drawn):
            broken.append(drawn)
        else:
            assigned = drawn
    attempts = len(broken) + (assigned is not None)
    if assigned is None:
        assigned = _first_repaired(instance, broken[::-1])
    status = "unrepaired" if assigned is None else "sampled"
    return DrawResult(status, np.zeros(instance.fit.shape, dtype=bool) if assigned is None else assigned,
                      probabilities, value, seed, network.exact, attempts, np.zeros((instance.n_apps, instance.n_pools)),
                      repaired=status == "sampled" and attempts == len(broken))


def _first_repaired(instance: Instance, samples: list[np.ndarray]) -> np.ndarray | None:
    """The first of ``samples`` that :func:`repair_organizations` can bring within every organization limit,
    repaired; None if none can."""
    for assigned in samples:
        repaired = repair_organizations(instance, assigned)
        if repaired is not None:
            return repaired
    return None


def repair_organizations(instance: Instance, assigned: np.ndarray) -> np.ndarray | None:
    """``assigned`` with every over-represented organization on a panel brought down to ``max_per_org``.

    For each surplus seat, the organization's members on the panel are tried lowest fit first (fixed pairs never
    move): the member gives the seat to the best free reserve (:func:`~matching.reserves.replace`), or else
    trades seats with a member of another panel (:func:`~matching.reserves.exchange`, as the exact solve's
    mending does). Every step keeps every other rule, so the result keeps them all.

    Returns
    -------
    ndarray, shape (E, A), bool, or None
        A new assignment (the input is not modified); None when some surplus seat can be neither replaced nor
        traded, so that no rule is ever broken by what the draw returns.
    """
    fixed = np.zeros(assigned.shape, dtype=bool)
    fixed[instance.fixed[:, 0], instance.fixed[:, 1]] = True
    for a, o in _broken_limits(instance, assigned):
        for _ in range(int((assigned[:, a] & (instance.expert_org == o)).sum()) - instance.max_per_org):
            moved = _move_one(instance, assigned, a, o, fixed)
            if moved is None:
                return None
            assigned = moved
    return assigned


def _move_one(instance: Instance, assigned: np.ndarray, a: int, o: int, fixed: np.ndarray) -> np.ndarray | None:
    """``assigned`` with one member of organization ``o`` off application ``a``'s panel, by replacement or else by
    a trade with another panel, the lowest-fit member that can go first; None if none can."""
    members = np.nonzero(assigned[:, a] & (instance.expert_org == o) & ~fixed[:, a])[0]
    members = members[np.argsort(instance.fit[members, a], kind="stable")]
    for expert in members:
        try:
            return replace(instance, assigned, a, int(expert))[0]
        except NoReplacement:
            pass
    for expert in members:
        traded = exchange(instance, assigned, a, int(expert))
        if traded is not None:
            return traded[0]
    return None


def _broken_limits(instance: Instance, assigned: np.ndarray) -> list[tuple[int, int]]:
    return [(a, o) for a, o, n in org_counts(instance, assigned) if n > instance.max_per_org]
