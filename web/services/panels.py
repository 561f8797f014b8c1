"""Expert panels of a round: matching runs stored as assignment versions, manual edits, undo and replacements.

Every solver run and every manual edit is a new :class:`AssignmentVersion`; exactly one feasible version per round
is active, and restoring an earlier one is the undo. A manual edit is checked against the same rules the solver
keeps (conflicts, pool quotas, panel size, load cap, organization limit) and refused with the reason in plain words,
nothing changed. A replacement from the reserves (an expert declined or recused) changes the active version in
place: the new seat points at the old one and nobody else moves.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections import ChainMap
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from matching.assign import AssignResult, Context, assign
from matching.explain import explain
from matching.reserves import replacement_mask
from matching.types import HARD
from web.extensions import db
from web.models import Application, Assignment, AssignmentVersion, Expert, Reserve, Round, User, utcnow
from web.services import audit, matching_bridge

SEATED = ("proposed", "invited", "accepted")
"""States of an assignment that hold a seat on the panel."""

LEFT = ("declined", "recused")
"""States of a member who left the panel and may be replaced from the reserves."""

MATCHING_STATES = ("assigning",)
"""Matching runs and version restores happen only while the round is assigning."""

EDITING_STATES = ("assigning", "scoring")
"""Manual panel edits and replacements are possible while assigning and while scoring."""

SEED_LIMIT = 2**31 - 1
"""Seeds drawn for randomized runs fit a signed 32-bit column."""


class PanelError(ValueError):
    """A refused panel operation; the message says which rule and why, and nothing was changed."""


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
    when not given. A stale context from before the application joined the round explains nothing yet.
    """
    version = active_version(round_)
    if version is None:
        return {"binding": {}, "not_chosen": []}
    context = context or matching_bridge.round_context(round_)
    a = context.problem.application_index.get(application.ref)
    if a is None:
        return {"binding": {}, "not_chosen": []}
    rows = _version_rows(version)
    assigned = _assigned_matrix(context, [(row.expert_ref, row.application_ref) for row in rows
                                          if row.state in SEATED])
    instance, exclusions = _without_departed(context, rows, a)
    (panel,) = explain(instance, assigned, context.labels, exclusions=exclusions,
                       field_fit=context.fit.field_fit, text_fit=context.fit.text_fit, applications=[a])
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


DEPARTED = {"declined": "已谢绝邀请", "recused": "已回避", "replaced": "已被替换"}


def _without_departed(context, rows: list, a: int):
    """The instance and exclusions with members who declined, recused or were swapped out of application ``a``
    (among the version's ``rows``) disallowed there, so the explanation names why they left rather than calling
    them 'not chosen'."""
    allowed = context.instance.allowed.copy()
    departed: dict[tuple[int, int], str] = {}
    for row in rows:
        e = context.problem.expert_index.get(row.expert_ref)
        if row.state in DEPARTED and e is not None and context.problem.application_index.get(row.application_ref) == a:
            allowed[e, a] = False
            departed[(e, a)] = DEPARTED[row.state] + (f"（{row.state_reason}）" if row.state_reason else "")
    # A view over the engine's exclusions, not a copy: copying writes the sentence of every disallowed pair.
    return dataclasses.replace(context.instance, allowed=allowed), ChainMap(departed, context.exclusions)


# ---------------------------------------------------------------- matching runs

def run_matching(round_: Round, *, actor: User | None, seed: int | None = None,
                 max_probability: float | None = None, dry_run: bool = False) -> AssignmentVersion:
    """Run the matcher with the round's settings and store the result as a new version (active when feasible)."""
    return match(round_, actor=actor, seed=seed, max_probability=max_probability, dry_run=dry_run).version


def match(round_: Round, *, actor: User | None, seed: int | None = None, max_probability: float | None = None,
          dry_run: bool = False) -> MatchRun:
    """:func:`run_matching` returning the engine's result too (timing, conflicts, probabilities) for the CLI."""
    if round_.state not in MATCHING_STATES:
        raise PanelError(f"round {round_.name!r} is in state {round_.state!r}: matching runs only while the round "
                         "is assigning")
    if not round_.round_applications:
        raise PanelError(f"round {round_.name!r} has no applications to assign")
    randomized = max_probability is not None or round_.max_probability is not None
    if randomized and seed is None and round_.seed is None:
        seed = secrets.randbelow(SEED_LIMIT)
    problem = matching_bridge.build_problem(round_, seed=seed, max_probability=max_probability)
    if not problem.experts:
        raise PanelError("no experts are registered: import experts before matching")
    result = assign(problem, now=utcnow())
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


