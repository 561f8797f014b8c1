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

import random
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select

from web.demo.generate import REFERENCE_DATE
from web.extensions import db
from web.models import (
    Application,
    Assignment,
    AssignmentVersion,
    Round,
    ScoreSheet,
    TemplateCriterion,
    User,
)
from web.services import invitations, panels, rounds, sheets

SELECTION_NAME = "2020年上海市制造业创新中心遴选综合评审"
SITE_NAME = "2020年上海市制造业创新中心现场考察"
DEADLINE = date(2020, 10, 30)
# The round's story in stored UTC (Beijing time is 8 hours ahead): panels fixed on 8 October, invitations out on
# the 9th, sheets submitted from the 10th until the day the demo shows, a week before the deadline.
PANELS_FIXED = datetime(2020, 10, 8, 2, 0)        # 10:00 Beijing time
INVITED = datetime(2020, 10, 9, 1, 30)            # 09:30 Beijing time
SHOWN_ON = date(2020, 10, 23)
"""The day the demo shows its round on: ``panel demo`` serves with ``PANEL_TODAY`` set to it, so sheets not yet
submitted are not overdue (the deadline is a week away)."""
LAST_SUBMISSION = datetime(2020, 10, 22, 10, 0)   # 18:00 Beijing time, the evening before SHOWN_ON
SETTINGS = {"panel_size": 7, "max_per_organization": 1, "max_load": 5, "reserves": 3}
# Seven seats: 3 technology + 1 of each other pool is the minimum; the other pools may take a second seat.
POOL_QUOTAS = {"technology": (3, 5), "industry": (1, 2), "economics": (1, 2), "management": (1, 2), "law": (1, 2)}
SHARE_SUBMITTED, SHARE_DRAFT = 0.85, 0.08  # the rest: invited, not started
OUTLIER_DROP = 0.30  # the planted outlier scores 30 points of each range below its own view: DEVIATION (≥ 20 % of
                     # the range from the others' median) and ROBUST both fire, so it is an actionable flag
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
    site_applications: int = 0
    sheets: dict[str, int] = field(default_factory=dict)
    outlier: tuple[str, str] | None = None
    recusal: tuple[str, str, str] | None = None  # application, recused expert, replacement
    account_experts: list[str] = field(default_factory=list)


def load_demo_round(*, seed: int, actor: User | None, accounts: int = 5) -> DemoRound:
    """Create the demo's selection round with panels and sheets, and the draft site-inspection round (flushed:
    the caller commits the whole load once)."""
    return _load_demo_round(seed, actor, accounts)


def _load_demo_round(seed: int, actor: User | None, accounts: int) -> DemoRound:
    """The body of :func:`load_demo_round`."""
    rng = random.Random(seed)
    refs = list(db.session.scalars(select(Application.ref).order_by(Application.id)))
    round_ = rounds.create_round(SELECTION_NAME, "selection_review", as_of=REFERENCE_DATE,
                                 application_refs=refs, deadline=DEADLINE, actor=actor)
    rounds.update_settings(round_, {**SETTINGS, "seed": seed,
                                    "pool_quotas": {pool: list(quota) for pool, quota in POOL_QUOTAS.items()}},
                           actor=actor)
    rounds.transition(round_, "assigning", actor=actor)
    version = panels.run_matching(round_, actor=actor, seed=seed)
    if not version.active:
        raise RuntimeError("the demo round's panels are infeasible: " + "; ".join(version.diagnostics))
    rounds.transition(round_, "scoring", actor=actor)
    invitations.invite(round_, actor=actor)
    result = DemoRound(round_id=round_.id, site_round_id=0)
    _score(round_, version, rng, result, actor)
    _date_the_round(round_, version, random.Random(seed + 1))
    top = _best_applications(round_, SITE_APPLICATIONS)
    site = rounds.create_round(SITE_NAME, "site_inspection", as_of=REFERENCE_DATE, application_refs=top,
                               deadline=DEADLINE + timedelta(days=30), actor=actor)
    result.site_round_id, result.site_applications = site.id, len(top)
    result.account_experts = _account_experts(version, accounts)
    db.session.flush()
    return result


# --- scores -------------------------------------------------------------------------------------------------

