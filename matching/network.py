"""The organization-free relaxation of a round as a min-cost flow, solved over a growing set of pairs.

Without the organization rows the ``total`` problem is a flow (docs/matching.md §1 "Why it is usually an LP"):
source → expert (capacity ``cap_e``) → (application, pool) (flow in ``[min_p, max_p]``) → application (exactly
``n_a``) → sink, one arc of capacity 1 per allowed pair, fixed pairs assigned beforehand. On contended rounds
that network LP is highly degenerate, and a simplex restarted with new columns pays the degeneracy again every
round; a network solver does not. :func:`network_optimum` solves the flow over a candidate set with OR-Tools'
``SimpleMinCostFlow`` (cost scaling; one pool at a time where every panel is exactly its pools' minimums,
:meth:`FlowNetwork._flow_by_pool`), reads node potentials off the residual graph (Bellman–Ford), prices every
allowed pair with them and grows the set until no pair prices out: column generation on a network solver. The
flow's spanning tree of tight arcs is a basis of the master LP (:meth:`FlowNetwork.basis`).

Nothing here proves anything. Costs are the weights scaled by :data:`COST_SCALE` and rounded, so the flow is
optimal for the rounded costs only; the caller (``matching.solve.start_on_network``) hands the master LP the
flow's pairs and the pairs the potentials price near zero as first columns, and the flow's basis as its start;
the master's own duals give the Lagrangian bound over every pair, as without this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import minimum_spanning_tree

from matching.bits import PairSet
from matching.instance import Instance, best_first_columns
from matching.lp import AT_LOWER, AT_UPPER, BASIC, FixedPairs, application_blocks, block_width

COST_SCALE = 1e7
"""Weights (divided by the largest, when that is above 1) are multiplied by this and rounded to integers for
the flow solver (OR-Tools takes int64 costs). The rounding moves the flow's value by at most half a unit per
seat, 5e-8 of a fit point: it can only change which of nearly tied solutions the flow picks, never the
proof, which is the master LP's."""

SHORTFALL_COST = 1000.0
"""Cost per seat of the elastic arcs source → (application, pool), in weight units (the master's shortfall
penalty is of the same order): the flow is always feasible, and an infeasible candidate set says where."""

NEAR_ZERO = 1e-6
"""Pairs whose reduced cost under the final potentials is at least ``−NEAR_ZERO`` lie on (or next to) the
optimal face of the organization-free relaxation; they are the alternatives the master needs to repair the
organization rows."""

PRICED_PER_APP = 70
"""Most new pairs per application per pricing round (the best by reduced cost)."""

LOWER, UPPER = AT_LOWER, AT_UPPER
"""Where a row's activity stands in a :class:`NetworkBasis`: :data:`BASIC` (in the basis), or at its lower or
upper bound; the codes of :meth:`matching.lp.Master.start_from`."""


@dataclasses.dataclass(frozen=True)
class NetworkBasis:
    """A basis of the organization-free master LP (see :meth:`FlowNetwork.basis`): the pairs in it (every other
    pair sits at 1 if the flow uses it, else at 0), each load row's and pool row's place (:data:`BASIC`,
    :data:`LOWER`, :data:`UPPER`), and which shortfall columns and panel rows are basic."""

    basic_experts: np.ndarray
    basic_apps: np.ndarray
    load: np.ndarray
    pool: np.ndarray
    shortfall: np.ndarray
    panel: np.ndarray


@dataclasses.dataclass(frozen=True)
class NetworkOptimum:
    """The optimum of the organization-free relaxation over the pairs it ended with.

    ``experts``, ``apps``: the pairs of the flow solution (fixed pairs included); ``shortfall`` (A, P): seats
    the elastic arcs filled (zero when the pairs allow a solution); ``load_price`` (E, ≥ 0) and ``pool_price``
    (A, P): prices such that every pair's reduced cost is ``weight − load_price[e] − pool_price[a, pool(e)]``,
    split as ``pool_price = panel_price[a] + pool_row_price[a, p]``; ``candidates``: every pair the flow was
    solved over; ``rounds``: flow solves; ``elastic_cost``: an elastic arc's cost per seat in weight units (:data:`SHORTFALL_COST` at the flow's scale)."""

    experts: np.ndarray
    apps: np.ndarray
    shortfall: np.ndarray
    load_price: np.ndarray
    panel_price: np.ndarray
    pool_row_price: np.ndarray
    candidates: tuple[np.ndarray, np.ndarray]
    rounds: int
    basis: NetworkBasis | None = None
    elastic_cost: float = np.inf

    @property
    def pool_price(self) -> np.ndarray:
        return self.panel_price[:, None] + self.pool_row_price


