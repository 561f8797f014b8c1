"""Starting a matching run from the web: inline when it is small, else a job; one run per round at a time.

A run estimated to take under two seconds (:func:`runs_inline`, the rule and its figures in docs/jobs.md) is
done inside the request, as before. Any other run is a ``matching`` job: the request answers at once and the
organizer watches its progress. While a round's run is queued or running, asking again with the same
settings joins it, and asking with other settings is refused: two runs of one round at once would race for
the active version.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from web.database import lock_row
from web.models import Job, Round, User
from web.services import panels
from web.services.jobs import request_job, unfinished_jobs

KIND = "matching"
COMMAND = "match"
"""``panel match``, the command that runs the matcher from a shell (web/commands/matching.py)."""
OPTIONS = {"round_ref": "--round", "seed": "--seed", "max_probability": "--max-probability", "dry_run": "--dry-run",
           "as_json": "--json"}
"""``panel match``'s options by parameter name: the command declares them from here and :func:`replay_command`
spells them from here, so the job page's command line and the command cannot drift apart."""


@dataclass
class Started:
    """What asking for a run gave: the inline run, or the job that does it."""

    run: panels.MatchRun | None = None
    job: Job | None = None


def start_matching(round_: Round, *, actor: User | None, seed: int | None = None,
                   max_probability: float | None = None) -> Started:
    """Run the matcher now when the run is small, else ask for a matching job (or join the one under way).

    Refused with a :class:`~web.services.panels.PanelError` carrying a code (its sentence is in the catalog,
    web/blueprints/jobs/labels.py) before anything changes.
    """
    lock_row(Round, round_.id)                   # one request at a time decides about this round's runs
    experts = panels.check_matching(round_)      # under the lock: what an inline run solves is what was checked
    asked = {"seed": seed, "max_probability": max_probability}
    for job in unfinished_jobs(KIND, round_):
        if {key: job.params.get(key) for key in asked} == asked:
            return Started(job=job)
        raise panels.PanelError(_("A matching run of this round with other settings is under way: wait for it to "
                                  "finish, then start yours."), "matching_under_way")
    drawn = panels.run_seed(round_, seed, max_probability)
    if runs_inline(round_, experts):
        return Started(run=panels.match(round_, actor=actor, seed=drawn, max_probability=max_probability,
                                        experts=experts))
    return Started(job=request_job(KIND, round_=round_, actor=actor, params={**asked, "drawn_seed": drawn}))


def runs_inline(round_: Round, experts: int) -> bool:
    """Whether a run of ``round_`` with ``experts`` registered experts (:func:`panels.check_matching`'s count) is
    expected under two seconds: individual mode, the ``total`` objective (randomized or not), and at most
    PANEL_MATCHING_INLINE_PAIRS expert–application pairs. Meeting mode and the ``fair`` objective solve MIPs whose
    time the size does not predict (up to 300 s and 60 s per MIP)."""
    if round_.mode != "individual" or round_.objective == "fair":
        return False
    return experts * len(round_.round_applications) <= current_app.config["PANEL_MATCHING_INLINE_PAIRS"]


def replay_command(round_id: int, seed: int | None, max_probability: float | None) -> str:
    """The ``panel match`` command that solves round ``round_id``'s problem again with ``seed`` and
    ``max_probability`` and stores nothing, printing the result as JSON (its ``input_hash`` among it): a matching
    job's page shows it."""
    words = [f"panel {COMMAND}", f"{OPTIONS['round_ref']} {round_id}"]
    if seed is not None:
        words.append(f"{OPTIONS['seed']} {seed}")
    if max_probability is not None:
        words.append(f"{OPTIONS['max_probability']} {max_probability}")
    return " ".join([*words, OPTIONS["dry_run"], OPTIONS["as_json"]])
