"""The bit matrix behind ``Instance.allowed`` reads and writes as the bool mask it replaces, for every access the
solvers, the draw and the web make, on shapes that are not multiples of 8, empty, or one row."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.bits import BitMatrix, PairSet
from matching.instance import Instance, assignment_violations
from tests.matching.test_solve import random_instance


def same(got, expected) -> None:
    """Equal values, shape and dtype (bool ndarray out, or a numpy bool for one pair)."""
    expected = np.asarray(expected)
    assert isinstance(got, np.ndarray | np.bool_)
    assert np.asarray(got).dtype == bool and np.asarray(got).shape == expected.shape
    assert np.array_equal(got, expected)


SHAPES = (st.integers(0, 10**6), st.integers(0, 11), st.integers(0, 27))
"""A seed and a shape: none of 8 applications needed, empty and one row included."""


def random_mask(seed: int, n_experts: int, n_apps: int) -> tuple[np.random.Generator, np.ndarray, BitMatrix]:
    """A random bool mask of any density and its bits."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n_experts, n_apps)) < rng.random()
    return rng, mask, BitMatrix.of(mask)


@settings(max_examples=150, deadline=None)
@given(*SHAPES)
def test_every_read_gives_what_the_bool_mask_gives(seed, n_experts, n_apps):
    rng, mask, bits = random_mask(seed, n_experts, n_apps)
    assert bits.shape == mask.shape and bits.nbytes == n_experts * ((n_apps + 7) // 8)
    same(bits.dense(), mask)
    assert bits.any() == mask.any() and bits.sum() == mask.sum()
    for got, expected in zip(bits.nonzero(), np.nonzero(mask), strict=True):
        assert np.array_equal(got, expected)
    start = int(rng.integers(0, n_apps + 1))
    stop = int(rng.integers(0, n_apps + 1))             # stop < start included: an empty block
    rows = rng.integers(0, max(n_experts, 1), 5) if n_experts else np.zeros(0, dtype=int)
    picked = rng.random(n_experts) < 0.5
    for key in ((slice(None), slice(start, stop)), (rows, slice(start, stop)), (picked, slice(start, stop)),
                (slice(1, None), slice(-3, None)), (slice(None), slice(None)), rows, slice(0, 1)):
        same(bits[key], mask[key])
    if n_experts and n_apps:
        e, a = int(rng.integers(0, n_experts)), int(rng.integers(-n_apps, n_apps))
        k = int(rng.integers(1, 9))
        experts, apps = rng.integers(0, n_experts, k), rng.integers(-n_apps, n_apps, k)
        for key in ((e, a), (slice(None), a), (experts, a), (e, slice(start, stop)), (experts, apps),
                    (experts[:, None], apps), (slice(None), apps), (e, apps), (experts.tolist(), apps.tolist())):
            same(bits[key], mask[key])
    other = rng.random(mask.shape) < 0.5
    same((bits & ~BitMatrix.of(other)).dense(), mask & ~other)
    same((bits | BitMatrix.of(other)).dense(), mask | other)
    assert (~bits).sum() == (~mask).sum()        # the padding bits past the last application stay clear


@settings(max_examples=150, deadline=None)
@given(*SHAPES)
def test_every_write_does_what_it_does_to_the_bool_mask(seed, n_experts, n_apps):
    rng, mask, bits = random_mask(seed, n_experts, n_apps)
    copied = bits.copy()
    start, stop = sorted(int(x) for x in rng.integers(0, n_apps + 1, 2))
    block = rng.random((n_experts, stop - start)) < 0.5
    bits[:, start:stop] &= block
    mask[:, start:stop] &= block
    same(bits.dense(), mask)
    rows = np.unique(rng.integers(0, max(n_experts, 1), 3)) if n_experts else np.zeros(0, dtype=int)
    value = rng.random((len(rows), stop - start)) < 0.5
    bits[rows, start:stop] = value
    mask[rows, start:stop] = value
    bits[:, start:stop] = True if rng.random() < 0.5 else block    # a scalar or a block
    mask[:, start:stop] = bits[:, start:stop]
    same(bits.dense(), mask)
    if n_experts and n_apps:
        codes = np.unique(rng.integers(0, n_experts * n_apps, int(rng.integers(1, 20))))
        experts, apps = np.divmod(codes, n_apps)
        values = rng.random(len(codes)) < 0.5
        bits[experts, apps] = values                 # distinct pairs, several sharing a byte
        mask[experts, apps] = values
        e, a = int(rng.integers(0, n_experts)), int(rng.integers(-n_apps, n_apps))
        bits[e, a] = not mask[e, a]
        mask[e, a] = not mask[e, a]
        apps = np.unique(rng.integers(0, n_apps, 4))
        column_values = rng.random((n_experts, len(apps))) < 0.5
        bits[:, apps] = column_values
        mask[:, apps] = column_values
        same(bits.dense(), mask)
        repeated_e, repeated_a = rng.integers(0, n_experts, 30), rng.integers(0, n_apps, 30)
        bits.clear(repeated_e, repeated_a)           # repeats, unsorted
        mask[repeated_e, repeated_a] = False
        same(bits.dense(), mask)
    same(copied.dense(), BitMatrix.of(copied.dense()).dense())
    read = bits[:, :]
    read[...] = True                                 # a read is a copy: writing into it leaves the matrix
    same(bits.dense(), mask)


@settings(max_examples=60, deadline=None)
@given(*SHAPES)
def test_rows_and_clear_build_what_the_mask_would_be(seed, n_experts, n_apps):
    """``Instance.allowed`` is built in bits: the available experts' rows, less the conflicted pairs."""
    rng = np.random.default_rng(seed)
    available = rng.random(n_experts) < 0.7
    built = BitMatrix.rows(available, n_apps)
    mask = np.repeat(available[:, None], n_apps, axis=1)
    same(built.dense(), mask)
    if n_experts and n_apps:
        experts, apps = rng.integers(0, n_experts, 40), rng.integers(0, n_apps, 40)
        order = np.lexsort((apps, experts))
        built.clear(experts[order], apps[order])      # sorted, as conflicts come
        mask[experts, apps] = False
        same(built.dense(), mask)


def test_nothing_converts_the_matrix_to_an_array_in_silence():
    bits = BitMatrix.of(np.ones((3, 10), dtype=bool))
    with pytest.raises(TypeError):
        np.asarray(bits)
    with pytest.raises(TypeError):
        np.zeros((3, 10))[bits]
    with pytest.raises(TypeError):
        np.ones((3, 10), dtype=bool) & bits
    with pytest.raises(IndexError):
        bits[:, ::2]
    with pytest.raises(IndexError):
        bits[0, 10]


def test_a_matrix_has_no_truth_value_and_no_elementwise_equality_in_silence():
    bits = BitMatrix.of(np.zeros((3, 10), dtype=bool))
    with pytest.raises(TypeError):
        bool(bits)                        # an all-False matrix would read as True
    with pytest.raises(TypeError):
        assert bits == bits.copy()        # identity, not the pairs, would be compared
    with pytest.raises(TypeError):
        hash(bits)


def test_an_instance_packs_a_bool_mask_also_when_unpickled_from_one():
    instance = random_instance(3, 12, 6)
    mask = instance.allowed.dense()
    assert isinstance(instance.allowed, BitMatrix)
    state = dict(instance.__dict__, allowed=mask)        # as the pickles of earlier sessions hold it
    old = Instance.__new__(Instance)
    old.__setstate__(state)
    assert isinstance(old.allowed, BitMatrix) and np.array_equal(old.allowed.dense(), mask)
    again = pickle.loads(pickle.dumps(instance))
    assert isinstance(again.allowed, BitMatrix) and np.array_equal(again.allowed.dense(), mask)
    with pytest.raises(TypeError):
        Instance(**{**state, "allowed": mask.tolist()})


def test_a_pair_outside_allowed_is_reported_in_the_masks_order():
    instance = random_instance(3, 12, 6)
    assigned = ~instance.allowed.dense()
    expected = [f"pair ({e}, {a}) is not allowed" for e, a in zip(*np.nonzero(assigned), strict=True)]
    assert [p for p in assignment_violations(instance, assigned) if "not allowed" in p] == expected


def test_a_pair_set_only_grows():
    pairs = PairSet(3, 10)
    pairs[np.array([0, 0, 2]), np.array([9, 9, 3])] = True
    assert pairs.sum() == 2
    with pytest.raises(ValueError):
        pairs[np.array([0]), np.array([9])] = False
    with pytest.raises(IndexError):
        pairs[:, 0:3] = True
    with pytest.raises(ValueError):
        pairs.clear(np.array([0]), np.array([9]))
    assert pairs.sum() == 2


def test_one_pair_reads_as_the_mask_reads_it_whatever_its_integers():
    mask = np.random.default_rng(3).random((4, 13)) < 0.5
    bits = BitMatrix.of(mask)
    for e in (0, -1, 3, np.int64(2), np.int32(-4), np.uint8(1)):
        for a in (0, 7, 8, 12, -1, -13, np.int64(9), np.int32(-2), np.uint64(12)):
            same(bits[e, a], mask[e, a])
    for e, a in ((4, 0), (-5, 0), (0, 13), (0, -14), (np.int64(0), np.uint64(13))):
        with pytest.raises(IndexError):
            bits[e, a]


def test_writes_hold_on_bits_packed_from_a_transposed_mask():
    """``np.packbits`` keeps a Fortran-ordered mask's order: a write through a flat view of such bits was lost."""
    mask = np.ones((30, 20), dtype=bool).T
    bits = BitMatrix.of(mask)
    bits[3, 4] = False
    bits.clear(np.array([5]), np.array([6]))
    mask = mask.copy()
    mask[3, 4] = mask[5, 6] = False
    same(bits.dense(), mask)


def test_clear_refuses_a_pair_outside_the_matrix_and_counts_negatives_from_the_end():
    """A pair past the last application would clear a bit of the next expert's row."""
    mask = np.ones((3, 10), dtype=bool)
    bits = BitMatrix.of(mask)
    for experts, apps in (([0], [10]), ([0], [17]), ([3], [0]), ([-4], [0]), ([0], [-11])):
        with pytest.raises(IndexError):
            bits.clear(np.array(experts), np.array(apps))
    same(bits.dense(), mask)
    bits.clear(np.array([-1, 0]), np.array([0, -1]))
    mask[-1, 0] = mask[0, -1] = False
    same(bits.dense(), mask)


def test_a_gathered_write_of_two_dimensional_applications_to_every_expert():
    rng = np.random.default_rng(4)
    mask = rng.random((5, 13)) < 0.5
    bits = BitMatrix.of(mask)
    apps = np.array([[0, 12], [3, 8]])
    value = rng.random((5, 2, 2)) < 0.5
    bits[:, apps] = value
    mask[:, apps] = value
    same(bits.dense(), mask)
    bits[1:, apps[:1]] &= value[1:, :1]
    mask[1:, apps[:1]] &= value[1:, :1]
    same(bits.dense(), mask)


def test_counting_needs_no_numpy_2(monkeypatch):
    """setup.cfg takes numpy 1.26, which has no ``np.bitwise_count``."""
    mask = np.random.default_rng(5).random((7, 19)) < 0.5
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert BitMatrix.of(mask).sum() == mask.sum() and (~BitMatrix.of(mask)).sum() == (~mask).sum()
