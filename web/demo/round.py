"""The demo's review rounds (DESIGN §8 ``panel demo``): panels assigned and most sheets scored.

A selection review of every demo application with panels of seven (technology 3–5, the other four pools 1–2,
one expert per organization, at most five applications per expert), invited and mostly scored: about 85 % of the
sheets submitted, some drafts, some not started; one expert recuses and is replaced from the reserves; one
expert scores one application about 30 % below the others so the ROBUST and DEVIATION flags fire. A second
round (site inspection, draft) holds the best-scored applications so that combining rounds can be shown.

Scores come from a latent quality per application plus a bias per expert plus noise per criterion, on each
criterion's step and within its maximum, all drawn from one ``random.Random(seed)``: the same seed gives the
same round.
"""

from __future__ import annotations

import json
import random
import statistics
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from matching.assign import assign
from matching.problem import parse_problem
from web.demo.generate import REFERENCE_DATE
from web.extensions import db
from web.models import (
    Application,
    Assignment,
    AssignmentVersion,
    Expert,
    PoolQuota,
    Reserve,
    Round,
    ScoreSheet,
    TemplateCriterion,
    User,
    utcnow,
)
from web.services import audit, invitations, sheets
from web.services.records import export_applications, export_experts
from web.services.rounds import create_round

SELECTION_NAME = "2020年上海市制造业创新中心遴选综合评审"
SITE_NAME = "2020年上海市制造业创新中心现场考察"
DEADLINE = date(2020, 10, 30)
SETTINGS = {"panel_size": 7, "max_per_organization": 1, "max_load": 5, "reserves": 3}
# Seven seats: 3 technology + 1 of each other pool is the minimum; the other pools may take a second seat.
POOL_QUOTAS = {"technology": (3, 5), "industry": (1, 2), "economics": (1, 2), "management": (1, 2), "law": (1, 2)}
SHARE_SUBMITTED, SHARE_DRAFT = 0.85, 0.08  # the rest: invited, not started
OUTLIER_FACTOR = 0.70  # the planted outlier scores ~30 % below the panel (DEVIATION > 20 %, |M| > 3.5)
SITE_APPLICATIONS = 8
CRITERION_COMMENT = "论证较充分，个别指标需进一步量化。"
RECUSAL_NOTE = "本人近三年与该申报的参加单位联合承担过科研课题，申请回避。"
COMMENTS = {
    "recommend": ("建设目标清晰，技术路线可行，成员单位基础扎实，建议支持。",
                  "共性技术平台定位明确，产学研协同机制完善，建议优先支持。"),
    "conditional": ("总体可行，但研发投入计划和知识产权布局需进一步细化。",
                    "技术基础较好，商业化路径和风险应对措施有待补充。"),
    "reject": ("建设方案与行业共性需求结合不够紧密，成员单位协同机制不清晰。",
               "技术路线论证不足，市场前景分析薄弱，暂不建议支持。"),
}


@dataclass
class DemoRound:
    """What the demo round planted, for the printed summary and the tests."""

    round_id: int
    site_round_id: int
    sheets: dict[str, int] = field(default_factory=dict)
    outlier: tuple[str, str] | None = None
    recusal: tuple[str, str, str] | None = None  # application, recused expert, replacement
    account_experts: list[str] = field(default_factory=list)


def load_demo_round(*, seed: int, actor: User | None, accounts: int = 5) -> DemoRound:
    """Create the demo's selection round with panels and sheets, and the draft site-inspection round."""
    with _unsynced_sqlite():
        return _load_demo_round(seed, actor, accounts)


@contextmanager
def _unsynced_sqlite():
    """On SQLite, skip the disk syncs and journal files of the load's ~1,500 commits (one per service call), then
    restore both.

    The demo is rebuilt from its seed if the machine dies mid-load, so durability buys nothing here, while the
    syncs took most of the load's time on a busy disk.
    """
    if db.engine.dialect.name != "sqlite":
        yield
        return
    connection = db.session.connection()
    synchronous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    db.session.commit()
    connection = db.session.connection()
    connection.exec_driver_sql("PRAGMA synchronous = OFF")
    connection.exec_driver_sql("PRAGMA journal_mode = MEMORY")
    try:
        yield
    finally:
        db.session.rollback()
        connection = db.session.connection()
        connection.exec_driver_sql(f"PRAGMA synchronous = {int(synchronous)}")
        connection.exec_driver_sql(f"PRAGMA journal_mode = {journal}")
        db.session.commit()


