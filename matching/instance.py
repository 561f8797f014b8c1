"""The assignment problem at the array level: what every solver in this package reads.

An :class:`Instance` carries numbers only (fit, permissions, pools, organizations, caps, quotas); the mapping
from expert and application refs to row and column indices lives with the caller (:mod:`matching.assign`).
Keeping the solvers on arrays lets them be tested on random instances without building any record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from matching.bits import BitMatrix


@dataclass(frozen=True, eq=False)
class Instance:
    """One individual-mode assignment problem.

    Parameters
    ----------
    fit : ndarray, shape (E, A), float
        Fit of expert ``e`` to application ``a``; the objective maximizes the sum over assigned pairs.
    allowed : BitMatrix, shape (E, A) (a bool ndarray is packed into one)
        False where the pair may never be assigned: a hard conflict, a ``forbidden`` pair, a soft conflict the
        organizer has not accepted, or an unavailable expert. One bit a pair (:mod:`matching.bits`), read in
        blocks: as a bool mask it was 0.93 GiB at 20,000 × 50,000.
    expert_pool : ndarray, shape (E,), int
        Index into ``pools`` of each expert's pool.
    pools : tuple of str
        Pool names, e.g. ``("technology", "industry", ...)``.
    expert_org : ndarray, shape (E,), int
        Organization index of each expert, ``-1`` when the expert has none (never limited).
    load_cap : ndarray, shape (E,), int
        Most applications an expert may review.
    panel_size : ndarray, shape (A,), int
        Experts each application receives.
    pool_quotas : ndarray, shape (P, 2), int
        ``[min, max]`` experts of each pool per panel.
    max_per_org : int
        Most experts of one organization on one panel.
    fixed : ndarray, shape (K, 2), int
        ``(expert, application)`` pairs that must be assigned.
    """

    fit: np.ndarray
    allowed: BitMatrix
    expert_pool: np.ndarray
    pools: tuple[str, ...]
    expert_org: np.ndarray
    load_cap: np.ndarray
    panel_size: np.ndarray
    pool_quotas: np.ndarray
    max_per_org: int
    fixed: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=int))

    def __post_init__(self) -> None:
        n_experts, n_apps = self.fit.shape
        self._pack_allowed()
        if not isinstance(self.allowed, BitMatrix):
            raise TypeError(f"allowed is a BitMatrix or a bool ndarray, not {type(self.allowed).__name__}")
        if self.allowed.shape != (n_experts, n_apps):
            raise ValueError(f"allowed has shape {self.allowed.shape}, fit has {self.fit.shape}")
        for name, array, length in (("expert_pool", self.expert_pool, n_experts),
                                    ("expert_org", self.expert_org, n_experts),
                                    ("load_cap", self.load_cap, n_experts),
                                    ("panel_size", self.panel_size, n_apps)):
            if array.shape != (length,):
                raise ValueError(f"{name} has shape {array.shape}, expected ({length},)")
        if self.pool_quotas.shape != (len(self.pools), 2):
            raise ValueError(f"pool_quotas has shape {self.pool_quotas.shape}, expected ({len(self.pools)}, 2)")
        fixed = np.asarray(self.fixed, dtype=int).reshape(-1, 2)
        object.__setattr__(self, "fixed", fixed)

    def __setstate__(self, state: dict) -> None:
        """Unpickling skips ``__post_init__``: an instance pickled with ``allowed`` a bool ndarray is packed here."""
        self.__dict__.update(state)
        self._pack_allowed()

    def _pack_allowed(self) -> None:
        """``allowed`` given as a bool ndarray becomes its :class:`BitMatrix`."""
        if isinstance(self.allowed, np.ndarray):
            object.__setattr__(self, "allowed", BitMatrix.of(self.allowed))

    @property
    def n_experts(self) -> int:
        return self.fit.shape[0]

    @property
    def n_apps(self) -> int:
        return self.fit.shape[1]

    @property
    def n_pools(self) -> int:
        return len(self.pools)

    def fixed_mask(self) -> np.ndarray:
        """Boolean (E, A) mask of the pairs that must be assigned."""
        mask = np.zeros(self.fit.shape, dtype=bool)
        mask[self.fixed[:, 0], self.fixed[:, 1]] = True
        return mask


def assignment_violations(instance: Instance, assigned: np.ndarray) -> list[str]:
    """Every constraint an integral assignment breaks, as English sentences for tests and assertions.

    Parameters
    ----------
    instance : Instance
    assigned : ndarray, shape (E, A), bool

    Returns
    -------
    list of str
        Empty when the assignment is feasible.
    """
    problems: list[str] = []
    experts, apps = np.nonzero(assigned)
    bad = ~instance.allowed[experts, apps]
    problems += [f"pair ({e}, {a}) is not allowed" for e, a in zip(experts[bad], apps[bad], strict=True)]
    problems += [f"fixed pair ({e}, {a}) missing" for e, a in instance.fixed if not assigned[e, a]]
    loads = assigned.sum(axis=1)
    problems += [f"expert {e} load {loads[e]} > {instance.load_cap[e]}"
                 for e in np.nonzero(loads > instance.load_cap)[0]]
    sizes = assigned.sum(axis=0)
    problems += [f"application {a} panel {sizes[a]} != {instance.panel_size[a]}"
                 for a in np.nonzero(sizes != instance.panel_size)[0]]
    for p, (low, high) in enumerate(instance.pool_quotas):
        counts = assigned[instance.expert_pool == p].sum(axis=0)
        problems += [f"application {a} pool {instance.pools[p]} has {counts[a]} below minimum {low}"
                     for a in np.nonzero(counts < low)[0]]
        problems += [f"application {a} pool {instance.pools[p]} has {counts[a]} above maximum {high}"
                     for a in np.nonzero(counts > high)[0]]
    problems += [f"application {a} has {n} experts of organization {o}"
                 for a, o, n in org_counts(instance, assigned) if n > instance.max_per_org]
    return problems


def org_counts(instance: Instance, assigned: np.ndarray) -> list[tuple[int, int, int]]:
    """``(application, organization, count)`` for every organization with an expert on a panel."""
    experts, apps = np.nonzero(assigned)
    orgs = instance.expert_org[experts]
    keep = orgs >= 0
    if not keep.any():
        return []
    keys, counts = np.unique(np.stack([apps[keep], orgs[keep]], axis=1), axis=0, return_counts=True)
    return [(int(a), int(o), int(n)) for (a, o), n in zip(keys, counts, strict=True)]


def best_first(indices: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` of ``indices`` ordered by ``values`` descending, ties by position: the same as
    ``indices[np.argsort(-values, kind="stable")][:k]`` without sorting all of them.

    Every entry at least as large as a lower bound of the k-th largest value is kept before the stable sort, so
    ties at the cut-off are broken exactly as the full sort breaks them. On long arrays the bound is the k-th
    largest of every :data:`SAMPLE_STRIDE`-th entry, as in :func:`best_first_columns`: on 20,000 values that is
    18 µs against 216 for a partition of them all (the greedy panels rank each pool this way).
    """
    if k <= 0 or len(values) == 0:
        return indices[:0]
    if k < len(values):
        sample = values[::SAMPLE_STRIDE] if len(values) >= SAMPLE_STRIDE * k else values
        threshold = np.partition(sample, len(sample) - k)[len(sample) - k]
        keep = np.nonzero(values >= threshold)[0]
        indices, values = indices[keep], values[keep]
    return indices[np.argsort(-values, kind="stable")][:k]


