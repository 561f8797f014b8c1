"""Expert panels of a round: matching runs stored as assignment versions, manual edits, undo and replacements.

Every solver run and every manual edit is a new :class:`AssignmentVersion`; exactly one feasible version per round
is active, and restoring an earlier one is the undo. A manual edit is checked against the same rules the solver
keeps (conflicts, pool quotas, panel size, load cap, organization limit) and refused with the reason in plain words,
nothing changed. A replacement from the reserves (an expert declined or recused) changes the active version in
place: the new seat points at the old one and nobody else moves.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from matching.assign import AssignResult, Context, assign
from matching.assign import Progress as EngineProgress
from matching.conflicts import RULES
from matching.explain import explain
from matching.instance import Panels
from matching.reserves import replacement_mask
from matching.types import HARD, Conflict
from web.database import lock_row
from web.extensions import db
from web.labels import label, setting_error
from web.models import (
    LARGEST_INTEGER,
    Application,
    Assignment,
    AssignmentVersion,
    Expert,
    Reserve,
    Round,
    User,
    utcnow,
)
from web.services import audit, matching_bridge
from web.services.outbox import MAIL_LOCALE

SEATED = ("proposed", "invited", "accepted")
"""States of an assignment that hold a seat on the panel."""

LEFT = ("declined", "recused")
"""States of a member who left the panel and may be replaced from the reserves."""

MATCHING_STATES = ("assigning",)
"""Matching runs and version restores happen only while the round is assigning."""

EDITING_STATES = ("assigning", "scoring")
"""Manual panel edits and replacements are possible while assigning and while scoring."""


def seed_error(seed: int | None) -> str | None:
    """Why ``seed`` cannot seed one run, naming the setting (None when it can): the draw's generator takes no
    negative seed, and the version's integer column holds none above :data:`LARGEST_INTEGER`."""
    if seed is not None and seed < 0:
        return setting_error("seed", _("must be empty or a whole number of at least %(low)s, not “%(value)s”",
                                       low=0, value=seed))
    if seed is not None and seed > LARGEST_INTEGER:
        return setting_error("seed", _("must be at most %(high)s, not “%(value)s”", high=LARGEST_INTEGER, value=seed))
    return None