def network_optimum(instance: Instance, weight: np.ndarray, experts: np.ndarray, apps: np.ndarray, *,
                    per_app: int = PRICED_PER_APP, max_rounds: int = 100,
                    deadline: float | None = None, units: int = 1, sampled: int = 1,
                    pair_units: int = 1) -> NetworkOptimum:
    """Solve the organization-free relaxation over the given pairs, pricing every allowed pair with the flow's
    potentials and adding those that price out, until none does (or ``max_rounds``, or the
    ``time.perf_counter()`` value ``deadline``: no round starts that would end after it if it took as long as
    the last one, and no pricing pass runs after a round when the next round, its pass taking as long as the
    last one, would end after it). ``units``, ``sampled``, ``pair_units``: see :class:`FlowNetwork`."""
    have = PairSet(*weight.shape)
    experts, apps = _new_pairs(instance, have, experts, apps)
    have[experts, apps] = True
    rounds, pricing, kept = 0, None, None
    while True:
        rounds += 1
        started = time.perf_counter()
        flow = FlowNetwork(instance, weight, experts, apps, units=units, sampled=sampled, pair_units=pair_units,
                           previous=kept)
        kept = None                 # the network drops it once its flow is found, before its potentials
        optimum = dataclasses.replace(flow.solve(), candidates=(experts, apps), rounds=rounds)
        solved = time.perf_counter()
        # no pricing pass that no round would use (57 s at 20,000 × 50,000 for a single round)
        if rounds >= max_rounds or (deadline is not None and pricing is not None
                                    and 2 * (solved + pricing) - started > deadline):
            return dataclasses.replace(optimum, basis=flow.basis())
        new_e, new_a = price_out(instance, weight, optimum, have, per_app)
        pricing = time.perf_counter() - solved
        late = deadline is not None and 2 * time.perf_counter() - started > deadline
        if len(new_e) == 0 or late:
            return dataclasses.replace(optimum, basis=flow.basis())
        have[new_e, new_a] = True
        experts, apps = np.concatenate([experts, new_e]), np.concatenate([apps, new_a])
        # the next round keeps pools by this round's flows and digests alone: its network goes before that one is built
        kept, flow = flow.pool_flows, None


SAMPLED_APPS = 160
"""Most applications in the sample whose flow prices the loads of a round too large for the flow's priced rounds
(:func:`sampled_load_prices`). Contended 20,000 × 50,000: the bound at the prices of 156 applications was
100,837 (k = 128) and of 78 applications 101,818 (k = 256), against 109,740 at no price and an answer of 99,848;
contended 10,000 × 25,000 with 156, 312 and 625 applications: 50,654, 50,527 and 50,440, against 54,970 at no
price, an answer of 50,339 and a best bound before of 50,570 (docs/matching.md, "Load prices from a sampled
round")."""