def _version_from_result(round_: Round, problem, result: AssignResult, actor: User | None) -> AssignmentVersion:
    """An unsaved version holding the result's seats, meeting recusals and reserves."""
    feasible = result.status != "infeasible" and bool(result.assignments)
    version = AssignmentVersion(
        round_id=round_.id, number=_next_number(round_), seed=result.seed,
        settings=matching_bridge.settings_snapshot(problem.settings), objective=result.objective,
        bound=result.bound, status="optimal" if feasible else "infeasible", diagnostics=list(result.diagnostics),
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
                state_reason=f"{recusal['rule']}: {recusal['reason']}"))
    fit = _fit_lookup(problem, result)
    for application_ref, refs in result.reserves.items():
        for rank, ref in enumerate(refs, start=1):
            version.reserves.append(Reserve(application=applications[application_ref], expert=experts[ref],
                                            rank=rank, fit=fit.get((ref, application_ref))))
    return version


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


def restore_version(version: AssignmentVersion, *, actor: User | None) -> AssignmentVersion:
    """Make an earlier feasible version the active one again (undo); its seats come back exactly."""
    round_ = version.round
    if round_.state not in MATCHING_STATES:
        raise PanelError(f"round {round_.name!r} is in state {round_.state!r}: versions are restored only while "
                         "the round is assigning")
    if version.status == "infeasible":
        raise PanelError(f"version {version.number} found no feasible assignment; there is nothing to restore")
    previous = active_version(round_)
    if previous is not None and previous.id == version.id:
        raise PanelError(f"version {version.number} is already the active one")
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
    context = matching_bridge.round_context(round_)
    kept_reason = _check_change(context, version, application, expert, None, actor, override_reason)
    copy, _ = _manual_copy(version, actor, f"manual: add {expert.ref} to {application.ref}")
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
        raise PanelError("a reason is required to remove an expert from a panel")
    version = _editable_version(assignment.version.round)
    _require_seat_of(version, assignment)
    context = matching_bridge.round_context(version.round)
    _check_change(context, version, assignment.application, None, assignment, actor, None)
    copy, mapping = _manual_copy(version, actor, f"manual: remove {assignment.expert.ref} from "
                                                 f"{assignment.application.ref}: {reason}")
    copy.assignments.remove(mapping[assignment.id])
    _update_objective(copy)
    db.session.flush()
    audit.record("assignment.remove", "assignment", assignment.id, actor=actor, before=_seat_record(assignment),
                 after={"version": copy.number, "reason": reason})
    db.session.flush()
    return copy


def swap_expert(assignment: Assignment, new_expert: Expert, *, actor: User | None,
                override_reason: str | None = None) -> Assignment:
    """Replace a member by ``new_expert`` in a new manual version, checked like the solver's assignment."""
    version = _editable_version(assignment.version.round)
    _require_seat_of(version, assignment)
    context = matching_bridge.round_context(version.round)
    kept_reason = _check_change(context, version, assignment.application, new_expert, assignment, actor,
                                override_reason)
    copy, mapping = _manual_copy(version, actor, f"manual: swap {assignment.expert.ref} → {new_expert.ref} on "
                                                 f"{assignment.application.ref}")
    old = mapping[assignment.id]
    old.state, old.state_reason = "replaced", f"swapped for {new_expert.ref}"
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
        raise PanelError(f"round {round_.name!r} is in state {round_.state!r}: panels change only while "
                         "assigning or scoring")
    version = active_version(round_)
    if version is None:
        raise PanelError(f"round {round_.name!r} has no active assignment: run matching first")
    return version


def _require_in_round(round_: Round, application: Application) -> None:
    if application.id not in {link.application_id for link in round_.round_applications}:
        raise PanelError(f"application {application.ref} is not in round {round_.name!r}")


def _require_seat_of(version: AssignmentVersion, assignment: Assignment) -> None:
    if assignment.version_id != version.id:
        raise PanelError(f"this seat belongs to version {assignment.version.number}, not the active version "
                         f"{version.number}")
    if assignment.state not in SEATED:
        raise PanelError(f"expert {assignment.expert.ref} no longer holds a seat on {assignment.application.ref} "
                         f"(state {assignment.state})")


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
        raise PanelError("; ".join(problems))
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
            return [f"expert {joining.ref} is already on the panel of {application.ref}"]
        earlier = next((row for row in version.assignments if row.application_id == application.id
                        and row.expert_id == joining.id), None)
        if earlier is not None:
            return [f"expert {joining.ref} was on the panel of {application.ref} before ({earlier.state}) and "
                    "cannot take a seat there again"]
        after.append(joining.ref)
        e = problem.expert_index[joining.ref]
        load = sum(1 for row in rows if row.expert_id == joining.id)
        if load + 1 > instance.load_cap[e]:
            problems.append(f"expert {joining.ref} already sits on {load} panels, the load cap is "
                            f"{instance.load_cap[e]}")
    size = int(instance.panel_size[0])
    if len(after) > max(len(panel), size):
        problems.append(f"the panel of {application.ref} is full ({len(panel)} of {size} seats)")
    pool = instance.expert_pool
    before_counts = np.bincount([pool[problem.expert_index[ref]] for ref in panel], minlength=instance.n_pools)
    after_counts = np.bincount([pool[problem.expert_index[ref]] for ref in after], minlength=instance.n_pools)
    for p, (low, high) in enumerate(instance.pool_quotas):
        name = instance.pools[p]
        if after_counts[p] > high and after_counts[p] > before_counts[p]:
            problems.append(f"the panel of {application.ref} would have {after_counts[p]} {name} experts, above "
                            f"the maximum {high}")
        if after_counts[p] < low and after_counts[p] < before_counts[p]:
            problems.append(f"the panel of {application.ref} would have {after_counts[p]} {name} experts, below "
                            f"the minimum {low} (swap the expert instead)")
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
            problems.append(f"the panel of {application.ref} would have {count_after} experts of one organization "
                            f"({', '.join(members)}), above the limit {instance.max_per_org}")
    return problems


