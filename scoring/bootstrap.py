"""Rank intervals and P(top-k) by a seeded bootstrap over experts within each application (DESIGN §7.1 step 6).

Each draw resamples, for every application independently, its n expert totals with replacement, recomputes the
panel score with the same rule (:func:`scoring.aggregate.olympic_trim`), and ranks all applications; applications
sharing a bootstrap score share the better rank ("min" ranking). The rank interval is the percentile interval of
an application's B bootstrap ranks.

How it is computed (docs/scoring.md, "Bootstrap over experts", has a worked example):

* The panel score is an order-statistic rule, so a resample is fully described by its *composition*: how many
  times each position of the panel's sorted totals was drawn, n counts summing to n (multinomial with equal
  probabilities). For n ≤ ``TABLED_PANEL`` all C(2n − 1, n) compositions are enumerated once and the rule is
  applied to each (the Olympic mean removes one occurrence at the first and at the last non-zero count), giving
  the weights of the sorted positions in the score's sum. A resample's sum is then ``weights @ sorted_totals``,
  looked up from two small per-application tables (the weights of the lower and of the upper half of the
  positions, each times the totals: matrix products). Compositions are drawn with Walker's alias method, one
  64-bit word each, instead of n picks.
* Larger panels draw their n positions directly and apply the rule to the drawn sample.
* When every total lies on a decimal grid (scores entered on steps), score sums are integers in grid units and
  the scores are fractions with small denominators; they are compared exactly through a dense numbering of every
  value a score can take, and each draw's ranks come from counting (a histogram and a cumulative sum) instead of
  a sort. Otherwise scores are compared rounded to 9 decimals and each draw is sorted.

The random stream (what a seed means): one ``numpy.random.default_rng(seed)``; panel sizes in ascending order;
for each, its applications in row order; for each application its B draws in order. A tabled size takes one raw
64-bit word per draw (``integers(0, 2**64 - 1, dtype=uint64, endpoint=True)``): its low log₂M bits choose one of
the M alias buckets, the rest is compared with the bucket's limit (so each composition's probability is exact to
within 2⁻⁴⁷). A larger size draws ``integers(0, n)`` (int64) n times per draw. Both take 64-bit words from the
generator one at a time, so nothing depends on the machine or on block sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations_with_replacement
from math import factorial

import numpy as np

from .aggregate import olympic_trim

TABLED_PANEL = 10         # panels up to this size draw compositions; C(19, 10) = 92,378 of them at n = 10
SCORE_CELLS = 1 << 16     # resamples per block of the score pass (cache-sized; results do not depend on it)
CELLS_PER_BLOCK = 1 << 17  # cells per block of the ranking pass (cache-sized; results do not depend on it)
GRID_PLACES = 6           # the finest decimal grid looked for
GRID_TOLERANCE = 1e-11    # a total this close to its grid value is read as on the grid (float noise of sums)
MAX_LEVELS = 1 << 22      # more candidate score values than this: compare floats instead of numbering them


@dataclass(frozen=True)
class RankUncertainty:
    """Bootstrap rank summaries.

    Attributes
    ----------
    low, high : ndarray of int, shape (A,)
        The rank interval (best, worst) at the requested level.
    p_top_k : ndarray of float, shape (A,) or None
        Share of draws with rank ≤ k, when k was given.
    """

    low: np.ndarray
    high: np.ndarray
    p_top_k: np.ndarray | None


@dataclass(frozen=True)
class Compositions:
    """Every resample of an n-panel as counts over its sorted positions, with the rule's weights.

    The weights are split into the first h = ⌈n/2⌉ sorted positions and the rest, so that an application's score
    sums over all compositions come from two small tables (distinct half-weights × its totals) instead of one
    table with an entry per composition.

    Attributes
    ----------
    first, second : ndarray of float, shape (K₁, h) and (K₂, n − h)
        The distinct half-weight vectors: how often each sorted position enters the rule's sum.
    first_index, second_index : ndarray of intp, shape (K,)
        Each composition's two half-weight vectors.
    kept : int
        Number of totals the rule averages (the same for every composition of n).
    limit : ndarray of uint64, shape (M,)
        The alias table, M a power of two ≥ K: bucket j yields its own composition when a uniform
        (64 − log₂M)-bit number is below ``limit[j]``, else its alias.
    codes : ndarray of int64, shape (2M,)
        Bucket j's own composition at 2j, its alias at 2j + 1, each coded ``first_index << 32 | second_index``.
    bounds : ndarray of uint64, shape (M,)
        The same test on the whole 64-bit word: bucket j yields its alias when the word is ≥ ``bounds[j]``
        (``limit[j]`` shifted up by log₂M bits, since ⌊w / 2ᵇ⌋ ≥ L exactly when w ≥ L·2ᵇ), which spares a shift
        per resample. A bucket that always keeps its own composition (limit 2^(64 − log₂M), which does not
        shift into 64 bits) is its own alias, so its bound is 0.
    """

    first: np.ndarray
    second: np.ndarray
    first_index: np.ndarray
    second_index: np.ndarray
    kept: int
    limit: np.ndarray
    codes: np.ndarray
    bounds: np.ndarray

    @property
    def bucket_bits(self) -> int:
        return int(self.limit.size).bit_length() - 1

    @property
    def weights(self) -> np.ndarray:
        """The full weights, shape (K, n)."""
        return np.hstack([self.first[self.first_index], self.second[self.second_index]])


def bootstrap_ranks(totals: np.ndarray, draws: int, seed: int, min_panel: int = 5, trim: bool = True,
                    level: float = 0.95, capacity: int | None = None) -> RankUncertainty:
    """Bootstrap the ranking of applications whose totals fill the left of each row.

    Parameters
    ----------
    totals : ndarray of float, shape (A, N)
        Each row's n totals in its first n slots, NaN after them; every row has n ≥ 1.
    draws : int
        Number of bootstrap draws B (≥ 1).
    seed : int
        Seed of numpy's default generator (the stream is described in the module docstring).
    min_panel, trim : int, bool
        The panel-score rule's parameters, passed to :func:`scoring.aggregate.olympic_trim`.
    level : float
        Coverage of the rank interval (percentile interval of the bootstrap ranks).
    capacity : int or None
        k of P(top-k).
    """
    totals = np.asarray(totals, dtype=float)
    by_size = np.argsort((~np.isnan(totals)).sum(axis=1), kind="stable")        # equal panel sizes together
    keys, levels = bootstrap_scores(totals[by_size], draws, seed, min_panel, trim)
    ranks = ranks_by_count(keys, levels) if levels is not None else ranks_by_sort(keys)
    in_top_k = None
    alpha = 1 - level
    low_index, high_index = int(np.floor(alpha / 2 * (draws - 1))), int(np.ceil((1 - alpha / 2) * (draws - 1)))
    if ranks.dtype == np.uint16:
        ranks.sort(axis=1, kind="stable")                                        # a radix sort for 2-byte ranks
        if capacity is not None:
            in_top_k = np.empty(totals.shape[0])
            in_top_k[by_size] = _count_at_most(ranks, capacity) / draws
    else:
        if capacity is not None:
            in_top_k = np.empty(totals.shape[0])
            step = max(1, SCORE_CELLS // draws)                                 # no (A, B) temporary
            in_top_k[by_size] = np.concatenate([np.count_nonzero(ranks[start:start + step] <= capacity, axis=1)
                                                for start in range(0, ranks.shape[0], step)]) / draws
        ranks.partition((low_index, high_index), axis=1)                         # order statistics only
    low, high = np.empty(totals.shape[0], dtype=int), np.empty(totals.shape[0], dtype=int)
    low[by_size], high[by_size] = ranks[:, low_index], ranks[:, high_index]
    return RankUncertainty(low, high, in_top_k)


def _count_at_most(ordered: np.ndarray, bound: int) -> np.ndarray:
    """How many entries of each ascending row are ≤ ``bound``, shape (A, B) → (A,): a binary search of all rows
    at once, ⌈log₂(B + 1)⌉ steps of A reads instead of a pass over every entry."""
    rows = np.arange(ordered.shape[0])
    below, above = np.zeros(ordered.shape[0], dtype=np.intp), np.full(ordered.shape[0], ordered.shape[1])
    while (below < above).any():
        middle = (below + above) // 2
        inside = ordered[rows, np.minimum(middle, ordered.shape[1] - 1)] <= bound
        searching = below < above
        below = np.where(searching & inside, middle + 1, below)
        above = np.where(searching & ~inside, middle, above)
    return below


def bootstrap_scores(totals: np.ndarray, draws: int, seed: int, min_panel: int = 5,
                     trim: bool = True) -> tuple[np.ndarray, int | None]:
    """Every application's B bootstrap scores, as comparable keys.

    Parameters
    ----------
    totals : ndarray of float, shape (A, N)
        As for :func:`bootstrap_ranks`, with the rows ordered by panel size.

    Returns
    -------
    keys : ndarray, shape (A, B)
        On a decimal grid: dense value numbers (uint16 or uint32), equal numbers for equal scores and larger for
        higher ones. Otherwise the scores themselves (float64).
    levels : int or None
        How many value numbers there are (None for float scores).
    """
    counts = (~np.isnan(totals)).sum(axis=1)
    ordered = np.sort(totals, axis=1)                                             # NaN last
    sizes = [int(n) for n in np.unique(counts)]
    kept = {n: _kept_count(n, min_panel, trim) for n in sizes}
    places = _grid_places(ordered[~np.isnan(ordered)])
    units = None if places is None else np.rint(ordered * 10.0**places)
    numbering = (_ValueNumbering(units, counts, kept, totals.shape[0] + 1)
                 if units is not None and _ValueNumbering.candidates(units, counts, kept) <= MAX_LEVELS else None)
    values = ordered if numbering is None else units
    rng = np.random.default_rng(seed)
    keys = np.empty((totals.shape[0], draws), dtype=np.float64 if numbering is None else numbering.dtype)
    for n in sizes:
        first_row, end = np.searchsorted(counts, [n, n + 1])
        step = max(1, SCORE_CELLS // draws)
        for start in range(first_row, end, step):
            block = slice(start, min(start + step, end))
            if numbering is None:
                _resampled_sums(values[block, :n], draws, rng, min_panel, trim, out=keys[block])
                keys[block] /= kept[n]
            elif numbering.identity:                                             # the numbers are sum − low
                _resampled_sums(values[block, :n], draws, rng, min_panel, trim, numbering.low[n], keys[block],
                                keys.dtype)
            else:
                sums = _resampled_sums(values[block, :n], draws, rng, min_panel, trim, numbering.low[n],
                                       integers=np.uint32)
                np.take(numbering.table[n], sums, out=keys[block])
    return keys, None if numbering is None else numbering.levels


def _resampled_sums(values: np.ndarray, draws: int, rng: np.random.Generator, min_panel: int, trim: bool,
                    base: float = 0.0, out: np.ndarray | None = None,
                    integers: type[np.unsignedinteger] | None = None) -> np.ndarray:
    """The rule's sum of kept totals, minus ``base``, for B resamples of each row of sorted ``values``.

    Shape (a, n) → (a, B), written into ``out`` (cast unchecked: the caller knows the sums fit) when given.
    ``integers``: the values are whole numbers and every sum minus ``base`` fits this unsigned type; the two
    half-sums of a tabled panel are then added in it, modulo its range, which gives the sum exactly (it lies in
    the range) and spares a float pass and a float-to-integer conversion over every resample.
    """
    n = values.shape[1]
    if n > TABLED_PANEL:
        positions = rng.integers(0, n, size=(values.shape[0], draws, n))           # int64: unbuffered, so the
        sample = np.take_along_axis(values[:, None, :], positions, axis=2)        # stream ignores the blocks
        flat = sample.reshape(-1, n)
        sums = np.where(olympic_trim(flat, min_panel, trim).kept, flat, 0.0).sum(axis=1).reshape(sample.shape[:2])
        sums = np.subtract(sums, base, out=out, casting="unsafe")
        return sums if out is not None or integers is None else sums.astype(integers)
    table = compositions(n, min_panel, trim)
    word = rng.integers(0, 2**64 - 1, size=(values.shape[0], draws), dtype=np.uint64, endpoint=True)
    bucket = np.bitwise_and(word.view(np.int64), table.limit.size - 1)
    alias = word >= np.take(table.bounds, bucket)                                # True: the bucket's alias
    index = np.left_shift(bucket, 1, out=bucket)
    index += alias
    code = np.take(table.codes, index)                                           # (a, B): first << 32 | second
    code += (np.arange(values.shape[0]) * (table.first.shape[0] << 32 | table.second.shape[0]))[:, None]
    half = table.first.shape[1]
    first = (values[:, :half] @ table.first.T - base).ravel()                    # (a·K₁,), exact in grid units
    second = (values[:, half:] @ table.second.T).ravel()
    if integers is not None:                                                     # wrapped: f + s mod 2^bits
        first, second = first.astype(np.int64).astype(integers), second.astype(np.int64).astype(integers)
    upper = np.take(first, code >> 32)
    return np.add(upper, np.take(second, np.bitwise_and(code, 0xFFFFFFFF, out=code)), out=out, casting="unsafe")


def _kept_count(n: int, min_panel: int, trim: bool) -> int:
    """How many of n totals the rule averages (read from the rule itself, on n distinct values)."""
    return int(olympic_trim(np.arange(float(n)).reshape(1, n), min_panel, trim).counts[0])


@lru_cache(maxsize=32)
def compositions(n: int, min_panel: int = 5, trim: bool = True) -> Compositions:
    """All C(2n − 1, n) resamples of an n-panel as counts over its sorted positions, their rule weights and an
    exact alias table for drawing them with their multinomial probabilities n! / (∏ cⱼ! · nⁿ).

    Examples
    --------
    >>> table = compositions(3, min_panel=3)
    >>> table.weights.shape, table.kept                   # 10 compositions of 3 draws over 3 positions
    ((10, 3), 1)
    >>> table.weights[[0, 4, 9]].tolist()                 # picks (0, 0, 0), (0, 1, 2) and (2, 2, 2): the middle
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    picks = np.array(list(combinations_with_replacement(range(n), n)), dtype=float)     # (K, n), sorted rows
    kept = olympic_trim(picks, min_panel, trim).kept
    position = np.arange(n)
    weights = ((picks[:, :, None] == position) & kept[:, :, None]).sum(axis=1).astype(float)    # (K, n)
    multiplicity = (picks[:, :, None] == position).sum(axis=1)
    ways = factorial(n) // np.array([factorial(c) for c in range(n + 1)], dtype=np.int64)[multiplicity].prod(axis=1)
    half = (n + 1) // 2
    first, first_index = _unique_rows(weights[:, :half], n + 1)
    second, second_index = _unique_rows(weights[:, half:], n + 1)
    codes = first_index << 32 | second_index
    limit, alias = _alias_table(ways.tolist(), n**n)
    own = np.append(codes, np.zeros(limit.size - codes.size, dtype=codes.dtype))    # padding buckets: never kept
    bits = limit.size.bit_length() - 1
    always_own = limit == 1 << (64 - bits)
    assert (alias[always_own] == np.flatnonzero(always_own)).all()                  # Vose leaves them unpaired
    bounds = np.where(always_own, 0, limit << np.uint64(bits)).astype(np.uint64)
    return Compositions(first, second, first_index, second_index, int(kept[0].sum()), limit,
                        np.stack([own, codes[alias]], axis=1).ravel(), bounds)


