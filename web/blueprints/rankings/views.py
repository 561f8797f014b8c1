"""The views of the rankings area: the ranking, the trace per application, flag reviews, combining rounds, exports."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from scoring.recommend import deciding_rule
from scoring.types import FLAG_LEVELS, RECOMMENDATIONS
from web import listing
from web.auth.roles import roles_required
from web.extensions import db
from web.io.pdf import score_sheets_pdf
from web.io.ranking_excel import XLSX_MIMETYPE, ranking_workbook
from web.models import Application, FlagReview, Job, Round
from web.services import ranking
from web.services.flag_reviews import FlagReviewError, reviews_for_expert
from web.services.jobs import request_job
from web.services.stored_ranking import ALL_ROWS, NO_ROWS, ViewedRanking, renew, stored_view
from web.unit_of_work import refuse

from . import bp

STAFF = ("organizer", "admin")
PDF_MIMETYPE = "application/pdf"


def round_or_404(round_id: int) -> Round:
    """The round with ``round_id``, or 404."""
    return db.session.get(Round, round_id) or abort(404)


def application_in_round(round_: Round, application_id: int) -> Application:
    """An application under review in ``round_``, or 404."""
    application = next((item for item in round_.applications if item.id == application_id), None)
    return application or abort(404)


def page_options() -> tuple[ranking.Options, list[str]]:
    """Capacity k and the calibration switches from the query string; a bad value is named and ignored."""
    errors = []
    capacity = None
    raw = request.args.get("capacity", "").strip()
    if raw:
        if raw.isascii() and raw.isdigit() and int(raw) >= 1:     # "²" is a digit to isdigit(), not to int()
            capacity = int(raw)
        else:
            errors.append(_("Capacity k must be a whole number of at least 1, not “%(value)s”.", value=raw))
    rank_on = request.args.get("rank_on_calibrated") == "1"
    return ranking.Options(capacity=capacity, calibrate=rank_on or request.args.get("calibrate") == "1",
                           rank_on_calibrated=rank_on), errors


def option_args(options: ranking.Options) -> dict[str, str]:
    """The query arguments that reproduce ``options`` (for links between the ranking pages)."""
    args = {}
    if options.capacity:
        args["capacity"] = str(options.capacity)
    if options.calibrate:
        args["calibrate"] = "1"
    if options.rank_on_calibrated:
        args["rank_on_calibrated"] = "1"
    return args


@bp.route("/")
@roles_required(*STAFF)
def index():
    """Every round, with links to its ranking and exports."""
    rounds = db.session.scalars(select(Round).order_by(Round.created_at.desc(), Round.id.desc())).all()
    return render_template("rankings/index.html", rounds=rounds)


@bp.route("/rounds/<int:round_id>")
@roles_required(*STAFF)
def round_ranking(round_id: int):
    """The ranking table of one round: the rule that decides a recommendation, each line's reason, the flags
    asking for action (notes for information folded), and the capacity and calibration form."""
    round_ = round_or_404(round_id)
    options, errors = page_options()
    viewed = stored_ranking(round_, options, rows_for=NO_ROWS)
    return render_template("rankings/round.html", report=viewed.report, viewed=viewed, errors=errors,
                           args=option_args(options), page=ranking_page(viewed.report.lines),
                           deciding_rule=deciding_rule)


RANKING_FILTERS = {"recommendation": RECOMMENDATIONS, "flags": (*FLAG_LEVELS, "none")}


def ranking_page(lines: tuple) -> listing.Page:
    """The ranking's lines filtered by recommendation and by the level of their flags, searched by ref or center
    name, in rank order (or by ref or score), one page at a time."""
    position = {line.application.id: index for index, line in enumerate(lines)}
    sort_keys = {"rank": lambda line: position[line.application.id], "ref": lambda line: line.application.ref,
                 "score": lambda line: line.result.score if line.result else None}
    args = listing.parse(listing.ListSpec(sorts=tuple(sort_keys), filters=RANKING_FILTERS, per_page=100))
    kept = [line for line in lines if keeps(line, args.filters)]
    return listing.paginate_items(kept, args, sort_keys=sort_keys,
                                  search=lambda line: (line.application.ref, line.application.center_name))


def keeps(line, filters: dict[str, str]) -> bool:
    """Whether a ranking line has the chosen recommendation and flags of the chosen level ("none": no flags)."""
    result = line.result
    if "recommendation" in filters and (result is None or result.recommendation != filters["recommendation"]):
        return False
    if "flags" in filters:
        levels = {flag.level for flag in result.flags if flag.criterion is None} if result else set()
        return not levels if filters["flags"] == "none" else filters["flags"] in levels
    return True


@bp.route("/rounds/<int:round_id>/applications/<int:application_id>")
@roles_required(*STAFF)
def trace(round_id: int, application_id: int):
    """How one application's number was made: every sheet, used, trimmed, excluded or flagged."""
    round_ = round_or_404(round_id)
    application = application_in_round(round_, application_id)
    options, errors = page_options()
    viewed = stored_ranking(round_, options, rows_for=application.id)
    report = viewed.report
    biases = {expert.expert: expert.bias for expert in report.result.experts}
    return render_template("rankings/application.html", report=report, viewed=viewed,
                           line=report.line(application.id), biases=biases, errors=errors,
                           args=option_args(options))