def _load_demo_round(seed: int, actor: User | None, accounts: int) -> DemoRound:
    """The body of :func:`load_demo_round`."""
    rng = random.Random(seed)
    refs = list(db.session.scalars(select(Application.ref).order_by(Application.id)))
    round_ = create_round(SELECTION_NAME, "selection_review", as_of=REFERENCE_DATE, application_refs=refs,
                          deadline=DEADLINE, actor=actor)
    _apply_settings(round_, seed, actor)
    _transition(round_, "assigning", actor)
    version = _run_matching(round_, seed, actor)
    _transition(round_, "scoring", actor)
    invitations.invite(round_, actor=actor)
    result = DemoRound(round_id=round_.id, site_round_id=0)
    _score(round_, version, rng, result)
    top = _best_applications(round_, SITE_APPLICATIONS)
    site = create_round(SITE_NAME, "site_inspection", as_of=REFERENCE_DATE, application_refs=top,
                        deadline=DEADLINE + timedelta(days=30), actor=actor)
    result.site_round_id = site.id
    result.account_experts = _account_experts(version, accounts)
    db.session.commit()
    return result


# --- round set-up -------------------------------------------------------------------------------------------

def _apply_settings(round_: Round, seed: int, actor: User | None) -> None:
    """The panel settings described in the module docstring, audited."""
    before = {key: getattr(round_, key) for key in SETTINGS}
    for key, value in SETTINGS.items():
        setattr(round_, key, value)
    round_.seed = seed
    round_.pool_quotas = [PoolQuota(pool=pool, minimum=low, maximum=high)
                          for pool, (low, high) in POOL_QUOTAS.items()]
    audit.record("round.settings", "round", round_.id, actor=actor, before=before,
                 after={**SETTINGS, "seed": seed, "pool_quotas": {k: list(v) for k, v in POOL_QUOTAS.items()}})
    db.session.commit()


def _transition(round_: Round, state: str, actor: User | None) -> None:
    """Move the round to ``state``, audited."""
    before = round_.state
    round_.state = state
    audit.record("round.transition", "round", round_.id, actor=actor, before={"state": before},
                 after={"state": state})
    db.session.commit()


def _matching_problem(round_: Round):
    """The round's matching problem from the stored records (DESIGN §10 settings)."""
    refs = [application.ref for application in round_.applications]
    settings = {
        "as_of": round_.as_of, "mode": round_.mode, "panel_size": round_.panel_size,
        "pool_quotas": {quota.pool: [quota.minimum, quota.maximum] for quota in round_.pool_quotas},
        "max_per_organization": round_.max_per_organization, "max_load": round_.max_load,
        "objective": round_.objective, "reserves": round_.reserves, "window_years": round_.window_years,
        "weights": {"field": round_.weight_field, "text": round_.weight_text},
    }
    data = {"settings": settings, "experts": export_experts(), "applications": export_applications(refs=refs)}
    return parse_problem(json.loads(json.dumps(data, default=str)))


def _run_matching(round_: Round, seed: int, actor: User | None) -> AssignmentVersion:
    """Solve the round's panels and store them as its active assignment version with the reserves."""
    problem = _matching_problem(round_)
    result = assign(problem)
    if result.status != "optimal":
        raise RuntimeError("the demo round's panels are infeasible: " + "; ".join(result.diagnostics))
    experts = {expert.ref: expert for expert in db.session.scalars(select(Expert))}
    applications = {application.ref: application for application in round_.applications}
    version = AssignmentVersion(round=round_, number=1, seed=seed, settings=problem_settings(round_),
                                objective=result.objective, bound=result.bound, status=result.status,
                                diagnostics=result.diagnostics, active=True,
                                created_by_id=actor.id if actor is not None else None)
    for panel in result.assignments:
        for member in panel["experts"]:
            version.assignments.append(Assignment(
                application=applications[panel["application"]], expert=experts[member["expert"]],
                pool=member["pool"], fit=member["fit"], field_fit=member["field_fit"],
                text_fit=member["text_fit"], state="proposed"))
    for app_ref, reserve_refs in result.reserves.items():
        for rank, ref in enumerate(reserve_refs, start=1):
            version.reserves.append(Reserve(application=applications[app_ref], expert=experts[ref], rank=rank))
    db.session.add(version)
    db.session.flush()
    audit.record("assignment.run", "round", round_.id, actor=actor, after={
        "version": version.number, "seed": seed, "status": result.status, "objective": result.objective})
    db.session.commit()
    return version


