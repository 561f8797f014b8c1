"""The evaluation rounds' results as PDFs to file or post: an annual round's ranking with grades and key
figures, a triennial round's outcome lists under its stored weights."""

from __future__ import annotations

from scoring.assessment import OUTCOMES
from web.io.center_excel import INDICATOR_HEADERS
from web.io.pdf import render_pdf
from web.local_time import local_today
from web.models import Round
from web.services import assessments, centers


def evaluation_pdf(round_: Round, rows: list[centers.EvaluationRow] | None = None) -> bytes:
    """An annual round's ranking (``rows``, by default from the round's ranking): rank, center, score, grade and
    the evaluated year's key figures; refused (CenterError) when the round is too large to rank here."""
    rows = centers.evaluation_rows(round_, centers.ranked(round_).lines) if rows is None else rows
    return render_pdf("pdf/evaluation.html", round=round_, rows=rows, year=centers.evaluated_year(round_),
                      headers=INDICATOR_HEADERS, today=local_today())


def assessment_pdf(round_: Round) -> bytes:
    """A triennial round's outcome lists (推荐申报国家级, 合格, 整改, 退出) with each center's figures."""
    return render_pdf("pdf/assessment.html", round=round_, rows=assessments.triennial_rows(round_),
                      weights=assessments.weights_of(round_), years=assessments.window(round_), outcomes=OUTCOMES,
                      today=local_today())
