"""Decisions on applications, the centers they become, the centers' status and their yearly reports.

Every operation validates first and refuses with :class:`CenterError` (Chinese through the catalog, every
reason at once) before it changes anything; then it writes, flushes and audits. The caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from scoring.indicators import (
    Finding,
    IndicatorReport,
    PeriodCompletion,
    check_report,
    period_completion,
    report_completions,
)
from web.extensions import db
from web.models import (
    AMOUNT_INDICATORS,
    CENTER_STATUSES,
    DECISION_OUTCOMES,
    INDICATORS,
    AnnualReport,
    Application,
    AuditEvent,
    Center,
    CenterTarget,
    Decision,
    Round,
    RoundApplication,
    User,
)
from web.services import attachments, audit
from web.services.ranking import RoundRanking, engine_ranking, refused_round, round_ranking

SELECTION_KINDS = ("selection_review", "site_inspection")
CONSTRUCTION_YEARS = 3
LAST_YEAR = 2100                  # the last year a report or an evaluation may name (a typo, not a plan, beyond it)

INDICATOR_LABELS = {
    "contracts": _l("Contracted R&D (contracts)"), "contract_amount": _l("Contracted R&D amount (10k CNY)"),
    "market_turnover": _l("Technology market turnover (10k CNY)"),
    "incubated_companies": _l("Incubated companies"), "rd_spending": _l("R&D spending (10k CNY)"),
    "patents_applied": _l("Invention patents applied"), "patents_granted": _l("Invention patents granted"),
    "standards_international": _l("International standards led"),
    "standards_national": _l("National standards led"), "standards_industry": _l("Industry standards led"),
    "first_of_kind_products": _l("First-of-kind products (equipment, materials, software)"),
    "rd_staff": _l("R&D staff"),
    "talent_introduced": _l("Talent brought in"), "international_projects": _l("International cooperation projects"),
    "companies_served": _l("Companies served"),
}
OUTCOME_LABELS = {"listed": _l("Listed in the pilot plan"), "not_listed": _l("Not listed"),
                  "deferred": _l("Deferred")}
STATUS_LABELS = {"building": _l("Pilot construction"), "passed": _l("Triennial assessment passed"),
                 "recommended_national": _l("Recommended for the national level"),
                 "rectification": _l("Rectification"), "withdrawn": _l("Withdrawn")}


class CenterError(ValueError):
    """A refused decision, status change or report, with every reason (one per line)."""

    def __init__(self, reasons: Sequence[str]):
        super().__init__("\n".join(str(reason) for reason in reasons))
        self.reasons = [str(reason) for reason in reasons]


# ---------------------------------------------------------------- decisions and the pilot list

def candidates() -> list[Application]:
    """The applications reviewed in a selection or site-inspection round, by ref: those a decision is due on."""
    # IN, not DISTINCT: PostgreSQL cannot compare the application's JSON columns for equality
    reviewed = (select(RoundApplication.application_id).join(Round, Round.id == RoundApplication.round_id)
                .where(Round.kind.in_(SELECTION_KINDS)))
    query = select(Application).where(Application.id.in_(reviewed)).order_by(Application.ref)
    return list(db.session.scalars(query))


def selection_rankings() -> list[RoundRanking]:
    """The engine's ranking of each selection or site-inspection round, so a decision is taken with the scores and
    ranks in view (a round too large to rank here is refused in its report, not raised: :func:`refusals`); not
    joined to the sheets and flag reviews, which the decisions page does not show."""
    rounds = db.session.scalars(select(Round).where(Round.kind.in_(SELECTION_KINDS)).order_by(Round.as_of, Round.id))
    return [engine_ranking(round_) for round_ in rounds]


def selection_lines(reports: Sequence[RoundRanking]) -> list[tuple[Round, dict[str, object]]]:
    """Each round of ``reports`` with its ranking lines by application ref."""
    return [(report.round, {line.application: line for line in report.result.ranking}) for report in reports]


def refusals(reports: Sequence[RoundRanking]) -> list[str]:
    """Why rounds of ``reports`` show no ranking: each too large to rank here, named, with the figures."""
    return [refused_round(report.round, report.result) for report in reports if report.too_large]


def ranked(round_: Round) -> RoundRanking:
    """The round's ranking; refused (CenterError, nothing changed) when the round is too large to rank here, where
    an evaluation or assessment computed without its scores would be wrong rather than incomplete."""
    return refused_when_too_large(round_ranking(round_))


def engine_ranked(round_: Round) -> RoundRanking:
    """The engine's ranking of the round (:func:`engine_ranking`: no lines, not joined to the sheets and flag
    reviews), for a reader of its scores only; refused as :func:`ranked` refuses it."""
    return refused_when_too_large(engine_ranking(round_))


def refused_when_too_large(report: RoundRanking) -> RoundRanking:
    """``report`` when its round was ranked here, else refused (CenterError) with the round named and the figures."""
    if report.too_large:
        raise CenterError(refusals([report]))
    return report


def decision_of(application: Application) -> Decision | None:
    """The decision recorded on ``application``, if any."""
    return db.session.scalar(select(Decision).where(Decision.application_id == application.id))


def center_of(application: Application) -> Center | None:
    """The center ``application`` became, if it was listed."""
    return db.session.scalar(select(Center).where(Center.application_id == application.id))


def record_decision(application: Application, *, outcome: str, decided_on: date | None, document_no: str,
                    reason: str | None, actor: User | None) -> Decision:
    """Record (or revise) the decision on ``application``; listing it makes it a center with its targets.

    A listed application that has become a center keeps that decision: its later life is the center's status
    (整改, 退出), not a rewritten selection.
    """
    decision, center = decision_of(application), center_of(application)
    errors = []
    if outcome not in DECISION_OUTCOMES:
        errors.append(_("The decision must be one of: listed, not listed, deferred."))
    if decided_on is None:
        errors.append(_("The decision date is missing."))
    if not (document_no or "").strip():
        errors.append(_("The document number is missing."))
    if outcome != "listed" and not (reason or "").strip():
        errors.append(_("A decision not to list, or to defer, needs a reason."))
    if center is not None and outcome != "listed":
        errors.append(_("%(ref)s is a center already; change the center's status instead.", ref=application.ref))
    if errors:
        raise CenterError(errors)
    before = None if decision is None else decision_record(decision)
    if decision is None:
        decision = Decision(application=application)
        db.session.add(decision)
    decision.outcome, decision.decided_on = outcome, decided_on
    decision.document_no, decision.reason = document_no.strip(), (reason or "").strip() or None
    db.session.flush()
    audit.record("decision.record", "application", application.ref, actor=actor, before=before,
                 after=decision_record(decision))
    if outcome == "listed" and center is None:
        create_center(application, listed_on=decided_on, actor=actor)
    return decision


def decision_record(decision: Decision) -> dict:
    """The decision as the audit log and the API show it."""
    return {"application": decision.application.ref, "outcome": decision.outcome,
            "decided_on": decision.decided_on, "document_no": decision.document_no, "reason": decision.reason}


def create_center(application: Application, *, listed_on: date, actor: User | None) -> Center:
    """The center ``application`` becomes, in construction; its yearly targets are set on its page."""
    center = Center(application=application, status="building", listed_on=listed_on)
    db.session.add(center)
    db.session.flush()
    audit.record("center.create", "center", center.id, actor=actor,
                 after={"application": application.ref, "status": center.status, "listed_on": listed_on})
    return center


def construction_years(center: Center) -> tuple[int, ...]:
    """The three construction years after the listing (a center listed in December 2020 builds 2021–2023)."""
    first = center.listed_on.year + 1
    return tuple(range(first, first + CONSTRUCTION_YEARS))


def plan_patents(center: Center) -> PeriodCompletion | None:
    """The invention patents the application expects (domestic and foreign, for the construction period)
    against those the reports give as applied for, by the engine; None when the application states none."""
    application = center.application
    if application.expected_domestic_invention is None and application.expected_foreign_invention is None:
        return None
    expected = (application.expected_domestic_invention or 0) + (application.expected_foreign_invention or 0)
    reports = [engine_report(center, report.year, report.values()) for report in center.reports]
    return period_completion(reports, "invention_patents_applied", float(expected), construction_years(center))


def publicity_list() -> list[tuple[Application, Decision, Center | None]]:
    """The listed applications (公示名单) in ref order, with their decision and center."""
    decisions = db.session.scalars(select(Decision).where(Decision.outcome == "listed")
                                   .join(Application).order_by(Application.ref))
    return [(decision.application, decision, center_of(decision.application)) for decision in decisions]


# ---------------------------------------------------------------- the center's status and targets

def set_status(center: Center, status: str, *, reason: str | None, actor: User | None) -> Center:
    """Move ``center`` to ``status`` (试点建设中, 考核合格, 推荐申报国家级, 整改, 退出), audited with the reason."""
    errors = status_errors(center, status, reason)
    if errors:
        raise CenterError(errors)
    before = center.status
    center.status = status
    db.session.flush()
    audit.record("center.status", "center", center.id, actor=actor, before={"status": before},
                 after={"status": status, "reason": (reason or "").strip() or None})
    return center


def status_errors(center: Center, status: str, reason: str | None) -> list[str]:
    """Every reason to refuse moving ``center`` to ``status``."""
    errors = []
    if status not in CENTER_STATUSES:
        errors.append(_("Unknown center status: %(status)s.", status=status))
    if status in ("rectification", "withdrawn") and not (reason or "").strip():
        errors.append(_("Rectification or withdrawal needs a reason."))
    if center.status == "withdrawn" and status != "withdrawn":
        errors.append(_("A withdrawn center cannot change status."))
    return errors


def set_targets(center: Center, raw: Mapping[str, object], *, actor: User | None) -> Center:
    """Replace the yearly targets given in ``raw`` (blank removes a target), validated like report values."""
    values, errors = indicator_values(raw)
    findings = check_report(engine_report(center, center.listed_on.year, {}, values))
    errors += [finding_sentence(finding) for finding in findings]
    if errors:
        raise CenterError(errors)
    before = {row.indicator: row.value for row in center.targets}
    kept = {row.indicator: row for row in center.targets}
    for code in INDICATORS:
        if code not in raw:
            continue
        if values[code] is None:
            if code in kept:
                center.targets.remove(kept[code])
        elif code in kept:
            kept[code].value = float(values[code])
        else:
            center.targets.append(CenterTarget(indicator=code, value=float(values[code])))
    db.session.flush()
    audit.record("center.targets", "center", center.id, actor=actor, before=before,
                 after={row.indicator: row.value for row in center.targets})
    return center


# ---------------------------------------------------------------- annual reports

ENGINE_CODES = {
    "contracts": "rd_contracts", "contract_amount": "rd_contract_amount", "market_turnover": "tech_market_turnover",
    "patents_applied": "invention_patents_applied", "patents_granted": "invention_patents_granted",
}
"""Our column names where the indicator engine (scoring.indicators.CATALOGUE) names the indicator otherwise."""
WEB_CODES = {engine: code for code, engine in ENGINE_CODES.items()}


def engine_report(center: Center, year: int, actual: Mapping[str, float | None],
                  target: Mapping[str, float | None] | None = None) -> IndicatorReport:
    """A report as the indicator engine reads it."""
    return IndicatorReport(center.application.ref, year,
                           actual={ENGINE_CODES.get(code, code): value for code, value in actual.items()},
                           target={ENGINE_CODES.get(code, code): value for code, value in (target or {}).items()})


def engine_history(center: Center, before: int) -> list[IndicatorReport]:
    """The center's stored reports of the years before ``before``."""
    return [engine_report(center, report.year, report.values()) for report in center.reports if report.year < before]


