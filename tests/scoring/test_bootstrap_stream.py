"""The bootstrap's resampling through compositions, checked against slow, plain implementations.

The fast bootstrap never materialises a resample: it draws a composition (how often each sorted total was picked)
from an alias table and reads the score from per-application tables. These tests pin it to the definition —
resample the panel with replacement, apply the Olympic mean, rank every draw — computed one draw at a time.
"""

import doctest
from collections import Counter
from fractions import Fraction
from itertools import product

import numpy as np
import pytest
from scipy import stats

from scoring import bootstrap
from scoring.aggregate import olympic_mean
from scoring.bootstrap import bootstrap_ranks, bootstrap_scores, compositions


def plain_weights(picks: tuple[int, ...], min_panel: int, trim: bool) -> tuple[int, ...]:
    """How often each sorted position enters the Olympic sum of one ordered resample, written out by hand."""
    kept = sorted(picks)
    if trim and len(picks) >= min_panel:
        kept = kept[1:-1]
    return tuple(kept.count(position) for position in range(len(picks)))


def table_distribution(n: int, min_panel: int, trim: bool) -> dict[tuple[int, ...], Fraction]:
    """The probability the alias table gives each weight vector, read off its buckets."""
    table = compositions(n, min_panel, trim)
    share = Fraction(1, table.limit.size)
    scale = 1 << (64 - table.bucket_bits)
    result: Counter = Counter()
    for bucket, limit in enumerate(table.limit.tolist()):
        for slot, probability in ((0, Fraction(limit, scale)), (1, 1 - Fraction(limit, scale))):
            code = int(table.codes[2 * bucket + slot])
            weights = tuple(int(w) for w in np.r_[table.first[code >> 32], table.second[code & 0xFFFFFFFF]])
            result[weights] += share * probability
    return {key: value for key, value in result.items() if value > 0}


def test_the_worked_example_of_docs_scoring():
    table = compositions(5)
    resample = np.array([79, 91, 79, 60, 82.0])
    sorted_totals = np.array([60, 79, 82, 85, 91.0])
    composition = [int((resample == value).sum()) for value in sorted_totals]
    assert composition == [1, 2, 1, 0, 1]
    weights = plain_weights((1, 4, 1, 0, 2), 5, True)
    assert weights == (0, 2, 1, 0, 0)
    assert any(list(row) == [0, 2, 1, 0, 0] for row in table.weights.tolist())
    assert sorted_totals @ np.array(weights) / table.kept == olympic_mean(resample) == 80.0


@pytest.mark.parametrize(("n", "min_panel", "trim"), [(1, 5, True), (2, 5, True), (3, 3, True), (4, 5, True),
                                                      (5, 5, True), (6, 5, True), (6, 5, False)])
def test_the_alias_table_draws_every_resample_with_its_probability(n, min_panel, trim):
    exact = Counter(plain_weights(picks, min_panel, trim) for picks in product(range(n), repeat=n))
    drawn = table_distribution(n, min_panel, trim)
    assert drawn.keys() == exact.keys()
    for weights, ways in exact.items():
        assert abs(drawn[weights] - Fraction(ways, n**n)) < Fraction(1, 2**48)


def test_bootstrap_scores_follow_the_exact_resampling_distribution():
    panel = np.array([[60.31234, 79.1, 82.7, 84.2, 88.4, 91.6]])          # off any grid: float scores
    scores = bootstrap_scores(panel, 20_000, seed=3)[0][0]
    resamples = np.array(list(product(range(6), repeat=6)))              # all 6⁶ ordered resamples
    trimmed = np.sort(panel[0, resamples], axis=1)[:, 1:-1]
    exact = trimmed.mean(axis=1)
    distance = stats.ks_2samp(np.round(scores, 9), np.round(exact, 9)).statistic
    assert distance < 0.015                                              # 1.36·√(1/20000 + 1/6⁶) = 0.011
    assert abs(scores.mean() - exact.mean()) < 4 * exact.std() / np.sqrt(20_000)


def reference_ranks(totals: np.ndarray, draws: int, seed: int, min_panel: int = 5, trim: bool = True,
                    level: float = 0.95, capacity: int | None = None):
    """The bootstrap one application and one draw at a time: the documented stream, decoded by hand, the rule
    applied to the expanded resample, ranks by scipy."""
    rng = np.random.default_rng(seed)
    counts = (~np.isnan(totals)).sum(axis=1)
    scores = np.empty((totals.shape[0], draws))
    for n in sorted(set(counts.tolist())):
        for row in np.flatnonzero(counts == n):
            ordered = np.sort(totals[row, :n])
            for draw in range(draws):
                if n <= bootstrap.TABLED_PANEL:
                    table = compositions(n, min_panel, trim)
                    word = int(rng.integers(0, 2**64 - 1, dtype=np.uint64, endpoint=True))
                    bucket = word & (table.limit.size - 1)
                    alias = (word >> table.bucket_bits) >= int(table.limit[bucket])
                    code = int(table.codes[2 * bucket + alias])
                    weights = np.r_[table.first[code >> 32], table.second[code & 0xFFFFFFFF]].astype(int)
                    sample = np.repeat(ordered, weights)                    # what the rule kept; its mean:
                    scores[row, draw] = sample.mean()
                else:
                    picks = [int(rng.integers(0, n)) for _ in range(n)]
                    scores[row, draw] = olympic_mean(ordered[picks], min_panel) if trim else ordered[picks].mean()
    ranks = np.stack([stats.rankdata(-np.round(scores[:, draw], 9), method="min") for draw in range(draws)], axis=1)
    alpha = 1 - level
    ordered_ranks = np.sort(ranks, axis=1)
    low = ordered_ranks[:, int(np.floor(alpha / 2 * (draws - 1)))]
    high = ordered_ranks[:, int(np.ceil((1 - alpha / 2) * (draws - 1)))]
    return low, high, None if capacity is None else (ranks <= capacity).mean(axis=1)


