"""The master's memory at national scale: its column set one bit a pair, no copy of the fit, freed with its last
reference (a 20,000 × 50,000 round holds gigabytes there)."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.bits import PairSet
from matching.lp import Master
from tests.matching.test_solve import random_instance


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 9), st.integers(1, 40), st.integers(0, 60))
def test_the_column_set_reads_as_the_bool_mask_it_replaces(seed, n_experts, n_apps, n_pairs):
    rng = np.random.default_rng(seed)
    pairs, mask = PairSet(n_experts, n_apps), np.zeros((n_experts, n_apps), dtype=bool)
    experts, apps = rng.integers(0, n_experts, n_pairs), rng.integers(0, n_apps, n_pairs)
    pairs[experts, apps] = True                 # repeated pairs and pairs sharing a byte included
    mask[experts, apps] = True
    start = int(rng.integers(0, n_apps))
    stop = int(rng.integers(start, n_apps + 1))
    assert np.array_equal(pairs[:, start:stop], mask[:, start:stop])
    probe_e, probe_a = rng.integers(0, n_experts, 50), rng.integers(0, n_apps, 50)
    assert np.array_equal(pairs[probe_e, probe_a], mask[probe_e, probe_a])


def test_a_solved_master_is_freed_with_its_last_reference_not_by_the_garbage_collector():
    instance = random_instance(3, 12, 6)
    master = Master(instance, instance.fit)
    master.add(*instance.allowed.nonzero())
    assert master.solve_lp() is not None
    gone = weakref.ref(master)
    gc.disable()
    try:
        del master
        assert gone() is None       # at national scale its column set and HiGHS model are gigabytes
    finally:
        gc.enable()


def test_the_shortfall_penalty_reads_the_largest_weight_magnitude():
    instance = random_instance(5, 8, 4)
    weight = instance.fit.astype(np.float32) - 2.0
    assert Master(instance, weight).penalty == pytest.approx(1000.0 * (1.0 + float(np.abs(weight).max())))


def test_the_column_set_reads_negative_and_out_of_range_applications_as_the_mask_does():
    """The last application's bit shares its byte with padding: -1 must read it, and n_apps must raise rather
    than read the padding."""
    pairs, mask = PairSet(3, 10), np.zeros((3, 10), dtype=bool)
    pairs[np.array([0, 2]), np.array([-1, 3])] = np.True_
    mask[np.array([0, 2]), np.array([-1, 3])] = True
    probe_e, probe_a = np.array([0, 0, 2, 1]), np.array([9, -1, -7, -10])
    assert np.array_equal(pairs[probe_e, probe_a], mask[probe_e, probe_a])
    for outside in (np.array([10]), np.array([-11])):
        with pytest.raises(IndexError):
            mask[np.array([0]), outside]
        with pytest.raises(IndexError):
            pairs[np.array([0]), outside]
        with pytest.raises(IndexError):
            pairs[np.array([0]), outside] = True
    with pytest.raises(IndexError):
        pairs[:, np.ones(10, dtype=bool)]
    with pytest.raises(ValueError):
        pairs[np.array([0]), np.array([1])] = False
    assert pairs[[], []].shape == mask[[], []].shape == (0,)
