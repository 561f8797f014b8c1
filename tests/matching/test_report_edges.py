"""Edge cases of the blockwise reports and the faster fit, conflicts and hash, each against a plain reference.

The references are the per-application (or per-pair) definitions: :func:`reserve_list` for reserves, the
column-by-column explanation of tests/matching/test_reports.py, the fit written as ``np.where`` on indicators,
the problem's dataclasses walked with ``dataclasses.fields``. Rounds are drawn with the corners the blocks can get
wrong: one expert or one application, empty pools, empty panels, an expert on every panel, every fit tied, columns
long enough for the sampled threshold, and pages asking for a panel twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.affinity import FIT_DTYPE, compute_fit, field_similarity
from matching.assign import input_hash
from matching.conflicts import RULES, conflict_arrays
from matching.explain import explain
from matching.instance import Instance, Labels
from matching.reserves import all_reserves, replacement_mask, reserve_list
from tests.matching.conftest import problems
from tests.matching.test_reports import reference_explain

EDGE_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def edge_rounds(draw) -> tuple[Instance, np.ndarray]:
    """An instance and an assignment (not necessarily feasible) with the corners named in the module docstring."""
    n_experts = draw(st.sampled_from([1, 2, 3, 9, 40, 90]))
    n_apps = draw(st.integers(1, 5))
    n_pools = draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pool = rng.integers(0, n_pools, n_experts)
    if draw(st.booleans()):                       # a pool nobody belongs to
        pool = np.minimum(pool, n_pools - 2) if n_pools > 1 else pool
    tied = draw(st.booleans())
    fit = np.full((n_experts, n_apps), 0.5) if tied else np.round(rng.random((n_experts, n_apps)), 1)
    assigned = np.zeros((n_experts, n_apps), dtype=bool)
    for a in range(n_apps):
        size = int(rng.integers(0, min(n_experts, 5) + 1))
        assigned[rng.choice(n_experts, size, replace=False), a] = True
    if draw(st.booleans()):                       # one expert on every panel
        assigned[int(rng.integers(n_experts)), :] = True
    low = rng.integers(0, 2, n_pools)
    members = np.argwhere(assigned)
    instance = Instance(
        fit=fit.astype(draw(st.sampled_from([np.float32, np.float64]))),
        allowed=rng.random((n_experts, n_apps)) >= draw(st.sampled_from([0.0, 0.3, 0.9])),
        expert_pool=pool, pools=("technology", "industry", "law")[:n_pools],
        expert_org=rng.integers(-1, max(1, n_experts // 3), n_experts), load_cap=rng.integers(1, n_apps + 2, n_experts),
        panel_size=np.full(n_apps, 3), pool_quotas=np.stack([low, low + rng.integers(0, 3, n_pools)], axis=1),
        max_per_org=int(rng.integers(1, 3)), fixed=members[rng.random(len(members)) < 0.3])
    return instance, assigned


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 400), st.integers(1, 4), st.sampled_from([1, 3, 1 << 22]), st.integers(0, 2 ** 32 - 1))
def test_reserves_behind_many_better_experts_who_cannot_replace_anyone(blocked, count, block, seed):
    """An application whose ``blocked`` best-fitting candidates can replace no member (the panel's organization,
    the wrong pool: technology [1, 1], law [2, 2], one expert per organization) is ranked wider and wider
    until its reserves are found: they are the per-application lists."""
    rng = np.random.default_rng(seed)
    n_experts, n_apps = 3 + blocked + 30, 3
    pool = np.concatenate([[0, 1, 1], np.ones(blocked, dtype=np.int64), rng.integers(0, 2, 30)])
    org = np.concatenate([[0, 1, 2], np.zeros(blocked, dtype=np.int64), 3 + np.arange(30)])
    fit = rng.random((n_experts, n_apps)).astype(np.float32)
    fit[3:3 + blocked] += 1.0                       # the blocked experts fit best
    assigned = np.zeros((n_experts, n_apps), dtype=bool)
    assigned[:3] = True
    instance = Instance(fit=fit, allowed=np.ones((n_experts, n_apps), dtype=bool), expert_pool=pool,
                        pools=("technology", "law"), expert_org=org, load_cap=np.full(n_experts, n_apps),
                        panel_size=np.full(n_apps, 3), pool_quotas=np.array([[1, 1], [2, 2]]), max_per_org=1)
    together = all_reserves(instance, assigned, count, block=block)
    assert [r.tolist() for r in together] == [reserve_list(instance, assigned, a, count).tolist()
                                              for a in range(n_apps)]
    assert all(len(r) == count for r in together)


@EDGE_SETTINGS
@given(edge_rounds(), st.integers(0, 12), st.sampled_from([1, 5, 64, 1 << 22]))
def test_reserves_at_the_edges_are_the_per_application_lists_and_break_no_rule(round_, count, block):
    instance, assigned = round_
    together = all_reserves(instance, assigned, count, block=block)
    assert [r.tolist() for r in together] == [reserve_list(instance, assigned, a, count).tolist()
                                              for a in range(instance.n_apps)]
    load = assigned.sum(axis=1)
    for a, reserves in enumerate(together):
        members = np.nonzero(assigned[:, a])[0]
        for e in reserves.tolist():
            assert instance.allowed[e, a] and not assigned[e, a] and load[e] < instance.load_cap[e]
            assert any(replacement_mask(instance, assigned, a, m, load)[e] for m in members)


@EDGE_SETTINGS
@given(edge_rounds(), st.integers(1, 12), st.sampled_from([1, 5, 64, 1 << 22]), st.data())
def test_explanations_at_the_edges_read_as_the_per_application_definition(round_, limit, block, data):
    instance, assigned = round_
    labels = Labels.numbered(instance)
    exclusions = {(0, 0): "利益冲突：测试"}
    expected = reference_explain(instance, assigned, labels, exclusions, limit)
    assert explain(instance, assigned, labels, exclusions=exclusions, limit=limit, block=block) == expected
    asked = data.draw(st.lists(st.integers(0, instance.n_apps - 1), max_size=4))
    assert explain(instance, assigned, labels, exclusions=exclusions, limit=limit, block=block,
                   applications=asked) == [expected[a] for a in sorted(asked)]


def test_no_experts_and_no_applications_give_empty_reports():
    for shape in ((0, 3), (4, 0), (0, 0)):
        instance = Instance(fit=np.zeros(shape, dtype=np.float32), allowed=np.ones(shape, dtype=bool),
                            expert_pool=np.zeros(shape[0], dtype=int), pools=("technology",),
                            expert_org=np.full(shape[0], -1), load_cap=np.ones(shape[0], dtype=int),
                            panel_size=np.ones(shape[1], dtype=int), pool_quotas=np.array([[0, 1]]), max_per_org=1)
        assigned = np.zeros(shape, dtype=bool)
        assert [r.tolist() for r in all_reserves(instance, assigned, 3)] == [[]] * shape[1]
        labels = Labels.numbered(instance)
        assert explain(instance, assigned, labels) == reference_explain(instance, assigned, labels, {}, 5)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_experts=10, max_applications=4), st.integers(1, 12))
def test_fit_is_bit_identical_to_the_plain_formula_in_float32(parsed, block):
    """The fit as first written: field fit by ``np.where`` on indicators, times the field weight, plus the text
    weight times the text fit, clipped; every float32 bit the same (a stored context compares fits exactly)."""
    matrix = compute_fit(parsed, block=block)
    weights = parsed.settings.weights
    field = field_similarity(parsed.experts, parsed.applications).astype(FIT_DTYPE)
    text = matrix.parts.text_block(slice(None), slice(None))
    plain = field * FIT_DTYPE(weights.field)
    plain += FIT_DTYPE(weights.text) * text
    np.testing.assert_array_equal(matrix.fit, np.clip(plain, FIT_DTYPE(0.0), FIT_DTYPE(1.0)))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_experts=10, max_applications=4))
def test_input_hash_digest_is_the_dataclass_walk_of_before(parsed):
    """A changed digest would rebuild every stored context: the digest is the one of the plain walk."""
    assert input_hash(parsed) == plain_hash(parsed)


def plain_hash(problem: Any) -> str:
    """``input_hash`` written with a plain walk of the dataclasses (the definition of the canonical form)."""
    canonical = plain_canonical(dataclasses.replace(problem, affinity=None))
    canonical["settings"].pop("time_limit")
    digest = hashlib.sha256(json.dumps(canonical, sort_keys=True, ensure_ascii=False,
                                       separators=(",", ":")).encode("utf-8"))
    assert problem.affinity is None          # the drawn problems carry no affinity list
    return digest.hexdigest()


def plain_canonical(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain_canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain_canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_canonical(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(max_experts=10, max_applications=4, conflict_rate=0.5))
def test_rules_of_a_pair_are_its_entries_in_rule_order(parsed):
    found = conflict_arrays(parsed)
    for e in range(len(parsed.experts) + 1):
        for a in range(len(parsed.applications) + 1):
            here = (found.experts == e) & (found.applications == a)
            assert found.rules_of(e, a) == [RULES[r] for r in sorted(found.rules[here].tolist())]