def indicator_values(raw: Mapping[str, object]) -> tuple[dict[str, float | None], list[str]]:
    """The indicators of ``raw`` as numbers (blank → None) and every value that is not a number."""
    values: dict[str, float | None] = {}
    errors: list[str] = []
    for code in INDICATORS:
        value = raw.get(code)
        if value is None or (isinstance(value, str) and not value.strip()):
            values[code] = None
            continue
        try:
            values[code] = float(value) if isinstance(value, int | float) else float(str(value).replace(",", ""))
        except ValueError:
            values[code] = None
            errors.append(_("%(indicator)s: %(value)s is not a number.", indicator=INDICATOR_LABELS[code],
                            value=value))
    return values, errors


def finding_sentence(finding: Finding) -> str:
    """The Chinese (catalog) sentence of one of the indicator engine's findings."""
    code = WEB_CODES.get(finding.indicator, finding.indicator)
    label = str(INDICATOR_LABELS.get(code, code))
    if finding.figure == "target":
        label = _("%(indicator)s (target)", indicator=label)
    params = {key: f"{value:g}" if isinstance(value, float) else value for key, value in finding.params.items()}
    sentences = {
        "not_a_number": lambda: _("%(indicator)s: %(value)s is not a number.", indicator=label, **params),
        "negative": lambda: _("%(indicator)s: must not be negative.", indicator=label),
        "not_integer": lambda: _("%(indicator)s: must be a whole number.", indicator=label),
        "above_ceiling": lambda: _("%(indicator)s: %(value)s is out of range (at most %(limit)s).",
                                   indicator=label, value=params["value"], limit=f"{finding.params['ceiling']:,.0f}"),
        "amount_without_contracts": lambda: _("Contracted R&D amount is %(amount)s but there are no contracts.",
                                              **params),
        "contracts_without_amount": lambda: _("There are %(count)s contracts but their amount is 0.",
                                              count=params["contracts"]),
        "granted_exceeds_applied": lambda: _(
            "Invention patents granted %(first_year)s–%(year)s (%(granted)s) exceed those applied for "
            "(%(applied)s).", **params),
    }
    return sentences[finding.code]() if finding.code in sentences else f"{label}: {finding.code}"


