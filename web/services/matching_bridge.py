"""Rows ⇄ the matching engine: a round's experts, applications and settings as a :class:`matching.types.Problem`.

Only translation lives here; conflicts, fit, solving, reserves and explanations are the engine's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import partial

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from matching import types as engine
from matching.assign import Context, build_context
from matching.conflicts import find_conflicts
from matching.memory import conflicts_memory, context_memory, estimate_memory
from web.extensions import db
from web.models import (
    Application,
    Assignment,
    AssignmentVersion,
    EnterpriseDetails,
    Expert,
    ExpertField,
    InstituteDetails,
    MemberUnit,
    Organization,
    OrganizationAlias,
    Round,
)

DEFAULT_MEETING_SIZE = 8
"""Applications per meeting panel when the round leaves it empty (the engine's default)."""

REVIEWED_STATES = ("accepted",)
"""Seats that count as having reviewed a bearer unit (feeds the repeat-review rule)."""


def build_problem(round_: Round, *, seed: int | None = None, max_probability: float | None = None) -> engine.Problem:
    """The round as the engine's problem: every registered expert, the round's applications, its settings.

    ``seed`` and ``max_probability`` override the round's randomization for one run.
    """
    return engine.Problem(
        settings=settings_for(round_, seed=seed, max_probability=max_probability),
        experts=tuple(expert_for(expert) for expert in _experts()),
        applications=tuple(application_for(application) for application in _applications(round_)),
        past_reviews=tuple(_past_reviews(round_)),
        organization_aliases={alias.name: alias.organization.name for alias in
                              db.session.scalars(select(OrganizationAlias).options(
                                  selectinload(OrganizationAlias.organization)))},
    )


TOO_LARGE = "matching_too_large"
"""The code of work refused for the memory its round would take (its PanelError's ``code``, a job's ``error``)."""

GB = 1 << 30

MATCHING, CONTEXT, STORED_CONTEXT, CONFLICTS = "matching", "context", "stored_context", "conflicts"
"""The work held to PANEL_MATCHING_MEMORY, each estimated by its own shape (docs/scale.md, "Memory"): a matching
run; the round's context without a solve (panel edits, replacements and swaps from the reserves, an explanation
built afresh); the stored context (built and pickled by its job or inline, read back by the panel page); the
conflicts listed with their reasons."""

ESTIMATES = {MATCHING: estimate_memory, CONTEXT: context_memory,
             STORED_CONTEXT: partial(context_memory, stored=True), CONFLICTS: conflicts_memory}


def memory_refusal(round_: Round, limit: int | None, *, work: str = MATCHING, max_probability: float | None = None,
                   experts: int | None = None) -> dict | None:
    """Why ``work`` on the round is refused for its memory, or None when it fits ``limit`` (bytes; None: no limit).

    Estimated from the counts of experts (``experts`` when the caller counted them already) and applications and
    the round's settings (:data:`ESTIMATES`), before the round is read: the refusal's ``estimate``, ``limit``
    (bytes) and ``pairs``, and in ``errors`` its sentence from the catalog (what the job's page lists).
    """
    if limit is None:
        return None
    n_experts = db.session.scalar(select(func.count(Expert.id))) if experts is None else experts
    estimate = ESTIMATES[work](n_experts, len(round_.round_applications),
                               settings_for(round_, max_probability=max_probability))
    if estimate.peak <= limit:
        return None
    return {"estimate": estimate.peak, "limit": limit, "pairs": estimate.pairs,
            "errors": [_too_large(work, gigabytes(estimate.peak, limit))]}


def _too_large(work: str, figures: dict[str, str]) -> str:
    """The refusal's sentence, naming the work refused."""
    if work == MATCHING:
        return _("This round needs about %(estimate)s GB of memory, more than this machine's limit of %(limit)s GB; "
                 "run it on a worker with more memory.", **figures)
    if work == CONFLICTS:
        return _("Listing this round's conflicts with their reasons needs about %(estimate)s GB of memory, more than "
                 "this machine's limit of %(limit)s GB.", **figures)
    return _("This round's conflicts and fit of every expert to every application need about %(estimate)s GB of "
             "memory, more than this machine's limit of %(limit)s GB: they cannot be built here, so panels are "
             "neither checked nor explained.", **figures)


def gigabytes(estimate: int, limit: int) -> dict[str, str]:
    """An estimate over its limit as the sentence's gigabytes: the estimate rounded up and the limit down, so the
    one shown is always above the other (not "8.0 GB, more than 8.0 GB"), to one decimal, or to two or three
    for a limit that one would show as 0."""
    for digits in (1, 2, 3):
        scale = 10 ** digits
        if limit * scale >= GB or digits == 3:
            return {"estimate": f"{math.ceil(estimate * scale / GB) / scale:.{digits}f}",
                    "limit": f"{math.floor(limit * scale / GB) / scale:.{digits}f}"}


def round_conflicts(round_: Round) -> list[engine.Conflict]:
    """Every conflict of interest between the experts and the round's applications (DESIGN §6.1)."""
    if not round_.round_applications:
        return []
    problem = build_problem(round_)
    return find_conflicts(problem, problem.organization_aliases)


def round_context(round_: Round) -> Context:
    """The engine's view of the round (conflicts, fit, permission masks, caps) without solving."""
    return build_context(build_problem(round_))


def settings_for(round_: Round, *, seed: int | None = None, max_probability: float | None = None) -> engine.Settings:
    """The round's panel settings in the engine's terms (fit weights normalized to sum to 1)."""
    probability = max_probability if max_probability is not None else round_.max_probability
    randomize = None
    if probability is not None:
        randomize = engine.Randomize(probability, seed if seed is not None else (round_.seed or 0))
    total = (round_.weight_field + round_.weight_text) or 1.0
    return engine.Settings(
        as_of=round_.as_of, mode=round_.mode, panel_size=round_.panel_size,
        pool_quotas={quota.pool: (quota.minimum, quota.maximum) for quota in round_.pool_quotas},
        max_per_organization=round_.max_per_organization, max_load=round_.max_load, objective=round_.objective,
        randomize=randomize, reserves=round_.reserves,
        weights=engine.FitWeights(round_.weight_field / total, round_.weight_text / total),
        window_years=round_.window_years,
        meeting_max_applications=round_.meeting_max_applications or DEFAULT_MEETING_SIZE,
        repeat_review_years=round_.repeat_review_years,
        time_limit=round_.time_limit,
    )


def settings_snapshot(settings: engine.Settings) -> dict:
    """The settings as DESIGN §10 JSON, stored with each assignment version."""
    return {
        "mode": settings.mode, "panel_size": settings.panel_size,
        "pool_quotas": {pool: list(bounds) for pool, bounds in settings.pool_quotas.items()},
        "max_per_organization": settings.max_per_organization, "max_load": settings.max_load,
        "objective": settings.objective,
        "randomize": None if settings.randomize is None else {
            "max_probability": settings.randomize.max_probability, "seed": settings.randomize.seed},
        "reserves": settings.reserves,
        "weights": {"field": settings.weights.field, "text": settings.weights.text},
        "as_of": settings.as_of.isoformat(), "window_years": settings.window_years,
        "meeting": {"max_applications_per_panel": settings.meeting_max_applications},
        "repeat_review_years": settings.repeat_review_years,
        "time_limit": settings.time_limit,
    }


# ---------------------------------------------------------------- rows → engine records

def _organization(row: Organization | None) -> engine.Organization | None:
    if row is None:
        return None
    return engine.Organization(row.name, row.uscc, row.parent.name if row.parent else None)


def expert_for(expert: Expert) -> engine.Expert:
    """One expert with the history the conflict rules read."""
    return engine.Expert(
        ref=expert.ref, name=expert.name, pool=expert.pool, title=expert.title or "",
        organization=_organization(expert.organization),
        fields=tuple(link.field.code for link in expert.field_links),
        profile=expert.profile or "",
        past_affiliations=tuple(engine.Affiliation(row.name, row.uscc, row.from_on, row.until_on)
                                for row in expert.affiliations),
        roles=tuple(engine.GovernanceRole(row.organization, row.uscc, row.role, row.until_on) for row in expert.roles),
        declared=tuple(engine.Declaration(kind=row.kind, person=row.person, organization=row.organization,
                                          uscc=row.uscc, until=row.until_on, note=row.note or "",
                                          application=row.application_ref) for row in expert.declared),
        max_load=expert.max_load, available=expert.available,
    )


def application_for(application: Application) -> engine.Application:
    """One application with every organization and person it names."""
    named = [application.legal_rep_name, application.contact_name, *(lead.name for lead in application.leads)]
    return engine.Application(
        ref=application.ref, center_name=application.center_name, field=application.field.code,
        text=application_text(application),
        bearer=engine.Organization(application.bearer_name, application.bearer_uscc,
                                   application.bearer.parent.name if application.bearer.parent else None),
        bearer_registered_on=application.registered_on,
        members=tuple(_member(member) for member in application.members),
        named_people=_names(named),
        shareholders=_names(row.name for row in application.shareholders),
        excluded_experts=tuple(row.expert_ref for row in application.excluded_experts),
        submitted_on=application.submitted_on,
    )


def application_text(application: Application) -> str:
    """What text fit reads: center name, construction content and the plan sections (DESIGN §6)."""
    parts = [application.center_name, application.construction_content,
             *(section.text for section in application.plan_sections)]
    return "\n".join(part for part in parts if part)


def _member(member: MemberUnit) -> engine.MemberUnit:
    people: list[str | None] = []
    shareholders: list[str] = []
    if member.enterprise is not None:
        people += [member.enterprise.legal_rep_name, member.enterprise.contact_name]
        shareholders = [row.name for row in member.enterprise.shareholders]
    if member.institute is not None:
        institute = member.institute
        people += [institute.lead_name, institute.contact_name, *(row.name for row in institute.team_members)]
    return engine.MemberUnit(role=member.role, kind=member.kind, name=member.name, uscc=member.uscc,
                             people=_names(people), shareholders=_names(shareholders), parent=member.parent_name)


def _names(names: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(name.strip() for name in names if name and name.strip()))


def _experts() -> list[Expert]:
    return db.session.scalars(select(Expert).order_by(Expert.id).options(
        selectinload(Expert.organization).selectinload(Organization.parent),
        selectinload(Expert.field_links).selectinload(ExpertField.field),
        selectinload(Expert.affiliations), selectinload(Expert.roles), selectinload(Expert.declared),
    )).all()


def _applications(round_: Round) -> list[Application]:
    ids = [link.application_id for link in round_.round_applications]
    rows = {row.id: row for row in db.session.scalars(select(Application).where(Application.id.in_(ids)).options(
        selectinload(Application.field), selectinload(Application.leads), selectinload(Application.shareholders),
        selectinload(Application.plan_sections), selectinload(Application.excluded_experts),
        selectinload(Application.bearer).selectinload(Organization.parent),
        selectinload(Application.members).selectinload(MemberUnit.enterprise).selectinload(
            EnterpriseDetails.shareholders),
        selectinload(Application.members).selectinload(MemberUnit.institute).selectinload(
            InstituteDetails.team_members),
    ))}
    return [rows[application_id] for application_id in ids]


def _past_reviews(round_: Round) -> Iterable[engine.PastReview]:
    """Accepted seats of other rounds' active versions: who reviewed which bearer unit, and when."""
    seats = db.session.execute(
        select(Assignment, Round.as_of).join(AssignmentVersion, Assignment.version_id == AssignmentVersion.id)
        .join(Round, AssignmentVersion.round_id == Round.id)
        .where(AssignmentVersion.active, Round.id != round_.id, Round.as_of <= round_.as_of,
               Assignment.state.in_(REVIEWED_STATES))
        .options(selectinload(Assignment.expert), selectinload(Assignment.application))
    ).all()
    for seat, reviewed_on in seats:
        bearer = engine.Organization(seat.application.bearer_name, seat.application.bearer_uscc)
        yield engine.PastReview(seat.expert.ref, bearer, reviewed_on)
