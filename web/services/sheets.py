"""Score sheets (评分表): the conflict declaration, drafts, submission (locked), the organizer's reopening, progress.

Nothing entered is ever lost: a draft save changes only the values it is given (and changes nothing at all when
one of them is invalid), submission only locks, reopening only unlocks.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from flask_babel import force_locale, gettext
from flask_babel import gettext as _
from sqlalchemy import inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from scoring.validate import score_error
from web.database import lock_row
from web.extensions import db
from web.input_guard import control_character_error
from web.local_time import local_today
from web.models import (
    OPINIONS,
    Application,
    Assignment,
    AssignmentVersion,
    Expert,
    Round,
    Score,
    ScoreSheet,
    TemplateCriterion,
    User,
    utcnow,
)

from . import audit, invitations, outbox

# Seats that still count: the expert is (or will be) on the panel.
SEAT_STATES = ("proposed", "invited", "accepted")
PROGRESS_STATES = ("not_started", "draft", "submitted", "reopened")
# The longest comment a sheet takes, in characters: a long written opinion is 1,000–3,000 characters of Chinese;
# beyond this a text is pasted by mistake or sent to harm, and it would weigh on every page and PDF that prints it.
MAX_TEXT_LENGTH = 10_000


class SheetError(ValueError):
    """A refused sheet operation; ``errors`` lists every reason (each naming the criterion or key)."""

    def __init__(self, errors: list[str] | str):
        self.errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(self.errors))


class SubmitUnconfirmed(SheetError):
    """A complete sheet whose submission was not confirmed: the page asks the expert to confirm."""


class SheetConflict(SheetError):
    """The sheet's state forbids the change: submitted and locked, or declared already (409: another request, a
    second tab or a double click got there first)."""


def find_sheet(round_: Round, application: Application, expert: Expert) -> ScoreSheet | None:
    """The expert's sheet for the application in the round, if one was started."""
    return db.session.scalar(select(ScoreSheet).where(
        ScoreSheet.round_id == round_.id, ScoreSheet.application_id == application.id,
        ScoreSheet.expert_id == expert.id))


def sheet_for(round_: Round, application: Application, expert: Expert) -> ScoreSheet:
    """The expert's sheet for the application in the round, created as an empty draft when missing.

    ``INSERT … ON CONFLICT DO NOTHING`` on the sheet's key, then a read: two requests creating the same sheet at
    once (a double click) both get the one row, neither a unique-key error.
    """
    sheet = find_sheet(round_, application, expert)
    if sheet is None:
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        db.session.execute(dialect.insert(ScoreSheet).values(
            round_id=round_.id, application_id=application.id, expert_id=expert.id, state="draft", confidence=1.0,
        ).on_conflict_do_nothing(index_elements=["round_id", "application_id", "expert_id"]))
        sheet = find_sheet(round_, application, expert)
    return sheet


def lock(sheet: ScoreSheet) -> ScoreSheet:
    """Hold the sheet's row until the unit of work ends and see its newest committed state: the sheet and its scores
    are read again under the lock, and the seat is asked of the database by every write (:func:`holds_seat`).
    The round, its template and the account are not read again: nobody's lock on the sheet orders them, and they
    cost a quarter of a save's statements (docs/transactions.md)."""
    loaded_scores = list(sheet.scores) if "scores" in inspect(sheet).dict else []
    lock_row(ScoreSheet, sheet.id, fresh=[sheet, *loaded_scores])
    return sheet


# ---------------------------------------------------------------- who may look and write: the seated expert

def seated() -> tuple:
    """The SQL conditions of a held seat: on the round's active panel, proposed, invited or accepted (a declined,
    recused, removed or swapped-out expert holds none). The one rule for who may open and write a sheet; join
    AssignmentVersion to use it."""
    return AssignmentVersion.active, Assignment.state.in_(SEAT_STATES)


