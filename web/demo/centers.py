"""The demo's life after selection: decisions, six pilot centers, three years of reports, an annual evaluation
round scored and a triennial assessment round ready to score.

The best-scored applications of the selection round are decided on 2020-12-15: six listed (they become
centers), one deferred, one not listed. The centers report for 2021–2023, their figures growing about 15 % a
year around targets set in their construction plans; one center has not handed in 2022, and one falls short of
its targets by about half. The 2023 annual round is matched and every sheet submitted; the 2021–2023 triennial
round is matched and invited, with no sheet yet. Every figure is drawn from one ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from web.demo.round import POOL_QUOTAS, SETTINGS, _best_applications, _fill_sheet, sheet_values
from web.extensions import db
from web.models import Application, Center, Round, User
from web.services import centers, invitations, panels, rounds

DECIDED_ON = date(2020, 12, 15)
DOCUMENT_NO = "沪经信技〔2020〕118号"
LISTED, YEARS = 6, (2021, 2022, 2023)
ANNUAL_NAME = "2023年度上海市制造业创新中心年度评估"
TRIENNIAL_NAME = "2021—2023年上海市制造业创新中心三年考核"
TARGETS = {"contracts": 12, "contract_amount": 900.0, "market_turnover": 1500.0, "incubated_companies": 3,
           "rd_spending": 3000.0, "patents_granted": 4, "standards_national": 1, "rd_staff": 80,
           "talent_introduced": 8, "international_projects": 2, "companies_served": 120}
GROWTH, SHORT_FACTOR = 0.15, 0.5


@dataclass
class DemoCenters:
    """What the demo planted after selection, for the printed summary and the tests."""

    centers: list[str] = field(default_factory=list)
    missing_year: tuple[str, int] | None = None
    short_of_targets: str | None = None
    annual_round_id: int = 0
    triennial_round_id: int = 0
    annual_sheets: int = 0


def load_demo_centers(selection_round_id: int, *, seed: int, actor: User | None) -> DemoCenters:
    """Decide, list, report, and open the annual and triennial rounds (flushed: the caller commits)."""
    rng = random.Random(seed)
    selection = db.session.get(Round, selection_round_id)
    best = _best_applications(selection, LISTED + 2)
    result = DemoCenters()
    for number, ref in enumerate(best):
        application = _application(ref)
        outcome, reason = (("listed", None) if number < LISTED else
                           ("deferred", "现场考察发现中试平台尚未建成，待建成后复核。") if number == LISTED else
                           ("not_listed", "成员单位协同机制不清晰，行业共性技术定位不足。"))
        centers.record_decision(application, outcome=outcome, decided_on=DECIDED_ON, document_no=DOCUMENT_NO,
                                reason=reason, actor=actor)
    listed = [centers.center_of(_application(ref)) for ref in best[:LISTED]]
    result.centers = [center.application.ref for center in listed]
    result.missing_year = (listed[-1].application.ref, YEARS[1])
    result.short_of_targets = listed[-2].application.ref
    for center in listed:
        _report(center, rng, short=center.application.ref == result.short_of_targets,
                skip=YEARS[1] if center is listed[-1] else None, actor=actor)
    result.annual_round_id, result.annual_sheets = _annual_round(listed, rng, actor)
    result.triennial_round_id = _triennial_round(listed, actor)
    db.session.flush()
    return result


def _application(ref: str) -> Application:
    return db.session.scalar(db.select(Application).where(Application.ref == ref))


def _report(center: Center, rng: random.Random, *, short: bool, skip: int | None, actor: User | None) -> None:
    """The center's targets and its reports for :data:`YEARS` (less ``skip``), growing about 15 % a year."""
    centers.set_targets(center, TARGETS, actor=actor)
    level = rng.uniform(0.8, 1.0) * (SHORT_FACTOR if short else 1.0)
    for step, year in enumerate(YEARS):
        scale = level * (1 + GROWTH) ** step
        values = {code: _figure(code, target * scale * rng.uniform(0.9, 1.1)) for code, target in TARGETS.items()}
        values["patents_applied"] = values["patents_granted"] + rng.randint(2, 6)
        values["first_of_kind_products"] = rng.randint(0, 2)
        if year != skip:
            centers.save_report(center, year, values, actor=actor)


def _figure(code: str, value: float) -> float | int:
    """A plausible reported figure: amounts to 0.1 万元, counts whole."""
    return round(value, 1) if code in ("contract_amount", "market_turnover", "rd_spending") else max(0, round(value))


def _open_round(name: str, kind: str, as_of: date, refs: list[str], actor: User | None) -> Round:
    """A round of ``kind`` over ``refs``, matched with the selection round's panel settings, experts invited."""
    round_ = rounds.create_round(name, kind, as_of=as_of, application_refs=refs, actor=actor)
    rounds.update_settings(round_, {**SETTINGS, "pool_quotas": {pool: list(quota)
                                                                for pool, quota in POOL_QUOTAS.items()}},
                           actor=actor)
    rounds.transition(round_, "assigning", actor=actor)
    version = panels.run_matching(round_, actor=actor, seed=as_of.year)
    if not version.active:
        raise RuntimeError(f"the demo's {kind} panels are infeasible: " + "; ".join(version.diagnostics))
    rounds.transition(round_, "scoring", actor=actor)
    invitations.invite(round_, actor=actor)
    return round_


def _annual_round(listed: list[Center], rng: random.Random, actor: User | None) -> tuple[int, int]:
    """The 2023 annual evaluation of the centers that reported 2023, every sheet submitted."""
    due = [center.application.ref for center in listed if centers.report_of(center, YEARS[-1])]
    round_ = _open_round(ANNUAL_NAME, "annual", date(2024, 3, 1), due, actor)
    criteria = list(round_.template.criteria)
    quality = {ref: rng.gauss(0, 1) for ref in due}
    version = panels.active_version(round_)
    submitted = 0
    for seat in sorted(version.assignments, key=lambda seat: (seat.application.ref, seat.expert.ref)):
        shares = [0.80 + 0.06 * quality[seat.application.ref] + rng.gauss(0, 0.04) for _ in criteria]
        _fill_sheet(seat, "submitted", sheet_values(criteria, shares), rng)
        submitted += 1
    return round_.id, submitted


def _triennial_round(listed: list[Center], actor: User | None) -> int:
    """The 2021–2023 triennial assessment of every center, matched and invited, no sheet yet."""
    refs = [center.application.ref for center in listed]
    return _open_round(TRIENNIAL_NAME, "triennial", date(2024, 4, 1), refs, actor).id
