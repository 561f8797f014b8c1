"""Bootstrap rank intervals and the ranking's tie rules."""

import numpy as np

from scoring.bootstrap import bootstrap_ranks, min_ranks
from scoring.rank import rank_applications

FIVE = np.array([[82, 85, 79, 91, 60, 84, 88], [88, 90, 86, 92, 87, 89, 85], [78, 80, 83, 76, 81, 79, 82],
                 [70, 72, 75, 68, 74, 71, 73], [78, 80, 83, 85, 85, 85, 95]], dtype=float)


def test_min_ranks_share_the_best_rank():
    assert min_ranks(np.array([[3, 1, 3, 2.0], [0, 0, 5, 1]])).tolist() == [[1, 4, 1, 3], [3, 3, 1, 2]]


def test_the_same_seed_gives_the_same_answer_and_another_seed_may_not():
    first = bootstrap_ranks(FIVE, 2000, seed=7, capacity=2)
    again = bootstrap_ranks(FIVE, 2000, seed=7, capacity=2)
    assert np.array_equal(first.low, again.low) and np.array_equal(first.p_top_k, again.p_top_k)


def test_rank_intervals_and_top_k_on_the_worked_example():
    result = bootstrap_ranks(FIVE, 10_000, seed=20200901, capacity=2)
    assert (result.low <= result.high).all()
    assert result.low[1] == 1 and result.high[3] == 5            # P2 can be first, P4 is always last
    assert result.low[2] >= 3                                    # P3 never reaches the top two: RESERVE at k = 2
    assert result.p_top_k[1] > 0.99 and result.p_top_k[3] == 0
    assert result.p_top_k.sum() >= 2 - 1e-9                      # at least two places in the top two per draw


def test_unequal_panel_sizes_and_capacity_above_the_field():
    totals = np.full((3, 7), np.nan)
    totals[0, :7] = [80, 81, 82, 83, 84, 85, 86]
    totals[1, :4] = [70, 90, 75, 85]
    totals[2, :3] = [60, 62, 61]
    result = bootstrap_ranks(totals, 500, seed=1, capacity=3)
    assert result.p_top_k.tolist() == [1.0, 1.0, 1.0]
    assert result.high[2] == 3 and result.low[0] == 1


def test_rank_applications_tie_rules():
    scores = np.array([83.6, 88.0, 83.6, np.nan, 83.6])
    medians = np.array([[84.0], [88.0], [85.0], [np.nan], [84.0]])
    ranking = rank_applications(scores, medians)
    assert ranking.ranks.tolist() == [3, 1, 2, 0, 3]
    assert ranking.tied.tolist() == [True, False, False, False, True]
    assert ranking.decided_by[2] == 1                            # separated by the median (key 1)