def holds_seat(sheet: ScoreSheet) -> bool:
    """Whether the sheet's expert still holds its seat on the round's active panel (:func:`seated`)."""
    return db.session.scalar(
        select(Assignment.id).join(AssignmentVersion)
        .where(AssignmentVersion.round_id == sheet.round_id, *seated(),
               Assignment.application_id == sheet.application_id, Assignment.expert_id == sheet.expert_id)
        .limit(1)) is not None


def expert_seat(seat_id: int, expert_id: int | None, *, round_states: tuple[str, ...] = ("scoring",)
                ) -> Assignment | None:
    """Seat ``seat_id`` when expert ``expert_id`` holds it (:func:`seated`) in a round in ``round_states``; None
    for anyone else's seat, a seat given up, an inactive version or a round in another state alike."""
    if expert_id is None:
        return None
    return db.session.scalar(
        select(Assignment).join(AssignmentVersion).join(Round)
        .where(Assignment.id == seat_id, Assignment.expert_id == expert_id, *seated(),
               Round.state.in_(round_states)))


def expert_seats(expert_id: int | None, *, round_states: tuple[str, ...]) -> list[Assignment]:
    """Every seat expert ``expert_id`` holds in rounds in ``round_states``."""
    if expert_id is None:
        return []
    return list(db.session.scalars(
        select(Assignment).join(AssignmentVersion).join(Round)
        .where(Assignment.expert_id == expert_id, *seated(), Round.state.in_(round_states))
        .options(selectinload(Assignment.application))
        .order_by(Round.id, Assignment.application_id)))


def seat_sheet(assignment: Assignment) -> ScoreSheet | None:
    """The sheet belonging to a seat, if started."""
    return find_sheet(assignment.version.round, assignment.application, assignment.expert)


# ---------------------------------------------------------------- the conflict declaration (回避声明)

def declare(assignment: Assignment, *, conflict: bool, reason: str | None, actor: User | None) -> ScoreSheet:
    """Record the expert's declaration; a recusal frees the seat, notifies the organizer and, when the round
    says so, takes the first reserve. Declared once: the same answer again (a double click) changes nothing, a
    different one is refused (409) and goes through the organizer."""
    reason = (reason or "").strip()
    if conflict and not reason:
        raise SheetError(_("reason: a recusal needs a reason."))
    if refusal := control_character_error("reason", reason):      # refused beside what was typed, not on a 400 page
        raise SheetError(refusal)
    round_ = assignment.version.round
    if round_.state != "scoring":
        raise SheetError(_("The round is not open for scoring."))
    sheet = lock(sheet_for(round_, assignment.application, assignment.expert))
    if sheet.conflict_declared is not None:
        if sheet.conflict_declared == conflict and (sheet.conflict_note or "") == reason:
            return sheet
        raise SheetConflict(_("The declaration was made already; ask the organizer to change it."))
    if not holds_seat(sheet):
        raise SheetError(_("This seat is no longer yours (state: %(state)s).", state=assignment.state))
    before = {"sheet": declaration_snapshot(sheet), "assignment": assignment.state}
    sheet.conflict_declared = conflict
    sheet.conflict_note = reason or None
    if conflict:
        _recuse(assignment, sheet, reason)
    elif assignment.state in ("proposed", "invited"):
        assignment.state = "accepted"
        assignment.responded_at = utcnow()
    audit.record("sheet.declare", "score_sheet", sheet.id, actor=actor, before=before,
                 after={"sheet": declaration_snapshot(sheet), "assignment": assignment.state})
    db.session.flush()
    if conflict:
        invitations.auto_replace(assignment, actor=actor)
    return sheet


