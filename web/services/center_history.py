"""A center's history as people read it: every audited change of the center (and of the decision that made it),
and the grade of each evaluation round it went through once that round was closed, each as a sentence from the
catalog with who and when.

The audit log stores codes and figures (English keys, JSON); the sentences are written here, when the page is
read, so they follow the reader's language and old events read like new ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from web.extensions import db
from web.models import AuditEvent, Center, Round
from web.services import audit
from web.services.assessments import OUTCOME_LABELS
from web.services.centers import INDICATOR_LABELS, STATUS_LABELS, history
from web.services.centers import OUTCOME_LABELS as DECISION_LABELS


@dataclass(frozen=True)
class HistoryLine:
    """One change: when (naive UTC, as stored), who, and what as a sentence."""

    at: datetime
    actor: str
    sentence: str
    order: int = 0          # the audit event's id: ties at the same second keep the order they happened in


def lines(center: Center, rounds: Sequence[tuple[Round, Any]] = ()) -> list[HistoryLine]:
    """The center's history, oldest first: its audited changes, and a grade line per closed evaluation round
    of ``rounds`` (each round with its ranking line, as the center page computes them)."""
    changes = [HistoryLine(event.at, actor_label(event.actor_name), sentence(event), event.id)
               for event in history(center)]
    return sorted(changes + grade_lines(rounds), key=lambda line: (line.at, line.order))


def latest_outcome(center: Center) -> Mapping[str, Any] | None:
    """The last triennial outcome applied to ``center`` as audited (round, result, outcome, weights), if any."""
    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.entity_type == "center", AuditEvent.entity_id == str(center.id),
        AuditEvent.action == "center.outcome").order_by(AuditEvent.id.desc()).limit(1))
    return event.after if event is not None and isinstance(event.after, Mapping) else None


def actor_label(name: str) -> str:
    """Who acted: the account's name, or the command line / the system."""
    return _("command line or system") if name == audit.SYSTEM_ACTOR else name


def grade_lines(rounds: Sequence[tuple[Round, Any]]) -> list[HistoryLine]:
    """When an annual or triennial round the center took part in was closed: its score and grade there."""
    evaluated = {round_.id: (round_, line) for round_, line in rounds if round_.kind in ("annual", "triennial")}
    if not evaluated:
        return []
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "round", AuditEvent.action == "round.transition",
        AuditEvent.entity_id.in_([str(round_id) for round_id in evaluated])))
    result = []
    for event in events:
        if not isinstance(event.after, Mapping) or event.after.get("state") != "closed":
            continue
        round_, line = evaluated[int(event.entity_id)]
        result.append(HistoryLine(event.at, actor_label(event.actor_name), closed_round_sentence(round_, line),
                                  event.id))
    return result


def closed_round_sentence(round_: Round, line: Any) -> str:
    """The score and grade the center kept when ``round_`` closed."""
    score = None if line is None else line.score
    if score is None:
        return _("%(round)s closed without a score for this center.", round=round_.name)
    if line.grade:
        return _("%(round)s closed: score %(score)s, grade %(grade)s.", round=round_.name, score=f"{score:.2f}",
                 grade=line.grade)
    return _("%(round)s closed: score %(score)s.", round=round_.name, score=f"{score:.2f}")


def figure(value: Any) -> str:
    """A stored figure as the page shows it (— for none)."""
    return "—" if value is None else f"{value:g}" if isinstance(value, int | float) else str(value)


def label(table: Mapping[str, Any], code: Any) -> str:
    """The catalog label of ``code`` in ``table``, or the code itself for one the catalog does not know."""
    return str(table.get(code, code)) if code is not None else "—"