class PanelError(ValueError):
    """A refused panel operation; the message (in the reader's language) says which rule and why, and nothing was
    changed. Several broken rules are joined by "；".

    ``code`` names the refusal of a matching run for the jobs that show it again from the catalog (see
    :data:`MATCHING_REFUSALS`); ``details``, the figures a job keeps on its outcome (a memory refusal's).
    """

    def __init__(self, message: str, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.details = details


MATCHING_REFUSALS = ("round_not_assigning", "round_without_applications", "no_experts", matching_bridge.TOO_LARGE)
"""The codes of the refusals of a matching run, checked before anything is built."""


@dataclass
class MatchRun:
    """A matching run: the stored (or, for a dry run, unsaved) version and the engine's full result."""

    version: AssignmentVersion
    result: AssignResult


# ---------------------------------------------------------------- reading

def active_version(round_: Round) -> AssignmentVersion | None:
    """The round's active assignment version, if matching has run successfully."""
    return db.session.scalar(select(AssignmentVersion).where(AssignmentVersion.round_id == round_.id,
                                                             AssignmentVersion.active))


def versions(round_: Round) -> list[AssignmentVersion]:
    """Every stored version of the round, newest first."""
    return db.session.scalars(select(AssignmentVersion).where(AssignmentVersion.round_id == round_.id)
                              .order_by(AssignmentVersion.number.desc())).all()


def seat_changes(current: AssignmentVersion | None, target: AssignmentVersion) -> tuple[list[Assignment],
                                                                                      list[Assignment]]:
    """The seats restoring ``target`` would add and those it would take away, compared with ``current``."""
    def seated(version: AssignmentVersion | None) -> dict[tuple[int, int], Assignment]:
        rows = version.assignments if version is not None else []
        return {(row.application_id, row.expert_id): row for row in rows if row.state in SEATED}

    before, after = seated(current), seated(target)
    return ([row for key, row in after.items() if key not in before],
            [row for key, row in before.items() if key not in after])


def version_by_number(round_: Round, number: int) -> AssignmentVersion | None:
    """Version ``number`` of the round."""
    return db.session.scalar(select(AssignmentVersion).where(AssignmentVersion.round_id == round_.id,
                                                             AssignmentVersion.number == number))


def seats(round_: Round, application: Application | None = None) -> list[Assignment]:
    """The active version's seats (proposed, invited or accepted), of one application or of all."""
    version = active_version(round_)
    if version is None:
        return []
    return [row for row in version.assignments
            if row.state in SEATED and (application is None or row.application_id == application.id)]


def reserves_of(version: AssignmentVersion, application: Application) -> list[Reserve]:
    """The version's ranked reserves of one application, less those who hold or held a seat on it since."""
    had_seat = {row.expert_id for row in version.assignments if row.application_id == application.id}
    return [row for row in version.reserves if row.application_id == application.id and row.expert_id not in had_seat]


def explanation(round_: Round, application: Application, context: Context | None = None) -> dict:
    """The engine's explanation of one panel of the active version: ``binding`` rules per expert ref and
    ``not_chosen`` sentences about better-fitting experts left out.

    ``context`` is the round's matching context (the stored one: web/services/stored_context.py); built afresh
    when not given (refused over the memory limit: :func:`round_context`). A stale context from before the
    application joined the round explains nothing yet.
    """
    version = active_version(round_)
    if version is None:
        return {"binding": {}, "not_chosen": []}
    context = context or round_context(round_)
    a = context.problem.application_index.get(application.ref)
    if a is None:
        return {"binding": {}, "not_chosen": []}
    rows = _version_rows(version)
    seated = assigned_panels(context, [(row.expert_ref, row.application_ref) for row in rows
                                       if row.state in SEATED])
    (panel,) = explain(context.instance, seated, context.labels, exclusions=context.exclusions,
                       withdrawn=_departed(context, rows, a), applications=[a])
    return {"binding": {context.labels.experts[m.expert]: m.binding for m in panel.members},
            "not_chosen": panel.not_chosen}


def _version_rows(version: AssignmentVersion) -> list:
    """The version's rows as the explanation reads them: state, state reason, expert and application refs (one
    query; the page's ORM rows are not needed for this)."""
    return db.session.execute(
        select(Assignment.state, Assignment.state_reason, Expert.ref.label("expert_ref"),
               Application.ref.label("application_ref"))
        .join(Expert, Assignment.expert_id == Expert.id).join(Application, Assignment.application_id == Application.id)
        .where(Assignment.version_id == version.id)).all()


DEPARTED = ("declined", "recused", "replaced")


def _departed(context: Context, rows: list, a: int) -> dict[tuple[int, int], str]:
    """Members who declined, recused or were swapped out of application ``a`` (among the version's ``rows``), with
    why, so the explanation names why they left rather than calling them 'not chosen'."""
    departed: dict[tuple[int, int], str] = {}
    for row in rows:
        e = context.problem.expert_index.get(row.expert_ref)
        if row.state in DEPARTED and e is not None and context.problem.application_index.get(row.application_ref) == a:
            departed[(e, a)] = label(row.state, "seat_state") + (f"（{row.state_reason}）" if row.state_reason else "")
    return departed


# ---------------------------------------------------------------- matching runs

def run_matching(round_: Round, *, actor: User | None, seed: int | None = None,
                 max_probability: float | None = None, dry_run: bool = False) -> AssignmentVersion:
    """Run the matcher with the round's settings and store the result as a new version (active when feasible)."""
    return match(round_, actor=actor, seed=seed, max_probability=max_probability, dry_run=dry_run).version


def check_matching(round_: Round) -> int:
    """Refuse (PanelError with a code of :data:`MATCHING_REFUSALS`) a run the round cannot have now; else the
    number of registered experts (counted once a run: :func:`check_memory` takes it)."""
    if round_.state not in MATCHING_STATES:
        raise PanelError(_("Round “%(round)s” is %(state)s: matching runs only while the round is assigning.",
                           round=round_.name, state=label(round_.state, "round_state")), "round_not_assigning")
    if not round_.round_applications:
        raise PanelError(_("Round “%(round)s” has no applications to assign.", round=round_.name),
                         "round_without_applications")
    experts = db.session.scalar(select(func.count(Expert.id)))
    if experts == 0:
        raise PanelError(_("No experts are registered: import experts before matching."), "no_experts")
    return experts


def check_memory(round_: Round, work: str = matching_bridge.MATCHING, *, max_probability: float | None = None,
                 experts: int | None = None, limit: int | None = None) -> None:
    """Refuse (PanelError ``matching_too_large``, its sentence giving the figures, its ``details`` those of
    :func:`matching_bridge.memory_refusal`, which a job keeps on its outcome) ``work`` on the round (one of
    :data:`matching_bridge.ESTIMATES`) whose estimated peak memory passes PANEL_MATCHING_MEMORY, before the round
    is read and before anything changes: every path that builds the round's matrices through the engine is held
    to the limit — a matching run (in the request, ``panel match`` or a job), the stored context (its job, inline,
    the panel page reading it), panel edits, replacements and swaps from the reserves, explanations and the
    conflicts list. ``experts``: the experts when the caller counted them already. ``limit``: the bytes to hold
    the work to instead (a ranking's, :func:`web.services.ranking.memory_limit`, which is None only when
    PANEL_MATCHING_MEMORY is)."""
    limit = current_app.config["PANEL_MATCHING_MEMORY"] if limit is None else limit
    refusal = matching_bridge.memory_refusal(round_, limit, work=work, max_probability=max_probability,
                                             experts=experts)
    if refusal is not None:
        raise PanelError(refusal["errors"][0], matching_bridge.TOO_LARGE, refusal)


def round_context(round_: Round) -> Context:
    """The engine's context of the round (:func:`matching_bridge.round_context`), refused by :func:`check_memory`
    when building it would pass the memory limit."""
    check_memory(round_, matching_bridge.CONTEXT)
    return matching_bridge.round_context(round_)


def round_conflicts(round_: Round, *, limit: int | None = None) -> list:
    """Every conflict the matching engine finds for the round today, written with its reason (hundreds of bytes
    each: :func:`matching_bridge.round_conflicts`), refused by :func:`check_memory` when listing them would pass
    ``limit`` (None: the matching limit, as for the conflicts page; the ranking passes its own)."""
    check_memory(round_, matching_bridge.CONFLICTS, limit=limit)
    return matching_bridge.round_conflicts(round_)


def run_seed(round_: Round, seed: int | None, max_probability: float | None) -> int | None:
    """The seed a run uses: the one given; for a randomized run without one and a round without its own, a
    fresh random seed (a job draws it when the run is asked for, so its retry draws the same panels)."""
    randomized = max_probability is not None or round_.max_probability is not None
    if randomized and seed is None and round_.seed is None:
        return secrets.randbelow(LARGEST_INTEGER)
    return seed


def match(round_: Round, *, actor: User | None, seed: int | None = None, max_probability: float | None = None,
          dry_run: bool = False, progress: EngineProgress | None = None, experts: int | None = None) -> MatchRun:
    """:func:`run_matching` returning the engine's result too (timing, conflicts, probabilities) for the CLI.

    ``progress`` is passed to the engine (:data:`matching.assign.Progress`: its phases and pricing rounds).
    ``experts``: :func:`check_matching`'s count when the caller checked the round already in this transaction
    (a run in the request), so the experts are counted once a run there as in a job.
    """
    check_memory(round_, max_probability=max_probability,
                 experts=check_matching(round_) if experts is None else experts)
    seed = run_seed(round_, seed, max_probability)
    problem = matching_bridge.build_problem(round_, seed=seed, max_probability=max_probability)
    result = assign(problem, now=utcnow(), progress=progress)
    if not dry_run:
        _recheck_under_lock(round_)
    version = _version_from_result(round_, problem, result, actor)
    if dry_run:
        return MatchRun(version, result)
    if version.active:
        _deactivate_others(round_)
    db.session.add(version)
    db.session.flush()
    audit.record("assignment.run", "assignment_version", version.id, actor=actor, after={
        "round": round_.id, "number": version.number, "status": version.status, "seed": version.seed,
        "objective": version.objective, "bound": version.bound, "active": version.active})
    db.session.flush()
    return MatchRun(version, result)


def _recheck_under_lock(round_: Round) -> None:
    """Check again, holding the round's row, that the round may still take a run: the solve can take minutes, and
    scoring may have started meanwhile; its panels must not be replaced."""
    lock_row(Round, round_.id)
    db.session.refresh(round_)
    check_matching(round_)


def _version_status(result: AssignResult, feasible: bool) -> str:
    """What the page says of a run: optimal only when the engine proved it; panels that keep every rule with a gap
    to the bound (a meeting or fair run not proven, a solve stopped at a limit) are feasible."""
    if not feasible:
        return "infeasible"
    return "optimal" if result.status == "optimal" else "feasible"


def _version_from_result(round_: Round, problem, result: AssignResult, actor: User | None) -> AssignmentVersion:
    """An unsaved version holding the result's seats, meeting recusals and reserves."""
    feasible = result.status != "infeasible" and bool(result.assignments)
    version = AssignmentVersion(
        round_id=round_.id, number=_next_number(round_), seed=result.seed,
        settings=matching_bridge.settings_snapshot(problem.settings), objective=result.objective,
        bound=result.bound, status=_version_status(result, feasible), diagnostics=list(result.diagnostics),
        active=feasible, created_by_id=actor.id if actor is not None else None, created_at=utcnow())
    if not feasible:
        return version
    experts = {row.ref: row for row in db.session.scalars(select(Expert))}
    applications = {application.ref: application for application in round_.applications}
    panel_of = {ref: int(panel["panel"].lstrip("P")) for panel in result.panels for ref in panel["applications"]}
    for entry in result.assignments:
        application = applications[entry["application"]]
        for member in entry["experts"]:
            version.assignments.append(Assignment(
                application=application, expert=experts[member["expert"]], pool=member["pool"], fit=member["fit"],
                field_fit=member["field_fit"], text_fit=member["text_fit"], state="proposed",
                panel=panel_of.get(application.ref)))
    for panel in result.panels:
        for recusal in panel["recusals"]:
            expert = experts[recusal["expert"]]
            version.assignments.append(Assignment(
                application=applications[recusal["application"]], expert=expert, pool=expert.pool,
                state="recused", panel=panel_of.get(recusal["application"]),
                state_reason=f"{_stored_label(recusal['rule'], 'rule')}：{recusal['reason']}"))
    fit = _fit_lookup(problem, result)
    for application_ref, refs in result.reserves.items():
        for rank, ref in enumerate(refs, start=1):
            version.reserves.append(Reserve(application=applications[application_ref], expert=experts[ref],
                                            rank=rank, fit=fit.get((ref, application_ref))))
    return version


def _stored_label(code: str, kind: str) -> str:
    """The label of ``code`` as stored on a seat: in the service's language (Chinese), not the reader's, since
    everyone reads the stored reason later."""
    with force_locale(MAIL_LOCALE):
        return str(label(code, kind))


def _fit_lookup(problem, result: AssignResult) -> dict[tuple[str, str], float]:
    """Fit of the reserve pairs (the result lists reserves by ref only)."""
    wanted = {(ref, application) for application, refs in result.reserves.items() for ref in refs}
    if not wanted:
        return {}
    from matching.affinity import compute_fit

    matrix = compute_fit(problem)
    return {(e, a): round(float(matrix.fit[problem.expert_index[e], problem.application_index[a]]), 6)
            for e, a in wanted}


def _next_number(round_: Round) -> int:
    highest = db.session.scalar(select(func.max(AssignmentVersion.number))
                                .where(AssignmentVersion.round_id == round_.id))
    return (highest or 0) + 1


def _deactivate_others(round_: Round) -> None:
    for other in db.session.scalars(select(AssignmentVersion).where(AssignmentVersion.round_id == round_.id,
                                                                    AssignmentVersion.active)):
        other.active = False
    db.session.flush()


def restore_version(version: AssignmentVersion, *, actor: User | None, confirmed: bool) -> AssignmentVersion:
    """Make an earlier feasible version the active one again (undo); its seats come back exactly. Refused unless
    confirmed: every panel that differs changes at once."""
    if not confirmed:
        raise PanelError(_("Nothing was changed: restoring a version needs your confirmation on its "
                                   "confirmation page."))
    round_ = version.round
    if round_.state not in MATCHING_STATES:
        raise PanelError(_("Round “%(round)s” is %(state)s: versions are restored only while the round is "
                           "assigning.", round=round_.name, state=label(round_.state, "round_state")))
    if version.status == "infeasible":
        raise PanelError(_("Version %(number)s found no feasible assignment; there is nothing to restore.",
                           number=version.number))
    previous = active_version(round_)
    if previous is not None and previous.id == version.id:
        raise PanelError(_("Version %(number)s is already the active one.", number=version.number))
    _deactivate_others(round_)
    version.active = True
    audit.record("assignment.restore", "assignment_version", version.id, actor=actor,
                 before={"active": previous.number if previous else None}, after={"active": version.number})
    db.session.flush()
    return version


# ---------------------------------------------------------------- manual edits

def add_expert(round_: Round, application: Application, expert: Expert, *, actor: User | None,
               override_reason: str | None = None) -> Assignment:
    """Seat ``expert`` on ``application``'s panel in a new manual version (refused with PanelError)."""
    version = _editable_version(round_)
    _require_in_round(round_, application)
    context = round_context(round_)
    kept_reason = _check_change(context, version, application, expert, None, actor, override_reason)
    copy, _mapping = _manual_copy(version, actor, _("By hand: %(expert)s added to %(application)s",
                                                    expert=expert.ref, application=application.ref))
    seat = _new_seat(context, copy, application, expert, override_reason=kept_reason)
    _update_objective(copy)
    db.session.flush()
    audit.record("assignment.add", "assignment", seat.id, actor=actor, after=_seat_record(seat))
    db.session.flush()
    return seat


def remove_expert(assignment: Assignment, *, actor: User | None, reason: str) -> AssignmentVersion:
    """Take a member off a panel in a new manual version; the reason is required and audited."""
    reason = (reason or "").strip()
    if not reason:
        raise PanelError(_("Give a reason to remove an expert from a panel."))
    version = _editable_version(assignment.version.round)
    _require_seat_of(version, assignment)
    context = round_context(version.round)
    _check_change(context, version, assignment.application, None, assignment, actor, None)
    copy, mapping = _manual_copy(version, actor, _("By hand: %(expert)s removed from %(application)s: %(reason)s",
                                                   expert=assignment.expert.ref,
                                                   application=assignment.application.ref, reason=reason))
    copy.assignments.remove(mapping[assignment.id])
    _update_objective(copy)
    db.session.flush()
    audit.record("assignment.remove", "assignment", assignment.id, actor=actor, before=_seat_record(assignment),
                 after={"version": copy.number, "reason": reason})
    db.session.flush()
    return copy


def swap_expert(assignment: Assignment, new_expert: Expert, *, actor: User | None,
                override_reason: str | None = None, context: Context | None = None) -> Assignment:
    """Replace a member by ``new_expert`` in a new manual version, checked like the solver's assignment.

    ``context``: the round's context when the caller built it already (one context alive at a time, as the
    memory limit counts)."""
    version = _editable_version(assignment.version.round)
    _require_seat_of(version, assignment)
    context = context or round_context(version.round)
    kept_reason = _check_change(context, version, assignment.application, new_expert, assignment, actor,
                                override_reason)
    copy, mapping = _manual_copy(version, actor, _("By hand: %(old)s swapped for %(new)s on %(application)s",
                                                   old=assignment.expert.ref, new=new_expert.ref,
                                                   application=assignment.application.ref))
    old = mapping[assignment.id]
    with force_locale(MAIL_LOCALE):             # stored: in the service's language, whoever swaps
        old.state, old.state_reason = "replaced", _("swapped for %(expert)s", expert=new_expert.ref)
    seat = _new_seat(context, copy, assignment.application, new_expert, override_reason=kept_reason,
                     panel=assignment.panel, replaces=old)
    _update_objective(copy)
    db.session.flush()
    audit.record("assignment.swap", "assignment", seat.id, actor=actor, before=_seat_record(assignment),
                 after=_seat_record(seat))
    db.session.flush()
    return seat


def _editable_version(round_: Round) -> AssignmentVersion:
    if round_.state not in EDITING_STATES:
        raise PanelError(_("Round “%(round)s” is %(state)s: panels change only while the round is assigning or "
                           "scoring.", round=round_.name, state=label(round_.state, "round_state")))
    version = active_version(round_)
    if version is None:
        raise PanelError(_("Round “%(round)s” has no active assignment: run matching first.", round=round_.name))
    return version


def _require_in_round(round_: Round, application: Application) -> None:
    if application.id not in {link.application_id for link in round_.round_applications}:
        raise PanelError(_("Application %(application)s is not in round “%(round)s”.", application=application.ref,
                           round=round_.name))


def _require_seat_of(version: AssignmentVersion, assignment: Assignment) -> None:
    if assignment.version_id != version.id:
        raise PanelError(_other_version(assignment, version))
    if assignment.state not in SEATED:
        raise PanelError(_("Expert %(expert)s no longer holds a seat on %(application)s (%(state)s).",
                           expert=assignment.expert.ref, application=assignment.application.ref,
                           state=label(assignment.state, "seat_state")))


def _other_version(assignment: Assignment, version: AssignmentVersion) -> str:
    return _("This seat belongs to version %(number)s, not the active version %(active)s.",
             number=assignment.version.number, active=version.number)


def _check_change(context: Context, version: AssignmentVersion, application: Application, joining: Expert | None,
                  leaving: Assignment | None, actor: User | None, override_reason: str | None) -> str | None:
    """Refuse a panel change that breaks a rule; returns the accepted override reason for a conflicted pair."""
    problems = change_problems(context, version, application, joining, leaving)
    kept_reason = None
    if joining is not None:
        conflict_problem, kept_reason = _conflict_verdict(context, application, joining, actor, override_reason)
        if conflict_problem:
            problems.insert(0, conflict_problem)
    if problems:
        raise PanelError("；".join(problems))
    return kept_reason


def change_problems(context: Context, version: AssignmentVersion, application: Application, joining: Expert | None,
                    leaving: Assignment | None) -> list[str]:
    """Every panel rule (size, pool quotas, load cap, organization limit) the change would newly break."""
    instance, problem = context.instance, context.problem
    rows = [row for row in version.assignments if row.state in SEATED]
    panel = [row.expert.ref for row in rows if row.application_id == application.id]
    after = [ref for ref in panel if leaving is None or ref != leaving.expert.ref]
    problems = []
    if joining is not None:
        if joining.ref in panel:
            return [_("Expert %(expert)s is already on the panel of %(application)s.", expert=joining.ref,
                      application=application.ref)]
        earlier = next((row for row in version.assignments if row.application_id == application.id
                        and row.expert_id == joining.id), None)
        if earlier is not None:
            return [_("Expert %(expert)s was on the panel of %(application)s before (%(state)s) and cannot take a "
                      "seat there again.", expert=joining.ref, application=application.ref,
                      state=label(earlier.state, "seat_state"))]
        after.append(joining.ref)
        e = problem.expert_index[joining.ref]
        load = sum(1 for row in rows if row.expert_id == joining.id)
        if load + 1 > instance.load_cap[e]:
            problems.append(_("Expert %(expert)s already sits on %(load)s panels; the load cap is %(cap)s.",
                              expert=joining.ref, load=load, cap=int(instance.load_cap[e])))
    size = int(instance.panel_size[0])
    if len(after) > max(len(panel), size):
        problems.append(_("The panel of %(application)s is full (%(taken)s of %(size)s seats).",
                          application=application.ref, taken=len(panel), size=size))
    pool = instance.expert_pool
    before_counts = np.bincount([pool[problem.expert_index[ref]] for ref in panel], minlength=instance.n_pools)
    after_counts = np.bincount([pool[problem.expert_index[ref]] for ref in after], minlength=instance.n_pools)
    for p, (low, high) in enumerate(instance.pool_quotas):
        name = label(instance.pools[p], "pool")
        if after_counts[p] > high and after_counts[p] > before_counts[p]:
            problems.append(_("The panel of %(application)s would have %(count)s experts of the %(pool)s pool, above "
                              "the maximum of %(limit)s.", application=application.ref, count=int(after_counts[p]),
                              pool=name, limit=high))
        if after_counts[p] < low and after_counts[p] < before_counts[p]:
            problems.append(_("The panel of %(application)s would have %(count)s experts of the %(pool)s pool, below "
                              "the minimum of %(limit)s (swap the expert instead).", application=application.ref,
                              count=int(after_counts[p]), pool=name, limit=low))
    problems += _organization_problems(context, application, panel, after)
    return problems


def _organization_problems(context: Context, application: Application, panel: list[str],
                           after: list[str]) -> list[str]:
    instance, problem = context.instance, context.problem
    org_of = {ref: int(instance.expert_org[problem.expert_index[ref]]) for ref in panel + after}
    problems = []
    for org in {org_of[ref] for ref in after if org_of[ref] >= 0}:
        count_after = sum(1 for ref in after if org_of[ref] == org)
        count_before = sum(1 for ref in panel if org_of[ref] == org)
        if count_after > instance.max_per_org and count_after > count_before:
            members = [ref for ref in after if org_of[ref] == org]
            problems.append(_("The panel of %(application)s would have %(count)s experts of one organization "
                              "(%(experts)s), above the limit of %(limit)s.", application=application.ref,
                              count=count_after, experts="、".join(members), limit=instance.max_per_org))
    return problems


def _conflict_verdict(context: Context, application: Application, expert: Expert, actor: User | None,
                      override_reason: str | None) -> tuple[str | None, str | None]:
    """(why the pair is refused or None, the override reason kept on the seat or None)."""
    problem = context.problem
    e, a = problem.expert_index[expert.ref], problem.application_index[application.ref]
    if context.instance.allowed[e, a]:
        return None, None
    found = _pair_conflicts(context, e, a)
    reason = (override_reason or "").strip()
    if not found:
        return _("Expert %(expert)s cannot review %(application)s: %(reason)s", expert=expert.ref,
                 application=application.ref, reason=_excluded_because(context, e, a)), None
    described = "；".join(_("%(kind)s, %(rule)s: %(reason)s", kind=label(c.kind, "conflict_kind"),
                             rule=label(c.rule, "rule"), reason=c.reason) for c in found)
    if any(c.kind == HARD for c in found):
        if actor is None or actor.role != "admin":
            return _("Expert %(expert)s and %(application)s: %(conflicts)s. Only an administrator can override a "
                     "hard conflict, with a written reason.", expert=expert.ref, application=application.ref,
                     conflicts=described), None
        if not reason:
            return _("Expert %(expert)s and %(application)s: %(conflicts)s. An override needs a written reason.",
                     expert=expert.ref, application=application.ref, conflicts=described), None
        return None, reason
    if not reason:
        return _("Expert %(expert)s and %(application)s: %(conflicts)s. Accepting a soft conflict needs a reason.",
                 expert=expert.ref, application=application.ref, conflicts=described), None
    return None, reason


def _pair_conflicts(context: Context, e: int, a: int) -> list[Conflict]:
    """The conflicts of one pair with their reasons, found in the context's arrays: never every conflict written
    (``context.conflicts``: hundreds of bytes each, tens of millions at national scale)."""
    found = context.conflict_arrays
    rules = found.rules[(found.experts == e) & (found.applications == a)]
    return [context.reasons.conflict(e, a, RULES[rule]) for rule in rules.tolist()]


def _excluded_because(context: Context, e: int, a: int) -> str:
    """Why the matching context keeps expert ``e`` off application ``a`` (its own sentence, or a plain one)."""
    return context.exclusions.get((e, a)) or _("not allowed on this panel")


def _manual_copy(version: AssignmentVersion, actor: User | None,
                 note: str) -> tuple[AssignmentVersion, dict[int, Assignment]]:
    """A new active manual version copying ``version``'s rows; returns it and old seat id → copied seat."""
    round_ = version.round
    copy = AssignmentVersion(
        round_id=round_.id, number=_next_number(round_), seed=version.seed, settings=dict(version.settings or {}),
        objective=version.objective, bound=version.bound, status="manual",
        diagnostics=[*(version.diagnostics or []), note], active=False,
        created_by_id=actor.id if actor is not None else None, created_at=utcnow())
    mapping: dict[int, Assignment] = {}
    for row in version.assignments:
        mapping[row.id] = Assignment(
            application_id=row.application_id, expert_id=row.expert_id, pool=row.pool, fit=row.fit,
            field_fit=row.field_fit, text_fit=row.text_fit, state=row.state, manual=row.manual,
            override_reason=row.override_reason, panel=row.panel, state_reason=row.state_reason,
            invited_at=row.invited_at, responded_at=row.responded_at)
        copy.assignments.append(mapping[row.id])
    for row in version.reserves:
        copy.reserves.append(Reserve(application_id=row.application_id, expert_id=row.expert_id, rank=row.rank,
                                     fit=row.fit))
    db.session.add(copy)
    _deactivate_others(round_)
    copy.active = True
    db.session.flush()
    for row in version.assignments:
        if row.replaces_id in mapping:
            mapping[row.id].replaces_id = mapping[row.replaces_id].id
    _update_objective(copy)
    return copy, mapping


def _update_objective(version: AssignmentVersion) -> None:
    """A manual version's objective: the total fit of its seats (a solver version keeps the solver's figure)."""
    fits = [row.fit for row in version.assignments if row.state in SEATED and row.fit is not None]
    version.objective = round(float(sum(fits)), 6) if fits else None


def _new_seat(context: Context, version: AssignmentVersion, application: Application, expert: Expert, *,
              override_reason: str | None, panel: int | None = None, replaces: Assignment | None = None,
              manual: bool = True) -> Assignment:
    """A proposed seat with the engine's fit and its components."""
    problem, fit = context.problem, context.fit
    e, a = problem.expert_index[expert.ref], problem.application_index[application.ref]
    if panel is None:
        panel = next((row.panel for row in version.assignments if row.application_id == application.id), None)
    components = fit.components(np.array([e]), np.array([a]))      # this pair's only, never an E x A matrix
    field_fit, text_fit = (None, None) if components is None else (round(float(c[0]), 6) for c in components)
    seat = Assignment(
        application=application, expert=expert, pool=expert.pool, fit=round(float(fit.fit[e, a]), 6),
        field_fit=field_fit, text_fit=text_fit,
        state="proposed", manual=manual, override_reason=override_reason, panel=panel,
        replaces_id=replaces.id if replaces is not None else None)
    version.assignments.append(seat)
    return seat


def _seat_record(seat: Assignment) -> dict:
    return {"version": seat.version.number if seat.version else None, "application": seat.application.ref,
            "expert": seat.expert.ref, "pool": seat.pool, "state": seat.state, "fit": seat.fit,
            "override_reason": seat.override_reason, "replaces": seat.replaces_id}


# ---------------------------------------------------------------- replacement from the reserves

def replace_from_reserves(assignment: Assignment, *, actor: User | None) -> Assignment | None:
    """Give a declined or recused member's seat to the first reserve that keeps every rule; nobody else moves.

    A member still seated is marked declined first. Returns the new seat (``replaces_id`` = the old one), or None
    when no reserve fits (:func:`no_reserve_reason` says why).
    """
    version = _editable_version(assignment.version.round)
    if assignment.version_id != version.id:
        raise PanelError(_other_version(assignment, version))
    taken = db.session.scalar(select(Assignment).where(Assignment.replaces_id == assignment.id))
    if taken is not None:
        raise PanelError(_("Expert %(expert)s was already replaced by %(other)s.", expert=assignment.expert.ref,
                           other=taken.expert.ref))
    context = round_context(version.round)     # before the seat is freed: a refusal changes nothing
    if assignment.state in SEATED:
        before = assignment.state
        assignment.state = "declined"
        assignment.responded_at = assignment.responded_at or utcnow()
        audit.record("assignment.state", "assignment", assignment.id, actor=actor, before={"state": before},
                     after={"state": "declined"})
    chosen = next((reserve for reserve, problem in reserve_report(assignment, context) if problem is None), None)
    if chosen is None:
        db.session.flush()
        return None
    seat = _new_seat(context, version, assignment.application, chosen.expert, override_reason=None,
                     panel=assignment.panel, replaces=assignment, manual=False)
    db.session.flush()
    audit.record("assignment.replace", "assignment", seat.id, actor=actor, before=_seat_record(assignment),
                 after=_seat_record(seat))
    db.session.flush()
    return seat


def reserve_report(assignment: Assignment, context: Context | None = None) -> list[tuple[Reserve, str | None]]:
    """Each reserve of the seat's application with why it cannot take the seat (None: it can), in rank order.

    The decision is the engine's :func:`matching.reserves.replacement_mask` (allowed pair — no conflict of any
    kind —, load headroom, organization limit and pool quotas with everyone else staying put).
    """
    version = assignment.version
    context = context or round_context(version.round)
    problem = context.problem
    seated = [(row.expert.ref, row.application.ref) for row in version.assignments if row.state in SEATED]
    # the leaving member still counts until the seat is given away
    assigned = assigned_panels(context, [*seated, (assignment.expert.ref, assignment.application.ref)])
    e, a = problem.expert_index[assignment.expert.ref], problem.application_index[assignment.application.ref]
    fits = replacement_mask(context.instance, assigned, a, e)
    report = []
    for reserve in reserves_of(version, assignment.application):
        if fits[problem.expert_index[reserve.expert.ref]]:
            report.append((reserve, None))
        else:
            report.append((reserve, _why_not(context, version, assignment, reserve.expert)))
    return report


def no_reserve_reason(assignment: Assignment) -> str:
    """Why no reserve can take the seat, one clause per reserve."""
    report = reserve_report(assignment)
    if not report:
        return _("Application %(application)s has no reserves.", application=assignment.application.ref)
    return _("No reserve can take the seat: %(reasons)s",
             reasons="；".join(problem for _reserve, problem in report if problem))


def _why_not(context: Context, version: AssignmentVersion, assignment: Assignment, expert: Expert) -> str:
    problem = context.problem
    e, a = problem.expert_index[expert.ref], problem.application_index[assignment.application.ref]
    if not context.instance.allowed[e, a]:
        return _("Expert %(expert)s: %(reason)s", expert=expert.ref, reason=_excluded_because(context, e, a))
    problems = change_problems(context, version, assignment.application, expert, None
                               if assignment.state in LEFT else assignment)
    return _("Expert %(expert)s: %(reason)s", expert=expert.ref,
             reason="；".join(problems) or _("breaks a panel rule"))


def assigned_panels(context: Context, pairs: list[tuple[str, str]]) -> Panels:
    """The (expert ref, application ref) ``pairs`` as the engine's panels (refs it does not know skipped): a few
    integers per seat, never the experts × applications matrix."""
    experts, applications = context.problem.expert_index, context.problem.application_index
    known = [(experts[e], applications[a]) for e, a in pairs if e in experts and a in applications]
    indices = np.array(known, dtype=np.int64).reshape(-1, 2)
    return Panels.from_pairs(indices[:, 0], indices[:, 1], context.instance.fit.shape)