def _recuse(assignment: Assignment, sheet: ScoreSheet, reason: str) -> None:
    """Free the seat, keep the sheet out of the aggregation (kept, not deleted) and tell the organizer."""
    assignment.state = "recused"
    assignment.state_reason = reason
    assignment.responded_at = utcnow()
    with force_locale(outbox.MAIL_LOCALE):     # stored: in the service's language, whoever declares
        sheet.excluded_reason = gettext("the expert recused: %(detail)s", detail=reason)
    round_ = assignment.version.round
    body = outbox.mail_body("invitations/mail/recusal_notice.txt", round=round_, assignment=assignment, reason=reason)
    subject = outbox.mail_text("[Recusal] %(round)s: %(expert)s recuses from %(application)s", round=round_.name,
                               expert=assignment.expert.name, application=assignment.application.ref)
    outbox.send(outbox.organizer_address(), "recusal_notice", subject, body, round_=round_, expert=assignment.expert)


def declaration_snapshot(sheet: ScoreSheet) -> dict:
    """The declaration part of a sheet, for the audit log."""
    return {"conflict_declared": sheet.conflict_declared, "conflict_note": sheet.conflict_note,
            "excluded_reason": sheet.excluded_reason}


# ---------------------------------------------------------------- drafts and submission

def criteria(sheet: ScoreSheet) -> list[TemplateCriterion]:
    """The criteria of the sheet's round, in sheet order."""
    return list(sheet.round.template.criteria)


def save_draft(sheet: ScoreSheet, values: dict[str, float | str | None], *, opinion: str | None = None,
               comment: str | None = None, criterion_comments: dict[str, str | None] | None = None,
               actor: User | None) -> list[str]:
    """Save what the expert entered; returns every error and changes nothing when there is one.

    Only the criteria in ``values`` (and comments in ``criterion_comments``) are touched: an empty value clears
    that criterion, a missing key leaves it as it is. ``opinion``/``comment`` None leave them as they are.
    The sheet is locked first (:func:`lock`): concurrent writers take turns, and a sheet submitted meanwhile is
    refused with :class:`SheetConflict`.
    """
    _require_editable(lock(sheet))
    by_code = {criterion.code: criterion for criterion in criteria(sheet)}
    parsed, errors = parse_values(values, by_code)
    criterion_comments = criterion_comments or {}
    errors += [_("%(code)s: unknown criterion", code=code) for code in criterion_comments if code not in by_code]
    errors += _text_errors(comment, criterion_comments, by_code)
    if opinion not in (None, "") and opinion not in OPINIONS:
        errors.append(_("opinion: must be one of %(choices)s, got %(value)s", choices=", ".join(OPINIONS),
                        value=opinion))
    if errors:
        return errors
    before = sheet_snapshot(sheet)
    rows = {score.criterion.code: score for score in sheet.scores}
    for code in parsed.keys() | criterion_comments.keys():
        if code not in rows:
            rows[code] = Score(criterion=by_code[code])
            sheet.scores.append(rows[code])
    for code, value in parsed.items():
        rows[code].value = value
    for code, text in criterion_comments.items():
        rows[code].comment = (text or "").strip() or None
    if opinion is not None:
        sheet.opinion = opinion or None
    if comment is not None:
        sheet.comment = comment.strip() or None
    after = sheet_snapshot(sheet)
    if after != before:
        audit.record("sheet.save_draft", "score_sheet", sheet.id, actor=actor, before=before, after=after)
        db.session.flush()
    return []


def _text_errors(comment: str | None, criterion_comments: dict[str, str | None],
                 by_code: dict[str, TemplateCriterion]) -> list[str]:
    """A refusal for each comment holding a control character (tab and line breaks are fine) or longer than
    :data:`MAX_TEXT_LENGTH` characters."""
    texts = [(_("comment"), comment)] + [(f"{by_code[code].name} ({code})", text)
                                         for code, text in criterion_comments.items() if code in by_code]
    return [error for field, text in texts if isinstance(text, str)
            and (error := control_character_error(field, text) or _length_error(field, text))]


