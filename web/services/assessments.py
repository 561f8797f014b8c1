"""The triennial assessment of the centers of a round: the experts' triennial score combined with the center's
annual evaluations by :func:`scoring.assessment.assess`, and the outcome applied as the center's status.

A center's annual score for a year is its panel score in the annual round that evaluated that year (the round's
reference date is in the following spring, see :func:`web.services.centers.evaluated_year`).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

import scoring
from scoring.assessment import AnnualScore, Assessment, Flag, TriennialWeights, annual_grade, assess
from scoring.types import ApplicationResult
from web.extensions import db
from web.models import Application, Center, Round, User
from web.services import centers
from web.services.centers import CONSTRUCTION_YEARS, CenterError, evaluated_year
from web.services.ranking import RankingLine, scoring_problem

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
    """The application's score in the annual round of each year (None where it was not evaluated)."""
    cache = {} if cache is None else cache
    rounds = db.session.scalars(select(Round).where(Round.kind == "annual").order_by(Round.id))
    by_year: dict[int, float | None] = {}
    for round_ in rounds:
        year = evaluated_year(round_)
        if year not in years or by_year.get(year) is not None:
            continue
        if round_.id not in cache:
            result = scoring.rank(scoring_problem(round_))
            cache[round_.id] = {line.application: line.score for line in result.ranking}
        by_year[year] = cache[round_.id].get(application.ref)
    return tuple(AnnualScore(year, by_year.get(year)) for year in years)


def triennial_rows(round_: Round, lines: tuple[RankingLine, ...],
                   weights: TriennialWeights | None = None) -> list[TriennialRow]:
    """Every center of the round with its assessment (None until the panel has scored it)."""
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


def apply_outcome(round_: Round, row: TriennialRow, *, actor: User | None) -> Center:
    """Set the center's status to the assessment's outcome (audited, with the result as the reason)."""
    if row.center is None or row.assessment is None:
        raise CenterError([_("This center has no assessment result yet.")])
    reason = _("Triennial assessment %(round)s: result %(result)s, %(outcome)s.", round=round_.name,
               result=f"{row.assessment.result:.2f}", outcome=OUTCOME_LABELS[row.assessment.outcome])
    return centers.set_status(row.center, OUTCOME_STATUSES[row.assessment.outcome], reason=reason, actor=actor)