def stored_values(values: Mapping[str, float | None]) -> dict[str, float | int | None]:
    """Checked values as stored: counts as whole numbers, amounts to the 0.01 万元 the form shows."""
    return {code: None if value is None else round(value, 2) if code in AMOUNT_INDICATORS else int(value)
            for code, value in values.items()}


def report_errors(center: Center, year: object, raw: Mapping[str, object]) -> tuple[int | None,
                                                                                     dict[str, float | int | None],
                                                                                     list[str]]:
    """The year and values of a report for ``center`` and every reason to refuse it: values that are not
    numbers, then the engine's findings (ranges, contracts and amount, patents granted against applied since
    the first report)."""
    values, errors = indicator_values(raw)
    unknown = sorted(set(raw) - set(INDICATORS))
    if unknown:
        errors.append(_("Unknown indicators: %(names)s.", names=", ".join(unknown)))
    try:
        number = int(str(year).strip())
    except (TypeError, ValueError):
        return None, values, [_("The year is missing or not a year."), *errors]
    findings = check_report(engine_report(center, number, values), engine_history(center, number))
    errors += [finding_sentence(finding) for finding in findings]
    if number < center.listed_on.year or number > LAST_YEAR:
        errors.insert(0, _("%(year)s is before the center was listed (%(listed)s).", year=number,
                           listed=center.listed_on.year) if number < center.listed_on.year
                      else _("The year is missing or not a year."))
    if center.status == "withdrawn":
        errors.insert(0, _("A withdrawn center reports no more."))
    return number, (values if errors else stored_values(values)), errors


