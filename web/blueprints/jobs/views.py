"""The views of the jobs area: a round's jobs, one job's progress (HTML and JSON) and its download."""

from __future__ import annotations

from flask import abort, jsonify, render_template, send_file, url_for
from flask_babel import gettext as _

from web.auth.roles import roles_required
from web.extensions import db
from web.io import problems
from web.jobs import files
from web.jobs.queue import queue_of
from web.models import Job, Round
from web.services.jobs import readable_heartbeats, round_jobs
from web.services.matching_runs import replay_command

from . import bp
from .labels import describe, timing_rows

STAFF = ("organizer", "admin")
REFRESH_SECONDS = 2
MIMETYPES = {".pdf": "application/pdf", ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


RECORD_LISTS = {"applications": "records.applications", "experts": "records.experts"}


def job_or_404(job_id: int) -> Job:
    """The job with ``job_id``, or 404."""
    return db.session.get(Job, job_id) or abort(404)


@bp.route("/rounds/<int:round_id>")
@roles_required(*STAFF)
def round_page(round_id: int):
    """Every job of the round with its state and progress (refreshes while one is unfinished)."""
    round_ = db.session.get(Round, round_id) or abort(404)
    jobs = round_jobs(round_.id)
    return render_template("jobs/round.html", round=round_,
                           jobs=[(job, describe(job), result_link(job)) for job in jobs],
                           refresh=REFRESH_SECONDS if any(not job.finished for job in jobs) else None)


@bp.route("/<int:job_id>")
@roles_required(*STAFF)
def job_page(job_id: int):
    """One job's progress bar; the page refreshes itself until the job is finished, then offers the file."""
    job = job_or_404(job_id)
    errors = [problems.record_line(line) for line in (job.outcome or {}).get("errors") or ()]
    return render_template("jobs/job.html", job=job, info=describe(job), result=result_link(job), errors=errors,
                           timing=timing_rows(job.outcome), replay=replay(job),
                           refresh=None if job.finished else REFRESH_SECONDS)


def replay(job: Job) -> str | None:
    """The ``panel match`` command that solves a finished matching job's problem again without storing it (its
    result's ``input_hash`` equals the job's while the round's records and settings are unchanged)."""
    outcome = job.outcome or {}
    if job.kind != "matching" or "input_hash" not in outcome:
        return None
    return replay_command(job.round_id, outcome.get("seed"), (job.params or {}).get("max_probability"))


@bp.route("/<int:job_id>.json")
@roles_required(*STAFF)
def job_status(job_id: int):
    """The job's state and progress for the page's script; ``download`` once there is a file; the job's queue and
    each queue's last consumer heartbeat (UTC; null when no worker ever took it), for an operator (null in all while
    the queue's storage cannot be read)."""
    job = job_or_404(job_id)
    info = describe(job)
    info["download"] = url_for("jobs.download", job_id=job.id) if job.state == "done" and job.result_path else None
    info["download_label"] = _("Download")
    info["result_url"], info["result_label"] = result_link(job)
    info["queue"] = queue_of(job.kind)
    beats = readable_heartbeats()
    info["queue_heartbeats"] = None if beats is None else {name: beat and beat.isoformat() + "Z"
                                                           for name, beat in beats.items()}
    return jsonify(info)


def result_link(job: Job) -> tuple[str | None, str | None]:
    """Where a finished job's result is shown when it is not a file (a matching run's version, the records a
    confirmed upload registered), and the link's words; (None, None) otherwise."""
    outcome = job.outcome or {}
    if job.state != "done":
        return None, None
    if job.kind == "matching" and "version" in outcome:
        return (url_for("rounds.version", round_id=job.round_id, number=outcome["version"]),
                _("Open version %(number)s", number=outcome["version"]))
    if job.kind == "records_upload" and (job.params or {}).get("kind") in RECORD_LISTS:
        return url_for(RECORD_LISTS[job.params["kind"]]), _("Show the registered records")
    return None, None


@bp.route("/<int:job_id>/download")
@roles_required(*STAFF)
def download(job_id: int):
    """The job's result file (404 until it is done)."""
    job = job_or_404(job_id)
    if job.state != "done" or not job.result_path:
        abort(404)
    path = files.path_of(job.result_path)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=MIMETYPES.get(path.suffix, "application/octet-stream"), as_attachment=True,
                     download_name=path.name)
