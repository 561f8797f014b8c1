"""Score sheets as PDF for signature, and blank sheets for offline meetings (WeasyPrint, A4, Chinese fonts).

Fonts are found by family name through fontconfig (Debian's fonts-noto-cjk: "Noto Serif CJK SC" for text,
"Noto Sans CJK SC" for headings); pages are numbered 第 X 页 共 Y 页. The documents are in Chinese whatever the
page locale, as the signed originals are filed, and carry no personal data (phones, e-mails, ID numbers).
"""

from __future__ import annotations

from collections.abc import Collection

from flask import current_app

from web.io.ranking_excel import OPINIONS, RECOMMENDATIONS, SHEET_STATES, STATUSES
from web.models import Round
from web.services.ranking import RoundRanking


def render_pdf(template: str, **context) -> bytes:
    """Render a template of web/templates/pdf/ to PDF bytes (no request needed: works from the CLI too)."""
    from weasyprint import HTML

    html = current_app.jinja_env.get_template(template).render(**context)
    return HTML(string=html).write_pdf()


def score_sheets_pdf(report: RoundRanking, application_ids: Collection[int] | None = None) -> bytes:
    """Each submitted sheet on its own page, then the panel summary of its application, for every application
    (or those in ``application_ids``)."""
    lines = [line for line in report.lines if application_ids is None or line.application.id in application_ids]
    return render_pdf("pdf/sheets.html", round=report.round, criteria=report.criteria, lines=lines,
                      opinions=OPINIONS, recommendations=RECOMMENDATIONS, statuses=STATUSES, states=SHEET_STATES)


def blank_sheets_pdf(round_: Round) -> bytes:
    """One blank sheet per application of the round (one unnamed sheet when it has none yet): criteria with
    maximum, step and guidance, empty boxes, the conflict declaration, signature and date lines."""
    return render_pdf("pdf/blank.html", round=round_, criteria=round_.template.criteria,
                      applications=round_.applications or [None])