def _conflict_verdict(context: Context, application: Application, expert: Expert, actor: User | None,
                      override_reason: str | None) -> tuple[str | None, str | None]:
    """(why the pair is refused or None, the override reason kept on the seat or None)."""
    problem = context.problem
    e, a = problem.expert_index[expert.ref], problem.application_index[application.ref]
    if context.instance.allowed[e, a]:
        return None, None
    found = [c for c in context.conflicts if c.expert == expert.ref and c.application == application.ref]
    reason = (override_reason or "").strip()
    if not found:
        return f"expert {expert.ref} cannot review {application.ref}: {context.exclusions.get((e, a), 'not allowed')}", None
    described = "; ".join(f"{c.kind} conflict {c.rule}: {c.reason}" for c in found)
    if any(c.kind == HARD for c in found):
        if actor is None or actor.role != "admin":
            return f"expert {expert.ref} – {application.ref}: {described} (only an admin can override a hard " \
                   "conflict, with a written reason)", None
        if not reason:
            return f"expert {expert.ref} – {application.ref}: {described} (an override needs a written reason)", None
        return None, reason
    if not reason:
        return f"expert {expert.ref} – {application.ref}: {described} (accepting a soft conflict needs a reason)", None
    return None, reason


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
    seat = Assignment(
        application=application, expert=expert, pool=expert.pool, fit=round(float(fit.fit[e, a]), 6),
        field_fit=None if fit.field_fit is None else round(float(fit.field_fit[e, a]), 6),
        text_fit=None if fit.text_fit is None else round(float(fit.text_fit[e, a]), 6),
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
        raise PanelError(f"this seat belongs to version {assignment.version.number}, not the active version "
                         f"{version.number}")
    taken = db.session.scalar(select(Assignment).where(Assignment.replaces_id == assignment.id))
    if taken is not None:
        raise PanelError(f"expert {assignment.expert.ref} was already replaced by {taken.expert.ref}")
    if assignment.state in SEATED:
        before = assignment.state
        assignment.state = "declined"
        assignment.responded_at = assignment.responded_at or utcnow()
        audit.record("assignment.state", "assignment", assignment.id, actor=actor, before={"state": before},
                     after={"state": "declined"})
    context = matching_bridge.round_context(version.round)
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
    context = context or matching_bridge.round_context(version.round)
    problem = context.problem
    seated = [row for row in version.assignments if row.state in SEATED]
    assigned = _assigned_matrix(context, [(row.expert.ref, row.application.ref) for row in seated])
    e, a = problem.expert_index[assignment.expert.ref], problem.application_index[assignment.application.ref]
    assigned[e, a] = True          # the leaving member still counts until the seat is given away
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
        return f"application {assignment.application.ref} has no reserves"
    return "no reserve can take the seat: " + "; ".join(problem for _, problem in report if problem)


def _why_not(context: Context, version: AssignmentVersion, assignment: Assignment, expert: Expert) -> str:
    problem = context.problem
    e, a = problem.expert_index[expert.ref], problem.application_index[assignment.application.ref]
    if not context.instance.allowed[e, a]:
        return f"expert {expert.ref}: {context.exclusions.get((e, a), 'not allowed')}"
    problems = change_problems(context, version, assignment.application, expert, None
                               if assignment.state in LEFT else assignment)
    return f"expert {expert.ref}: " + ("; ".join(problems) or "breaks a panel rule")


def _assigned_matrix(context: Context, pairs: list[tuple[str, str]]) -> np.ndarray:
    """The (expert ref, application ref) ``pairs`` as the engine's boolean matrix (refs it does not know skipped)."""
    problem = context.problem
    assigned = np.zeros(context.instance.fit.shape, dtype=bool)
    for expert_ref, application_ref in pairs:
        e = problem.expert_index.get(expert_ref)
        a = problem.application_index.get(application_ref)
        if e is not None and a is not None:
            assigned[e, a] = True
    return assigned