@bp.route("/rounds/<int:round_id>/applications/<int:application_id>/reviews", methods=["POST"])
@roles_required(*STAFF)
def request_review(round_id: int, application_id: int):
    """Ask a flagged expert to confirm or revise; the message is the engine's own sentence for the flag."""
    round_ = round_or_404(round_id)
    application = application_in_round(round_, application_id)
    report = ranking.round_ranking(round_)
    line = report.line(application.id)
    sheet_id = request.form.get("sheet_id", type=int)
    code = request.form.get("code", "")
    row = next((row for row in line.rows if row.sheet.id == sheet_id), None) if line else None
    flag = next((flag for flag in row.flags if flag.code == code and flag.criterion is None), None) if row else None
    if report.too_large:
        refuse(report.result.errors[0])
    elif flag is None:
        flash(_("That sheet carries no %(code)s flag now; nothing was sent.", code=code or "—"), "error")
    else:
        try:
            ranking.request_flag_review(row.sheet, code, flag.message, actor=current_user)
            flash(_("The expert was asked to confirm or revise the score."), "success")
        except FlagReviewError as error:
            refuse(str(error))
    return redirect(url_for(".trace", round_id=round_.id, application_id=application.id))


@bp.route("/reviews")
@roles_required("expert")
def my_reviews():
    """The flag reviews asked of the logged-in expert."""
    reviews = reviews_for_expert(current_user.expert_id) if current_user.expert_id else []
    return render_template("rankings/reviews.html", reviews=reviews)


@bp.route("/reviews/<int:review_id>", methods=["GET", "POST"])
@roles_required("expert")
def review(review_id: int):
    """One flag review of the expert's own sheet: confirm or revise with a written reason (404 for others')."""
    item = db.session.get(FlagReview, review_id)
    if item is None or current_user.expert_id is None or item.sheet.expert_id != current_user.expert_id:
        abort(404)
    if request.method == "POST":
        try:
            ranking.answer_flag_review(item, request.form.get("response", ""), request.form.get("reason", ""),
                                       actor=current_user)
            flash(_("Thank you: your answer was recorded."), "success")
            return redirect(url_for(".review", review_id=item.id))
        except FlagReviewError as error:
            refuse(str(error))
    return render_template("rankings/review.html", review=item, sheet=item.sheet)


@bp.route("/combine")
@roles_required(*STAFF)
def combine():
    """Choose rounds and weights; the combined table with each round's score beside it. A refusal lists every
    reason found before any round is ranked, the weights' first (:func:`ranking.combine_refusals`)."""
    rounds = db.session.scalars(select(Round).order_by(Round.id)).all()
    chosen = [round_ for round_ in rounds if str(round_.id) in request.args.getlist("round")]
    defaults = dict(zip((round_.id for round_ in chosen), ranking.default_weights(chosen), strict=True))
    weights, errors, combined = {}, [], None
    for round_ in chosen:
        raw = request.args.get(f"weight_{round_.id}", "").strip()
        try:
            weights[round_.id] = float(raw) if raw else defaults[round_.id]
        except ValueError:
            errors.append(_("Weight of %(round)s must be a number, not “%(value)s”.", round=round_.name, value=raw))
    if errors:                      # a weight that is no number, and beside it every other reason
        errors.extend(ranking.combine_refusals([(round_, weights.get(round_.id)) for round_ in chosen]))
    elif chosen:
        try:
            combined = ranking.combine([(round_, weights[round_.id]) for round_ in chosen])
        except ranking.RankingError as error:
            errors.extend(str(reason) for reason in error.args)
    return render_template("rankings/combine.html", rounds=rounds, chosen=chosen, weights=weights,
                           combined=combined, errors=errors)