def changed_figures(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> str:
    """The indicators whose figure differs, each as "label before → after" (or "label value" when new)."""
    before = before or {}
    parts = []
    for code, indicator in INDICATOR_LABELS.items():
        old, new = before.get(code), after.get(code)
        if old == new:
            continue
        parts.append(f"{indicator} {figure(new)}" if not before else f"{indicator} {figure(old)} → {figure(new)}")
    return "；".join(parts) if parts else _("no figure changed")


def with_reason(text: str, reason: Any) -> str:
    """``text`` followed by the reason, when one was given."""
    return text if not reason else text + " " + _("Reason: %(reason)s", reason=reason)


def decision_sentence(before: Any, after: Mapping[str, Any]) -> str:
    text = _("Decision %(outcome)s recorded (%(date)s, document %(document)s).",
             outcome=label(DECISION_LABELS, after.get("outcome")), date=after.get("decided_on") or "—",
             document=after.get("document_no") or "—")
    if isinstance(before, Mapping):
        text = _("Decision revised from %(before)s to %(outcome)s (%(date)s, document %(document)s).",
                 before=label(DECISION_LABELS, before.get("outcome")),
                 outcome=label(DECISION_LABELS, after.get("outcome")), date=after.get("decided_on") or "—",
                 document=after.get("document_no") or "—")
    return with_reason(text, after.get("reason"))


def created_sentence(before: Any, after: Mapping[str, Any]) -> str:
    return _("Became a pilot center (listed on %(date)s), status %(status)s.", date=after.get("listed_on") or "—",
             status=label(STATUS_LABELS, after.get("status")))


def status_sentence(before: Any, after: Mapping[str, Any]) -> str:
    old = before.get("status") if isinstance(before, Mapping) else None
    return with_reason(_("Status changed from %(before)s to %(after)s.", before=label(STATUS_LABELS, old),
                         after=label(STATUS_LABELS, after.get("status"))), after.get("reason"))


def targets_sentence(before: Any, after: Mapping[str, Any]) -> str:
    return _("Yearly targets changed: %(changes)s.",
             changes=changed_figures(before if isinstance(before, Mapping) else None, after))


def report_sentence(before: Any, after: Mapping[str, Any]) -> str:
    if isinstance(before, Mapping):
        return _("Indicators for %(year)s revised: %(changes)s.", year=after.get("year"),
                 changes=changed_figures(before, after))
    return _("Indicators for %(year)s reported: %(changes)s.", year=after.get("year"),
             changes=changed_figures(None, after))


def document_sentence(before: Any, after: Mapping[str, Any]) -> str:
    return _("Report document for %(year)s attached: %(filename)s.", year=after.get("year"),
             filename=after.get("filename") or "—")


def outcome_sentence(before: Any, after: Mapping[str, Any]) -> str:
    weights = after.get("weights") or {}
    old = before.get("status") if isinstance(before, Mapping) else None
    return _("%(round)s: result %(result)s, outcome %(outcome)s (weights: triennial %(triennial)s, annual "
             "%(annual)s); status changed from %(before)s to %(after)s.",
             round=after.get("round") or "—", result=f"{after['result']:.2f}" if after.get("result") is not None
             else "—", outcome=label(OUTCOME_LABELS, after.get("outcome")),
             triennial=figure(weights.get("triennial")), annual=figure(weights.get("annual")),
             before=label(STATUS_LABELS, old), after=label(STATUS_LABELS, after.get("status")))


SENTENCES: dict[str, Callable[[Any, Mapping[str, Any]], str]] = {
    "decision.record": decision_sentence,
    "center.create": created_sentence,
    "center.status": status_sentence,
    "center.targets": targets_sentence,
    "report.save": report_sentence,
    "report.document": document_sentence,
    "center.outcome": outcome_sentence,
}
"""Every action the center's history holds (see :func:`web.services.centers.history`), by audit action."""


def sentence(event: AuditEvent) -> str:
    """The sentence of one audited change."""
    write = SENTENCES.get(event.action)
    if write is None or not isinstance(event.after, Mapping):
        return _("Other change (%(action)s).", action=event.action)
    return write(event.before, event.after)
