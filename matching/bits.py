"""An E × A bool matrix of (expert, application) pairs kept one bit a pair.

A bool mask takes a byte a pair: 0.93 GiB at 20,000 × 50,000, against 0.12 GiB as bits. :class:`BitMatrix` is
read like the mask it replaces — a block of applications ``m[:, start:stop]``, a row subset of a block
``m[rows, start:stop]``, one column ``m[:, a]``, gathered pairs ``m[experts, apps]`` (index arrays, broadcast as
numpy broadcasts them), one pair ``m[e, a]`` — and every read unpacks only what it asks for, giving bool ndarrays
(or ``np.bool_``). Reading the whole matrix is explicit (:meth:`BitMatrix.dense`, :meth:`BitMatrix.nonzero`):
numpy may not convert it (``np.asarray`` raises), so no 1 GB unpack hides behind an array operation.
:class:`PairSet` is the same matrix as a set that only grows (the master's columns).
"""

from __future__ import annotations

import numpy as np

DENSE_BLOCK = 1 << 24
"""Most pairs :meth:`BitMatrix.nonzero` unpacks at a time (16 MB of bool)."""

CLEAR_BLOCK = 1 << 22
"""Most pairs :meth:`BitMatrix.clear` groups at a time: bounds its temporaries (≈ 100 MB) at XL's 33.6 M
conflicts."""

_ONES = np.array([bin(byte).count("1") for byte in range(256)], dtype=np.uint8)
"""The True bits of each byte: ``np.bitwise_count`` came with numpy 2.0, and Panel takes numpy 1.26 (setup.cfg;
0.23 CPU s a count of XL's 125 MB of bits against 0.06, once a draw)."""