def _unique_rows(rows: np.ndarray, base: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_inverse=True)`` for rows of whole numbers in [0, base): each row read as
    one number in that base, first column most significant, so the numbers sort as the rows do (a sort of
    integers instead of a row-by-row lexicographic one)."""
    number = rows.astype(np.int64) @ base ** np.arange(rows.shape[1] - 1, -1, -1, dtype=np.int64)
    _, first_seen, inverse = np.unique(number, return_index=True, return_inverse=True)
    return rows[first_seen], inverse.ravel()


def _alias_table(ways: list[int], total: int) -> tuple[np.ndarray, np.ndarray]:
    """Walker's alias table: item i has probability ways[i] / total, to within 2⁻⁴⁷ per bucket.

    With a power-of-two number of buckets M ≥ len(ways), each bucket holds ``total`` units and item i brings
    ways[i]·M units; Vose's pairing, in integers, fills every bucket exactly because Σ ways[i]·M = M·total. Bucket
    j keeps its own item with probability threshold[j] / total, which becomes a limit on a uniform number of
    64 − log₂M bits (rounded to nearest: the only approximation, below 2⁻⁴⁷ for n ≤ 10).

    Returns
    -------
    limit : ndarray of uint64, shape (M,)
    alias : ndarray of intp, shape (M,)
    """
    buckets = 1 << max(len(ways) - 1, 1).bit_length()
    load = [w * buckets for w in ways] + [0] * (buckets - len(ways))
    threshold, alias = [total] * buckets, list(range(buckets))
    small = [i for i, units in enumerate(load) if units < total]
    large = [i for i, units in enumerate(load) if units >= total]
    while small and large:
        light, heavy = small.pop(), large.pop()
        threshold[light], alias[light] = load[light], heavy
        load[heavy] -= total - load[light]
        (small if load[heavy] < total else large).append(heavy)
    scale = 1 << (64 - buckets.bit_length() + 1)
    limit = [(units * scale + total // 2) // total for units in threshold]
    return np.array(limit, dtype=np.uint64), np.array(alias, dtype=np.intp)


def _grid_places(values: np.ndarray) -> int | None:
    """The fewest decimals d ≤ ``GRID_PLACES`` such that every value is a multiple of 10⁻ᵈ (up to float noise
    of sums), or None."""
    for places in range(GRID_PLACES + 1):
        scaled = values * 10.0**places
        if np.abs(scaled - np.rint(scaled)).max(initial=0.0) <= GRID_TOLERANCE * 10.0**places:
            return places if np.abs(scaled).max(initial=0.0) < 2**40 else None
    return None


class _ValueNumbering:
    """Numbers every score a resample can take, in increasing order, when totals are integers (grid units).

    A score is s / kept with s an integer sum; for each panel size the candidate sums run from kept·(smallest
    total) to kept·(largest total) of that size, and equal fractions from different sizes get the same number.
    Float division of small integers is correctly rounded, so equal fractions give equal floats and different
    ones different floats: the numbering is exact.
    """

    def __init__(self, units: np.ndarray, counts: np.ndarray, kept: dict[int, int], floor_levels: int) -> None:
        self.low, ranges = {}, []
        for n, k in kept.items():
            present = units[counts == n, :n]
            self.low[n] = int(present.min()) * k
            ranges.append((n, np.arange(self.low[n], int(present.max()) * k + 1, dtype=float) / k))
        distinct = np.unique(np.concatenate([values for _, values in ranges]))
        self.levels = int(distinct.size)
        self.dtype = np.uint16 if max(self.levels, floor_levels) <= np.iinfo(np.uint16).max else np.uint32
        self.table = {n: np.searchsorted(distinct, values).astype(self.dtype) for n, values in ranges}
        self.identity = len(ranges) == 1                       # one panel size: the numbers are the sums − low

    @staticmethod
    def candidates(units: np.ndarray, counts: np.ndarray, kept: dict[int, int]) -> int:
        """How many candidate sums the numbering would enumerate."""
        spans = [np.ptp(units[counts == n, :n]) for n in kept]
        return int(sum(k * (span + 1) for k, span in zip(kept.values(), spans, strict=True)))


def ranks_by_count(numbers: np.ndarray, levels: int) -> np.ndarray:
    """Min-ranks of every draw (column) from value numbers, by counting; shape (A, B) → (A, B), in place.

    The rank of a value is 1 + the number of larger values in its draw: A minus the cumulative histogram of the
    draw at its number.
    """
    n_apps, draws = numbers.shape
    step = max(1, CELLS_PER_BLOCK // max(levels, n_apps))
    offsets = np.arange(step) * levels                                             # draw j counts in cells j·levels…
    ceilings = np.repeat(np.arange(1, step + 1) * n_apps + 1, levels)
    for start in range(0, draws, step):
        block = numbers[:, start:start + step].astype(np.intp)                    # (A, b)
        width = block.shape[1]
        block += offsets[:width]
        at_or_below = np.bincount(block.ravel(), minlength=width * levels).cumsum()   # runs on across the draws,
        rank_of_cell = np.subtract(ceilings[:width * levels], at_or_below, out=at_or_below)  # hence j·A + 1 − …
        numbers[:, start:start + step] = np.take(rank_of_cell, block)
    return numbers


def ranks_by_sort(scores: np.ndarray) -> np.ndarray:
    """Min-ranks of every draw (column) of float scores; shape (A, B) → (A, B)."""
    n_apps, draws = scores.shape
    ranks = np.empty(scores.shape, dtype=np.uint16 if n_apps < np.iinfo(np.uint16).max else np.uint32)
    step = max(1, CELLS_PER_BLOCK // max(n_apps, 1))
    for start in range(0, draws, step):
        ranks[:, start:start + step] = min_ranks(scores[:, start:start + step].T).T
    return ranks


def min_ranks(scores: np.ndarray) -> np.ndarray:
    """Rank each row's scores descending, ties sharing the best rank: 1 + number of strictly higher scores.

    Scores equal to 9 decimals are ties (float noise of different summation orders is not a difference).

    Parameters
    ----------
    scores : ndarray of float, shape (b, A)

    Returns
    -------
    ndarray of int, shape (b, A)
    """
    rounded = np.round(scores, 9)
    order = np.argsort(-rounded, axis=1)
    ordered = np.take_along_axis(rounded, order, axis=1)
    starts_run = np.ones(ordered.shape, dtype=bool)
    starts_run[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    first_of_run = np.maximum.accumulate(np.where(starts_run, np.arange(ordered.shape[1]), 0), axis=1)
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, first_of_run + 1, axis=1)
    return ranks