def sample_shape(n_apps: int, apps: int | None = None) -> tuple[int, int]:
    """The sample :func:`sampled_load_prices` takes of a round of ``n_apps`` applications when ``apps`` are asked
    for (at most :data:`SAMPLED_APPS`): (its applications, ``n_apps // k``; ``k``, the applications each stands
    for, ``⌈n_apps / apps⌉``)."""
    share = max(1, -(-n_apps // max(min(apps or SAMPLED_APPS, SAMPLED_APPS), 1)))
    return n_apps // share, share


def sampled_load_prices(instance: Instance, weight: np.ndarray, *, apps: int | None = None,
                        seed: int = 0) -> np.ndarray | None:
    """Load prices ``u ≥ 0`` for every expert from the organization-free flow over a random one in ``k`` of the
    applications (``k`` = ``⌈n_apps / apps⌉``, ``apps`` at most :data:`SAMPLED_APPS`; the sample, ``n_apps // k``
    applications, holds at most ``apps``: :func:`sample_shape`; the time-limited solve asks for as many as its
    seconds allow), each standing for ``k`` (:class:`FlowNetwork`'s ``sampled``), every expert with its own
    load: the flow's Lagrangian dual of the load rows is ``min_u Σ u·cap + k · Σ_(a in sample) best panel of a
    by weight − u``, a sample average of the round's own ``Σ_a``, so its optimal ``u`` is near the round's. Any
    ``u ≥ 0`` gives a valid panel bound; these only make it tight. A sample of more than one in one keeps no
    fixed pair (it prices, it assigns nothing); with ``k`` = 1 it is the round itself.

    The flow is solved once over every allowed pair of the sample: no pair is left to price out, so it is
    converged after that one solve, and its seconds follow its pairs. Grown by rounds from a few dealt pairs
    (3,000 new pairs an application a round) it took 6–9 rounds to the same prices, and a deadline that stopped
    it before the last gave none (its potentials then carry the elastic arcs' cost where the sample's seats were
    not yet filled: at 20,000 × 50,000 the bound at the prices of two, three and four of its eight rounds was
    52.1 M, 41.3 M and 24.2 M); once over every pair, 40 and 80 applications there took 6.9 and 16.3 CPU s, the
    rounds 0.21–0.23 s an application (docs/matching.md, "Load prices from a sampled round").

    Returns the prices, None when seats stayed unfilled (a sampled application standing for ``k`` needs ``k``
    times its seats from its own allowed experts: prices of 1,000.5 and a bound of 2,005 against an optimum of 4
    in the test)."""
    size, share = sample_shape(instance.n_apps, apps)
    sample, sample_weight = instance, weight
    if share > 1:
        chosen = np.sort(np.random.default_rng(seed).choice(instance.n_apps, size, replace=False))
        sample_weight = weight[:, chosen]
        sample = dataclasses.replace(instance, fit=sample_weight, allowed=instance.allowed[:, chosen],
                                     panel_size=instance.panel_size[chosen], fixed=np.zeros((0, 2), dtype=int))
    optimum = network_optimum(sample, sample_weight, *sample.allowed.nonzero(), max_rounds=1, sampled=share)
    # experts the source reaches only through an elastic arc (every expert allowed to the sample's applications
    # of a pool at its full load, or seats they cannot fill standing for ``share``) are priced near its cost: a
    # dual optimum of the sample, where seats are equalities, but the round's panel bound there is that cost times
    # their loads (the round's own flow prices the round at its optimum whatever its dual optimum)
    elastic = share > 1 and ((optimum.shortfall > 0).any() or (optimum.load_price >= optimum.elastic_cost / 2).any())
    return None if elastic else optimum.load_price


def _new_pairs(instance: Instance, have: PairSet, experts: np.ndarray, apps: np.ndarray,
               ) -> tuple[np.ndarray, np.ndarray]:
    """The distinct allowed pairs among the given ones that are neither fixed nor already held."""
    code = np.unique(experts.astype(np.int64) * instance.n_apps + apps)
    experts, apps = np.divmod(code, instance.n_apps)
    keep = instance.allowed[experts, apps] & ~FixedPairs(instance).of(experts, apps) & ~have[experts, apps]
    return experts[keep], apps[keep]


@dataclasses.dataclass(frozen=True)
class PoolFlows:
    """A network's flow solved one pool at a time (the network's own array, not a copy), the pool of each arc in
    the smallest integer type (−1: no pool's) and a digest of each pool's part of the network
    (:func:`_part_digest`). What the next flow round needs to keep the flow of a pool whose part is the same,
    without holding the last round's arrays (at 10,000 × 25,000 they are the size of the next round's)."""
    digests: tuple[bytes, ...]
    flow: np.ndarray
    arc_pool: np.ndarray

    def of(self, p: int) -> np.ndarray:
        """The flow on pool ``p``'s arcs, in their order."""
        return self.flow[self.arc_pool == p]


def _part_digest(*arrays: np.ndarray) -> bytes:
    """A 256-bit BLAKE2b digest of integer arrays, each with its length: two parts with the same digest are the
    same network (a false match has probability 2⁻²⁵⁶)."""
    digest = hashlib.blake2b(digest_size=32)
    for array in arrays:
        digest.update(np.int64(len(array)).tobytes())
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
    return digest.digest()


class FlowNetwork:
    """The organization-free relaxation over one set of pairs, as an OR-Tools min-cost flow.

    Nodes: the source (0), experts (1 … E), (application, pool) nodes (application-major), applications. The
    pool quota ``[min_p, max_p]`` on the arc (a, p) → a is handled the usual way for lower bounds: ``min_p``
    units are sent in advance (supply ``−min_p`` at (a, p), ``+min_p`` at a) and the arc keeps
    ``max_p − min_p``. Applications take ``n_a`` through their supply, so no sink node is needed. Fixed pairs
    are assigned before: they take their expert's load, their application's seat and their pool's quota.

    ``units``: flow units per seat. Every count (loads, quotas, seats, what a fixed pair takes) is multiplied by
    it while a pair arc keeps capacity 1, so a flow divided by ``units`` is an optimum of the relaxation with
    every pair capped at ``1 / units``: the randomized draw's capped LP for ``q = 1 / k`` (docs/matching.md §3).
    Row prices are the same in both scales (the objective and every row scale alike), so the potentials price
    the capped master's pairs as they are.

    ``sampled``: the applications are a random one in ``sampled`` of a round's (:func:`sampled_load_prices`),
    each standing for ``sampled`` of them: its seats and pool quotas count ``sampled`` times and a pair arc
    carries up to ``sampled`` units, while the experts' loads stay as they are.

    ``pair_units``: units a pair arc carries (times ``sampled``). With ``units`` = n and ``pair_units`` = m, a
    flow divided by n is an optimum of the relaxation with every pair capped at m / n: the randomized draw's
    capped LP for a cap such as 0.4 = 2 / 5 (:func:`matching.draw.cap_fraction`). Pairs may then carry a
    flow strictly between 0 and m: :meth:`basis` is still a basis of that LP and dual feasible, but not always
    primal feasible (where such pairs close a cycle, one is off the tree at the cap); the draw starts its first
    capped LP from it and the dual simplex repairs the rest (``matching.draw._start_on_flow``).

    ``previous``: the last round's flows by pool (its ``pool_flows``; :func:`network_optimum` appends the pairs a
    round prices out): solved one pool at a time, a pool whose part of the network has the same digest as there
    keeps its flow (:meth:`_flow_by_pool`). It is dropped once this network's flow is found (one round back
    only). ``pool_flows`` is this network's, once solved one pool at a time (else None).
    """

    def __init__(self, instance: Instance, weight: np.ndarray, experts: np.ndarray, apps: np.ndarray, *,
                 units: int = 1, sampled: int = 1, pair_units: int = 1, previous: PoolFlows | None = None) -> None:
        self.instance = instance
        n_e, n_a, n_p = instance.n_experts, instance.n_apps, instance.n_pools
        self.experts, self.apps = experts, apps
        fixed_e, fixed_a = instance.fixed[:, 0], instance.fixed[:, 1]
        load = np.maximum(instance.load_cap - np.bincount(fixed_e, minlength=n_e), 0)
        held = np.zeros((n_a, n_p), dtype=np.int64)
        np.add.at(held, (fixed_a, instance.expert_pool[fixed_e]), 1)
        low = np.maximum(instance.pool_quotas[:, 0][None, :] - held, 0) * units * sampled
        high = np.maximum(instance.pool_quotas[:, 1][None, :] - held, 0) * units * sampled
        self.closed = high == 0             # pools the fixed pairs fill: no pair can enter them
        self.past_minimum = held > instance.pool_quotas[:, 0][None, :]     # pools whose minimum no row holds
        seats = np.maximum(instance.panel_size - held.sum(axis=1), 0) * units * sampled
        self.full = seats == 0              # applications the fixed pairs fill: no pair can enter them
        self.weight = weight
        load = load * units
        self.expert_node = 1 + np.arange(n_e)
        self.pool_node = 1 + n_e + np.arange(n_a * n_p).reshape(n_a, n_p)
        self.app_node = 1 + n_e + n_a * n_p + np.arange(n_a)
        self.n_nodes = 1 + n_e + n_a * n_p + n_a
        pair_pool = self.pool_node[apps, instance.expert_pool[experts]]
        values = np.asarray(weight[experts, apps], dtype=np.float64)
        # weights of order 1 (the fit) keep COST_SCALE; larger ones are scaled down so the costs stay in range
        self.scale = COST_SCALE / max(1.0, float(np.abs(values).max(initial=0.0)))
        scaled = np.rint(values * self.scale).astype(np.int64)
        self.shortfall_cost = shortfall_cost = int(round(SHORTFALL_COST * COST_SCALE))
        # arcs: pairs, then source → expert, then source → (a, p) (elastic), then (a, p) → a
        self.tail = np.concatenate([self.expert_node[experts], np.zeros(n_e, np.int64),
                                    np.zeros(n_a * n_p, np.int64), self.pool_node.ravel()])
        self.head = np.concatenate([pair_pool, self.expert_node, self.pool_node.ravel(),
                                    np.repeat(self.app_node, n_p)])
        self.capacity = np.concatenate([np.full(len(experts), sampled * pair_units, np.int64), load,
                                        np.repeat(seats, n_p), (high - low).ravel()]).astype(np.int64)
        self.cost = np.concatenate([-scaled, np.zeros(n_e, np.int64), np.full(n_a * n_p, shortfall_cost),
                                    np.zeros(n_a * n_p, np.int64)])
        supply = np.zeros(self.n_nodes, dtype=np.int64)
        supply[0] = seats.sum()
        supply[self.pool_node.ravel()] = -low.ravel()
        supply[self.app_node] = low.sum(axis=1) - seats
        self.supply = supply
        # every application's seats exactly its pools' minimums: no flow passes an application node (its supply
        # is 0 and it has no arc out), so the pools are separate networks that share only the source
        self.pool_parts = bool((low.sum(axis=1) == seats).all()) and n_p > 1
        self.low = low
        self.previous = previous
        self.pool_flows: PoolFlows | None = None

    def solve(self) -> NetworkOptimum:
        """The optimal flow and node potentials read off its residual graph; one pool at a time where the pools
        are separate networks (``pool_parts``)."""
        last, self.previous = self.previous, None
        flow = self._flow_by_pool(last) if self.pool_parts else \
            _min_cost_flow(self.tail, self.head, self.capacity, self.cost, self.supply)
        del last
        load_price, panel, pool = self._prices(flow, self._potentials(flow))
        inst = self.instance
        n_e, n_a, n_p = inst.n_experts, inst.n_apps, inst.n_pools
        n_pairs = len(self.experts)
        chosen = flow[:n_pairs] > 0
        shortfall = flow[n_pairs + n_e:n_pairs + n_e + n_a * n_p].reshape(n_a, n_p)
        experts = np.concatenate([self.experts[chosen], inst.fixed[:, 0]])
        apps = np.concatenate([self.apps[chosen], inst.fixed[:, 1]])
        return NetworkOptimum(experts=experts, apps=apps, shortfall=shortfall, load_price=load_price,
                              panel_price=panel, pool_row_price=pool - panel[:, None],
                              candidates=(self.experts, self.apps), rounds=1,
                              elastic_cost=self.shortfall_cost / self.scale)

    def _prices(self, flow: np.ndarray, potential: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Load prices (E,), panel prices (A,) and pool prices (A, P) from the potentials, mended where the
        fixed pairs leave nodes whose potentials say nothing or price a bound the master does not have.

        π = d(source) − d(node) in weight units: u_e = −π(e) ≥ 0 (an expert the flow leaves idle may get a
        negative value, raised to 0, which keeps every pair's reduced cost ≤ 0), and π(a, p) splits into the
        panel price π(a) and the pool row's π(a, p) − π(a)."""
        load_price = np.maximum(-potential[self.expert_node], 0.0)
        panel = potential[self.app_node]
        panel = np.where(np.isfinite(panel), panel, 0.0)
        # the source reaches a pool node at least through its elastic arc, unless that arc is full (the pool's
        # minimum fills the panel and no candidate reaches it): its potential is then −inf, which priced the
        # pool's pairs at +inf and, less the +inf load price that gave an expert with no load left, at NaN (inf
        # − inf). The arc's cost, at which the full arc is tight, is the price the nodes it reaches get
        pool = potential[self.pool_node]
        pool = np.where(np.isfinite(pool), pool, -self.shortfall_cost / self.scale)
        if self.full.any():
            panel, pool = self._full_application_prices(load_price, panel, pool)
        # fixed pairs past a pool's minimum leave it no lower bound but that of its free pairs, 0, which is no row
        # of the master: where the flow sits at it (no free pair enters), a negative row price (the elastic arc's
        # 1,000 where no candidate can) prices a bound the master does not have. Raised to 0 it moves no used
        # pair's reduced cost, since there is none, and lowers the unused ones'
        n_a, n_p = pool.shape
        unused = (flow[len(self.tail) - n_a * n_p:] == 0).reshape(n_a, n_p)
        pool = np.where(self.past_minimum & unused, np.maximum(pool, panel[:, None]), pool)
        unreached = ~np.isfinite(load_price)
        if unreached.any():
            load_price = self._unreached_load_prices(load_price, unreached, pool)
        if self.closed.any():
            pool = self._closed_pool_prices(load_price, panel, pool)
        return load_price, panel, pool

    def _pair_values(self, pairs: np.ndarray | slice = slice(None)) -> np.ndarray:
        """The weights of the candidate pairs ``pairs`` as the flow saw them (rounded to its cost scale)."""
        return -self.cost[:len(self.experts)][pairs] / self.scale

    def _unreached_load_prices(self, load_price: np.ndarray, unreached: np.ndarray, pool: np.ndarray) -> np.ndarray:
        """Load prices with those of the experts the source cannot reach replaced: such an expert has no load
        left (fixed pairs took it, or its cap is 0), and any price at least each of its pairs' weight less its
        pool price keeps those pairs out; the least such is taken."""
        least = np.zeros_like(load_price)
        np.maximum.at(least, self.experts, self._pair_values() - pool[self.apps, self.instance.expert_pool[self.experts]])
        return np.where(unreached, least, load_price)

    def _closed_pool_prices(self, load_price: np.ndarray, panel: np.ndarray, pool: np.ndarray) -> np.ndarray:
        """Pool prices with those of the pools the fixed pairs fill replaced: such a pool sits at its maximum, so
        its row price must be ≥ 0 (its node's potential, set by the elastic arc, says nothing); the least one
        keeping its pairs' reduced cost ≤ 0 is taken."""
        expert_pool = self.instance.expert_pool
        least = np.where(self.closed, panel[:, None], pool)
        into = self.closed[self.apps, expert_pool[self.experts]]
        np.maximum.at(least, (self.apps[into], expert_pool[self.experts[into]]),
                      self._pair_values(into) - load_price[self.experts[into]])
        return np.where(self.closed, least, pool)

    def _flow_by_pool(self, last: PoolFlows | None) -> np.ndarray:
        """The optimal flow, solved one pool at a time (see ``pool_parts``): OR-Tools' time grows faster than the
        network, and at contended 5,000 × 12,500 the last round's 1.9 M pairs took 7.1 CPU s at once and 5.1
        in five parts; the draw's flow with two units a seat at contended 1,000 × 5,000, 0.5–0.75 CPU s a round
        at once and 0.25 s in parts. The application arcs carry nothing.

        A pool whose part has the same digest as in ``last`` (:meth:`_kept_flow`) keeps the flow it had
        there: OR-Tools, given the same arcs in the same order, returns the same flow, so the round's flow, its
        potentials and everything read from them are those of solving every pool. A round of
        :func:`network_optimum` often grows only some pools (docs/matching.md §3, "Flow rounds that keep the
        pools without a new pair")."""
        n_p = self.instance.n_pools
        arc_pool = np.concatenate([self.instance.expert_pool[self.experts], self.instance.expert_pool,
                                   np.tile(np.arange(n_p), self.instance.n_apps), np.full(self.instance.n_apps * n_p, -1)])
        flow = np.zeros(len(self.tail), dtype=np.int64)
        digests = []
        for p in range(n_p):
            arcs = np.nonzero(arc_pool == p)[0]
            nodes = np.concatenate([[0], self.expert_node[self.instance.expert_pool == p], self.pool_node[:, p]])
            supply = self.supply[nodes]
            supply[0] = self.low[:, p].sum()
            part = (self.tail[arcs], self.head[arcs], self.capacity[arcs], self.cost[arcs])
            digests.append(_part_digest(nodes, supply, *part))
            kept = self._kept_flow(last, p, digests[-1])
            if kept is None:
                local = np.zeros(self.n_nodes, dtype=np.int64)
                local[nodes] = np.arange(len(nodes))
                kept = _min_cost_flow(local[part[0]], local[part[1]], part[2], part[3], supply)
            flow[arcs] = kept
        self.pool_flows = PoolFlows(tuple(digests), flow, arc_pool.astype(np.min_scalar_type(-n_p)))
        return flow

    @staticmethod
    def _kept_flow(last: PoolFlows | None, p: int, digest: bytes) -> np.ndarray | None:
        """``last``'s flow on pool ``p``'s arcs if its part for ``p`` had ``digest``: the same nodes and supplies
        (so the same loads, seats and quotas) and, arc for arc in order, the same tail, head, capacity and
        integer cost. Else None.

        The costs are compared as integers, at each network's own scale (``scale``): a heavier pair entering
        another pool lowers the scale and with it every pair's cost, but not the elastic arcs', so such a pool
        is another network even with the same pairs (tested), and is solved again."""
        return last.of(p) if last is not None and last.digests[p] == digest else None

    def _full_application_prices(self, load_price: np.ndarray, panel: np.ndarray, pool: np.ndarray,
                                 ) -> tuple[np.ndarray, np.ndarray]:
        """Panel and pool prices with those of the applications the fixed pairs fill replaced.

        Such an application's nodes get no flow, and the source reaches them only through its candidate pairs,
        if at all: their potentials say nothing (−inf where unreached, which priced every pair of it at +inf,
        and NaN for an expert without load). Any panel price at least each free pair's ``weight − u_e`` keeps
        them all out, with pool rows at 0; the least is taken (over every allowed pair, not only the
        candidates), so its Lagrangian value is exact: the panel price counts once per seat and once against
        each fixed pair holding one."""
        inst = self.instance
        apps = np.nonzero(self.full)[0]
        value = self.weight[:, apps] - np.where(np.isfinite(load_price), load_price, np.inf)[:, None]
        value[~inst.allowed[:, apps]] = -np.inf
        held = np.isin(inst.fixed[:, 1], apps)
        value[inst.fixed[held, 0], np.searchsorted(apps, inst.fixed[held, 1])] = -np.inf
        price = np.max(value, axis=0, initial=-np.inf)
        price = np.where(np.isfinite(price), price, 0.0)
        panel, pool = panel.copy(), pool.copy()
        panel[apps] = price
        pool[apps] = price[:, None]
        return panel, pool

    def _potentials(self, flow: np.ndarray) -> np.ndarray:
        """``d(source) − d(node)`` in weight units, with ``d`` the shortest-path distances from the source in
        the residual graph (+inf where the source reaches no node).

        The residual graph has negative arcs and, the flow being optimal, no negative cycle: Bellman–Ford,
        every arc relaxed at once with numpy, until no distance changes (17 passes at contended 1,000 × 5,000;
        scipy's Bellman–Ford makes N passes, 3.3 s there). Costs are integers, so distances are exact."""
        forward, backward = flow < self.capacity, flow > 0
        tail = np.concatenate([self.tail[forward], self.head[backward]])
        head = np.concatenate([self.head[forward], self.tail[backward]])
        cost = np.concatenate([self.cost[forward], -self.cost[backward]]).astype(np.float64)
        distance = np.full(self.n_nodes, np.inf)
        distance[0] = 0.0
        for _ in range(self.n_nodes):
            through = np.full(self.n_nodes, np.inf)
            np.minimum.at(through, head, distance[tail] + cost)
            shorter = np.minimum(distance, through)
            if np.array_equal(shorter, distance):
                break
            distance = shorter
        self.flow, self.distance = flow, distance
        return -distance / self.scale

    def basis(self) -> NetworkBasis:
        """A simplex basis of the organization-free master LP at the last flow and its potentials.

        The master's load, pool and panel rows become, after a nonsingular change of rows (panel row minus its
        pool rows, load rows negated), the node–arc matrix of this network with the source as root: a pair is the
        arc e → (a, p), a load row's activity the arc source → e, a pool row's (a, p) → a, a panel row's
        a → source, a shortfall column source → (a, p). So a basis is a spanning tree. Taken among the arcs
        tight under the potentials (reduced cost 0), those strictly inside their bounds first, with every other
        arc at the bound its flow sits at, it is primal feasible (the tree carries the flow) and dual feasible
        (the potentials are optimal): the master starts at the optimum of the relaxation and the dual simplex
        has only the organization rows to repair."""
        inst = self.instance
        n_e, n_a, n_p = inst.n_experts, inst.n_apps, inst.n_pools
        flow, d = self.flow, self.distance
        n_pairs = len(self.experts)
        # every network arc, plus a → source (the panel row, fixed at n_a: basic only where nothing else
        # reaches a, since a basic fixed arc ties a's potential to the source's)
        tail = np.concatenate([self.tail, self.app_node])
        head = np.concatenate([self.head, np.zeros(n_a, np.int64)])
        reached = np.isfinite(d[tail]) & np.isfinite(d[head])
        reduced = np.full(len(tail), np.nan)
        np.subtract(d[tail], d[head], out=reduced, where=reached)
        reduced += np.concatenate([self.cost, np.zeros(n_a, np.int64)])
        inside = np.concatenate([(flow > 0) & (flow < self.capacity), np.zeros(n_a, bool)])
        weight = np.where(reduced == 0, 2.0, np.inf)
        weight[inside] = 1.0
        load_arc = n_pairs + np.arange(n_e)
        idle = (flow[load_arc] < self.capacity[load_arc]) | ~np.isfinite(d[self.expert_node])
        weight[load_arc[idle]] = 1.0                # a load row below its cap is basic (its lower bound is −∞)
        weight[len(self.tail):] = 3.0
        usable = np.isfinite(weight)
        low, high = np.minimum(tail, head)[usable], np.maximum(tail, head)[usable]
        graph = sp.csr_matrix((weight[usable], (low, high)), shape=(self.n_nodes, self.n_nodes))
        tree = minimum_spanning_tree(graph).tocoo()
        code = np.minimum(tree.row, tree.col).astype(np.int64) * self.n_nodes + np.maximum(tree.row, tree.col)
        arc_code = low.astype(np.int64) * self.n_nodes + high
        in_tree = np.zeros(len(tail), dtype=bool)
        in_tree[np.nonzero(usable)[0][np.isin(arc_code, code)]] = True
        pairs = in_tree[:n_pairs]
        at_cap = flow[load_arc] >= self.capacity[load_arc]
        pool_arc = n_pairs + n_e + n_a * n_p + np.arange(n_a * n_p)
        pool_flow, pool_cap = flow[pool_arc], self.capacity[pool_arc]
        pool = np.where(in_tree[pool_arc], BASIC, np.where((pool_flow >= pool_cap) & (pool_cap > 0), UPPER, LOWER))
        return NetworkBasis(basic_experts=self.experts[pairs], basic_apps=self.apps[pairs],
                            load=np.where(in_tree[load_arc], BASIC, np.where(at_cap, UPPER, LOWER)),
                            pool=pool.reshape(n_a, n_p),
                            shortfall=in_tree[n_pairs + n_e:n_pairs + n_e + n_a * n_p].reshape(n_a, n_p),
                            panel=in_tree[len(self.tail):])


def _min_cost_flow(tail: np.ndarray, head: np.ndarray, capacity: np.ndarray, cost: np.ndarray,
                   supply: np.ndarray) -> np.ndarray:
    """An optimal flow on each arc of the network with nodes ``0 … len(supply) − 1``, by OR-Tools."""
    from ortools.graph.python import min_cost_flow  # imported where used: `import matching` stays light

    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(tail, head, capacity, cost)
    solver.set_nodes_supplies(np.arange(len(supply)), supply)
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    return solver.flows(np.arange(len(tail)))


def price_out(instance: Instance, weight: np.ndarray, optimum: NetworkOptimum, have: PairSet, per_app: int,
              tolerance: float = NEAR_ZERO) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``per_app`` allowed pairs per application not in ``have`` whose reduced cost under the optimum's
    prices exceeds ``tolerance``, the best first."""
    return _best_pairs_above(instance, weight, optimum, have, per_app, tolerance)


def near_zero_pairs(instance: Instance, weight: np.ndarray, optimum: NetworkOptimum, per_app: int,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``per_app`` allowed pairs per application whose reduced cost is at least ``−NEAR_ZERO``."""
    return _best_pairs_above(instance, weight, optimum, PairSet(*weight.shape), per_app, -NEAR_ZERO)


def _best_pairs_above(instance: Instance, weight: np.ndarray, optimum: NetworkOptimum, have: PairSet, per_app: int,
                      threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``per_app`` allowed pairs per application, neither fixed nor in ``have``, whose reduced cost exceeds
    ``threshold``, the best first (ties: the lower expert index), in expert-major order within each block.

    Each block's pairs that may not enter are struck out (−inf) in place, then each application's best are taken
    among the entries at or above a lower bound of its ``per_app``-th largest reduced cost, sampled from every
    eighth expert (:func:`~matching.instance.best_first_columns`). Gathering every pair above ``threshold`` and
    sorting them (:func:`pairs_above`, :func:`best_per_column`) chose the same pairs, but the first flow round's
    prices, which name only its first pairs, let most pairs out: 13.0 CPU s for the pass at contended
    10,000 × 25,000, 57 s at 20,000 × 50,000."""
    found_e, found_a = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    fixed = FixedPairs(instance)
    for apps in application_blocks(instance):
        rc = _reduced_costs(instance, weight, optimum, apps)
        # a fixed pair is assigned before the flow and may price high: struck out before choosing, not after,
        # so that it takes no application's place
        closed = ~instance.allowed[:, apps]
        closed |= have[:, apps]
        np.copyto(rc, -np.inf, where=closed)
        rc[fixed.within(apps)] = -np.inf
        columns, experts, _ = best_first_columns(rc, np.full(rc.shape[1], per_app), above=threshold)
        order = np.lexsort((columns, experts))
        found_e.append(experts[order]), found_a.append(columns[order] + apps.start)
    return np.concatenate(found_e), np.concatenate(found_a)


def pairs_above(rc: np.ndarray, allowed: np.ndarray, have: PairSet, start: int, threshold: float,
                ) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of one block of applications that are allowed, not in ``have`` and whose reduced cost ``rc``
    (E, block width) exceeds ``threshold``: experts, and columns counted from the block's first application
    ``start``.

    Gathered with ``np.nonzero`` rather than masked in place: once the prices are near optimal a few per cent of
    the pairs are above the threshold (a few hundred at the master's fixpoint), and selecting over the dense
    block took half of a pricing pass at contended 5,000 × 12,500. NaN is never above."""
    above = rc > threshold
    above &= allowed
    experts, columns = np.nonzero(above)
    fresh = ~have[experts, columns + start]
    return experts[fresh], columns[fresh]


def _reduced_costs(instance: Instance, weight: np.ndarray, optimum: NetworkOptimum,
                   apps: slice | np.ndarray) -> np.ndarray:
    """Every expert's reduced cost on the given applications under the optimum's prices, shape (E, len(apps))."""
    rc = weight[:, apps] - optimum.load_price[:, None]
    rc -= np.take(optimum.pool_price[apps].T, instance.expert_pool, axis=0)
    return rc


def best_per_column(key: np.ndarray, columns: np.ndarray, per_column: int) -> np.ndarray:
    """Positions of the ``per_column`` largest keys of each column among entries given as (key, column) in
    ascending order of rows; ties go to the earlier entry, NaN never comes first. A column with no more entries
    than that keeps them all without sorting."""
    if len(key) == 0:
        return np.zeros(0, np.int64)
    crowded = np.bincount(columns)[columns] > per_column
    kept = np.nonzero(~crowded)[0]
    order = np.nonzero(crowded)[0]
    if len(order) == 0:
        return kept
    order = order[np.argsort(-key[order], kind="stable")]
    order = order[np.argsort(columns[order], kind="stable")]
    sorted_columns = columns[order]
    rank = np.arange(len(order)) - np.searchsorted(sorted_columns, sorted_columns)
    return np.sort(np.concatenate([kept, order[rank < per_column]]))


def organization_alternatives(instance: Instance, weight: np.ndarray, optimum: NetworkOptimum, slack: float,
                              per_app: int, *, units: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """For each application whose flow panel holds more than the organization limit of one organization, up to
    ``per_app`` allowed pairs priced at least ``−slack`` by the optimum's prices, the best first: the
    alternatives the master needs to mend that panel. A flow of ``units`` per seat (:class:`FlowNetwork`)
    counts each pair as ``1 / units`` of a member, so its limit is ``max_per_org × units`` pairs."""
    org = instance.expert_org[optimum.experts]
    n_orgs = int(instance.expert_org.max(initial=-1)) + 1
    held = org >= 0
    code, count = np.unique(optimum.apps[held].astype(np.int64) * max(n_orgs, 1) + org[held], return_counts=True)
    broken = np.unique(code[count > instance.max_per_org * units] // max(n_orgs, 1))
    width = block_width(instance)
    found_e, found_a = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for start in range(0, len(broken), width):
        apps = broken[start:start + width]
        rc = _reduced_costs(instance, weight, optimum, apps)
        experts, columns = np.nonzero(instance.allowed[:, apps] & np.isfinite(rc) & (rc >= -slack))
        best = best_per_column(rc[experts, columns], columns, per_app)
        found_e.append(experts[best]), found_a.append(apps[columns[best]])
    return np.concatenate(found_e), np.concatenate(found_a)
