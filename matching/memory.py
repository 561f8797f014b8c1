"""How much memory a round will take at its peak, estimated from its sizes before anything large is allocated,
and the limit a deployment sets on it (docs/scale.md, "Memory: the estimate and the limit").

A round of E experts and A applications keeps E·A pairs in dense matrices (the fit, 4 bytes a pair, 8 when the
problem gives it; ``allowed`` and the master's column set, one bit each), so its peak grows with E·A. The
estimate adds, in bytes:

* the interpreter with the solver libraries (:data:`BASE`);
* the parsed records (:data:`PER_RECORD` for each expert and application: the problem and, in the CLI, the JSON
  it was read from);
* the pairs' matrices (:data:`PER_PAIR`, or :data:`PER_GIVEN_PAIR` when the problem gives its ``affinity``, plus
  :data:`PER_AFFINITY` for each entry of that list);
* the conflict arrays (:data:`PER_CONFLICT`; when the count is not known yet, :data:`CONFLICT_SHARE` of the pairs);
* the solve, per seat (A × panel size): :data:`PER_SEAT_UNLIMITED` to the proof (the master LP's columns and
  HiGHS's model grow while pricing runs); under a time limit no more than that, nor than the larger of
  :data:`LIMITED_SOLVE` and :data:`PER_SEAT_LIMITED` a seat for each :data:`CALIBRATED_LIMIT` seconds of the
  limit (a small round reaches its proof inside the limit, a large one stops with the master it has);
* under a time limit, the sampled round whose flow prices the bound (``matching.solve``): :data:`PER_SAMPLED_PAIR`
  for each of its pairs, at most :data:`SAMPLED_PAIRS`;
* the ``fair`` objective's MIPs (:data:`FAIR_SOLVE` and :data:`PER_SEAT_FAIR` a seat) and meeting mode's
  (:data:`PER_SEAT_MEETING` a seat), each no less than the proof: they hold far more than the total's master;
* a randomized draw: :data:`PER_PAIR_DRAWN` more a pair (its dense marginals, the restricted permission and the
  drawn assignment) and :data:`PER_SEAT_DRAWN` a seat (the draw's master beside the deterministic optimum).

The constants are the upper envelope of peaks measured through ``python -m matching assign`` on the benchmark's
contended rounds (GNU time's maximum resident set): the estimate of a time-limited round is within a few percent
above them at 5,000 × 12,500 and 10,000 × 25,000 and up to a fifth above at 20,000 × 50,000, whose solve under a
one-minute limit has varied between runs. Nothing here reads the machine: the caller compares the estimate
with its limit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from matching.affinity import FIT_BLOCK
from matching.types import Problem, Settings

MIB = 1 << 20

BASE = 180 * MIB
"""The interpreter with numpy, scipy, HiGHS, OR-Tools and the text model loaded: 182 MiB measured at 60 × 400."""

PER_RECORD = 6 * 1024
"""One expert or application: 3 KiB as a parsed record (137 − 85 MiB over 17,040 more records) and as much
again for the JSON the command line read it from, which stays alive through the run."""

PER_PAIR = 4 + 1 / 8 + 1 / 8
"""The computed fit (float32), ``allowed`` and the master's column set (one bit each, :mod:`matching.bits`;
``allowed`` was one byte a pair before, 5.125 here)."""

PER_GIVEN_PAIR = 8 + 1 / 8 + 1 / 8
"""As :data:`PER_PAIR` when the problem gives the fit (kept in float64, the scores as given)."""

PER_AFFINITY = 300
"""One entry of a given ``affinity`` list: the record and its JSON (a rough figure, not measured at scale: such
lists are written for small rounds)."""

PER_CONFLICT = 9
"""One conflicted pair: int32 expert, int32 application, int8 rule."""

CONFLICT_SHARE = 0.04
"""Conflicted pairs when their count is not known yet: 3.8 % at 10,000 × 25,000 and 3.4 % at 20,000 × 50,000
on the contended rounds."""

CALIBRATED_LIMIT = 60.0
"""The time limit the limited solve's figures were measured with (seconds). A longer limit is counted in
proportion (5,000 × 12,500 under 120 s: 1,108 MiB measured, 1,430 estimated); a shorter one as this one (the
solve's part before its first master LP is not cut by the limit)."""

PER_SEAT_LIMITED = 12 * 1024
"""The solve under a time limit of :data:`CALIBRATED_LIMIT`, per seat: what the peak held beyond the
rest at 5,000 × 12,500 (≈ 373 MiB over 35,000 seats, 10.9 KiB), 10,000 × 25,000 (565–828 MiB over 70,000:
8.1–12.1 KiB) and 20,000 × 50,000 (278–1,332 MiB over 140,000: 2.0–9.7 KiB)."""

SAMPLED_PAIRS = 4_000_000
"""Most pairs (a sampled application and an expert) of the sampled round a time-limited solve prices its bound
with (``matching.solve.sample_size``): one flow over every allowed pair of its applications, which held about
twice the arcs of the round grown by rounds it replaced. 160 applications at 10,000 × 25,000 (25,000 experts);
at 20,000 × 50,000, 80, the most seen there on this machine (40–80: 101,818 against 100,837 for 156 as a bound)."""

PER_SAMPLED_PAIR = 140
"""The sampled round's bytes a pair, counted beside the rest (conservatively: :data:`PER_SEAT_LIMITED` was
measured with the smaller sample grown by rounds): contended 10,000 × 25,000 in one process with 158 applications
peaked 301 MiB above that sample (1,867 against 1,566 MiB); 1,000 × 5,000, 142 applications, 48 MiB in
tracemalloc for 0.67 M pairs, ≈ 75 bytes a pair besides the pairs' own indexes (16)."""

LIMITED_SOLVE = 400 * MIB
"""The most a solve under a one-minute limit was measured to hold beyond the rest on a round too large for the
proof (5,000 × 12,500: ≈ 373 MiB); rounds whose proof takes less reach it inside the limit."""

PER_SEAT_UNLIMITED = 34 * 1024
"""The solve to its proof, per seat: 300 × 2,000 and 1,000 × 5,000 solved to
the proof, 5,000 × 12,500 stopped after 1,200 s (27–33 KiB). A national round without a limit runs for hours and
its master grows on: there this is a floor, not an envelope."""

FAIR_SOLVE = 200 * MIB
"""The ``fair`` objective's solve beyond its seats' share (:data:`PER_SEAT_FAIR`): its max-min MIPs over the
columns priced for them (up to 3,000,000, ``matching.fair``), each stopped at its own time limit."""

PER_SEAT_FAIR = 280 * 1024
"""The ``fair`` objective's solve per seat, with :data:`FAIR_SOLVE` the line through two peaks measured through
the command line on the benchmark's realistic rounds (100 × 1,000: 571 MiB, 384 beyond the rest; 300 × 2,000:
959 MiB, 763 beyond it). Above them an extrapolation: 1,000 × 5,000 had peaked at 440 MiB when stopped unfinished
after 660 s (2,355 counted)."""

PER_SEAT_MEETING = 480 * 1024
"""Meeting mode's solve per seat: 300 × 2,000 peaked at 1,166 MiB (≈ 970 beyond the rest, 473 KiB a seat, its MIP
run 165 s); 1,000 × 5,000 at 2,192 (≈ 1,950 beyond it, 285 KiB a seat; 3,523 counted); 100 × 1,000, proven in
seconds, at 211 (515 counted). The MIP's memory grows with the time it runs, which the size does not predict: an
envelope, not a model."""

PER_PAIR_DRAWN = 8 + 1 / 8 + 1
"""A randomized draw's dense arrays beside the fit: the marginals (float64), the restricted permission (one bit)
and the drawn assignment (bool)."""

PER_SEAT_DRAWN = 4 * 1024
"""A randomized draw's master, per seat, beyond the unlimited solve: fitted to the draws measured in one process
(300 × 2,000: 273 MiB against 259 without the draw; 1,000 × 5,000: 538 against 435)."""

PER_CONTEXT_PAIR = 4 + 1 / 8
"""A context's pair without a solve (:func:`matching.assign.build_context`): the fit (float32) and ``allowed``
(one bit)."""

PER_GIVEN_CONTEXT_PAIR = 8 + 1 / 8
"""As :data:`PER_CONTEXT_PAIR` when the problem gives the fit (float64)."""

PER_FIT_TEMPORARY = 12
"""The fit's temporaries per pair of one block (``matching.affinity.FIT_BLOCK`` pairs at most): ≈ 180 MiB beside
the fit at 5,000 applications × 12,500 experts (11.2 bytes a pair of its 16.8 M-pair block)."""

PER_STORED_RECORD = 2 * 1024
"""One expert or application in a pickled context (the problem's records and the fit's text parts): ≈ 1.2 KiB
measured at most (payloads of 4.5, 29.8 and 335 MB at M, L and Q — applications × experts 300 × 2,000,
1,000 × 5,000, 5,000 × 12,500 — and 7.1, 36.3 and 349 MB transposed, less their matrices and conflicts)."""

PAYLOAD_COPIES = 2
"""Copies of a stored context's payload counted beside the context at the peak: the bytes pickled (or read back)
and the database driver's copy of the bound value (not measured). Pickling and reading back in one process peaked
at 167, 236 and 922 MiB at M, L and Q (212, 316 and 1,315 estimated), at 191, 290 and 1,021 MiB transposed (211,
315 and 1,328): up to 1.5 payloads beyond the context."""

PER_WRITTEN_CONFLICT = 640
"""One conflict written out with its reason (a :class:`matching.types.Conflict` and its strings, as
:func:`matching.conflicts.find_conflicts` returns them): 523–533 bytes measured at M, L and Q (1,395 MB over
2,742,148 at Q), 553–600 transposed (52 MB over 87,420 at 2,000 × 300)."""

WRITTEN_CONFLICT_SHARE = 0.05
"""Conflicted pairs counted for a list of conflicts whose count is not known yet (the web's conflicts page and
ranking estimate it from the sizes alone). Above :data:`CONFLICT_SHARE`, since here the conflicts are most of the
peak: the realistic rounds measured had 6.6, 5.2 and 4.4 % of their pairs conflicted at 300 × 2,000, 1,000 × 5,000
and 5,000 × 12,500 (applications × experts), 14.6, 8.5 and 5.2 % transposed; at 4 % the last one (12,500 × 5,000,
1,823 MiB measured) was estimated at 1,808 MiB."""

TOO_LARGE = "too_large"
"""The status of a round refused because its estimate passes the limit."""


@dataclass(frozen=True)
class MemoryEstimate:
    """A round's estimated peak (``peak`` bytes) and what it is made of (``parts``, bytes by name)."""

    pairs: int
    parts: dict[str, int]

    @property
    def peak(self) -> int:
        """The estimated peak resident memory in bytes."""
        return sum(self.parts.values())


def estimate_memory(n_experts: int, n_applications: int, settings: Settings, *, conflicts: int | None = None,
                    affinity: int | None = None) -> MemoryEstimate:
    """The peak memory of assigning ``n_experts`` × ``n_applications`` under ``settings`` (module docstring).

    ``conflicts``: the conflicted pairs when known (else :data:`CONFLICT_SHARE` of the pairs); ``affinity``: the
    entries of a given fit list (None: the fit is computed).
    """
    pairs = n_experts * n_applications
    seats = n_applications * settings.panel_size
    given = affinity is not None
    parts = {
        "base": BASE,
        "records": PER_RECORD * (n_experts + n_applications),
        "pairs": round((PER_GIVEN_PAIR if given else PER_PAIR) * pairs) + PER_AFFINITY * (affinity or 0),
        "conflicts": PER_CONFLICT * _conflicts(pairs, conflicts),
        "solve": _solve(seats, settings),
    }
    if settings.mode != "meeting" and settings.randomize is not None:
        parts["draw"] = PER_PAIR_DRAWN * pairs + seats * PER_SEAT_DRAWN
    if _time_limited(settings):
        parts["sample"] = PER_SAMPLED_PAIR * min(pairs, SAMPLED_PAIRS)
    return MemoryEstimate(pairs, parts)


def _time_limited(settings: Settings) -> bool:
    """Whether the engine solves under the time limit (``matching.assign``): the ``total`` objective, no draw,
    not meeting mode, a limit set."""
    return (settings.mode != "meeting" and settings.randomize is None and settings.objective != "fair"
            and settings.time_limit is not None)


def _solve(seats: int, settings: Settings) -> int:
    """The solve's bytes, as the engine chooses its solve (``matching.assign``): meeting mode's MIP (whatever the
    objective and draw), a draw (whatever the objective), the ``fair`` MIPs, else the ``total`` objective: to the
    proof, or less where its time limit applies."""
    proof = seats * PER_SEAT_UNLIMITED
    if settings.mode == "meeting":
        return max(proof, seats * PER_SEAT_MEETING)
    if settings.randomize is not None:
        return proof
    if settings.objective == "fair":
        return max(proof, FAIR_SOLVE + seats * PER_SEAT_FAIR)
    if settings.time_limit is None:
        return proof
    minutes = max(1.0, settings.time_limit / CALIBRATED_LIMIT)
    return min(proof, round(max(LIMITED_SOLVE, seats * PER_SEAT_LIMITED) * minutes))


def context_memory(n_experts: int, n_applications: int, settings: Settings, *, conflicts: int | None = None,
                   affinity: int | None = None, stored: bool = False) -> MemoryEstimate:
    """The peak memory of a round's context without a solve (:func:`matching.assign.build_context`: conflicts,
    fit and ``allowed``), what a panel edit, a replacement from the reserves or an explanation builds.

    Its ``transient`` part is what the peak holds beside the context for a moment: the fit's temporaries while it
    is computed or, when ``stored`` (the context pickled to be kept, or read back), :data:`PAYLOAD_COPIES` of the
    payload, whichever is larger. ``conflicts`` and ``affinity`` as in :func:`estimate_memory`; ``settings`` is
    not read (the context is the same whatever the solve would be) and taken for a caller's symmetry.
    """
    pairs = n_experts * n_applications
    records = n_experts + n_applications
    given = affinity is not None
    pair_bytes = round((PER_GIVEN_CONTEXT_PAIR if given else PER_CONTEXT_PAIR) * pairs) + PER_AFFINITY * (affinity or 0)
    conflict_bytes = PER_CONFLICT * _conflicts(pairs, conflicts)
    temporaries = 0 if given else PER_FIT_TEMPORARY * min(pairs, FIT_BLOCK)
    payload = pair_bytes + conflict_bytes + PER_STORED_RECORD * records if stored else 0
    return MemoryEstimate(pairs, {"base": BASE, "records": PER_RECORD * records, "pairs": pair_bytes,
                                  "conflicts": conflict_bytes, "transient": max(temporaries, PAYLOAD_COPIES * payload)})


def conflicts_memory(n_experts: int, n_applications: int, settings: Settings, *,
                     conflicts: int | None = None) -> MemoryEstimate:
    """The peak memory of listing a round's conflicts with their reasons (:func:`matching.conflicts.find_conflicts`:
    no fit, no matrix, but :data:`PER_WRITTEN_CONFLICT` for each conflict, :data:`WRITTEN_CONFLICT_SHARE` of the
    pairs when ``conflicts`` is not known); ``settings`` as in :func:`context_memory`."""
    pairs = n_experts * n_applications
    written = _conflicts(pairs, conflicts, share=WRITTEN_CONFLICT_SHARE)
    return MemoryEstimate(pairs, {"base": BASE, "records": PER_RECORD * (n_experts + n_applications),
                                  "conflicts": PER_WRITTEN_CONFLICT * written})


def _conflicts(pairs: int, conflicts: int | None, share: float = CONFLICT_SHARE) -> int:
    """The conflicted pairs: ``conflicts`` when known, else ``share`` of the pairs."""
    return round(share * pairs) if conflicts is None else conflicts


def problem_memory(problem: Problem) -> MemoryEstimate:
    """:func:`estimate_memory` of a parsed problem (the conflicts are not searched for: their count is assumed)."""
    return estimate_memory(len(problem.experts), len(problem.applications), problem.settings,
                           affinity=None if problem.affinity is None else len(problem.affinity))


UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:([KMGT])(?:I?B)?|B)?\s*", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from a size such as ``8G``, ``8000M``, ``1.5GiB`` or ``8589934592`` (K, M, G, T are powers of 1,024,
    as in ``ulimit`` and container limits). Raises ValueError, naming the accepted forms, for anything else or a
    size of 0."""
    found = SIZE.fullmatch(text)
    number = float(found[1]) * UNITS[(found[2] or "").upper()] if found else 0.0
    size = round(number) if math.isfinite(number) else 0          # 400 digits are an infinite float
    if size <= 0:
        raise ValueError(f"not a memory size: {text!r} (a positive number of bytes, or with K, M, G or T: "
                         "8G, 8000M, 1.5GiB)")
    return size


MEMORY_VARIABLE = "PANEL_MATCHING_MEMORY"
"""The environment variable holding the memory limit of a matching run: the command line's when ``--memory-limit``
is not given, the web's (``web/config.py``) for its runs, jobs and the other paths that build a round's matrices."""


def environment_limit(environ: Mapping[str, str], variable: str = MEMORY_VARIABLE) -> int | None:
    """The memory limit ``environ`` sets in ``variable`` (by default :data:`MEMORY_VARIABLE`; the web reads its
    ranking's limit so too): None when unset or empty, else its bytes. Raises ValueError, naming the variable,
    for a value that is no size."""
    text = environ.get(variable, "")
    try:
        return parse_size(text) if text.strip() else None
    except ValueError as error:
        raise ValueError(f"{variable}: {error}") from None
