"""The Chinese (and English) words for a job's kind, state, step and error codes."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.services.jobs import queue_silence

KIND_LABELS = {
    "sheets_pdf": _l("Score sheets for signature (PDF)"),
    "blank_pdf": _l("Blank sheets for an offline meeting (PDF)"),
    "ranking": _l("Ranking recomputation"),
    "records_upload": _l("Registering an uploaded file"),
    "matching": _l("Matching run"),
    "import": _l("Import of records"),
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
    "checking": _l("checking the file again"),
    "records": _l("records"),
    "loading": _l("reading the round, the experts and the applications"),
    "conflicts": _l("finding conflicts of interest"),
    "fit": _l("computing fit"),
    "checks": _l("checking the panel rules"),
    "solve": _l("solving"),
    "report": _l("explaining the panels and choosing reserves"),
    "validating": _l("checking the records"),
    "writing": _l("writing the records"),
}
PRICING_LABEL = _l("solving (pricing round %(number)s)")
TIMING_LABELS = {
    "loading": STEP_LABELS["loading"],
    "conflicts": STEP_LABELS["conflicts"],
    "fit": STEP_LABELS["fit"],
    "instance": _l("building the solver's arrays (permissions, load caps, organizations)"),
    "reasons": _l("writing the reasons of the conflicts"),
    "hash": _l("hashing the engine's input"),
    "presolve": STEP_LABELS["checks"],
    "solve": STEP_LABELS["solve"],
    "report": STEP_LABELS["report"],
    "storing": _l("storing the version, and progress reports"),
    "total": _l("total"),
}
"""A matching job's ``timing`` keys (web/jobs/work.py: the engine's phases between reading and storing)."""
ERROR_LABELS = {
    "round_gone": _l("The round no longer exists."),
    "upload_gone": _l("The uploaded file is no longer kept: upload it again."),
    "upload_changed": _l("The file no longer passes the checks (the registered records changed since the "
                         "preview); nothing was written. Upload it again to see the errors."),
    "unexpected": _l("The job failed after several attempts; the error is in the worker's log. Start it again "
                     "or tell the administrator."),
    "round_not_assigning": _l("Matching runs only while the round is assigning experts."),
    "round_without_applications": _l("The round has no applications to assign experts to."),
    "no_experts": _l("No experts are registered: import experts before matching."),
    "matching_under_way": _l("A matching run of this round with other settings is under way: wait for it to "
                             "finish, then start yours."),
    "import_refused": _l("The import was refused: nothing was imported. The errors are listed one by one."),
    "input_gone": _l("The records sent for this import are no longer in the file store; send them again."),
    "matching_too_large": _l("The round needs more memory than this worker may use: run it on a worker with more "
                             "memory."),
}
MEMORY_REFUSAL = _l("The round is too large for this machine's memory limit: nothing was computed.")
"""The label of ``matching_too_large`` on a job other than a matching run (the stored context, a ranking, the
signed sheets): the web's own pages hold the same limit, so no worker with more memory is suggested; the job's
outcome lists the sentence with the figures."""
COUNTED_IN_PAGES = ("sheets_pdf", "blank_pdf")
"""Kinds whose progress counts pages (the others count steps or records)."""


def step_label(step: str, kind: str | None = None) -> str:
    """The label of a step code; ``pricing:N`` is the solver's N-th pricing round; a finished job of a kind
    that counts no pages is simply done."""
    code, _separator, number = step.partition(":")
    if code == "pricing":
        return str(PRICING_LABEL) % {"number": number}
    if code == "finished" and kind not in COUNTED_IN_PAGES:
        return str(STATE_LABELS["done"])
    return str(STEP_LABELS.get(code, code))


def progress_text(job, step: str) -> str:
    """``done`` of ``total`` in words: pages of a PDF, steps of a matching run, records of an import."""
    if job.kind == "matching":
        return _("step %(done)s of %(total)s: %(step)s", done=job.done + 1 if job.state == "running" else job.done,
                 total=job.total, step=step)
    if job.kind == "import":
        return _("%(step)s: %(done)s / %(total)s", step=step, done=job.done, total=job.total)
    return _("preparing… %(done)s / %(total)s %(step)s", done=job.done, total=job.total, step=step)


def error_sentence(code: str | None, kind: str = "matching") -> str | None:
    """The sentence of an error code of a job of ``kind`` in the reader's language (an unknown code is shown as it
    is; a memory refusal of any work but a matching run reads :data:`MEMORY_REFUSAL`)."""
    if code == "matching_too_large" and kind != "matching":
        return str(MEMORY_REFUSAL)
    return str(ERROR_LABELS.get(code, code)) if code else None


def timing_rows(outcome: dict | None) -> list[tuple[str, float]]:
    """A finished matching job's seconds per step, each with its label, in the order they ran (a JSONB column
    would not keep the stored order)."""
    timing = (outcome or {}).get("timing") or {}
    order = [key for key in TIMING_LABELS if key in timing] + [key for key in timing if key not in TIMING_LABELS]
    return [(str(TIMING_LABELS.get(key, key)), timing[key]) for key in order]


def queue_notice(job) -> str | None:
    """For a job waiting on a queue that no worker takes: how long none has, and the command the operator should
    start (the organizer is not left watching a bar that never moves); None otherwise."""
    silence = queue_silence(job)
    if silence is None:
        return None
    if silence.minutes is None:
        return _("No worker heartbeat was ever recorded for the %(queue)s queue: this job waits until a worker "
                 "takes it. Ask the operator to start one: panel worker --queue %(queue)s", queue=silence.queue)
    return _("No worker has taken the %(queue)s queue for %(minutes)s min: this job waits until one does. Ask the "
             "operator to start one: panel worker --queue %(queue)s", queue=silence.queue, minutes=silence.minutes)


def describe(job) -> dict:
    """The job as the page and the JSON view show it (sentences in the reader's language)."""
    step = step_label(job.step, job.kind)
    return {
        "id": job.id,
        "kind": job.kind,
        "kind_label": str(KIND_LABELS.get(job.kind, job.kind)),
        "state": job.state,
        "state_label": str(STATE_LABELS[job.state]),
        "step_label": step,
        "done": job.done,
        "total": job.total,
        "progress_text": progress_text(job, step),
        "error": error_sentence(job.error, job.kind),
        "finished": job.finished,
        "notice": queue_notice(job),
    }
