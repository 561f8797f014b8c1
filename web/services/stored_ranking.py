"""Stored rankings: a round's ranking computed once per change of its inputs, then read by every page.

The scoring engine's input (sheets, exclusions, settings) is hashed into a *data version*; the result is stored
with it and with the time it was computed. Rebuilding the input needs a conflict scan, so a page first compares
a cheap *input stamp* (the newest audit event that can change a ranking, and the round's sheets): equal, the
stored result is read as it is. Different, the result is stale: a small round is recomputed inline, a large one
gets a ``ranking`` job and the page shows the stored result with the time it was computed until the job ends.
A recomputation whose input hashes to the stored data version only refreshes the stamp (no bootstrap).

Ranking lists every conflict of the round, held to the ranking's limit (:func:`ranking.memory_limit`):
over the limit the ``ranking`` job fails for good with the figures, and a page stores the refusal in place of
the ranking (:data:`REFUSED`: its figures, worded when shown), which every view checks again.

Services flush, the caller commits: :func:`ranking_for_view` may add or update a row in the caller's session.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from sqlalchemy import func, select

from scoring.calibrate import components
from scoring.types import Result
from web.extensions import db
from web.models import AuditEvent, Round, ScoreSheet, StoredRanking, User, utcnow
from web.services import panels, ranking

INLINE_SHEET_LIMIT = 120
"""Rounds with at most this many sheets are recomputed inside the request (well under a second)."""
IRRELEVANT_AUDIT_ENTITIES = ("api_token", "attachment", "job", "outbox_message", "user")
"""Audited changes that cannot change a ranking (everything else is assumed to)."""
DEFAULT_OPTIONS = ranking.Options()


@dataclass(frozen=True)
class ViewedRanking:
    """A ranking as a page shows it: the report, when it was computed, and whether a newer one is on its way."""

    report: ranking.RoundRanking
    computed_at: datetime
    stale: bool = False


def options_key(options: ranking.Options) -> str:
    """The stored row's key for one set of page options."""
    return f"k={options.capacity or ''};cal={int(options.calibrate)};on={int(options.rank_on_calibrated)}"


def input_stamp(round_: Round) -> str:
    """A cheap fingerprint of everything a ranking is built from."""
    newest_event = db.session.scalar(select(func.max(AuditEvent.id))
                                     .where(AuditEvent.entity_type.not_in(IRRELEVANT_AUDIT_ENTITIES)))
    sheets = db.session.execute(select(func.count(ScoreSheet.id), func.max(ScoreSheet.updated_at))
                                .where(ScoreSheet.round_id == round_.id)).one()
    return hashlib.sha256(repr((round_.id, newest_event, tuple(sheets))).encode()).hexdigest()


REFUSED = "refused"
"""The data version and input stamp of a stored memory refusal: never those of a ranking, so the next view
checks the limit again (and ranks the round once it fits)."""

ALL_ROWS = "all"
NO_ROWS = "none"


def ranking_for_view(round_: Round, options: ranking.Options = DEFAULT_OPTIONS, *, actor: User | None = None,
                     rows_for: str | int = ALL_ROWS) -> ViewedRanking:
    """The stored ranking when it is current; else recomputed now (small round, or nothing stored yet) or the
    stored one marked stale with a recomputation job requested.

    ``rows_for`` says which lines get their sheet rows (loading every sheet with its scores is most of a
    stored view's time): ``ALL_ROWS``, ``NO_ROWS`` (the ranking table shows no sheet) or one application's
    id (its trace page); the other lines then carry no rows.
    """
    stale = renew(round_, options, actor=actor)
    return stored_view(round_, options, rows_for=rows_for, stale=stale)


def renew(round_: Round, options: ranking.Options = DEFAULT_OPTIONS, *, actor: User | None = None) -> bool:
    """Bring the stored ranking up to date when its inputs changed: recomputed and stored now (small round, or
    nothing stored yet), else a recomputation job requested. True when the stored ranking is stale.

    A view commits between this and :func:`stored_view`: a commit expires every row the session holds, and a
    report built before it would load each sheet again, one query at a time, when the page reads it.
    Over the ranking's memory limit (:func:`ranking.check_memory`, the one a worker applies) the refusal is stored
    in place of the ranking, with no job asked for: a stale ranking is not shown as current, nor renewed by a job
    bound to fail. A stored refusal is no ranking to show while a job renews it: the round is then ranked now, as
    when nothing is stored.
    """
    stored = _stored(round_, options)
    if stored is not None and stored.input_stamp == input_stamp(round_):
        return False
    try:
        if stored is not None and stored.data_version != REFUSED and not _small(round_):
            from web.services.jobs import request_job

            ranking.check_memory(round_)            # the limit the worker's ranking will be held to
            request_job("ranking", round_=round_, actor=actor, params=_params(options))
            return True
        recompute(round_, options)
    except panels.PanelError as refusal:
        _store(round_, options, stored, REFUSED, REFUSED, (None, refusal.details, {}))
    return False


