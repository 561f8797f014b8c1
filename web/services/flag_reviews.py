"""Flag reviews: a flagged expert is asked to confirm or revise the score with a written reason.

财政部令第87号 Art. 64 has 畸高畸低 (abnormally high or low) scores put back to the expert rather than dropped; the
ranking never deletes a score (DESIGN §7.1 step 3). Every request and answer is audited.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from web.extensions import db
from web.labels import label
from web.models import FLAG_RESPONSES, FlagReview, ScoreSheet, User, utcnow
from web.services import audit, outbox

REVIEWABLE_CODES = ("ROBUST", "DEVIATION")


class FlagReviewError(ValueError):
    """A refused request or answer, with a message saying why."""


def request_flag_review(sheet: ScoreSheet, code: str, message: str, *, actor: User | None) -> FlagReview:
    """Ask the sheet's expert to confirm or revise a flagged score; notify them through the outbox."""
    if code not in REVIEWABLE_CODES:
        raise FlagReviewError(_("Only an abnormal or deviating total is put back to the expert, not “%(flag)s”.",
                                flag=label(code, "flag")))
    if sheet.state != "submitted":
        raise FlagReviewError(_("Only a submitted score sheet can be reviewed."))
    if not message or not message.strip():
        raise FlagReviewError(_("The flag's sentence is required."))
    review = db.session.scalar(select(FlagReview).where(FlagReview.sheet_id == sheet.id, FlagReview.code == code))
    before = None
    if review is not None:
        if review.response is None:
            raise FlagReviewError(_("A review (%(flag)s) was requested on %(date)s and still awaits the expert's "
                                    "answer.", flag=label(code, "flag"), date=f"{review.requested_at:%Y-%m-%d}"))
        if sheet.submitted_at is None or sheet.submitted_at <= review.answered_at:
            raise FlagReviewError(_("The expert already answered this review (%(flag)s) on %(date)s; ask again only "
                                    "after the sheet is submitted again.", flag=label(code, "flag"),
                                    date=f"{review.answered_at:%Y-%m-%d}"))
        # A revised and resubmitted sheet may be flagged again: the same row is asked anew (one row per sheet and
        # code in the schema); the audit keeps the earlier request and answer.
        before = review_state(review)
    else:
        review = FlagReview(sheet=sheet, code=code)
        db.session.add(review)
    review.message, review.requested_by_id, review.requested_at = message.strip(), actor.id if actor else None, utcnow()
    review.response = review.reason = review.answered_at = None
    db.session.flush()
    audit.record("flag_review.request", "flag_review", review.id, actor=actor, before=before,
                 after=review_state(review))
    _notify(review)
    db.session.flush()
    return review


def answer_flag_review(review: FlagReview, response: str, reason: str, *, actor: User) -> FlagReview:
    """The expert confirms the score or revises it (which reopens the sheet), with a written reason."""
    if actor is None or actor.expert_id != review.sheet.expert_id:
        raise FlagReviewError(_("Only the expert of the sheet can answer this review."))
    if review.sheet.round.state != "scoring":
        raise FlagReviewError(_("The round is %(state)s; answers are taken only while it is scoring.",
                                state=label(review.sheet.round.state, "round_state")))
    if review.response is not None:
        raise FlagReviewError(_("This review was already answered on %(date)s.",
                                date=f"{review.answered_at:%Y-%m-%d}"))
    if response not in FLAG_RESPONSES:
        raise FlagReviewError(_("Choose whether you confirm or revise the score."))
    if not reason or not reason.strip():
        raise FlagReviewError(_("A written reason is required."))
    before = review_state(review)
    review.response, review.reason, review.answered_at = response, reason.strip(), utcnow()
    audit.record("flag_review.answer", "flag_review", review.id, actor=actor, before=before,
                 after=review_state(review))
    if response == "revise":
        reopen_for_revision(review.sheet, f"专家复核后修改 revised after flag review ({review.code}): "
                                          f"{review.reason}", actor=actor)
    db.session.flush()
    return review


def reopen_for_revision(sheet: ScoreSheet, reason: str, *, actor: User) -> None:
    """Reopen the sheet so its expert can revise it (``sheets.reopen`` locks it, audits and tells the expert); it
    leaves the ranking until resubmitted. A sheet reopened meanwhile is left as it is."""
    from web.services.sheets import lock, reopen

    if lock(sheet).state == "submitted":
        reopen(sheet, reason, actor=actor)


def reviews_for_expert(expert_id: int) -> list[FlagReview]:
    """The reviews asked of one expert, unanswered first, newest first."""
    reviews = db.session.scalars(select(FlagReview).join(ScoreSheet).where(ScoreSheet.expert_id == expert_id)
                                 .order_by(FlagReview.requested_at.desc(), FlagReview.id.desc())).all()
    return sorted(reviews, key=lambda review: review.response is not None)


def review_state(review: FlagReview) -> dict:
    """The audited fields of a review."""
    return {"sheet": review.sheet_id, "code": review.code, "message": review.message,
            "requested_by": review.requested_by_id, "requested_at": review.requested_at,
            "response": review.response, "reason": review.reason, "answered_at": review.answered_at}


def _notify(review: FlagReview) -> None:
    """A message to the expert through the outbox."""
    sheet = review.sheet
    expert = sheet.expert
    # Only the expert's own total: the engine's sentence quotes the others' median or mean (DESIGN §1).
    with force_locale(outbox.MAIL_LOCALE):
        subject = _("Please review your score: %(center)s", center=sheet.application.center_name)
        body = "\n\n".join((
            _("Dear %(name)s,", name=expert.name),
            _("Your score for “%(center)s” (%(ref)s, total %(total)s) differs markedly from the other panel members' "
              "(%(flag)s).", center=sheet.application.center_name, ref=sheet.application.ref,
              total=f"{sheet.total:g}", flag=label(review.code, "flag"))
            + "\n" + _("Please log in to the review system, confirm or revise the score, and give your reason in "
                       "writing."))) + "\n"
    outbox.send(outbox.expert_address(expert), "flag_review", subject, body, round_=sheet.round, expert=expert)