def _length_error(field: str, text: str) -> str | None:
    """The refusal for a comment longer than :data:`MAX_TEXT_LENGTH` characters, else None. A line break counts
    as one character however it was sent: the textarea's ``maxlength`` counts it as one, and the browser sends
    it as CR LF, so a text the form let through at the cap arrived longer."""
    length = len(text.strip().replace("\r\n", "\n"))
    if length <= MAX_TEXT_LENGTH:
        return None
    return _("%(field)s: at most %(max)d characters (%(length)d entered).", field=field, max=MAX_TEXT_LENGTH,
             length=length)


def parse_values(values: dict[str, object], by_code: dict[str, TemplateCriterion]
                 ) -> tuple[dict[str, float | None], list[str]]:
    """The entered values as numbers (None for empty), and an error for each unknown, non-numeric, out-of-range
    or off-step value; range and step are scoring's own rule (``scoring.validate.score_error``)."""
    parsed: dict[str, float | None] = {}
    errors: list[str] = []
    for code, raw in values.items():
        criterion = by_code.get(code)
        if criterion is None:
            errors.append(_("%(code)s: unknown criterion", code=code))
            continue
        value, error = parse_score(raw, criterion)
        if error:
            errors.append(error)
        else:
            parsed[code] = value
    return parsed, errors


def parse_score(raw: object, criterion: TemplateCriterion) -> tuple[float | None, str | None]:
    """One entered value as a number (None when empty) or the message saying why it is refused."""
    name = f"{criterion.name} ({criterion.code})"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    value = raw
    if isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            return None, _("%(criterion)s: “%(value)s” is not a number", criterion=name, value=raw.strip())
    problem = score_error(value, criterion.max, criterion.step)
    if problem is None:
        return float(value), None
    return None, _score_message(name, value, criterion, problem)


def _score_message(name: str, value: object, criterion: TemplateCriterion, problem: str) -> str:
    """scoring's verdict in the user's language (scoring words it in English for logs and the CLI)."""
    limits = {"criterion": name, "value": _number(value), "max": _number(criterion.max),
              "step": _number(criterion.step)}
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return _("%(criterion)s: “%(value)s” is not a number", **limits)
    if value < 0:
        return _("%(criterion)s: %(value)s is below 0", **limits)
    if value > criterion.max:
        return _("%(criterion)s: %(value)s is above the maximum %(max)s", **limits)
    return _("%(criterion)s: %(value)s is not a multiple of the step %(step)s", **limits)


def _number(value: object) -> str:
    """7.0 as 7, 7.5 as 7.5."""
    return f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def submit(sheet: ScoreSheet, *, confirmed: bool, actor: User | None) -> ScoreSheet:
    """Lock a complete, valid sheet; refuses with every error; a second submit of a submitted sheet is a no-op.

    Submitting is final for the expert (only the organizer can reopen), so it needs ``confirmed``: the sheet
    page's confirmation step, or the API's explicit submit call, which is a confirmation of its own.
    """
    if lock(sheet).state == "submitted":
        return sheet
    _require_editable(sheet)
    errors = completeness_errors(sheet)
    if errors:
        raise SheetError(errors)
    if not confirmed:
        raise SubmitUnconfirmed(_("Confirm the submission: once submitted, the sheet cannot change unless the organizer "
                           "reopens it."))
    before = sheet_snapshot(sheet)
    sheet.state = "submitted"
    sheet.submitted_at = utcnow()
    audit.record("sheet.submit", "score_sheet", sheet.id, actor=actor, before=before, after=sheet_snapshot(sheet))
    db.session.flush()
    return sheet


def completeness_errors(sheet: ScoreSheet) -> list[str]:
    """What stops the sheet from being submitted: missing or invalid scores, required comments, the opinion."""
    rows = {score.criterion_id: score for score in sheet.scores}
    errors = []
    for criterion in criteria(sheet):
        row = rows.get(criterion.id)
        name = f"{criterion.name} ({criterion.code})"
        if row is None or row.value is None:
            errors.append(_("%(criterion)s: no score entered", criterion=name))
        else:
            problem = score_error(row.value, criterion.max, criterion.step)
            if problem:
                errors.append(_score_message(name, row.value, criterion, problem))
        if criterion.comment_required and not (row is not None and row.comment):
            errors.append(_("%(criterion)s: a comment is required", criterion=name))
    if sheet.opinion not in OPINIONS:
        errors.append(_("opinion: choose recommend, recommend with conditions or do not recommend"))
    return errors


