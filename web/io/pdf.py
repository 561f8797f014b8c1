"""Score sheets as PDF for signature, and blank sheets for offline meetings (WeasyPrint, A4, Chinese fonts).

Fonts are found by family name through fontconfig (Debian's fonts-noto-cjk: "Noto Serif CJK SC" for text,
"Noto Sans CJK SC" for headings); pages are numbered 第 X 页 共 Y 页. The documents are in Chinese whatever the
page locale, as the signed originals are filed, and carry no personal data (phones, e-mails, ID numbers).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager

from flask import current_app

from web.io.ranking_excel import OPINIONS, RECOMMENDATIONS, SHEET_STATES, STATUSES
from web.models import Round
from web.services.ranking import RoundRanking

PageCallback = Callable[[int], None]
"""Called with the number of pages laid out so far (for a job's progress bar)."""

PAGE_LOG_PREFIX = "Step 5 - Creating layout - Page "


def render_pdf(template: str, on_page: PageCallback | None = None, **context) -> bytes:
    """Render a template of web/templates/pdf/ to PDF bytes (no request needed: works from the CLI too)."""
    from weasyprint import HTML

    html = current_app.jinja_env.get_template(template).render(**context)
    if on_page is None:
        return HTML(string=html).write_pdf()
    with _pages_reported_to(on_page):
        return HTML(string=html).write_pdf()


@contextmanager
def _pages_reported_to(on_page: PageCallback) -> Iterator[None]:
    """Call ``on_page`` as WeasyPrint lays out each page of a document rendered by this thread.

    WeasyPrint reports its layout on its documented progress logger (``weasyprint.progress``). A filter on that
    logger sees each record of the current thread (so two PDFs rendered at once each count their own pages) and
    lets it through only if the logger would have shown it anyway, so logs stay as configured.
    """
    page_filter = _PageFilter(threading.get_ident(), on_page)
    with _progress_logger() as (logger, shown):
        page_filter.shown = shown
        logger.addFilter(page_filter)
        try:
            yield
        finally:
            logger.removeFilter(page_filter)


_logger_lock = threading.Lock()
_logger_users = 0
_logger_level = logging.NOTSET
_logger_shown = False


@contextmanager
def _progress_logger() -> Iterator[tuple[logging.Logger, bool]]:
    """WeasyPrint's progress logger set to INFO while any render listens to it (counted across threads), with
    whether its records were shown before (the level is put back when the last render ends)."""
    global _logger_users, _logger_level, _logger_shown
    logger = logging.getLogger("weasyprint.progress")
    with _logger_lock:
        if _logger_users == 0:
            _logger_level, _logger_shown = logger.level, logger.isEnabledFor(logging.INFO)
            logger.setLevel(logging.INFO)
        _logger_users += 1
    try:
        yield logger, _logger_shown
    finally:
        with _logger_lock:
            _logger_users -= 1
            if _logger_users == 0:
                logger.setLevel(_logger_level)


class _PageFilter(logging.Filter):
    """Turns "Step 5 - Creating layout - Page N" records of one thread into ``on_page(N)`` calls."""

    def __init__(self, thread_id: int, on_page: PageCallback):
        super().__init__()
        self.thread_id = thread_id
        self.on_page = on_page
        self.shown = False

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread == self.thread_id:
            message = record.getMessage()
            if message.startswith(PAGE_LOG_PREFIX):
                self.on_page(int(message[len(PAGE_LOG_PREFIX):]))
        return self.shown


def score_sheets_pdf(report: RoundRanking, application_ids: Collection[int] | None = None,
                     on_page: PageCallback | None = None) -> bytes:
    """Each submitted sheet on its own page, then the panel summary of its application, for every application
    (or those in ``application_ids``)."""
    return render_pdf("pdf/sheets.html", on_page, round=report.round, criteria=report.criteria,
                      lines=_lines(report, application_ids), opinions=OPINIONS, recommendations=RECOMMENDATIONS,
                      statuses=STATUSES, states=SHEET_STATES)


def score_sheets_page_estimate(report: RoundRanking, application_ids: Collection[int] | None = None) -> int:
    """Pages :func:`score_sheets_pdf` will take at least: one per submitted sheet and one per summary."""
    lines = _lines(report, application_ids)
    return sum(1 for line in lines for row in line.rows if row.sheet.state == "submitted") + len(lines)


def _lines(report: RoundRanking, application_ids: Collection[int] | None):
    return [line for line in report.lines if application_ids is None or line.application.id in application_ids]


def blank_sheets_pdf(round_: Round, on_page: PageCallback | None = None) -> bytes:
    """One blank sheet per application of the round (one unnamed sheet when it has none yet): criteria with
    maximum, step and guidance, empty boxes, the conflict declaration, signature and date lines."""
    return render_pdf("pdf/blank.html", on_page, round=round_, criteria=round_.template.criteria,
                      applications=round_.applications or [None])