class BitMatrix:
    """An (n_experts, n_apps) bool matrix, one bit a pair: row ``e`` is ``bits[e]``, application ``a`` its bit
    ``128 >> (a % 8)`` of byte ``a // 8`` (``np.packbits`` order); the bits past the last application are zero.

    Parameters
    ----------
    n_experts, n_apps : int
        Its shape; it starts all False.
    """

    __array_ufunc__ = None     # ``mask & bits`` raises (TypeError) instead of building an object array

    def __init__(self, n_experts: int, n_apps: int) -> None:
        self.shape = (n_experts, n_apps)
        self.bits = np.zeros((n_experts, (n_apps + 7) // 8), dtype=np.uint8)

    @classmethod
    def of(cls, mask: np.ndarray) -> BitMatrix:
        """The bits of a 2-D bool mask."""
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise ValueError(f"a bit matrix is 2-D, got shape {mask.shape}")
        matrix = cls(*mask.shape)
        packed = np.packbits(mask.astype(bool, copy=False), axis=1)
        matrix.bits = np.ascontiguousarray(packed)      # a transposed mask packs in Fortran order; clear writes flat
        return matrix

    @classmethod
    def rows(cls, rows: np.ndarray, n_apps: int) -> BitMatrix:
        """Row ``e`` all True where ``rows[e]``, all False elsewhere (``np.repeat(rows[:, None], n_apps, 1)``
        without its byte a pair)."""
        matrix = cls(len(rows), n_apps)
        matrix.bits[np.asarray(rows, dtype=bool)] = matrix._full_row()
        return matrix

    def _full_row(self) -> np.ndarray:
        """One row of all True, its padding bits zero."""
        return np.packbits(np.ones(self.shape[1], dtype=bool))

    @property
    def nbytes(self) -> int:
        return self.bits.nbytes

    def __array__(self, *args, **kwargs):
        raise TypeError("a BitMatrix is not converted implicitly: read a block of it, or call .dense()")

    def __bool__(self) -> bool:
        raise TypeError("a BitMatrix has no single truth value (as a bool array has none): use .any()")

    def __eq__(self, other: object) -> bool:
        raise TypeError("bit matrices are not compared element by element: compare blocks, or .dense()")

    __hash__ = None

    # --------------------------------------------------------------------------------------------------- reads
    def __getitem__(self, key) -> np.ndarray | np.bool_:
        rows, columns = _split(key)
        if _is_number(rows) and _is_number(columns):
            return self._pair(rows, columns)
        if isinstance(columns, slice):
            start, stop = self._range(columns)
            packed = self.bits[rows, start >> 3:(stop + 7) >> 3]
            unpacked = np.unpackbits(packed, axis=-1, count=packed.shape[-1] * 8)
            return unpacked[..., start & 7:(start & 7) + stop - start].view(bool)
        columns = self._columns(columns)
        return (self.bits[rows, columns >> 3] & _bit(columns)) != 0

    def _pair(self, expert: int, app: int) -> np.bool_:
        """One pair, read without the index arrays of a gathered read: an explanation reads one pair for each expert
        it names as left out (125,000 at 25,000 applications), 6 µs a pair that way against 0.06 as a mask."""
        n_apps = self.shape[1]
        if not -n_apps <= app < n_apps:
            raise IndexError(f"application index {app} out of range for {n_apps} applications")
        app = int(app) % n_apps
        return np.bool_(self.bits[expert, app >> 3] & (128 >> (app & 7)))

    def dense(self) -> np.ndarray:
        """The whole (E, A) bool matrix, one byte a pair: for a caller that truly needs it (small instances,
        tests)."""
        return self[:, :]

    def nonzero(self) -> tuple[np.ndarray, np.ndarray]:
        """``np.nonzero`` of the matrix (rows, then columns, in row order), unpacked :data:`DENSE_BLOCK` pairs at a
        time."""
        n_experts, n_apps = self.shape
        step = max(1, DENSE_BLOCK // max(n_apps, 1))
        rows, columns = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for start in range(0, n_experts, step):
            block_rows, block_columns = np.nonzero(self[start:start + step, :])
            rows.append(block_rows + start)
            columns.append(block_columns)
        return np.concatenate(rows), np.concatenate(columns)

    def any(self) -> bool:
        return bool(self.bits.any())

    def sum(self) -> int:
        """How many pairs are True."""
        return int(_ONES[self.bits].sum(dtype=np.int64))

    def copy(self) -> BitMatrix:
        matrix = type(self)(*self.shape)
        matrix.bits = self.bits.copy()
        return matrix

    def __and__(self, other: BitMatrix) -> BitMatrix:
        return self._with(self.bits & self._same(other).bits)

    def __or__(self, other: BitMatrix) -> BitMatrix:
        return self._with(self.bits | self._same(other).bits)

    def __invert__(self) -> BitMatrix:
        inverted = ~self.bits
        if len(inverted):
            inverted &= self._full_row()
        return self._with(inverted)

    def _with(self, bits: np.ndarray) -> BitMatrix:
        matrix = BitMatrix(*self.shape)
        matrix.bits = bits
        return matrix

    def _same(self, other: BitMatrix) -> BitMatrix:
        if not isinstance(other, BitMatrix) or other.shape != self.shape:
            raise TypeError("bit matrices combine with bit matrices of the same shape")
        return other

    # -------------------------------------------------------------------------------------------------- writes
    def __setitem__(self, key, value) -> None:
        rows, columns = _split(key)
        if isinstance(columns, slice):
            start, stop = self._range(columns)
            low, high = start >> 3, (stop + 7) >> 3
            unpacked = np.unpackbits(self.bits[rows, low:high], axis=-1, count=(high - low) * 8)
            unpacked[..., start & 7:(start & 7) + stop - start] = value
            self.bits[rows, low:high] = np.packbits(unpacked, axis=-1)
            return
        rows, columns, value = self._pairs(rows, self._columns(columns), value)
        self.clear(rows[~value], columns[~value])
        self._set(rows[value], columns[value])

    def clear(self, experts: np.ndarray, apps: np.ndarray) -> None:
        """Set the pairs ``(experts[k], apps[k])`` False (repeats and negative indices allowed, IndexError outside the
        matrix, as for the mask), :data:`CLEAR_BLOCK` pairs at a time.
        Each block's pairs are grouped by byte — no sort when they come sorted by expert then application, as
        conflicts do — and each byte is written once (``np.bitwise_and.at`` is slower: docs/scale.md)."""
        for start in range(0, len(experts), CLEAR_BLOCK):
            rows = self._rows(np.asarray(experts[start:start + CLEAR_BLOCK], dtype=np.int64))
            apps_of = self._columns(np.asarray(apps[start:start + CLEAR_BLOCK], dtype=np.int64))
            cells = rows * self.bits.shape[1] + (apps_of >> 3)
            if not (cells[1:] >= cells[:-1]).all():
                order = np.argsort(cells, kind="stable")
                cells, apps_of = cells[order], apps_of[order]
            starts = np.flatnonzero(np.concatenate([[True], cells[1:] != cells[:-1]]))
            self.bits.reshape(-1)[cells[starts]] &= ~np.bitwise_or.reduceat(_bit(apps_of), starts)

    def _set(self, experts: np.ndarray, apps: np.ndarray) -> None:
        np.bitwise_or.at(self.bits, (experts, apps >> 3), _bit(apps))

    def _pairs(self, rows, columns: np.ndarray, value) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The pairs a gathered write touches, flat, and the value each gets: a pair written twice keeps its last
        value, as numpy's assignment does."""
        if isinstance(rows, slice):
            rows = np.arange(self.shape[0])[rows]
            rows = rows.reshape(rows.shape + (1,) * columns.ndim)      # every expert against each application
        else:
            rows = np.arange(self.shape[0])[rows]       # numpy's own checks: bounds, negatives, bool masks
        rows, columns, value = (np.ravel(part) for part in
                                np.broadcast_arrays(rows, columns, np.asarray(value, dtype=bool)))
        codes = rows * self.shape[1] + columns
        last = len(codes) - 1 - np.unique(codes[::-1], return_index=True)[1]
        return rows[last], columns[last], value[last]

    # ------------------------------------------------------------------------------------------------ indexing
    def _range(self, columns: slice) -> tuple[int, int]:
        start, stop, step = columns.indices(self.shape[1])
        if step != 1:
            raise IndexError("a bit matrix is sliced by a contiguous range of applications")
        return start, max(start, stop)

    def _rows(self, experts: np.ndarray) -> np.ndarray:
        """Expert numbers as the mask reads them, for :meth:`clear`'s flat byte numbers (where an expert past the
        last would clear another expert's pair, and a negative one wrap to the wrong row)."""
        return _within(experts, self.shape[0], "expert")

    def _columns(self, apps) -> np.ndarray:
        """Application numbers as the mask reads them. A bool array is refused: shifted as numbers, it would read
        applications 0 and 1."""
        apps = np.asarray(apps)
        if apps.size == 0:                  # ``[]`` reads as float64, and indexes as nothing
            return apps.astype(np.int64)
        if apps.dtype.kind not in "iu":
            raise IndexError("a bit matrix's applications are indexed by numbers")
        return _within(apps, self.shape[1], "application")


class PairSet(BitMatrix):
    """A set of (expert, application) pairs that only grows, as a bit matrix: the master's column set.
    ``pairs[experts, apps] = True`` adds pairs; any other write raises ValueError."""

    def __setitem__(self, key, value) -> None:
        if not (isinstance(value, bool | np.bool_) and value):
            raise ValueError("pairs are only ever added to a PairSet")
        rows, columns = _split(key)
        if isinstance(columns, slice):
            raise IndexError("pairs are added to a PairSet by index arrays")
        self._set(rows, self._columns(columns))

    def clear(self, experts: np.ndarray, apps: np.ndarray) -> None:
        raise ValueError("pairs are only ever added to a PairSet")


def _split(key) -> tuple:
    """``(rows, columns)`` of an index: one index alone reads rows, every column (as numpy reads it)."""
    if not isinstance(key, tuple):
        return key, slice(None)
    if len(key) != 2:
        raise IndexError("a bit matrix is indexed by (rows, applications)")
    return key


def _within(indices: np.ndarray, length: int, what: str) -> np.ndarray:
    """Indices along an axis of ``length`` as numpy reads them: negative ones count from the end, and one outside
    raises IndexError (the bits past the last application, or the next row's, would be read or written silently)."""
    if indices.size == 0:
        return indices
    low, high = indices.min(), indices.max()
    if low < -length or high >= length:
        raise IndexError(f"{what} index out of range for {length} {what}s")
    return np.where(indices < 0, indices + length, indices) if low < 0 else indices


def _is_number(index) -> bool:
    """Whether an index is one integer (Python's or numpy's; a bool is a mask, not a number)."""
    return isinstance(index, int | np.integer) and not isinstance(index, bool)


def _bit(apps: np.ndarray) -> np.ndarray:
    """Each application's bit within its byte."""
    return (128 >> (apps & 7)).astype(np.uint8)