@bp.route("/rounds/<int:round_id>/export.xlsx")
@roles_required(*STAFF)
def export_xlsx(round_id: int):
    """The ranking and every sheet's scores and comments as an Excel workbook (no personal data)."""
    report = stored_ranking(round_or_404(round_id), page_options()[0]).report
    if report.too_large:
        return refused_download(report.round, report.result.errors[0])
    return download(ranking_workbook(report), XLSX_MIMETYPE, f"ranking-{round_id}.xlsx")


@bp.route("/rounds/<int:round_id>/sheets.pdf")
@roles_required(*STAFF)
def sheets_pdf(round_id: int):
    """Every expert's score sheet and each panel's summary, for signature: prepared by a worker (hundreds of
    pages take minutes), so this starts the job, or joins the one under way, and shows its progress. The job ranks
    the round first: a round over the ranking's limit is refused here, with no job asked for one bound to fail
    (:func:`ranking.too_large_to_rank`). The refusal reads the estimate, not the stored ranking: after the limit
    is lowered, a round whose stored ranking is still current is refused here though the job would have read
    that ranking (its other downloads are refused only when the stored report is); a cautious edge, kept."""
    round_ = round_or_404(round_id)
    refused = ranking.too_large_to_rank([round_])
    if refused:
        return refused_download(round_, refused[0])
    return started_job("sheets_pdf", round_)


@bp.route("/rounds/<int:round_id>/applications/<int:application_id>/sheets.pdf")
@roles_required(*STAFF)
def application_sheets_pdf(round_id: int, application_id: int):
    """One application's score sheets and panel summary, for signature."""
    round_ = round_or_404(round_id)
    application = application_in_round(round_, application_id)
    report = stored_ranking(round_, ranking.Options()).report
    if report.too_large:
        return refused_download(report.round, report.result.errors[0])
    return download(score_sheets_pdf(report, application_ids={application.id}), PDF_MIMETYPE,
                    f"sheets-{round_id}-{application.ref}.pdf")


@bp.route("/rounds/<int:round_id>/blank.pdf")
@roles_required(*STAFF)
def blank_pdf(round_id: int):
    """Blank sheets of the round's template for an offline meeting, prepared by a worker like the signed ones."""
    return started_job("blank_pdf", round_or_404(round_id))


def stored_ranking(round_: Round, options: ranking.Options, rows_for: str | int = ALL_ROWS) -> ViewedRanking:
    """The round's stored ranking for ``options`` (recomputed and stored first when its inputs changed and the
    round is small; otherwise a recomputation job is started and the page says the result is being renewed)."""
    stale = renew(round_, options, actor=current_user)
    db.session.commit()
    return stored_view(round_, options, rows_for=rows_for, stale=stale)


def refused_download(round_: Round, reason: str) -> Response:
    """No file of a round too large to rank here (it would list no ranking): back to its page, ``reason`` flashed."""
    flash(reason, "error")
    return redirect(url_for(".round_ranking", round_id=round_.id))


def started_job(kind: str, round_: Round) -> Response:
    """Start (or join) the round's job of ``kind`` and go to its progress page; straight to the file when it
    finished at once (the immediate queue of the tests)."""
    job = request_job(kind, round_=round_, actor=current_user)
    job_id = job.id
    db.session.commit()
    job = db.session.get(Job, job_id)
    if job.state == "done":
        return redirect(url_for("jobs.download", job_id=job_id), 303)
    return redirect(url_for("jobs.job_page", job_id=job_id), 303)


def download(content: bytes, mimetype: str, filename: str) -> Response:
    """``content`` as a file download."""
    return Response(content, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
