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
restriction would leave a panel short, is a sample that breaks a limit drawn again, then repaired by swapping the surplus member for the best feasible
reserve; both keep every constraint but bend the marginals (``exact`` is then False).
``DrawResult.exact`` says whether that happened to be possible; ``benchmarks/matching.py`` measures the deviation.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from matching.instance import Instance, org_counts
from matching.lp import Master
from matching.reserves import replace
from matching.solve import generate_columns, initial_candidates

SNAP = 1e-9
"""Flows within this of an integer are treated as integral (LP round-off)."""

REPICKS = 3
"""Times a pool restriction that left a panel short is chosen again toward the short pools (see :func:`draw`)."""


@dataclass
class DrawResult:
    """A seeded draw.

    Attributes
    ----------
    status : str
        ``sampled``, or ``infeasible`` when no fractional assignment meets the quotas under the cap.
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
        Samples drawn; the last one was repaired if it still broke an organization limit.
    shortfall : ndarray, shape (A, P)
        Seats per (application, pool) the capped LP could not fill (infeasible draws only).
    restricted_pairs : int
        Pairs forbidden to keep organizations within one pool per application (see :func:`draw`).
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
    return _solve_capped(_capped_master(instance, max_probability))


def _capped_master(instance: Instance, max_probability: float) -> Master:
    master = Master(instance, instance.fit, pair_cap=max_probability)
    seats = instance.pool_quotas[:, 1].max(initial=1) / max(max_probability, 1e-9)
    master.add(*initial_candidates(instance, instance.fit, int(np.ceil(seats)) + 8))
    return master


def _solve_capped(master: Master) -> tuple[np.ndarray, float, np.ndarray]:
    """:func:`fractional_assignment` on a master that may already hold columns and a basis."""
    instance, max_probability = master.instance, master.pair_cap
    lp, _, _ = generate_columns(master, per_app=int(np.ceil(2 * instance.panel_size.max(initial=1)
                                                            / max(max_probability, 1e-9))))
    probabilities = np.zeros(instance.fit.shape)
    values = np.where(lp.x < SNAP, 0.0, lp.x)
    probabilities[master.col_e, master.col_a] = values
    return probabilities, float((probabilities * instance.fit).sum()), lp.shortfall


def draw(instance: Instance, max_probability: float, seed: int, *, max_attempts: int = 20,
         max_restrictions: int = 10) -> DrawResult:
    """Solve the capped fractional assignment and sample from it (see the module docstring).

    Organizations whose experts would share an application's probability across several pools are first
    restricted to one pool for that application (the pool holding most of their probability) and the LP is solved
    again, until every organization limit nests under a pool: then the draw is exact and the cap holds for every
    pair. The expected fit this restriction costs is visible in ``expected_fit``.

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
        Rounds of pool restriction before falling back to redraw-and-repair.
    """
    master = _capped_master(instance, max_probability)
    probabilities, value, shortfall = _solve_capped(master)
    if (shortfall > 1e-7).any():
        empty = np.zeros(instance.fit.shape, dtype=bool)
        return DrawResult("infeasible", empty, probabilities, value, seed, True, 0, shortfall)
    restricted = instance
    for _ in range(max_restrictions):
        spanning = spanning_organizations(restricted, probabilities)
        if not spanning:
            break
        kept = heaviest_pools(restricted, probabilities, spanning)
        narrower = restrict_to_one_pool(restricted, kept)
        master.restrict(narrower)                 # warm: the last basis, the forbidden columns held at zero
        narrower_probabilities, narrower_value, shortfall = _solve_capped(master)
        for _ in range(REPICKS):
            if not (shortfall > 1e-7).any():
                break
            # The heaviest pool starved another pool of a panel: keep the short pool instead, where the
            # organization has experts there, and solve again on a fresh master (a restricted master cannot
            # give forbidden columns back).
            repicked = keep_short_pools(restricted, kept, shortfall)
            if repicked == kept:
                break
            kept, narrower = repicked, restrict_to_one_pool(restricted, repicked)
            master = _capped_master(narrower, max_probability)
            narrower_probabilities, narrower_value, shortfall = _solve_capped(master)
        if (shortfall > 1e-7).any():
            # No choice of pools found keeps every panel fillable: keep the last feasible LP and let
            # redraw-and-repair handle the organization limits still outside the bihierarchy (``exact`` False).
            break
        restricted, probabilities, value = narrower, narrower_probabilities, narrower_value
    result = sample(restricted, probabilities, seed, expected_fit=value, max_attempts=max_attempts)
    result.restricted_pairs = int((instance.allowed & ~restricted.allowed).sum())
    return result


def spanning_organizations(instance: Instance, probabilities: np.ndarray) -> list[tuple[int, int]]:
    """(application, organization) limits outside the bihierarchy: more than ``max_per_org`` experts with
    positive probability, from more than one pool."""
    experts, apps = np.nonzero(probabilities > SNAP)
    orgs, pools = instance.expert_org[experts], instance.expert_pool[experts]
    keep = orgs >= 0
    if not keep.any():
        return []
    keys, inverse, counts = np.unique(np.stack([apps[keep], orgs[keep]], axis=1), axis=0, return_inverse=True,
                                      return_counts=True)
    inverse = inverse.ravel()
    n_pools = np.array([len(set(pools[keep][inverse == i])) for i in range(len(keys))])
    bad = (counts > instance.max_per_org) & (n_pools > 1)
    return [(int(a), int(o)) for a, o in keys[bad]]


def heaviest_pools(instance: Instance, probabilities: np.ndarray,
                   spanning: list[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """For each spanning (application, organization), the pool holding most of the organization's probability
    for that application: the pool to keep, as it costs the least expected fit."""
    kept = {}
    for a, o in spanning:
        members = np.nonzero(instance.expert_org == o)[0]
        mass = np.bincount(instance.expert_pool[members], weights=probabilities[members, a],
                           minlength=instance.n_pools)
        kept[(a, o)] = int(np.argmax(mass))
    return kept


def keep_short_pools(instance: Instance, kept: dict[tuple[int, int], int],
                     shortfall: np.ndarray) -> dict[tuple[int, int], int]:
    """``kept`` with each organization of a short application moved to a pool that application is short of,
    where the organization has allowed experts in that pool (the others keep their pool)."""
    repicked = dict(kept)
    for (a, o), pool in kept.items():
        short = np.nonzero(shortfall[a] > 1e-7)[0]
        if len(short) == 0 or pool in short:
            continue
        members = np.nonzero((instance.expert_org == o) & instance.allowed[:, a])[0]
        present = [p for p in short if (instance.expert_pool[members] == p).any()]
        if present:
            repicked[(a, o)] = int(present[0])
    return repicked


def restrict_to_one_pool(instance: Instance, kept: dict[tuple[int, int], int]) -> Instance:
    """Forbid, for each (application, organization) in ``kept``, the organization's experts outside the kept
    pool."""
    allowed = instance.allowed.copy()
    for (a, o), pool in kept.items():
        members = np.nonzero(instance.expert_org == o)[0]
        allowed[members[instance.expert_pool[members] != pool], a] = False
    return dataclasses.replace(instance, allowed=allowed)


def sample(instance: Instance, probabilities: np.ndarray, seed: int, *, expected_fit: float | None = None,
           max_attempts: int = 20) -> DrawResult:
    """Draw an integral assignment with the given pair marginals (a feasible fractional assignment).

    Samples that break a cross-pool organization limit are redrawn up to ``max_attempts`` times; if all do, the
    last one is repaired by :func:`repair_organizations` (the marginals then deviate; see ``exact``).
    """
    rng = np.random.default_rng(seed)
    network = FlowNetwork(instance, probabilities)
    value = float((probabilities * instance.fit).sum()) if expected_fit is None else expected_fit
    attempts = 0
    while True:
        assigned, attempts = network.round(rng), attempts + 1
        if not _broken_limits(instance, assigned):
            break
        if attempts == max_attempts:
            assigned = repair_organizations(instance, assigned)
            break
    return DrawResult("sampled", assigned, probabilities, value, seed, network.exact, attempts,
                      np.zeros((instance.n_apps, instance.n_pools)))


def repair_organizations(instance: Instance, assigned: np.ndarray) -> np.ndarray:
    """Replace the lowest-fit experts of every over-represented organization on a panel by the best reserve.

    Raises
    ------
    NoReplacement
        If some surplus expert has no feasible replacement.
    """
    for a, o in _broken_limits(instance, assigned):
        members = np.nonzero(assigned[:, a] & (instance.expert_org == o))[0]
        surplus = members[np.argsort(instance.fit[members, a])][: len(members) - instance.max_per_org]
        for expert in surplus:
            assigned, _ = replace(instance, assigned, a, int(expert))
    return assigned


def _broken_limits(instance: Instance, assigned: np.ndarray) -> list[tuple[int, int]]:
    return [(a, o) for a, o, n in org_counts(instance, assigned) if n > instance.max_per_org]


class FlowNetwork:
    """The fractional assignment as a flow: source → expert → [organization] → (application, pool) → application.

    Organization nodes nest an (application, organization) limit under its pool when the organization's
    experts with positive probability for that application all belong to one pool (the bihierarchy case).
    """

    def __init__(self, instance: Instance, probabilities: np.ndarray) -> None:
        self.instance = instance
        experts, apps = np.nonzero(probabilities > SNAP)
        self.pair_experts, self.pair_apps = experts, apps
        flows = probabilities[experts, apps]
        names: dict[tuple, int] = {}

        def node(key: tuple) -> int:
            return names.setdefault(key, len(names))

        tails, heads, values = [], [], []

        def arc(tail: int, head: int, value: float) -> None:
            tails.append(tail), heads.append(head), values.append(value)

        source = node(("source",))
        pools = instance.expert_pool[experts]
        orgs = instance.expert_org[experts]
        nested = self._nestable(apps, orgs, pools)
        self.exact = not self._unnested_limits(apps, orgs, pools, nested)
        inner = defaultdict(float)
        for e, a, p, o, f in zip(experts, apps, pools, orgs, flows, strict=True):
            parent = node(("pool", a, p))
            if (a, o) in nested:
                child = node(("org", a, o))
                inner[(child, parent)] += f
                parent = child
            arc(node(("expert", e)), parent, f)
        self.n_pairs = len(tails)
        for (child, parent), f in inner.items():
            arc(child, parent, f)
        pool_flow = defaultdict(float)
        expert_flow = defaultdict(float)
        for e, a, p, f in zip(experts, apps, pools, flows, strict=True):
            pool_flow[(a, p)] += f
            expert_flow[e] += f
        for (a, p), f in pool_flow.items():
            arc(node(("pool", a, p)), node(("app", a)), f)
        for e, f in expert_flow.items():
            arc(source, node(("expert", e)), f)
        # application → sink and sink → source carry integral flow and never enter a cycle
        self.tails, self.heads = np.array(tails), np.array(heads)
        self.flows = np.array(values, dtype=float)

    def _nestable(self, apps, orgs, pools) -> set[tuple[int, int]]:
        pools_of: dict[tuple[int, int], set[int]] = defaultdict(set)
        for a, o, p in zip(apps, orgs, pools, strict=True):
            if o >= 0:
                pools_of[(a, o)].add(p)
        return {key for key, found in pools_of.items() if len(found) == 1}

    def _unnested_limits(self, apps, orgs, pools, nested) -> bool:
        """Whether some (application, organization) limit spans pools and could be broken by a sample."""
        counts: dict[tuple[int, int], int] = defaultdict(int)
        for a, o in zip(apps, orgs, strict=True):
            if o >= 0 and (a, o) not in nested:
                counts[(a, o)] += 1
        return any(n > self.instance.max_per_org for n in counts.values())

    def round(self, rng: np.random.Generator) -> np.ndarray:
        """One dependent rounding of the flows; returns the (E, A) assignment."""
        flow = self.flows.copy()
        flow[np.abs(flow - np.round(flow)) < SNAP] = np.round(flow[np.abs(flow - np.round(flow)) < SNAP])
        incident: dict[int, set[int]] = defaultdict(set)
        fractional = np.nonzero(flow != np.round(flow))[0]
        for i in fractional:
            incident[self.tails[i]].add(i)
            incident[self.heads[i]].add(i)
        while incident:
            cycle = self._find_cycle(incident)
            self._push(cycle, flow, rng, incident)
        assigned = np.zeros(self.instance.fit.shape, dtype=bool)
        chosen = flow[: self.n_pairs] > 0.5
        assigned[self.pair_experts[chosen], self.pair_apps[chosen]] = True
        return assigned

    def _find_cycle(self, incident: dict[int, set[int]]) -> list[tuple[int, int]]:
        """A cycle of fractional arcs as ``(arc, direction)`` with direction +1 along the arc, −1 against it."""
        start = next(iter(incident))
        position = {start: 0}
        path: list[tuple[int, int]] = []
        node, last = start, -1
        while True:
            arc = next((i for i in incident[node] if i != last), None)
            if arc is None:
                # round-off left a lone fractional arc at this node; it is integral up to SNAP-level error
                return [(last, 0)]
            forward = self.tails[arc] == node
            node = self.heads[arc] if forward else self.tails[arc]
            path.append((arc, 1 if forward else -1))
            if node in position:
                return path[position[node]:]
            position[node] = len(path)
            last = arc

    def _push(self, cycle, flow: np.ndarray, rng: np.random.Generator, incident) -> None:
        if cycle[0][1] == 0:
            flow[cycle[0][0]] = np.round(flow[cycle[0][0]])
            self._retire([cycle[0][0]], incident)
            return
        arcs = np.array([i for i, _ in cycle])
        signs = np.array([d for _, d in cycle], dtype=float)
        up_room = np.where(signs > 0, np.ceil(flow[arcs]) - flow[arcs], flow[arcs] - np.floor(flow[arcs]))
        down_room = np.where(signs > 0, flow[arcs] - np.floor(flow[arcs]), np.ceil(flow[arcs]) - flow[arcs])
        up, down = up_room.min(), down_room.min()
        step = up if rng.random() < down / (up + down) else -down
        flow[arcs] += signs * step
        settled = [i for i in arcs if abs(flow[i] - np.round(flow[i])) < SNAP]
        flow[settled] = np.round(flow[settled])
        self._retire(settled, incident)

    def _retire(self, arcs, incident) -> None:
        for i in arcs:
            for end in (self.tails[i], self.heads[i]):
                incident[end].discard(i)
                if not incident[end]:
                    del incident[end]
