"""Dependent rounding of a fractional assignment on its flow network (the sampling step of the randomized draw).

The network is source → expert → [(application, organization)] → (application, pool) → application. Every arc
carries the fractional flow of the assignment. :meth:`FlowNetwork.round` repeatedly finds a cycle of arcs whose
flow is still fractional and pushes flow around it, up or down, by the largest amounts that keep every arc
between the floor and ceiling of its value, choosing up with probability down / (up + down) so that each arc's
expected flow is unchanged. Each push makes at least one arc integral, so the walk ends with an integral flow:
an assignment whose pair marginals are the fractional values, in which every load cap, pool quota, panel size and
nested organization limit holds.

The network is built with numpy (one pass over the pairs with positive probability, sums by ``bincount``); the
walk keeps the arcs' ends as Python integers and each node's fractional arcs as a set, because the walk touches a
handful of arcs per step and numpy's per-call overhead would dominate it. The order in which arcs are numbered and
visited is fixed by the pair order, so a seed always gives the same sample.
"""

from __future__ import annotations

import numpy as np

from matching.instance import Instance

SNAP = 1e-9
"""Flows within this of an integer are treated as integral (LP round-off)."""


class FlowNetwork:
    """The fractional assignment as a flow: source → expert → [organization] → (application, pool) → application.

    Organization nodes nest an (application, organization) limit under its pool when the organization's
    experts with positive probability for that application all belong to one pool (the bihierarchy case).

    Arcs are numbered: expert → parent, one per pair (in ``np.nonzero`` order); then organization → pool, pool →
    application and source → expert, each in the order of its first pair. Application → sink and sink → source
    carry integral flow and never enter a cycle, so they are left out.
    """

    def __init__(self, instance: Instance, probabilities: np.ndarray) -> None:
        self.instance = instance
        experts, apps = np.nonzero(probabilities > SNAP)
        self.pair_experts, self.pair_apps = experts, apps
        flows = probabilities[experts, apps]
        pools = instance.expert_pool[experts].astype(np.int64)
        orgs = instance.expert_org[experts].astype(np.int64)
        n_pools = max(instance.n_pools, 1)
        org_key, org_first, org_of_pair, unnested_limit = self._organizations(apps, orgs, pools)
        pool_key, _, pool_of_pair = _first_order(apps.astype(np.int64) * n_pools + pools)
        expert_key, _, expert_of_pair = _first_order(experts.astype(np.int64))
        n_pairs = len(experts)
        n_nested = len(org_key)
        # node numbers: source 0, experts, (application, organization), (application, pool), applications
        expert_node = 1 + experts
        org_node0 = 1 + instance.n_experts
        pool_node0 = org_node0 + n_nested
        app_node0 = pool_node0 + instance.n_apps * n_pools
        pair_head = np.where(org_of_pair >= 0, org_node0 + org_of_pair, pool_node0 + pool_key[pool_of_pair])
        pool_of_org = pool_key[pool_of_pair[org_first]]       # each nested organization lies in one pool
        self.n_pairs = n_pairs
        tails = np.concatenate([expert_node, org_node0 + np.arange(n_nested), pool_node0 + pool_key,
                                np.zeros(len(expert_key), dtype=np.int64)])
        heads = np.concatenate([pair_head, pool_node0 + pool_of_org, app_node0 + pool_key // n_pools,
                                1 + expert_key])
        inside = org_of_pair >= 0
        self.flows = np.concatenate([
            flows,
            np.bincount(org_of_pair[inside], weights=flows[inside], minlength=n_nested),
            np.bincount(pool_of_pair, weights=flows, minlength=len(pool_key)),
            np.bincount(expert_of_pair, weights=flows, minlength=len(expert_key)),
        ]).astype(float)
        self.tails, self.heads = tails.tolist(), heads.tolist()
        self.exact = not unnested_limit

    def _organizations(self, apps: np.ndarray, orgs: np.ndarray,
                       pools: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """The nested (application, organization) nodes, in the order of their first pair, and whether some
        limit stays outside the bihierarchy.

        Returns the keys, each key's first pair, each pair's node (−1 when not nested), and True when an
        unnested limit could be broken by a sample (more than ``max_per_org`` positive pairs across pools).
        """
        n_pairs = len(apps)
        n_orgs = int(max(self.instance.expert_org.max(initial=-1), 0)) + 1
        n_pools = max(self.instance.n_pools, 1)
        member = orgs >= 0
        codes = np.where(member, apps.astype(np.int64) * n_orgs + np.maximum(orgs, 0), -1)
        keys, first, inverse, counts = np.unique(codes, return_index=True, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        distinct = np.unique(codes[member] * n_pools + pools[member]) // n_pools
        pools_per_key = np.bincount(np.searchsorted(keys, distinct), minlength=len(keys))
        is_org = keys >= 0
        single = is_org & (pools_per_key == 1)
        unnested_limit = bool((is_org & ~single & (counts > self.instance.max_per_org)).any())
        # number the single-pool keys in the order of their first pair
        order = np.argsort(first[single], kind="stable")
        rank = np.full(len(keys), -1, dtype=np.int64)
        rank[np.flatnonzero(single)[order]] = np.arange(single.sum())
        org_of_pair = rank[inverse] if n_pairs else np.zeros(0, dtype=np.int64)
        return keys[single][order], first[single][order], org_of_pair, unnested_limit

    def round(self, rng: np.random.Generator) -> np.ndarray:
        """One dependent rounding of the flows; returns the (E, A) assignment.

        The walk follows fractional arcs from the first node that has one until it meets a node already on its
        path, pushes flow around that cycle, and goes on from the part of its path before the first arc the push
        made integral: walking again from the start would retrace exactly that part (arcs only ever leave a
        node's set, which keeps the others' order), so the result is the same at a fraction of the steps.
        """
        flow = self.flows.copy()
        near = np.abs(flow - np.round(flow)) < SNAP
        flow[near] = np.round(flow[near])
        incident: dict[int, set[int]] = {}
        tails, heads = self.tails, self.heads
        for i in np.nonzero(flow != np.round(flow))[0].tolist():
            incident.setdefault(tails[i], set()).add(i)
            incident.setdefault(heads[i], set()).add(i)
        path: list[int] = []            # arcs walked
        signs: list[int] = []           # +1 along the arc, −1 against it
        nodes: list[int] = []           # nodes[k]: the node path[k] leaves (one more than path, the last one open)
        position: dict[int, int] = {}   # node → its index in nodes
        while incident:
            if not nodes:
                start = next(iter(incident))
                nodes, position = [start], {start: 0}
            node, last = nodes[-1], (path[-1] if path else -1)
            arc = next((i for i in incident[node] if i != last), None)
            if arc is None:
                # round-off left a lone fractional arc at this node; it is integral up to SNAP-level error
                flow[last] = np.round(flow[last])
                settled, begin = [last], len(path) - 1
            else:
                forward = tails[arc] == node
                node = heads[arc] if forward else tails[arc]
                path.append(arc), signs.append(1 if forward else -1)
                if node not in position:
                    position[node] = len(nodes)
                    nodes.append(node)
                    continue
                begin = position[node]
                settled = self._push(path[begin:], signs[begin:], flow, rng)
            self._retire(settled, incident)
            gone = set(settled)
            cut = next((k for k in range(begin, len(path)) if path[k] in gone), begin)
            for node in nodes[cut + 1:]:
                del position[node]
            del path[cut:], signs[cut:], nodes[cut + 1:]
            if not path and nodes[0] not in incident:
                nodes, position = [], {}
        assigned = np.zeros(self.instance.fit.shape, dtype=bool)
        chosen = flow[: self.n_pairs] > 0.5
        assigned[self.pair_experts[chosen], self.pair_apps[chosen]] = True
        return assigned

    @staticmethod
    def _push(cycle: list[int], directions: list[int], flow: np.ndarray, rng: np.random.Generator) -> list[int]:
        """Push flow around ``cycle`` up or down (see the module docstring); return the arcs made integral."""
        arcs = np.array(cycle)
        signs = np.array(directions, dtype=float)
        values = flow[arcs]
        floor, ceiling = np.floor(values), np.ceil(values)
        up = np.where(signs > 0, ceiling - values, values - floor).min()
        down = np.where(signs > 0, values - floor, ceiling - values).min()
        step = up if rng.random() < down / (up + down) else -down
        values = values + signs * step
        rounded = np.round(values)
        settled = np.abs(values - rounded) < SNAP
        values[settled] = rounded[settled]
        flow[arcs] = values
        return arcs[settled].tolist()

    def _retire(self, arcs: list[int], incident: dict[int, set[int]]) -> None:
        for i in arcs:
            for end in (self.tails[i], self.heads[i]):
                incident[end].discard(i)
                if not incident[end]:
                    del incident[end]


def _first_order(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct ``codes`` in the order of their first occurrence, each one's first position, and each
    element's index into them."""
    keys, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys))
    return keys[order], first[order], rank[inverse.ravel()]