def completions(center: Center, report: AnnualReport) -> dict[str, float | None]:
    """Completion (实际/目标) of each indicator of ``report`` against the center's yearly target, by the engine."""
    targets = {row.indicator: row.value for row in center.targets}
    lines = report_completions(engine_report(center, report.year, report.values(), targets))
    return {WEB_CODES.get(line.code, line.code): line.ratio for line in lines}


def save_report(center: Center, year: object, raw: Mapping[str, object], *, actor: User | None) -> AnnualReport:
    """Store (or replace) the indicators of ``center`` for ``year``; refused whole with every reason."""
    number, values, errors = report_errors(center, year, raw)
    if errors:
        raise CenterError(errors)
    return _write_report(center, number, values, actor)


def _write_report(center: Center, year: int, values: Mapping[str, float | int | None],
                  actor: User | None) -> AnnualReport:
    """Write checked values into the report of ``year`` (created when new), flushed and audited."""
    report = report_of(center, year)
    before = None if report is None else report.values()
    if report is None:
        report = AnnualReport(center=center, year=year)
        db.session.add(report)
    for code, value in values.items():
        setattr(report, code, value)
    db.session.flush()
    audit.record("report.save", "center", center.id, actor=actor, before=before,
                 after={"year": year, **report.values()})
    return report


def report_of(center: Center, year: int) -> AnnualReport | None:
    """The report of ``center`` for ``year``, if handed in."""
    return next((report for report in center.reports if report.year == year), None)


@dataclass(frozen=True)
class ReportRow:
    """One row of an import: the center's application ref, the year, the raw values, and where it came from."""

    ref: object
    year: object
    values: Mapping[str, object]
    where: str