def _require_editable(sheet: ScoreSheet) -> None:
    """Refuse changes to a locked sheet, before the declaration, after a recusal, without a seat or outside
    scoring."""
    if sheet.state == "submitted":
        raise SheetConflict(_("The sheet is submitted and locked."))
    if not holds_seat(sheet):
        raise SheetError(_("You no longer hold this seat on the panel."))
    if sheet.round.state != "scoring":
        raise SheetError(_("The round is not open for scoring."))
    if sheet.conflict_declared is None:
        raise SheetError(_("Declare whether you have a conflict of interest first."))
    if sheet.conflict_declared:
        raise SheetError(_("You recused yourself from this application."))


def sheet_snapshot(sheet: ScoreSheet) -> dict:
    """Everything an expert can change on a sheet, for the audit log."""
    return {
        "state": sheet.state, "opinion": sheet.opinion, "comment": sheet.comment,
        "scores": {score.criterion.code: score.value for score in sheet.scores},
        "comments": {score.criterion.code: score.comment for score in sheet.scores if score.comment},
    }


# ---------------------------------------------------------------- the organizer reopens

def reopen(sheet: ScoreSheet, reason: str | None, *, actor: User | None) -> ScoreSheet:
    """Unlock a submitted sheet with a written reason (audited); its values stay; the expert is told."""
    reason = (reason or "").strip()
    if not reason:
        raise SheetError(_("reason: reopening a sheet needs a reason."))
    if lock(sheet).state != "submitted":
        raise SheetError(_("Only a submitted sheet can be reopened (this one is %(state)s).", state=sheet.state))
    if sheet.round.state != "scoring":
        # A reopened sheet leaves the ranking until resubmitted, and only a scoring round takes resubmissions.
        raise SheetError(_("Sheets can be reopened only while the round is scoring."))
    before = {"state": sheet.state, "reopen_reason": sheet.reopen_reason}
    sheet.state = "reopened"
    sheet.reopened_at = utcnow()
    sheet.reopen_reason = reason
    audit.record("sheet.reopen", "score_sheet", sheet.id, actor=actor, before=before,
                 after={"state": sheet.state, "reopen_reason": reason})
    body = outbox.mail_body("invitations/mail/reopened.txt", sheet=sheet, reason=reason,
                            login_url=invitations.login_url())
    outbox.send(outbox.expert_address(sheet.expert), "reopened",
                outbox.mail_text("[Score sheet sent back] %(round)s: %(application)s", round=sheet.round.name,
                                 application=sheet.application.ref), body,
                round_=sheet.round, expert=sheet.expert)
    db.session.flush()
    return sheet


# ---------------------------------------------------------------- progress

def active_seats(round_: Round) -> list[Assignment]:
    """The seats of the round's active assignment version that are held (:func:`seated`)."""
    return list(db.session.scalars(
        select(Assignment).join(AssignmentVersion)
        .where(AssignmentVersion.round_id == round_.id, *seated())
        .options(selectinload(Assignment.expert), selectinload(Assignment.application))
        .order_by(Assignment.application_id, Assignment.id)))


def round_sheets(round_: Round) -> dict[tuple[int, int], ScoreSheet]:
    """Every sheet of the round by (application id, expert id), scores loaded."""
    return {(sheet.application_id, sheet.expert_id): sheet
            for sheet in db.session.scalars(select(ScoreSheet).where(ScoreSheet.round_id == round_.id)
                                            .options(selectinload(ScoreSheet.scores)))}