def _score(round_: Round, version: AssignmentVersion, rng: random.Random, result: DemoRound,
           actor: User | None) -> None:
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
    # The outlier goes to the panel that agrees most, where a score 30 points below stands out to any rule.
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
        drop = OUTLIER_DROP if seat is outlier_seat else 0.0
        _fill_sheet(seat, state, sheet_values(criteria, [share - drop for share in shares[seat.id]]), rng)
        counts[state] += 1
    replacement = _recuse_and_replace(recused_seat, actor)
    _fill_sheet(replacement, "submitted", sheet_values(criteria, shares[recused_seat.id]), rng)
    counts["submitted"] += 1
    result.sheets = counts
    result.outlier = (outlier_app, outlier_seat.expert.ref)
    result.recusal = (recusal_app, recused_seat.expert.ref, replacement.expert.ref)
    db.session.flush()


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
        sheets.submit(sheet, confirmed=True, actor=None)


def _recuse_and_replace(seat: Assignment, actor: User | None) -> Assignment:
    """The expert of ``seat`` declares a conflict; the organizer gives the seat to the first feasible reserve."""
    sheets.declare(seat, conflict=True, reason=RECUSAL_NOTE, actor=None)
    replacement = invitations.replace(seat, actor=actor)
    if replacement is None:
        raise RuntimeError(f"no reserve can take {seat.expert.ref}'s seat on {seat.application.ref}")
    return replacement


# --- times -------------------------------------------------------------------------------------------------

def _date_the_round(round_: Round, version: AssignmentVersion, rng: random.Random) -> None:
    """Give the round's rows the times of its October 2020 story instead of the moment the demo was loaded:
    invited, answered, started and submitted in that order, every submission before :data:`SHOWN_ON` and so before
    the deadline. (The audit log keeps the real moments: it is append-only.)"""
    round_.created_at = PANELS_FIXED - timedelta(days=1)
    version.created_at = PANELS_FIXED
    sheets = {(sheet.application_id, sheet.expert_id): sheet
              for sheet in db.session.scalars(select(ScoreSheet).where(ScoreSheet.round_id == round_.id))}
    answered: dict[int, datetime] = {}
    for seat in sorted(version.assignments, key=lambda seat: (seat.replaces_id is not None, seat.id)):
        if seat.invited_at is None:
            continue
        # A replacement is invited a couple of hours after the member it replaces answered.
        seat.invited_at = (answered[seat.replaces_id] + timedelta(hours=2) if seat.replaces_id in answered
                           else INVITED)
        if seat.responded_at is not None:
            seat.responded_at = answered[seat.id] = seat.invited_at + _hours(rng, 1, 48)
        sheet = sheets.get((seat.application_id, seat.expert_id))
        if sheet is not None:
            _date_sheet(sheet, (seat.responded_at or seat.invited_at) + _hours(rng, 0, 24), rng)


def _date_sheet(sheet: ScoreSheet, started: datetime, rng: random.Random) -> None:
    """Start ``sheet`` at ``started``; a submitted one is handed in before :data:`LAST_SUBMISSION`."""
    sheet.created_at = started
    last_change = started + (LAST_SUBMISSION - started) * rng.uniform(0.2, 1.0)
    sheet.updated_at = last_change
    if sheet.submitted_at is not None:
        sheet.submitted_at = last_change


def _hours(rng: random.Random, low: float, high: float) -> timedelta:
    """A random whole number of minutes between ``low`` and ``high`` hours."""
    return timedelta(minutes=rng.randint(int(low * 60), int(high * 60)))


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
    """The ``count`` experts with a sheet still to score who sit on the most panels (then by ref), for the demo
    logins: their start page shows submitted, draft and unstarted sheets side by side."""
    seats: dict[str, int] = {}
    open_refs = set()
    for seat in version.assignments:
        if seat.state in ("invited", "accepted"):
            seats[seat.expert.ref] = seats.get(seat.expert.ref, 0) + 1
            if sheets.sheet_status(sheets.seat_sheet(seat)) != "submitted":
                open_refs.add(seat.expert.ref)
    return sorted(open_refs, key=lambda ref: (-seats[ref], ref))[:count]