def mixed_panels(offset: float) -> np.ndarray:
    rng = np.random.default_rng(11)
    sizes = [7, 3, 7, 5, 11, 7, 4, 9, 5, 7, 3, 11, 1, 7, 6, 10]
    totals = np.full((len(sizes), 11), np.nan)
    for row, n in enumerate(sizes):
        totals[row, :n] = np.round((rng.normal(78, 4) + rng.normal(0, 3, n)) * 2) / 2 + offset
    return totals


@pytest.mark.parametrize("offset", [0.0, 0.5, 0.123456789])            # on the grid (two grids), and off it
def test_the_stream_and_the_ranks_match_a_slow_reference(offset):
    totals = mixed_panels(offset)
    fast = bootstrap_ranks(totals, 60, seed=5, capacity=4)
    low, high, top = reference_ranks(totals, 60, seed=5, capacity=4)
    assert fast.low.tolist() == low.tolist() and fast.high.tolist() == high.tolist()
    assert np.allclose(fast.p_top_k, top, rtol=0, atol=1e-12)


@pytest.mark.parametrize("places", [1, 3])             # 2-byte value numbers, and 4-byte ones (> 65,535 values)
@pytest.mark.parametrize("capacity", [1, 5, 14])      # P(top-k) counted in sorted rows, down to none and all
def test_one_panel_size_matches_the_slow_reference(places, capacity):
    """One panel size: the value numbers are the sums themselves, added in a narrow unsigned type."""
    rng = np.random.default_rng(places)
    totals = np.round(rng.uniform(0, 100, (14, 9)), places)
    fast = bootstrap_ranks(totals, 80, seed=3, capacity=capacity)
    low, high, top = reference_ranks(totals, 80, seed=3, capacity=capacity)
    assert fast.low.tolist() == low.tolist() and fast.high.tolist() == high.tolist()
    assert np.allclose(fast.p_top_k, top, rtol=0, atol=1e-12)


def test_counting_ranks_equal_sorted_ranks(monkeypatch):
    totals = mixed_panels(0.5)
    counted = bootstrap_ranks(totals, 300, seed=8, capacity=5)
    monkeypatch.setattr(bootstrap, "MAX_LEVELS", 0)                        # forces float scores and a sort
    sorted_ = bootstrap_ranks(totals, 300, seed=8, capacity=5)
    assert counted.low.tolist() == sorted_.low.tolist() and counted.high.tolist() == sorted_.high.tolist()
    assert counted.p_top_k.tolist() == sorted_.p_top_k.tolist()


def test_block_sizes_do_not_change_the_answer(monkeypatch):
    totals = mixed_panels(0.0)
    first = bootstrap_ranks(totals, 200, seed=2, capacity=3)
    monkeypatch.setattr(bootstrap, "SCORE_CELLS", 500)
    monkeypatch.setattr(bootstrap, "CELLS_PER_BLOCK", 7)
    again = bootstrap_ranks(totals, 200, seed=2, capacity=3)
    assert first.low.tolist() == again.low.tolist() and first.p_top_k.tolist() == again.p_top_k.tolist()



def test_docstring_examples_of_the_bootstrap():
    outcome = doctest.testmod(bootstrap)
    assert outcome.attempted > 0 and outcome.failed == 0


@pytest.mark.parametrize("n", [2, 5, 9, 10])
def test_the_whole_word_bound_picks_the_same_composition_as_the_shifted_limit(n):
    table = compositions(n)
    bits = table.bucket_bits
    buckets = np.arange(table.limit.size, dtype=np.uint64)
    high = table.limit.astype(object)                                       # exact integers around each limit
    for above in (-1, 0, 1):
        raw = [max(0, min(int(limit) + above, (1 << (64 - bits)) - 1)) for limit in high]
        words = (np.array(raw, dtype=np.uint64) << np.uint64(bits)) | buckets
        by_limit = table.codes[2 * buckets.astype(np.intp) + ((words >> np.uint64(bits)) >= table.limit)]
        by_bound = table.codes[2 * buckets.astype(np.intp) + (words >= table.bounds)]
        assert by_limit.tolist() == by_bound.tolist()
