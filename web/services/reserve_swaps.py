"""A reserve swapped into a panel with one click: it takes the seat of the weakest-fitting member of its own pool.

The organizer sees a reserve who fits better than a seated member and wants them on the panel. The reserve takes
the seat of the lowest-fitting member of its own pool it can replace (so the pool quotas stay as they were; a
reserve sharing an organization with a member can only replace that member), or, when its pool has no seat, of the
weakest member overall. The swap is an ordinary manual swap (a new version, audited, the
previous version restorable), so conflicts, quotas, loads and the organization limit are checked by the panels
service; before that, this module names the rule a swap would break in a Chinese sentence, and nothing changes.
The swap happens only when confirmed: an unconfirmed request is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from matching.assign import Context
from matching.reserves import replacement_mask
from web.extensions import db
from web.models import Assignment, AssignmentVersion, Reserve, Round, User
from web.services import panels


@dataclass(frozen=True)
class SwapIn:
    """What a reserve swap would do: ``reserve`` of ``version`` takes ``leaving``'s seat (None when nobody can
    give way); ``context`` is the engine's view of the round it was planned on, reused to check it."""

    reserve: Reserve
    version: AssignmentVersion
    leaving: Assignment | None
    context: Context | None = field(default=None, repr=False)


def version_of(reserve: Reserve) -> AssignmentVersion:
    """The assignment version the reserve row belongs to."""
    return db.session.get(AssignmentVersion, reserve.version_id)


def reserve_of_round(round_: Round, reserve_id: int) -> Reserve | None:
    """The reserve row ``reserve_id`` if it belongs to one of the round's versions."""
    reserve = db.session.get(Reserve, reserve_id)
    return reserve if reserve is not None and version_of(reserve).round_id == round_.id else None


def planned_swap(reserve: Reserve) -> SwapIn:
    """The member whose seat ``reserve`` would take: of the reserve's own pool (else of the whole panel), the
    lowest-fitting one the reserve can replace with every rule kept, else simply the lowest-fitting one (the swap
    is then refused with the rule it breaks). Refused (:class:`panels.PanelError`) when the round's context would
    pass the memory limit (:func:`panels.round_context`)."""
    version = version_of(reserve)
    members = [row for row in version.assignments
               if row.application_id == reserve.application_id and row.state in panels.SEATED]
    same_pool = [row for row in members if row.pool == reserve.expert.pool]
    candidates = sorted(same_pool or members, key=lambda row: (row.fit if row.fit is not None else 0.0,
                                                               row.expert.ref))
    if not candidates:
        return SwapIn(reserve, version, None)
    context = panels.round_context(version.round)
    keeps_rules = next((row for row in candidates if _fits(context, version, reserve, row)), None)
    return SwapIn(reserve, version, keeps_rules or candidates[0], context)


def _fits(context: Context, version: AssignmentVersion, reserve: Reserve, leaving: Assignment) -> bool:
    """Whether the engine lets ``reserve`` take ``leaving``'s seat with everyone else staying put."""
    problem = context.problem
    e = problem.expert_index.get(reserve.expert.ref)
    if e is None or _held_seat(reserve):
        return False
    assigned = panels.assigned_panels(context, [(row.expert.ref, row.application.ref) for row in version.assignments
                                                if row.state in panels.SEATED])
    mask = replacement_mask(context.instance, assigned, problem.application_index[reserve.application.ref],
                            problem.expert_index[leaving.expert.ref])
    return bool(mask[e])


def swap_in(reserve: Reserve, *, actor: User | None, confirmed: bool, plan: SwapIn | None = None) -> Assignment:
    """Seat ``reserve`` in place of the member :func:`planned_swap` names (``plan`` when the caller has it, its
    context then reused: one context alive at a time, as the memory limit counts), in a new manual version.

    Refused (:class:`panels.PanelError` with a Chinese sentence, nothing changed) unless confirmed, while the round
    cannot change panels, when the reserve row is not of the active version, or when a rule would break.
    """
    if not confirmed:
        raise panels.PanelError(_("Nothing was changed: confirm the swap on its confirmation page first."))
    plan = plan or planned_swap(reserve)
    if plan.version.round.state not in panels.EDITING_STATES:
        raise panels.PanelError(_("Panels change only while the round is assigning or scoring; nothing was "
                                  "changed."))
    if not plan.version.active:
        raise panels.PanelError(_("%(expert)s is a reserve of an earlier version, not of the active one; nothing "
                                  "was changed.", expert=reserve.expert.name))
    if plan.leaving is None:
        raise panels.PanelError(_("The panel of %(application)s has no seated member to give way; nothing was "
                                  "changed.", application=reserve.application.ref))
    problem = swap_problem(plan)
    if problem:
        raise panels.PanelError(problem)
    return panels.swap_expert(plan.leaving, reserve.expert, actor=actor, context=plan.context)


def swap_problem(plan: SwapIn) -> str | None:
    """The first rule the planned swap breaks, as a Chinese sentence (None: the swap keeps every rule)."""
    reserve, leaving = plan.reserve, plan.leaving
    context = plan.context or panels.round_context(plan.version.round)
    problem, instance = context.problem, context.instance
    e = problem.expert_index[reserve.expert.ref]
    a = problem.application_index[reserve.application.ref]
    seated = [row for row in plan.version.assignments if row.state in panels.SEATED]
    assigned = panels.assigned_panels(context, [(row.expert.ref, row.application.ref) for row in seated])
    names = {"expert": reserve.expert.name, "member": leaving.expert.name, "application": reserve.application.ref}
    if _held_seat(reserve):
        return _("%(expert)s sits or sat on the panel of %(application)s already; nothing was changed.", **names)
    if _fits(context, plan.version, reserve, leaving):
        return None
    if not instance.allowed[e, a]:
        return _("%(expert)s may not review %(application)s: %(reason)s; nothing was changed.",
                 reason=context.exclusions.get((e, a), _("a conflict of interest")), **names)
    load = int(assigned.loads(instance.n_experts)[e])
    if load >= instance.load_cap[e]:
        return _("%(expert)s already sits on %(load)s panels, the most allowed is %(cap)s; nothing was changed.",
                 load=load, cap=int(instance.load_cap[e]), **names)
    pool_of = instance.expert_pool
    if pool_of[e] != pool_of[problem.expert_index[leaving.expert.ref]]:
        return _("%(expert)s (%(pool)s) taking the seat of %(member)s (%(other)s) would break the pool quotas of "
                 "the panel; nothing was changed.", pool=context.labels.pool(pool_of[e]),
                 other=context.labels.pool(pool_of[problem.expert_index[leaving.expert.ref]]), **names)
    return _("%(expert)s works at the same organization as a member of the panel of %(application)s (at most "
             "%(limit)s per organization); nothing was changed.", limit=int(instance.max_per_org), **names)


def _held_seat(reserve: Reserve) -> bool:
    """Whether the reserve held a seat on this application in the version (declined, recused, swapped out)."""
    return db.session.scalar(select(Assignment.id).where(
        Assignment.version_id == reserve.version_id, Assignment.application_id == reserve.application_id,
        Assignment.expert_id == reserve.expert_id)) is not None
