"""DESIGN §7.1 worked examples and invariants for the low-level totals functions."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.aggregate import (
    decimal_places,
    olympic_mean,
    olympic_trim,
    round_half_up,
    round_ratio_half_up,
    round_ratios_half_up,
)
from scoring.outliers import (
    deviation,
    deviation_flags,
    diagnostic_steps,
    dixon,
    grubbs,
    grubbs_critical,
    modified_z,
    robust_flags,
)

P1 = np.array([82, 85, 79, 91, 60, 84, 88], dtype=float)

panels = st.lists(st.integers(0, 200).map(lambda v: v / 2), min_size=1, max_size=12).map(np.array)


@pytest.mark.parametrize(("totals", "expected"), [
    (P1, 83.6), ([80, 80, 85, 90, 90], 85.0), ([70, 80, 90, 60], 75.0),
])
def test_olympic_mean_worked_examples(totals, expected):
    assert olympic_mean(np.array(totals, dtype=float)) == pytest.approx(expected, abs=1e-12)


def test_olympic_trim_drops_one_instance_of_each_tied_extreme():
    trimmed = olympic_trim(np.array([[80, 80, 80, 80, 80]], dtype=float))
    assert trimmed.kept.tolist() == [[False, True, True, True, False]]
    assert trimmed.counts.tolist() == [3]


def test_below_min_panel_nothing_is_trimmed():
    trimmed = olympic_trim(np.array([[70, 80, 90, 60]], dtype=float), min_panel=5)
    assert trimmed.kept.all() and trimmed.low[0] == -1 and trimmed.high[0] == -1


def test_three_and_four_sheets_give_the_median():
    totals = np.array([[60, 60, 10, np.nan], [60, 60, 60, 10], [70, 80, 90, 60]])
    assert olympic_trim(totals).means.tolist() == [60.0, 60.0, 75.0]
    assert olympic_trim(totals).means.tolist() == np.nanmedian(totals, axis=1).tolist()


def test_two_sheets_keep_their_mean():
    assert olympic_trim(np.array([[90.0, 60.0]])).means.tolist() == [75.0]


def test_modified_z_p1_flags_only_the_60():
    z = modified_z(P1)
    assert z[4] == pytest.approx(-4.047, abs=5e-4)
    assert robust_flags(P1).tolist() == [False, False, False, False, True, False, False]


def test_modified_z_mean_ad_fallback():
    z = modified_z(np.array([80, 80, 80, 80, 95], dtype=float))
    assert z[4] == pytest.approx(3.989, abs=5e-4)
    assert robust_flags(np.array([80, 80, 80, 80, 95], dtype=float)).tolist() == [False] * 4 + [True]


def test_modified_z_mean_ad_fallback_below_threshold():
    totals = np.array([70, 80, 80, 80, 80, 80, 90], dtype=float)
    z = modified_z(totals)
    assert z[0] == pytest.approx(-2.7926, abs=5e-5) and z[6] == pytest.approx(2.7926, abs=5e-5)
    assert not robust_flags(totals).any()


def test_equal_totals_flag_nothing():
    assert not robust_flags(np.full(6, 75.0)).any()
    assert modified_z(np.full(6, 75.0)).tolist() == [0.0] * 6


def test_deviation_of_the_60_in_p1():
    assert deviation(P1)[4] == pytest.approx(-0.2927, abs=5e-5)
    assert deviation_flags(P1, 0.20)[4]
    assert not deviation_flags(P1, 0.30).any()


def test_grubbs_on_p1():
    first, second = grubbs(P1)
    assert (first.index, round(first.statistic, 4), round(first.critical, 3)) == (4, 2.0949, 2.020)
    assert first.significant
    assert (second.index, round(second.statistic, 4), round(second.critical, 3)) == (3, 1.4468, 1.887)
    assert not second.significant
    assert round(grubbs_critical(7), 3) == 2.020


def test_dixon_r10_on_p1():
    low, high = dixon(P1)
    assert low.index == 4 and low.statistic == pytest.approx(19 / 31) and round(low.statistic, 4) == 0.6129
    assert low.critical == 0.568 and low.significant and not high.significant


@pytest.mark.parametrize(("value", "expected"), [(89.995, 90.00), (89.994, 89.99), (59.999, 60.00), (83.625, 83.63)])
def test_round_half_up(value, expected):
    assert round_half_up(value) == expected


def test_round_ratio_half_up_divides_in_decimal():
    assert round_ratio_half_up(418.125, 5) == 83.63       # 83.625 exactly
    assert round_ratio_half_up(418, 5) == 83.6


def test_sums_are_snapped_to_the_step_grid_before_dividing():
    float_sum = 87.0 + 66.64 + 9.635                      # 163.27499999999998 in binary; exactly 163.275
    assert round_ratio_half_up(float_sum, 3) == 54.42     # the float's own digits tip it down…
    assert round_ratio_half_up(float_sum, 3, exact_places=3) == 54.43   # …the entered scores do not


@pytest.mark.parametrize(("steps", "places"), [([0.5, 1], 1), ([0.25, 0.5], 2), ([1, 5], 0), ([0.001], 3)])
def test_decimal_places_of_steps(steps, places):
    assert decimal_places(steps) == places


@settings(max_examples=100, deadline=None)
@given(panels)
def test_olympic_mean_lies_within_the_totals(totals):
    assert totals.min() - 1e-9 <= olympic_mean(totals) <= totals.max() + 1e-9


@settings(max_examples=100, deadline=None)
@given(panels, st.integers(-40, 40).map(lambda v: v / 2))
def test_a_constant_shift_moves_the_score_and_flags_nothing_new(totals, shift):
    assert olympic_mean(totals + shift) == pytest.approx(olympic_mean(totals) + shift, abs=1e-9)
    assert np.array_equal(robust_flags(totals + shift), robust_flags(totals))
    assert np.allclose(modified_z(totals + shift), modified_z(totals), equal_nan=True)


@settings(max_examples=100, deadline=None)
@given(panels, st.randoms())
def test_flags_follow_their_expert_under_permutation(totals, random):
    order = np.array(random.sample(range(totals.size), totals.size))
    assert olympic_mean(totals[order]) == pytest.approx(olympic_mean(totals), abs=1e-9)
    assert np.array_equal(robust_flags(totals[order]), robust_flags(totals)[order])
    assert np.array_equal(deviation_flags(totals[order]), deviation_flags(totals)[order])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 900_000), st.integers(1, 9)), min_size=1, max_size=30),
       st.integers(0, 3))
def test_vectorized_rounding_equals_decimal_division(pairs, exact_places):
    numerators = np.array([units / 10**exact_places for units, _ in pairs])
    denominators = np.array([count for _, count in pairs])
    expected = [round_ratio_half_up(numerator, count, exact_places=exact_places)
                for numerator, count in zip(numerators, denominators, strict=True)]
    assert round_ratios_half_up(numerators, denominators, exact_places).tolist() == expected


def test_others_median_leaves_the_sheet_out():
    from scoring.outliers import others_median_matrix
    totals = np.array([[60, 60, 60, 10], [50, 70, 10, np.nan], [80, np.nan, np.nan, np.nan]])
    expected = [[60, 60, 60, 60], [40, 30, 60, np.nan], [np.nan] * 4]
    assert np.allclose(others_median_matrix(totals), expected, equal_nan=True)
    rng = np.random.default_rng(5)
    sample = rng.integers(0, 100, (30, 7)).astype(float)
    brute = [[np.median(np.delete(row, slot)) for slot in range(7)] for row in sample]
    assert np.allclose(others_median_matrix(sample), brute)


def test_one_extreme_of_four_is_the_only_sheet_far_from_the_others():
    from scoring.outliers import absolute_deviation_matrix, robust_z_matrix
    totals = np.array([[60, 60, 60, 10.0]])
    assert absolute_deviation_matrix(totals, 100).tolist() == [[0.0, 0.0, 0.0, -0.5]]
    assert robust_z_matrix(totals, 100).tolist() == [[0.0, 0.0, 0.0, -10.0]]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 200), min_size=3, max_size=9), st.integers(-50, 50))
def test_new_flags_ignore_where_the_scale_starts(values, shift):
    from scoring.outliers import absolute_deviation_matrix, robust_z_matrix
    totals = np.array([values], dtype=float) / 2
    assert np.allclose(absolute_deviation_matrix(totals + shift, 100), absolute_deviation_matrix(totals, 100))
    assert np.allclose(robust_z_matrix(totals + shift, 100), robust_z_matrix(totals, 100))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 40.0, 55.5, 60.0, 61.0, 62.5, 70.0, 99.0]), min_size=0, max_size=11),
                min_size=1, max_size=12),
       st.sampled_from([0.05, 0.01]))
def test_diagnostics_of_all_panels_at_once_are_those_of_each_panel(panels, alpha):
    width = max(len(panel) for panel in panels)
    totals = np.full((len(panels), max(width, 1)), np.nan)
    for row, panel in enumerate(panels):
        totals[row, :len(panel)] = panel
    expected = [grubbs(np.array(panel), alpha) + dixon(np.array(panel)) for panel in panels]
    assert diagnostic_steps(totals, alpha) == expected