def sheet_status(sheet: ScoreSheet | None) -> str:
    """not_started (no sheet, or nothing entered yet), draft, submitted or reopened."""
    if sheet is None:
        return "not_started"
    if sheet.state == "draft" and not any(score.value is not None for score in sheet.scores) \
            and sheet.opinion is None:
        return "not_started"
    return sheet.state


@dataclass
class SeatProgress:
    """One seat with its sheet and the sheet's status; ``overdue`` once the deadline passed unsubmitted."""

    assignment: Assignment
    sheet: ScoreSheet | None
    status: str
    overdue: bool


@dataclass
class Progress:
    """Sheets by status for a round, overall and per pool, expert and application (counts keyed by status)."""

    seats: list[SeatProgress]
    total: Counter = field(default_factory=Counter)
    by_pool: dict[str, Counter] = field(default_factory=dict)
    by_expert: dict[Expert, Counter] = field(default_factory=dict)
    by_application: dict[Application, Counter] = field(default_factory=dict)

    @property
    def overdue(self) -> list[SeatProgress]:
        """Seats whose sheet is not submitted although the deadline has passed."""
        return [seat for seat in self.seats if seat.overdue]


def progress(round_: Round, *, today: date | None = None) -> Progress:
    """The round's sheets by status; ``today`` (default: the date in Shanghai, where deadlines are set) decides
    what is overdue."""
    today = today or local_today()
    sheets = round_sheets(round_)
    past_deadline = round_.deadline is not None and round_.deadline < today
    result = Progress(seats=[])
    for seat in active_seats(round_):
        sheet = sheets.get((seat.application_id, seat.expert_id))
        status = sheet_status(sheet)
        result.seats.append(SeatProgress(seat, sheet, status, past_deadline and status != "submitted"))
        result.total[status] += 1
        for groups, key in ((result.by_pool, seat.pool), (result.by_expert, seat.expert),
                            (result.by_application, seat.application)):
            groups.setdefault(key, Counter())[status] += 1
    return result


# ---------------------------------------------------------------- the expert's day

# What the expert does next on a seat, in the order the start page lists them.
STEPS = ("answer", "declare", "score", "wait", "done")


@dataclass
class AgendaItem:
    """One of the expert's seats with the next step on it: ``answer`` an invitation, ``declare`` (回避声明),
    ``score`` the sheet, ``wait`` for scoring to open, or ``done`` (submitted)."""

    seat: Assignment
    sheet: ScoreSheet | None
    step: str
    status: str
    deadline: date | None
    overdue: bool


def agenda(expert_id: int | None, *, round_states: tuple[str, ...], today: date | None = None
           ) -> list[AgendaItem]:
    """The expert's seats ordered by what needs doing: open invitations, then declarations and drafts by deadline
    (earliest first, none last), then seats waiting for scoring, then submitted sheets; ``today`` (default: the
    date in Shanghai, as :func:`progress`) decides what is overdue."""
    today = today or local_today()
    items = [_agenda_item(seat, today) for seat in expert_seats(expert_id, round_states=round_states)]
    return sorted(items, key=lambda item: (STEPS.index(item.step), item.deadline or date.max,
                                           item.seat.application.ref))


def _agenda_item(seat: Assignment, today: date) -> AgendaItem:
    """The seat's next step, status and deadline."""
    round_ = seat.version.round
    sheet = seat_sheet(seat)
    status = sheet_status(sheet)
    if seat.state == "invited" or (seat.state == "proposed" and round_.state != "scoring"):
        step = "answer"
    elif round_.state != "scoring":
        step = "wait"
    elif sheet is None or sheet.conflict_declared is None:
        step = "declare"
    else:
        step = "done" if sheet.state == "submitted" else "score"
    overdue = step != "done" and round_.deadline is not None and round_.deadline < today
    return AgendaItem(seat, sheet, step, status, round_.deadline, overdue)