def problem_settings(round_: Round) -> dict:
    """The settings snapshot stored with an assignment version."""
    return {**SETTINGS, "seed": round_.seed, "pool_quotas": {k: list(v) for k, v in POOL_QUOTAS.items()}}


# --- scores -------------------------------------------------------------------------------------------------

def _score(round_: Round, version: AssignmentVersion, rng: random.Random, result: DemoRound) -> None:
    """Fill the sheets: most submitted, some drafts, some untouched; one recusal, one planted outlier."""
    seats = sorted(version.assignments, key=lambda seat: (seat.application.ref, seat.expert.ref))
    criteria = list(round_.template.criteria)
    quality = {ref: rng.gauss(0, 1) for ref in sorted({seat.application.ref for seat in seats})}
    bias = {ref: rng.gauss(0, 0.03) for ref in sorted({seat.expert.ref for seat in seats})}
    shares = {seat.id: [0.80 + 0.07 * quality[seat.application.ref] + bias[seat.expert.ref] + rng.gauss(0, 0.05)
                        for _ in criteria] for seat in seats}
    by_application: dict[str, list[Assignment]] = {}
    for seat in seats:
        by_application.setdefault(seat.application.ref, []).append(seat)
    # The outlier goes to the panel that agrees most, where a score 30 % below stands out to any rule.
    outlier_app = min(sorted(by_application), key=lambda ref: _spread(
        [sum(sheet_values(criteria, shares[seat.id]).values()) for seat in by_application[ref]]))
    outlier_seat = rng.choice(by_application[outlier_app])
    recusal_app = rng.choice([ref for ref in sorted(by_application) if ref != outlier_app])
    # A technology seat: the technology quota (3–5) lets the best-fitting reserves, mostly technical, take it.
    recused_seat = rng.choice([seat for seat in by_application[recusal_app] if seat.pool == "technology"])
    counts = {"submitted": 0, "draft": 0, "not_started": 0}
    for seat in seats:
        if seat is recused_seat:
            continue
        if seat.application.ref == outlier_app:
            state = "submitted"  # the outlier's panel is complete, so the flag stands on a full panel
        else:
            roll = rng.random()
            state = ("submitted" if roll < SHARE_SUBMITTED else
                     "draft" if roll < SHARE_SUBMITTED + SHARE_DRAFT else "not_started")
        factor = OUTLIER_FACTOR if seat is outlier_seat else 1.0
        _fill_sheet(seat, state, sheet_values(criteria, [share * factor for share in shares[seat.id]]), rng)
        counts[state] += 1
    replacement = _recuse_and_replace(round_, version, recused_seat)
    _fill_sheet(replacement, "submitted", sheet_values(criteria, shares[recused_seat.id]), rng)
    counts["submitted"] += 1
    result.sheets = counts
    result.outlier = (outlier_app, outlier_seat.expert.ref)
    result.recusal = (recusal_app, recused_seat.expert.ref, replacement.expert.ref)
    db.session.commit()


def _spread(totals: list[float]) -> float:
    """The median absolute deviation of a panel's totals."""
    middle = statistics.median(totals)
    return statistics.median(abs(total - middle) for total in totals)


def sheet_values(criteria: list[TemplateCriterion], shares: list[float]) -> dict[str, float]:
    """Criterion code → points for the given shares of each maximum."""
    return {criterion.code: criterion_value(criterion.max, criterion.step, share)
            for criterion, share in zip(criteria, shares, strict=True)}


def criterion_value(maximum: float, step: float, share: float) -> float:
    """``share`` of ``maximum`` on the criterion's step, within [0, maximum]."""
    steps = round(maximum * min(max(share, 0.0), 1.0) / step)
    return min(maximum, steps * step)