SAMPLE_STRIDE = 8
"""Every how many rows :func:`best_first_columns` samples for its threshold."""

GUESS = 1.5
GUESS_FROM = 50
"""How many times ``k`` entries :func:`best_first_columns` expects its first threshold to keep in a column, and the
least ``k`` for which it tries one: the count that checks it is a pass over the block, which sorting
``SAMPLE_STRIDE · k`` entries a column costs more than from k ≈ 50 (contended 5,000 × 12,500, its fit in blocks
of 335 applications: 0.41 → 0.51 CPU s at k = 3, 0.47 both at 50, 1.64 → 0.52 at 200)."""


def best_first_columns(values: np.ndarray, k: np.ndarray, above: float | None = None,
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`best_first` for every column of a block at once: the first ``k[c]`` rows of column ``c`` by value
    descending, ties by row, NaN never (a block is experts × applications, read in place: no transposed copy); with
    ``above``, only among the entries larger than it (the pricing of :mod:`matching.network`: a column where
    fewer than ``k`` price out gathers those alone, not every entry at or above a sampled threshold).

    Only the entries at least as large as a lower bound of each column's ``k``-th largest value are sorted (the
    ``k``-th largest of every :data:`SAMPLE_STRIDE`-th row: about ``k`` · :data:`SAMPLE_STRIDE` entries), so a
    block costs a partition of the sample, a comparison and a sort of what is kept (the reports rank a few experts
    per application this way).

    Parameters
    ----------
    values : ndarray, shape (n, B), float
    k : ndarray, shape (B,), int

    Returns
    -------
    columns, rows, ranks : ndarray of int
        Column by column, best first; ``ranks`` counts from 0 within each column.
    """
    n, n_columns = values.shape
    k = np.minimum(np.asarray(k, dtype=np.int64), n)
    largest = int(k.max(initial=0))
    if largest <= 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    # The k-th largest of a sample of the rows is at most the k-th largest of the column: a threshold that keeps
    # every entry the full sort would rank in the first k (ties included), at an eighth of a partition.
    stride = SAMPLE_STRIDE if n >= SAMPLE_STRIDE * largest else 1
    negated = np.negative(values[::stride])
    # NaN counts as −inf, as the comparisons below read it: partition and sort would rank it above +inf, and a
    # threshold taken from a sample short of k numbers would then be above entries the full sort ranks first
    np.copyto(negated, np.inf, where=np.isnan(negated))
    negated.partition(largest - 1, axis=0)
    top = np.negative(negated[:largest])
    del negated
    top.sort(axis=0)                        # ascending: the k-th largest of column c is top[largest - k[c], c]
    columns = np.arange(n_columns)
    threshold = top[np.clip(largest - k, 0, largest - 1), columns]
    floor = -np.inf if above is None else np.nextafter(above, np.inf)
    threshold = threshold if above is None else np.fmax(threshold, floor)
    if stride > 1 and largest >= GUESS_FROM:
        # a higher threshold, the sample's (GUESS · k / stride)-th largest, keeps about GUESS · k entries where the
        # safe one keeps stride · k; it is taken where a count shows it keeps at least k, so it is as exact
        guess = top[np.clip(largest - np.ceil(GUESS * k / stride).astype(np.int64), 0, largest - 1), columns]
        guess = np.fmax(guess, floor)
        threshold = np.where(np.count_nonzero(values >= guess, axis=0) >= k, guess, threshold)
    rows, columns = nonzero_2d(values >= threshold)
    order = np.lexsort((rows, -values[rows, columns], columns))
    rows, columns = rows[order], columns[order]
    ranks = np.arange(len(columns)) - np.searchsorted(columns, columns)
    keep = ranks < k[columns]
    return columns[keep], rows[keep], ranks[keep]


def nonzero_2d(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a 2-D ``mask``, the same rows and columns in the same order (row by row), from the flat
    indices of the raveled mask split by ``divmod``: cheaper than numpy's 2-D ``nonzero`` (the 10,000 × 25,000
    bound pass, whose pools :func:`best_first_columns` ranks: 3.58 → 3.03 CPU s, docs/matching.md)."""
    return np.divmod(np.flatnonzero(mask), mask.shape[1])