def import_reports(rows: Sequence[ReportRow], *, actor: User | None) -> list[AnnualReport]:
    """Store every row or none: each row is checked, and one refusal lists every reason of every row."""
    centers = {center.application.ref: center for center in db.session.scalars(select(Center))}
    checked, errors, seen = [], [], set()
    for row in rows:
        center = centers.get(str(row.ref or "").strip())
        if center is None:
            errors.append(_("%(where)s: no center with application ref %(ref)s.", where=row.where, ref=row.ref))
            continue
        year, values, reasons = report_errors(center, row.year, row.values)
        if (center.id, year) in seen:
            reasons.append(_("the same center and year appear twice."))
        seen.add((center.id, year))
        errors += [f"{row.where}: {reason}" for reason in reasons]
        checked.append((center, year, values))
    if not rows:
        errors.append(_("The file has no report rows."))
    if errors:
        raise CenterError(errors)
    return [_write_report(center, year, values, actor) for center, year, values in checked]


def attach_document(report: AnnualReport, filename: str, stream: BinaryIO, *, content_type: str | None,
                    actor: User | None) -> AnnualReport:
    """Store the report document (运行发展报告) with the center's application attachments and link it."""
    try:
        document = attachments.store_attachment(report.center.application, "other", filename, stream,
                                                content_type=content_type, actor=actor)
    except attachments.AttachmentError as error:
        raise CenterError([attachments.attachment_refusal(error)]) from error
    report.document = document
    db.session.flush()
    audit.record("report.document", "center", report.center_id, actor=actor,
                 after={"year": report.year, "attachment": document.id, "filename": document.filename})
    return report


EVALUATION_KINDS = ("annual", "triennial")
KEY_INDICATORS = ("contracts", "contract_amount", "market_turnover", "incubated_companies")
"""The market measures the notice puts first (实施方案 四(四)): drawn as a chart beside the table."""


@dataclass(frozen=True)
class IndicatorHistory:
    """A center's reported indicators up to the year under evaluation, with its yearly targets, as experts see
    them beside an annual or triennial sheet."""

    center: Center
    years: tuple[int, ...]
    missing: tuple[int, ...]
    rows: tuple[tuple[str, float | None, tuple[float | int | None, ...]], ...]   # code, target, value per year


def evaluated_year(round_: Round) -> int:
    """The report year an evaluation round judges: the year before its reference date (a round held in spring
    2024 evaluates the 2023 report)."""
    return round_.as_of.year - 1


def indicator_history(application: Application, round_: Round) -> IndicatorHistory | None:
    """The history shown beside a sheet of an annual or triennial round; None elsewhere or for a non-center."""
    center = center_of(application)
    if round_.kind not in EVALUATION_KINDS or center is None:
        return None
    last = evaluated_year(round_)
    years = tuple(range(max(center.listed_on.year + 1, last - CONSTRUCTION_YEARS + 1), last + 1))
    reports = {report.year: report for report in center.reports if report.year in years}
    rows = tuple((code, center.target(code),
                  tuple(getattr(reports[year], code) if year in reports else None for year in years))
                 for code in INDICATORS)
    return IndicatorHistory(center, years, tuple(year for year in years if year not in reports), rows)


ROUND_NAMES = {"annual": "%(year)s年度上海市制造业创新中心年度评估",
               "triennial": "%(first)s—%(year)s年上海市制造业创新中心三年考核"}


def due_centers(kind: str, year: int) -> list[Center]:
    """The centers an evaluation of ``year`` takes: not withdrawn, and listed before ``year`` (annual) or
    before the three years the triennial assessment covers."""
    span = 1 if kind == "annual" else CONSTRUCTION_YEARS
    return [center for center in db.session.scalars(select(Center).join(Application).order_by(Application.ref))
            if center.status != "withdrawn" and center.listed_on.year <= year - span]


def open_evaluation_round(kind: str, year: int, *, actor: User | None) -> Round:
    """A draft round of ``kind`` (annual or triennial) evaluating ``year``, over the centers due, dated 1 March
    of the next year (see :func:`evaluated_year`)."""
    from web.services.rounds import RoundError, create_round

    if kind not in EVALUATION_KINDS:
        raise CenterError([_("An evaluation round is annual or triennial.")])
    if not 1 <= year <= LAST_YEAR:                  # the round's date is 1 March of the next year
        raise CenterError([_("The year is missing or not a year.")])
    due = due_centers(kind, year)
    if not due:
        raise CenterError([_("No center is due for this evaluation.")])
    name = ROUND_NAMES[kind] % {"year": year, "first": year - CONSTRUCTION_YEARS + 1}
    try:
        return create_round(name, kind, as_of=date(year + 1, 3, 1),
                            application_refs=[center.application.ref for center in due], actor=actor)
    except RoundError as error:
        raise CenterError([str(error)]) from error


