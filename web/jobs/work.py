"""What each kind of job does: build its result, report progress, return the stored file's name.

Each function is idempotent: it writes one file under the job's own name (web/jobs/files.py), so a retried
job replaces its result. Step codes (``ranking``, ``pages``…) have their labels in web/blueprints/jobs/labels.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from matching.assign import PHASES
from web.extensions import db
from web.io.pdf import blank_sheets_pdf, score_sheets_page_estimate, score_sheets_pdf
from web.jobs import files, imports
from web.jobs.runner import JobFailed, Progress
from web.jobs.uploads import forget_upload, records_upload
from web.models import Job, Round
from web.services import panels
from web.services.stored_ranking import ensure_current, ranking_for_view


def sheets_pdf(job: Job, progress: Progress) -> str:
    """The whole round's signed score sheets: the ranking first, then page by page. A round too large to rank
    here fails at once, for good, as the ranking job does."""
    round_ = _round(job)
    progress.start("ranking", 1)
    try:
        ensure_current(round_)
    except panels.PanelError as refusal:
        raise ranking_refused(refusal) from None
    db.session.commit()                     # the stored ranking is a result of its own; progress writes follow
    report = ranking_for_view(round_).report
    progress.start("pages", score_sheets_page_estimate(report))
    content = score_sheets_pdf(report, on_page=progress.advance)
    return _store(job, f"sheets-{round_.id}.pdf", content)


def blank_pdf(job: Job, progress: Progress) -> str:
    """Blank sheets for an offline meeting: one page per application."""
    round_ = _round(job)
    progress.start("pages", max(1, len(round_.applications)))
    content = blank_sheets_pdf(round_, on_page=progress.advance)
    return _store(job, f"blank-{round_.id}.pdf", content)


def ranking_job(job: Job, progress: Progress) -> None:
    """Recompute and store the round's ranking (no file: the pages read the stored result).

    A round whose conflicts would pass the memory limit fails at once, for good, as a matching run does
    (``matching_too_large``, the figures and the ranking's sentence on the job's outcome)."""
    from web.services.stored_ranking import options_from, recompute

    progress.start("inputs", 1)
    try:
        recompute(_round(job), options_from(job.params or {}), progress)
    except panels.PanelError as refusal:
        raise ranking_refused(refusal) from None
    return None


def ranking_refused(refusal: panels.PanelError) -> JobFailed:
    """A ranking refused over the memory limit as its job's failure for good (not retried): ``matching_too_large``
    with the figures and the ranking's sentence."""
    from web.services.ranking import memory_refused

    return JobFailed(refusal.code, {**refusal.details, "errors": list(memory_refused(refusal.details).errors)})


MATCHING_STEPS = ("loading", *PHASES)
"""A matching run's steps: reading the round, then the engine's phases (n of N on the progress bar)."""


def matching_job(job: Job, progress: Progress) -> None:
    """A matching run stored as a new version; the version's number and verdict, the seconds each step took
    and the engine's ``input_hash`` go on the job's outcome (to see where a large run spent its time, and to
    check that a replay with ``panel match --seed`` solves the same problem).

    The version is flushed, not committed: the runner commits it with the job's end, so a worker killed
    mid-run leaves nothing and its retry stores the one version (same seed: drawn when the run was asked for).
    The last progress report comes before the version is written (SQLite has one writer at a time).
    """
    round_ = _round(job)
    params = job.params or {}
    clock = RunClock()
    progress.report("loading", 0, len(MATCHING_STEPS))
    try:
        run = panels.match(round_, actor=job.requested_by, seed=params.get("drawn_seed"),
                           max_probability=params.get("max_probability"),
                           progress=_engine_progress(progress, clock))
    except panels.PanelError as refusal:
        raise JobFailed(refusal.code or "unexpected", refusal.details) from None
    version = run.version
    job.outcome = {"version": version.number, "active": version.active, "status": version.status,
                   "diagnostics": list(version.diagnostics or []), "seed": version.seed,
                   "input_hash": run.result.input_hash, "timing": clock.timing(run.result.timing)}
    return None


class RunClock:
    """When a matching job began and when the engine first reported, to split the run's seconds into reading
    the round, the engine's own phases, and the rest (storing the version)."""

    def __init__(self):
        self.started = time.perf_counter()
        self.engine_started: float | None = None

    def engine_reported(self) -> None:
        """The engine reported a phase (only the first report counts)."""
        if self.engine_started is None:
            self.engine_started = time.perf_counter()

    def timing(self, engine: dict[str, float]) -> dict[str, float]:
        """Seconds per step, in order: ``loading``, the engine's phases (its ``timing``), ``storing`` (what
        neither covers: the version written, progress reports) and ``total``."""
        total = time.perf_counter() - self.started
        loading = (self.engine_started or self.started) - self.started
        storing = max(0.0, total - loading - sum(engine.values()))
        return {key: round(seconds, 3) for key, seconds in
                {"loading": loading, **engine, "storing": storing, "total": total}.items()}


def _engine_progress(progress: Progress, clock: RunClock) -> Callable[[str, int], None]:
    """The engine's phase and pricing-round reports as the job's steps."""
    total = len(MATCHING_STEPS)

    def report(step: str, number: int) -> None:
        clock.engine_reported()
        if step == "pricing":
            progress.report(f"pricing:{number}", MATCHING_STEPS.index("solve"), total)
        else:
            progress.report(step, MATCHING_STEPS.index(step), total)

    return report


def panel_context_job(job: Job, progress: Progress) -> None:
    """Recompute and store the round's matching context (no file: the panel pages read the stored context).

    A round whose stored context would pass the memory limit fails at once, for good, as a matching run does
    (``matching_too_large``, the figures on the job's outcome), instead of a worker killed mid-build."""
    from web.services.stored_context import recompute

    progress.start("inputs", 1)
    try:
        recompute(_round(job), progress)
    except panels.PanelError as refusal:
        raise JobFailed(refusal.code or "unexpected", refusal.details) from None
    return None


def _round(job: Job) -> Round:
    round_ = db.session.get(Round, job.round_id) if job.round_id else None
    if round_ is None:
        raise JobFailed("round_gone")
    return round_


def _store(job: Job, filename: str, content: bytes) -> str:
    name = files.job_result_name(job.id, filename)
    files.write(name, content)
    return name


WORK: dict[str, Callable[[Job, Progress], str | None]] = {
    "sheets_pdf": sheets_pdf,
    "blank_pdf": blank_pdf,
    "ranking": ranking_job,
    "records_upload": records_upload,
    "matching": matching_job,
    "import": imports.import_job,
    "panel_context": panel_context_job,
}
"""The work of every job kind."""

FORGET_INPUT: dict[str, Callable[[Job], None]] = {
    "import": imports.forget_input,
    "records_upload": forget_upload,
}
"""How a kind that consumes a stored input (personal data, not kept) deletes it once its job has ended for good:
done, refused, or failed on its last attempt (``runner.run_claimed``, right after that end's commit), and again every
minute for a day after any end, a job failed because its worker died on every attempt included
(``requeue_stalled``, ``runner.recently_ended``); ``runner.forget_input`` calls it."""