@dataclass(frozen=True)
class Panels:
    """An assignment as its pairs, grouped by panel: the form every report reads (no E × A matrix).

    ``experts[starts[a]:starts[a + 1]]`` are the members of application ``a`` in expert order; ``table`` holds
    the same, one row per application, padded with -1 to the largest panel. The memory is a few integers per
    seat (A · panel), where the E × A bool matrix is one byte per pair (1 GB at 20,000 × 50,000) and reading a
    panel from it is a pass over every pair.
    """

    starts: np.ndarray
    experts: np.ndarray
    table: np.ndarray
    n_experts: int

    @classmethod
    def of(cls, assigned: np.ndarray) -> Panels:
        """The panels of an E × A bool matrix (one pass over it)."""
        experts, apps = np.nonzero(assigned)
        return cls.from_pairs(experts, apps, assigned.shape)

    @classmethod
    def from_pairs(cls, experts: np.ndarray, apps: np.ndarray, shape: tuple[int, int]) -> Panels:
        """The panels of the pairs ``(experts[k], apps[k])`` in any order (a pair given twice is one seat).

        Parameters
        ----------
        experts, apps : ndarray, shape (K,), int
        shape : (E, A)
        """
        n_experts, n_apps = shape
        keys = np.sort(np.asarray(apps, dtype=np.int64) * n_experts + np.asarray(experts, dtype=np.int64),
                       kind="stable")             # timsort: fast on pairs already in panel order
        keys = keys[np.concatenate([[True], keys[1:] != keys[:-1]])] if len(keys) else keys
        apps, experts = np.divmod(keys, n_experts) if n_experts else (keys, keys)
        starts = np.searchsorted(apps, np.arange(n_apps + 1))
        sizes = np.diff(starts)
        table = np.full((n_apps, int(sizes.max(initial=0))), -1, dtype=np.int64)
        table[apps, np.arange(len(apps)) - starts[apps]] = experts
        return cls(starts, experts, table, n_experts)

    @property
    def n_apps(self) -> int:
        return len(self.starts) - 1

    @property
    def shape(self) -> tuple[int, int]:
        return self.n_experts, self.n_apps

    def __len__(self) -> int:
        """Seats (assigned pairs)."""
        return len(self.experts)

    def apps(self) -> np.ndarray:
        """The application of each seat, shape (K,): the pairs are ``(experts[k], apps()[k])``, by application
        then expert."""
        return np.repeat(np.arange(self.n_apps), np.diff(self.starts))

    def dense(self) -> np.ndarray:
        """The E × A bool matrix, for a caller that truly needs it (one byte per pair)."""
        assigned = np.zeros(self.shape, dtype=bool)
        assigned[self.experts, self.apps()] = True
        return assigned

    def members(self, a: int) -> np.ndarray:
        return self.experts[self.starts[a]:self.starts[a + 1]]

    def loads(self, n_experts: int) -> np.ndarray:
        """Applications each expert sits on, shape (E,) (``assigned.sum(axis=1)`` without a pass over the pairs)."""
        return np.bincount(self.experts, minlength=n_experts)

    def pool_counts(self, expert_pool: np.ndarray, n_pools: int) -> np.ndarray:
        """Members of each pool on each panel, shape (A, P)."""
        cells = self.apps() * n_pools + expert_pool[self.experts]
        return np.bincount(cells, minlength=self.n_apps * n_pools).reshape(self.n_apps, n_pools)