def stored_view(round_: Round, options: ranking.Options = DEFAULT_OPTIONS, *, rows_for: str | int = ALL_ROWS,
                stale: bool = False) -> ViewedRanking:
    """The stored ranking as it is, joined with the sheets ``rows_for`` asks for (see :func:`ranking_for_view`)."""
    stored = _stored(round_, options)
    return ViewedRanking(_report(round_, options, stored, rows_for), stored.computed_at, stale=stale)


def ensure_current(round_: Round, options: ranking.Options = DEFAULT_OPTIONS) -> None:
    """Recompute and store (flushed) the round's ranking when its inputs changed since it was stored."""
    stored = _stored(round_, options)
    if stored is None or stored.input_stamp != input_stamp(round_):
        recompute(round_, options)


PAYLOAD_FORMAT = "2"
"""Part of the data version: a Panel whose stored payload changed shape (2: a refused calibration is kept as the
design's groups, worded when shown) recomputes instead of reading an old payload."""


def recompute(round_: Round, options: ranking.Options = DEFAULT_OPTIONS,
              progress=None) -> tuple[ranking.RoundRanking, StoredRanking]:
    """Build the engine's input, rank it unless the stored result is for the same input, store (flushed).
    Refused (PanelError ``matching_too_large``, nothing read or stored) when the round's conflicts would pass
    the memory limit."""
    stamp = input_stamp(round_)
    sheets = ranking.round_sheets(round_)
    reasons = ranking.exclusion_reasons(round_, sheets)
    problem = ranking.problem_from_sheets(round_, sheets, options, reasons)
    version = hashlib.sha256(repr((PAYLOAD_FORMAT, problem)).encode()).hexdigest()
    stored = _stored(round_, options)
    if stored is not None and stored.data_version == version:
        stored.input_stamp = stamp
        result, refused, _ = pickle.loads(stored.payload)
    else:
        if progress is not None:
            progress.start("ranking", 1)
        result, refused = ranking.rank_problem(problem)
        stored = _store(round_, options, stored, version, stamp, (result, refused, reasons))
    db.session.flush()
    return ranking.joined_ranking(round_, options, result, refused, sheets, reasons), stored


def _store(round_: Round, options: ranking.Options, stored: StoredRanking | None, version: str, stamp: str,
           payload: tuple) -> StoredRanking:
    """Store ``payload`` (the result, the design's groups, the exclusion reasons; or None, a memory refusal's
    details and no reasons) as the round's ranking for ``options`` (flushed)."""
    if stored is None:
        stored = StoredRanking(round_id=round_.id, options_key=options_key(options))
        db.session.add(stored)
    stored.data_version, stored.input_stamp, stored.computed_at = version, stamp, utcnow()
    stored.payload = pickle.dumps(payload)
    db.session.flush()
    return stored


def _report(round_: Round, options: ranking.Options, stored: StoredRanking,
            rows_for: str | int = ALL_ROWS) -> ranking.RoundRanking:
    result, refused, reasons = pickle.loads(stored.payload)
    too_large = result is None                          # a memory refusal (:data:`REFUSED`): its figures
    if too_large:
        result, refused = ranking.memory_refused(refused), ()
    refused = _design_groups(result, refused)
    if rows_for == NO_ROWS:
        sheets = []
    else:
        sheets = ranking.round_sheets(round_, None if rows_for == ALL_ROWS else rows_for)
    return ranking.joined_ranking(round_, options, result, refused, sheets, reasons, too_large=too_large)


def _design_groups(result: Result, refused: tuple) -> ranking.DesignGroups:
    """A stored refused calibration as the design's groups. A payload stored before the groups were kept holds
    the engine's sentence instead, and is still read while its inputs have not changed; its groups are read back
    from the stored (uncalibrated) result, whose sheets not excluded are the design's links."""
    if not refused or not isinstance(refused[0], str):
        return refused
    links = [(line.application, sheet.expert) for line in result.ranking
             for sheet in line.trace.sheets if sheet.status != "excluded"]
    applications, experts = sorted({app for app, _ in links}), sorted({expert for _, expert in links})
    app_index = {ref: i for i, ref in enumerate(applications)}
    expert_index = {ref: i for i, ref in enumerate(experts)}
    groups = components(np.array([app_index[app] for app, _ in links], dtype=int),
                        np.array([expert_index[expert] for _, expert in links], dtype=int),
                        len(applications), len(experts))
    return tuple((tuple(applications[i] for i in apps), tuple(experts[i] for i in group)) for apps, group in groups)


def _stored(round_: Round, options: ranking.Options) -> StoredRanking | None:
    return db.session.scalar(select(StoredRanking).where(StoredRanking.round_id == round_.id,
                                                         StoredRanking.options_key == options_key(options)))


def _small(round_: Round) -> bool:
    count = db.session.scalar(select(func.count(ScoreSheet.id)).where(ScoreSheet.round_id == round_.id))
    return count <= INLINE_SHEET_LIMIT


def _params(options: ranking.Options) -> dict:
    return {"capacity": options.capacity, "calibrate": options.calibrate,
            "rank_on_calibrated": options.rank_on_calibrated}


def options_from(params: dict) -> ranking.Options:
    """The options a ``ranking`` job was asked for."""
    return ranking.Options(capacity=params.get("capacity"), calibrate=bool(params.get("calibrate")),
                           rank_on_calibrated=bool(params.get("rank_on_calibrated")))
