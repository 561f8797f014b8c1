"""Stored panel contexts: a round's matching context computed once per change of its inputs, read by the panel page.

The panel page explains one panel with the matching engine's context of the round: every conflict, the fit of
every expert to every application, the permission masks and caps. Building it scans every expert against every
application and fits their texts (about a second on the demo); nothing in it changes unless experts,
applications, the round's settings, organization aliases or seats (other rounds' seats are past reviews) change.

So it is stored like the ranking (web/services/stored_ranking.py): with a *data version* (the SHA-256 of the
engine's problem) and the time it was computed. A page compares a cheap *input stamp* first (the newest audit
event that can change the context, and the counts of experts and of the round's applications): equal, the stored
context is read; different, it is stale: a small round is recomputed inline, a large one gets a
``panel_context`` job and the page explains with the stored context, saying so, until the job ends. A
recomputation whose problem hashes to the stored data version only refreshes the stamp.

The explanation itself (binding rules, better fits not chosen) is computed per view from the stored context and
the active version's seats as they are now: a panel edit shows at once.

Building, storing and reading a stored context are held to the memory limit (PANEL_MATCHING_MEMORY,
:func:`panels.check_memory`, the context estimated with its pickled payload): over it, :func:`renew` and
:func:`recompute` refuse with :class:`panels.PanelError` ``matching_too_large`` before anything is read or
changed, and the page says the context could not be built instead of explaining.

Services flush, the caller commits: :func:`renew` may add or update a row in the caller's session.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from matching.assign import Context, build_context
from matching.types import Problem
from web.extensions import db
from web.models import AuditEvent, Expert, Round, RoundApplication, StoredPanelContext, User, utcnow
from web.services import matching_bridge, panels

INLINE_PAIR_LIMIT = 50_000
"""Rounds with at most this many expert × application pairs are recomputed inside the request (the demo's
25,200 pairs take about a second)."""
IRRELEVANT_AUDIT_ENTITIES = ("api_token", "attachment", "job", "outbox_message", "user", "score_sheet",
                             "flag_review")
"""Audited changes that cannot change a matching context (everything else is assumed to): accounts, files,
jobs, mail, and the sheets and flag reviews of scoring — except :data:`SEAT_CHANGING_SHEET_ACTIONS`."""
SEAT_CHANGING_SHEET_ACTIONS = ("sheet.declare",)
"""Sheet events that change a seat too: a declaration accepts the seat or recuses from it, and accepted seats of
other rounds are the repeat-review conflicts of this one."""
CONTEXT_FORMAT = "2"
"""Part of every stored context's version: raise it when the classes inside a stored context change, so that an
upgraded Panel recomputes instead of unpickling an old layout."""


@dataclass(frozen=True)
class ViewedContext:
    """A round's matching context as a page uses it, when it was computed, and whether a newer one is on its way."""

    context: Context
    computed_at: datetime
    stale: bool = False


def input_stamp(round_: Round) -> str:
    """A cheap fingerprint of everything the context is built from."""
    newest_event = db.session.scalar(select(func.max(AuditEvent.id))
                                     .where(AuditEvent.entity_type.not_in(IRRELEVANT_AUDIT_ENTITIES)
                                            | AuditEvent.action.in_(SEAT_CHANGING_SHEET_ACTIONS)))
    experts = db.session.execute(select(func.count(Expert.id), func.max(Expert.id))).one()
    applications = _application_count(round_)
    return hashlib.sha256(repr((CONTEXT_FORMAT, round_.id, newest_event, tuple(experts), applications)).encode()
                          ).hexdigest()


def renew(round_: Round, *, actor: User | None = None) -> bool:
    """Bring the stored context up to date when its inputs changed: recomputed and stored now (small round, or
    nothing stored yet), else a recomputation job requested. True when the stored context is stale.

    A view commits between this and :func:`stored_view` (as the ranking views do). Refused (PanelError
    ``matching_too_large``, no job asked for, nothing stored) when the stored context would pass the memory limit.
    """
    panels.check_memory(round_, matching_bridge.STORED_CONTEXT)
    stored = _stored(round_)
    if stored is not None and stored.input_stamp == input_stamp(round_):
        return False
    if not _small(round_):                 # a large round is never built inside a request, not even the first time
        from web.services.jobs import request_job

        request_job("panel_context", round_=round_, actor=actor)
        return True
    _recompute(round_)
    return False


def stored_view(round_: Round, *, stale: bool = False) -> ViewedContext | None:
    """The stored context as it is; None while none is stored (a large round's first one is being computed) or
    when the stored one cannot be read (written by another version of Panel: :func:`renew` rebuilds it)."""
    stored = _stored(round_)
    if stored is None:
        return None
    try:
        context = pickle.loads(stored.payload)
    except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError):
        return None
    return ViewedContext(context, stored.computed_at, stale=stale)


def recompute(round_: Round, progress=None) -> StoredPanelContext:
    """Build the engine's problem; build its context unless the stored one is for the same problem; store
    (flushed). Refused (PanelError ``matching_too_large``, nothing read or changed) over the memory limit."""
    panels.check_memory(round_, matching_bridge.STORED_CONTEXT)
    return _recompute(round_, progress)


def _recompute(round_: Round, progress=None) -> StoredPanelContext:
    """:func:`recompute` once the round was held to the memory limit."""
    stamp = input_stamp(round_)
    problem = matching_bridge.build_problem(round_)
    version = data_version(problem)
    stored = _stored(round_)
    if stored is not None and stored.data_version == version:
        stored.input_stamp = stamp
    else:
        if progress is not None:
            progress.start("context", 1)
        context = build_context(problem)
        context.reasons.prepare()          # the page writes a few conflict reasons: not rebuilt per view
        values = {"data_version": version, "input_stamp": stamp, "computed_at": utcnow(),
                  "payload": pickle.dumps(context, protocol=pickle.HIGHEST_PROTOCOL)}
        stored = _store(round_, stored, values)
    db.session.flush()
    return stored


def data_version(problem: Problem) -> str:
    """The SHA-256 of what a context is built from: the engine's problem without the solve's time limit, which
    no part of a context reads (as :func:`matching.assign.input_hash` leaves it out), so that bounding a large
    round's run does not rebuild its context (minutes of conflicts and fit at national scale)."""
    settings = dataclasses.replace(problem.settings, time_limit=None)
    return hashlib.sha256(repr((CONTEXT_FORMAT, dataclasses.replace(problem, settings=settings))).encode()
                          ).hexdigest()


def _store(round_: Round, stored: StoredPanelContext | None, values: dict) -> StoredPanelContext:
    """Write ``values`` into the round's row, adding it when there is none. Two first views of a round may both
    find none: the second insert then fails on the unique round, inside a savepoint, and updates the row the
    first one stored instead of failing the page."""
    if stored is None:
        try:
            with db.session.begin_nested():
                stored = StoredPanelContext(round_id=round_.id, **values)
                db.session.add(stored)
            return stored
        except IntegrityError:
            stored = _stored(round_)
    for name, value in values.items():
        setattr(stored, name, value)
    return stored


def _stored(round_: Round) -> StoredPanelContext | None:
    return db.session.scalar(select(StoredPanelContext).where(StoredPanelContext.round_id == round_.id))


def _application_count(round_: Round) -> int:
    return db.session.scalar(select(func.count()).select_from(RoundApplication)
                             .where(RoundApplication.round_id == round_.id))


def _small(round_: Round) -> bool:
    experts = db.session.scalar(select(func.count(Expert.id)))
    return experts * _application_count(round_) <= INLINE_PAIR_LIMIT