Assignment = Panels | np.ndarray
"""What the reports (:mod:`matching.explain`, :mod:`matching.reserves`) accept as an assignment: its
:class:`Panels`, or the E × A bool matrix (read into its panels with one pass)."""


def as_panels(assigned: Assignment) -> Panels:
    """``assigned`` as :class:`Panels` (returned as it is when it is one already)."""
    return assigned if isinstance(assigned, Panels) else Panels.of(assigned)


REPORT_BLOCK = 1 << 22
"""Most pairs the reports (reserves, explanations) rank at a time: bounds their temporaries (16 MB of float32)."""


POOL_NAMES_ZH = {"economics": "经济", "technology": "技术", "industry": "产业", "management": "管理", "law": "法律"}


@dataclass(frozen=True)
class Labels:
    """What rows and columns are called in sentences: expert and application refs (and expert names)."""

    experts: tuple[str, ...]
    applications: tuple[str, ...]
    pools: tuple[str, ...]

    def pool(self, p: int) -> str:
        """The pool's Chinese name (法律类 …), or its code if it has none."""
        return POOL_NAMES_ZH.get(self.pools[p], self.pools[p])

    @classmethod
    def numbered(cls, instance: Instance) -> Labels:
        """Labels E1…, A1… for instances without records (tests, benchmarks)."""
        return cls(tuple(f"E{e + 1}" for e in range(instance.n_experts)),
                   tuple(f"A{a + 1}" for a in range(instance.n_apps)), instance.pools)
