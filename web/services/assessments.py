"""The triennial assessment of the centers of a round: the experts' triennial score combined with the center's
annual evaluations by :func:`scoring.assessment.assess` with the round's stored weights, and the outcome applied
as the center's status.

A center's annual score for a year is its panel score in the annual round that evaluated that year (the round's
reference date is in the following spring, see :func:`web.services.centers.evaluated_year`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from scoring.assessment import (
    WEIGHT_SUM_TOLERANCE,
    AnnualScore,
    Assessment,
    Flag,
    TriennialWeights,
    annual_grade,
    assess,
)
from scoring.types import ApplicationResult
from web.extensions import db
from web.labels import label
from web.models import Application, Center, Round, RoundApplication, User
from web.services import audit, centers
from web.services.centers import CONSTRUCTION_YEARS, CenterError, evaluated_year
from web.services.ranking import RankingLine

OUTCOME_STATUSES = {"recommend_national": "recommended_national", "pass": "passed", "rectify": "rectification",
                    "exit": "withdrawn"}
OUTCOME_LABELS = {"recommend_national": _l("Recommend for the national level"), "pass": _l("Pass"),
                  "rectify": _l("Rectify"), "exit": _l("Exit")}
GRADE_LABELS = {"excellent": _l("Excellent"), "good": _l("Good"), "pass": _l("Pass"), "fail": _l("Fail")}


@dataclass(frozen=True)
class TriennialRow:
    """One center of a triennial round: its panel line, its annual scores and the combined assessment."""

    application: Application
    center: Center | None
    result: ApplicationResult | None
    annual: tuple[AnnualScore, ...]
    assessment: Assessment | None


def window(round_: Round) -> tuple[int, ...]:
    """The three years a triennial round assesses, ending with the year it evaluates."""
    last = evaluated_year(round_)
    return tuple(range(last - CONSTRUCTION_YEARS + 1, last + 1))


def annual_scores(application: Application, years: tuple[int, ...],
                  cache: dict[int, dict[str, float | None]] | None = None) -> tuple[AnnualScore, ...]:
    """The application's score in the annual round of each year (None where it was not evaluated). Only the annual
    rounds it took part in are ranked, each once and by the engine alone (:func:`centers.engine_ranked`: only the
    scores are read, so no sheet or flag review is joined back): ``cache`` holds the scores by round id
    (:func:`centers.scores_by_round`), a page's rankings made already or those of the centers read before.
    Refused (CenterError) when such a round is too large to rank here."""
    cache = {} if cache is None else cache
    rounds = db.session.scalars(select(Round).join(RoundApplication)
                                .where(Round.kind == "annual", RoundApplication.application_id == application.id)
                                .order_by(Round.id))
    by_year: dict[int, float | None] = {}
    for round_ in rounds:
        year = evaluated_year(round_)
        if year not in years or by_year.get(year) is not None:
            continue
        if round_.id not in cache:
            cache.update(centers.scores_by_round([centers.engine_ranked(round_)]))
        by_year[year] = cache[round_.id].get(application.ref)
    return tuple(AnnualScore(year, by_year.get(year)) for year in years)


def weights_of(round_: Round) -> TriennialWeights:
    """The round's stored combination weights, or the engine's default when none were set."""
    if round_.assessment_weight_triennial is None or round_.assessment_weight_annual is None:
        return TriennialWeights()
    return TriennialWeights(triennial=round_.assessment_weight_triennial, annual=round_.assessment_weight_annual)


def weight_errors(round_: Round, triennial: float | None, annual: float | None) -> list[str]:
    """Every reason to refuse these weights for ``round_`` (the engine's rule: each in [0, 1], sum 1)."""
    if round_.kind != "triennial":
        return [_("Only a triennial round combines scores with weights.")]
    if round_.state == "closed":
        return [_("The round is closed: its assessment is final and its weights no longer change.")]
    errors = []
    for value, name in ((triennial, _("Triennial weight")), (annual, _("Annual weight"))):
        if value is None:
            errors.append(_("%(weight)s: a number between 0 and 1 is needed.", weight=name))
        elif not 0.0 <= value <= 1.0:
            errors.append(_("%(weight)s: %(value)s is not between 0 and 1.", weight=name, value=f"{value:g}"))
    if not errors and abs(triennial + annual - 1.0) > WEIGHT_SUM_TOLERANCE:
        errors.append(_("The two weights add up to %(sum)s; they must add up to 1.", sum=f"{triennial + annual:g}"))
    return errors


def set_weights(round_: Round, *, triennial: float | None, annual: float | None,
                actor: User | None) -> TriennialWeights:
    """Store the combination weights of a triennial round (audited); refused whole with every reason."""
    errors = weight_errors(round_, triennial, annual)
    if errors:
        raise CenterError(errors)
    before = weights_record(weights_of(round_))
    weights = TriennialWeights(triennial=triennial, annual=annual)
    round_.assessment_weight_triennial, round_.assessment_weight_annual = weights.triennial, weights.annual
    db.session.flush()
    audit.record("round.assessment_weights", "round", round_.id, actor=actor, before=before,
                 after=weights_record(weights))
    return weights


def weights_record(weights: TriennialWeights) -> dict[str, float]:
    """The weights as the audit log, the API and the CLI show them."""
    return {"triennial": weights.triennial, "annual": weights.annual}


def triennial_rows(round_: Round, lines: tuple[RankingLine, ...] | None = None) -> list[TriennialRow]:
    """Every center of the round with its assessment under the round's weights (None until the panel has
    scored it); ``lines`` default to the round's ranking. Refused (CenterError, nothing changed) when the round
    or an annual round it reads is too large to rank here (:func:`centers.ranked`)."""
    weights = weights_of(round_)
    lines = centers.ranked(round_).lines if lines is None else lines
    years, cache = window(round_), {}
    rows = []
    for line in lines:
        annual = annual_scores(line.application, years, cache)
        score = None if line.result is None else line.result.score
        assessment = None if score is None else assess(score, annual, weights=weights)
        rows.append(TriennialRow(line.application, centers.center_of(line.application), line.result, annual,
                                 assessment))
    return rows


def flag_sentence(flag: Flag) -> str:
    """The sentence of an assessment flag."""
    sentences = {
        "missing_year": lambda: _("No annual evaluation for %(year)s: at best a pass.", **flag.params),
        "annual_fail": lambda: _("Failed the annual evaluation of %(year)s (%(score)s): at best a pass.",
                                 year=flag.params["year"], score=f"{flag.params['score']:.2f}"),
        "repeated_fail": lambda: _("Failed %(count)s annual evaluations: at best rectification.", **flag.params),
        "no_annual_evaluation": lambda: _("No annual evaluation at all: at best rectification."),
    }
    return sentences[flag.code]() if flag.code in sentences else flag.code


def grade_code(score: float | None) -> str | None:
    """The annual grade code of a score (None for no score)."""
    return None if score is None else annual_grade(score).code


def outcome_applicable(round_: Round, row: TriennialRow) -> bool:
    """Whether ``row``'s outcome may be applied now (then it still needs a confirmation): the round is closed and
    the center has a result."""
    return round_.state == "closed" and row.center is not None and row.assessment is not None


def apply_outcome(round_: Round, row: TriennialRow, *, actor: User | None, confirmed: bool) -> Center:
    """Set the center's status to the assessment's outcome, audited as this round's outcome with the result,
    the weights it was computed with (as applied: (1, 0) without any annual score) and the status it replaced.

    Only for a closed round (while it is scoring, the result can still change) and only when confirmed: "exit"
    withdraws the center for good.
    """
    if round_.state != "closed":
        raise CenterError([_("Nothing was changed: an outcome is applied once the round “%(round)s” is closed "
                             "(it is %(state)s).", round=round_.name, state=label(round_.state, "round_state"))])
    if row.center is None or row.assessment is None:
        raise CenterError([_("This center has no assessment result yet.")])
    if not confirmed:
        raise CenterError([_("Nothing was changed: applying an outcome needs your confirmation on its "
                             "confirmation page.")])
    assessment, status = row.assessment, OUTCOME_STATUSES[row.assessment.outcome]
    errors = centers.status_errors(row.center, status, reason=round_.name)
    if errors:
        raise CenterError(errors)
    before = row.center.status
    row.center.status = status
    db.session.flush()
    audit.record("center.outcome", "center", row.center.id, actor=actor, before={"status": before},
                 after={"status": status, "outcome": assessment.outcome, "result": assessment.result,
                        "round": round_.name, "round_id": round_.id,
                        "weights": {"triennial": assessment.applied_triennial,
                                    "annual": assessment.applied_annual}})
    return row.center


def outcome_record(row: TriennialRow) -> dict:
    """One center's assessment as the API and the CLI show it."""
    assessment = row.assessment
    return {"application": row.application.ref, "center": None if row.center is None else row.center.id,
            "name": row.application.center_name,
            "annual": [{"year": item.year, "score": item.score, "grade": grade_code(item.score)} for item in row.annual],
            "triennial_score": None if assessment is None else assessment.triennial_score,
            "annual_mean": None if assessment is None else assessment.annual_mean,
            "result": None if assessment is None else assessment.result,
            "outcome": None if assessment is None else assessment.outcome,
            "flags": [] if assessment is None else [{"code": flag.code, **flag.params} for flag in assessment.flags]}


def assessment_record(round_: Round, rows: list[TriennialRow]) -> dict:
    """A triennial round's assessment as the API and the CLI show it: weights, window and every center."""
    return {"round": round_.id, "name": round_.name, "years": list(window(round_)),
            "weights": weights_record(weights_of(round_)),
            "weights_stored": round_.assessment_weight_triennial is not None,
            "centers": [outcome_record(row) for row in rows]}
