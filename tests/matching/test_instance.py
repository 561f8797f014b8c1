"""The array helpers of matching.instance that the pricing and the bound pass read every pair through."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.instance import best_first_columns, nonzero_2d

VIEWS = {
    "contiguous": lambda a: a,
    "transposed": lambda a: a.T,
    "columns strided": lambda a: a[:, ::2],
    "rows strided, reversed": lambda a: a[::-3],
    "a block of columns": lambda a: a[:, 1:-1],
}


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 10**6), rows=st.integers(0, 40), columns=st.integers(0, 40),
       levels=st.sampled_from([1, 2, 3, 1000]), view=st.sampled_from(sorted(VIEWS)))
def test_nonzero_2d_is_numpys_2d_nonzero_same_pairs_same_order(seed, rows, columns, levels, view):
    """On masks from comparisons of tied values (few levels) and of non-contiguous views (transposed, strided,
    reversed), the same rows and columns in the same order as ``np.nonzero``."""
    rng = np.random.default_rng(seed)
    values = VIEWS[view](rng.integers(0, levels, (rows, columns)) / levels)
    mask = values >= rng.integers(0, levels) / levels
    got_rows, got_columns = nonzero_2d(mask)
    expected_rows, expected_columns = np.nonzero(mask)
    np.testing.assert_array_equal(got_rows, expected_rows)
    np.testing.assert_array_equal(got_columns, expected_columns)


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10**6), rows=st.integers(1, 300), columns=st.integers(1, 30),
       levels=st.sampled_from([2, 5, 1000]), view=st.sampled_from(sorted(VIEWS)))
def test_best_first_columns_of_a_view_is_that_of_its_contiguous_copy(seed, rows, columns, levels, view):
    """A strided, transposed or reversed block, with ties and -inf, is ranked as its contiguous copy is."""
    rng = np.random.default_rng(seed)
    values = VIEWS[view](rng.integers(0, levels, (rows, columns)) / levels)
    if values.size == 0:
        return
    values[rng.random(values.shape) < 0.2] = -np.inf
    k = rng.integers(0, len(values) + 2, values.shape[1])
    for got, expected in zip(best_first_columns(values, k), best_first_columns(np.ascontiguousarray(values), k),
                             strict=True):
        np.testing.assert_array_equal(got, expected)