def _fill_sheet(seat: Assignment, state: str, values: dict[str, float], rng: random.Random) -> None:
    """One expert's sheet for one application in ``state`` (submitted, draft or not_started), entered through
    the sheet services as the expert would: declare no conflict, save a draft (part of it), submit."""
    if state == "not_started":
        return
    sheet = sheets.declare(seat, conflict=False, reason=None, actor=None)
    if state == "draft":
        values = dict(list(values.items())[: rng.randint(2, len(values) - 2)])
    comments = {criterion.code: CRITERION_COMMENT for criterion in sheet.round.template.criteria
                if criterion.comment_required and criterion.code in values}
    opinion = comment = None
    if state == "submitted":
        total = sum(values.values())
        opinion = "recommend" if total >= 85 else "conditional" if total >= 75 else "reject"
        comment = rng.choice(COMMENTS[opinion])
    errors = sheets.save_draft(sheet, values, opinion=opinion, comment=comment, criterion_comments=comments,
                               actor=None)
    if errors:
        raise RuntimeError(f"demo sheet {seat.application.ref}/{seat.expert.ref} refused: {errors}")
    if state == "submitted":
        sheets.submit(sheet, actor=None)


def _recuse_and_replace(round_: Round, version: AssignmentVersion, seat: Assignment) -> Assignment:
    """The expert of ``seat`` declares a conflict; the first feasible reserve takes the seat."""
    sheets.declare(seat, conflict=True, reason=RECUSAL_NOTE, actor=None)
    reserve = _first_feasible_reserve(version, seat)
    incoming = reserve.expert
    replacement = Assignment(version=version, application=seat.application, expert=incoming, pool=incoming.pool,
                             fit=reserve.fit, state="invited", invited_at=utcnow(),
                             replaces_id=seat.id)
    db.session.add(replacement)
    db.session.flush()
    audit.record("assignment.replace", "assignment", seat.id, actor=None,
                 before={"expert": seat.expert.ref}, after={"expert": incoming.ref, "assignment": replacement.id})
    return replacement


def _first_feasible_reserve(version: AssignmentVersion, seat: Assignment) -> Reserve:
    """The best-ranked reserve of the seat's application who keeps the pool quotas, the organization limit
    and the load cap (reserves are conflict-free by construction)."""
    round_ = version.round
    quotas = {quota.pool: (quota.minimum, quota.maximum) for quota in round_.pool_quotas}
    active = [other for other in version.assignments if other.state in ("proposed", "invited", "accepted")]
    panel = [other for other in active if other.application_id == seat.application_id and other is not seat]
    for reserve in sorted((item for item in version.reserves if item.application_id == seat.application_id),
                          key=lambda item: item.rank):
        expert = reserve.expert
        pools = [other.pool for other in panel] + [expert.pool]
        load = sum(1 for other in active if other.expert_id == expert.id)
        if (all(low <= pools.count(pool) <= high for pool, (low, high) in quotas.items())
                and (expert.organization_id is None
                     or all(other.expert.organization_id != expert.organization_id for other in panel))
                and load < min(round_.max_load, expert.max_load or round_.max_load)):
            return reserve
    raise RuntimeError(f"no reserve can take {seat.expert.ref}'s seat on {seat.application.ref}")


# --- the rest -----------------------------------------------------------------------------------------------

def _best_applications(round_: Round, count: int) -> list[str]:
    """The ``count`` applications with the highest mean submitted total (the site inspection's candidates)."""
    totals: dict[str, list[float]] = {}
    for sheet in db.session.scalars(select(ScoreSheet).where(ScoreSheet.round_id == round_.id,
                                                             ScoreSheet.state == "submitted")):
        totals.setdefault(sheet.application.ref, []).append(sheet.total)
    means = sorted(totals, key=lambda ref: (-sum(totals[ref]) / len(totals[ref]), ref))
    return means[:count]


def _account_experts(version: AssignmentVersion, count: int) -> list[str]:
    """The first ``count`` experts (by ref) with a sheet still to score, for the demo logins."""
    open_refs = set()
    for seat in version.assignments:
        if seat.state in ("invited", "accepted"):
            sheet = db.session.scalar(select(ScoreSheet).where(
                ScoreSheet.round_id == version.round_id, ScoreSheet.application_id == seat.application_id,
                ScoreSheet.expert_id == seat.expert_id))
            if sheet is None or sheet.state != "submitted":
                open_refs.add(seat.expert.ref)
    return sorted(open_refs)[:count]
