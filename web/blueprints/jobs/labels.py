"""The Chinese (and English) words for a job's kind, state, step and error codes."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

KIND_LABELS = {
    "sheets_pdf": _l("Score sheets for signature (PDF)"),
    "blank_pdf": _l("Blank sheets for an offline meeting (PDF)"),
    "ranking": _l("Ranking recomputation"),
    "panel_context": _l("Conflicts and fit of the panels"),
}
STATE_LABELS = {"queued": _l("Waiting for a worker"), "running": _l("Running"), "done": _l("Done"),
                "failed": _l("Failed")}
STEP_LABELS = {
    "waiting": _l("waiting"),
    "ranking": _l("computing the ranking"),
    "inputs": _l("checking the sheets and conflicts"),
    "context": _l("computing conflicts and fit"),
    "pages": _l("pages"),
    "finished": _l("pages"),
}
ERROR_LABELS = {
    "round_gone": _l("The round no longer exists."),
    "unexpected": _l("The job failed after several attempts; the error is in the worker's log. Start it again "
                     "or tell the administrator."),
}


def describe(job) -> dict:
    """The job as the page and the JSON view show it (sentences in the reader's language)."""
    return {
        "id": job.id,
        "kind": job.kind,
        "kind_label": str(KIND_LABELS.get(job.kind, job.kind)),
        "state": job.state,
        "state_label": str(STATE_LABELS[job.state]),
        "step_label": str(STEP_LABELS.get(job.step, job.step)),
        "done": job.done,
        "total": job.total,
        "error": str(ERROR_LABELS.get(job.error, job.error)) if job.error else None,
        "finished": job.finished,
    }