@dataclass(frozen=True)
class EvaluationRow:
    """One center of an evaluation round: the ranking line (score, rank, grade) and its report of the year."""

    application: Application
    center: Center | None
    result: object | None            # scoring's ApplicationResult, None before any sheet is submitted
    report: AnnualReport | None


def evaluation_rows(round_: Round, lines: Sequence) -> list[EvaluationRow]:
    """The ranking ``lines`` of an evaluation round, in ranking order, each with the evaluated year's report."""
    year = evaluated_year(round_)
    rows = []
    for line in lines:
        center = center_of(line.application)
        rows.append(EvaluationRow(line.application, center, line.result,
                                  None if center is None else report_of(center, year)))
    return rows


def round_rankings(application: Application) -> list[RoundRanking]:
    """The ranking of each round ``application`` went through, by reference date (a round too large to rank here
    is refused in its report, not raised: :func:`refusals`): the engine's, not joined to sheets and flag reviews,
    which no reader of these reports shows."""
    rounds = db.session.scalars(select(Round).join(RoundApplication)
                                .where(RoundApplication.application_id == application.id).order_by(Round.as_of))
    return [engine_ranking(round_) for round_ in rounds]


def round_lines(application: Application, reports: Sequence[RoundRanking]) -> list[tuple[Round, object]]:
    """The rounds of ``reports`` (:func:`round_rankings`), each with ``application``'s line of the engine's ranking
    (None when unranked, or too large to rank here)."""
    return [(report.round, next((line for line in report.result.ranking if line.application == application.ref),
                                None)) for report in reports]


def ranked_here(reports: Sequence[RoundRanking]) -> list[RoundRanking]:
    """The reports of rounds ranked here: a round too large to rank here has a score this machine cannot compute,
    not none, so a center's history tells no grade of it (:func:`refusals` says why instead)."""
    return [report for report in reports if not report.too_large]


def scores_by_round(reports: Sequence[RoundRanking]) -> dict[int, dict[str, float | None]]:
    """The scores of each round of ``reports`` ranked here, by round id and application ref: the cache
    :func:`web.services.assessments.annual_scores` reads, so a page that ranked the rounds already does not rank
    them again."""
    return {report.round.id: {line.application: line.score for line in report.result.ranking}
            for report in ranked_here(reports)}


def history(center: Center) -> list[AuditEvent]:
    """Every audited change of ``center`` and of the decision that made it, oldest first."""
    return list(db.session.scalars(
        select(AuditEvent).where(((AuditEvent.entity_type == "center") & (AuditEvent.entity_id == str(center.id)))
                                 | ((AuditEvent.entity_type == "application")
                                    & (AuditEvent.entity_id == center.application.ref)
                                    & (AuditEvent.action == "decision.record")))
        .order_by(AuditEvent.id)))


def center_record(center: Center) -> dict:
    """The center as the API shows it: status, targets and every report."""
    return {"id": center.id, "application": center.application.ref, "name": center.name, "status": center.status,
            "listed_on": center.listed_on.isoformat(),
            "targets": {row.indicator: row.value for row in center.targets},
            "reports": [{"year": report.year, "document": report.document.filename if report.document else None,
                         "indicators": report.values()} for report in center.reports]}


def evaluation_record(round_: Round) -> dict:
    """An annual round's results as the API and the CLI show them: rank, score, grade and the evaluated year's
    indicators of every center; refused (CenterError) when the round is too large to rank here (:func:`ranked`)."""
    year = evaluated_year(round_)
    rows = evaluation_rows(round_, ranked(round_).lines)
    return {"round": round_.id, "name": round_.name, "year": year, "centers": [
        {"application": row.application.ref, "center": None if row.center is None else row.center.id,
         "name": row.application.center_name, "rank": getattr(row.result, "rank", None),
         "score": getattr(row.result, "score", None), "grade": getattr(row.result, "grade", None),
         "indicators": None if row.report is None else row.report.values()} for row in rows]}
