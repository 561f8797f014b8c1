"""Formal check (形式审查, DESIGN §5 step 2): eligibility and completeness flags for one application.

A pure function over a validated application record (web/records), so that it needs no database. Flags are
shown to the organizer, who resolves them; nothing is rejected silently. Malformed data never gets here: the
validator refuses it on entry (DESIGN §10).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

from matching.uscc import division, is_shanghai, uscc_error

ELIGIBILITY_YEARS = 3  # 沪经信技〔2020〕421号 二、申报对象: 三年内在本市新注册的独立法人
SHARE_TOLERANCE = 0.01
REQUIRED_ATTACHMENTS = {  # the notice's 填写说明 4 (5)–(8)
    "business_licence": ("申报单位营业执照", "business licence of the applicant"),
    "audited_financials": ("发起单位上一会计年度的财务审计报告", "last year's audited financial report of the initiator"),
    "cooperation_agreement": ("成员单位之间的合作协议", "cooperation agreement between the member units"),
    "bylaws": ("创新中心规章制度及章程", "bylaws and rules of the center"),
}


@dataclass(frozen=True)
class Flag:
    """One formal-check finding: a stable code and a plain message in Chinese and English naming the evidence."""

    code: str
    message: str
    message_en: str


def check_application(record: dict, *, submitted_on: date | None = None) -> list[Flag]:
    """Every formal-check flag of one application; ``submitted_on`` overrides the record's submission date."""
    return [
        *bearer_location(record.get("bearer") or {}),
        *bearer_age(record.get("bearer") or {}, submitted_on or record.get("submitted_on")),
        *shares(record.get("bearer") or {}),
        *initiating_unit(record.get("members") or []),
        *attachments(record.get("attachments") or []),
        *member_figures(record.get("members") or []),
    ]


def bearer_location(bearer: dict) -> list[Flag]:
    """BEARER_NOT_SHANGHAI unless the USCC's division code starts with 31 or the registered address is in Shanghai."""
    code, address = bearer.get("uscc") or "", bearer.get("registered_address") or ""
    in_shanghai_by_code = bool(code) and uscc_error(code) is None and is_shanghai(code)
    if in_shanghai_by_code or "上海" in address:
        return []
    where = f"行政区划码 {division(code)}" if code else "无统一社会信用代码"
    where_en = f"division code {division(code)}" if code else "no USCC"
    return [Flag(
        "BEARER_NOT_SHANGHAI",
        f"承担单位“{bearer.get('name')}”不在上海注册：统一社会信用代码 {code or '—'}（{where}，上海为31开头），"
        f"注册地址“{address or '未填'}”",
        f"Bearer unit {bearer.get('name')} is not registered in Shanghai: USCC {code or '—'} ({where_en}; "
        f"Shanghai codes start with 31), registered address '{address or 'not given'}'",
    )]


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (28 February for a 29 February that does not exist)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def bearer_age(bearer: dict, submitted_on: date | None) -> list[Flag]:
    """BEARER_TOO_OLD when the bearer was registered more than three years before the submission date."""
    registered_on = bearer.get("registered_on")
    if registered_on is None or submitted_on is None:
        return []
    limit = years_before(submitted_on, ELIGIBILITY_YEARS)
    if registered_on >= limit:
        return []
    return [Flag(
        "BEARER_TOO_OLD",
        f"承担单位“{bearer.get('name')}”注册成立于 {registered_on}，早于申报日 {submitted_on} 前三年（{limit}），"
        f"不属于三年内新注册的独立法人",
        f"Bearer unit {bearer.get('name')} was registered on {registered_on}, more than three years before the "
        f"submission date {submitted_on} (limit {limit})",
    )]


def shares(bearer: dict) -> list[Flag]:
    """SHARES_NOT_100 when the bearer's shareholdings do not sum to 100 % (±0.01)."""
    holders = bearer.get("shareholders") or []
    total = round(sum(holder.get("share_pct") or 0 for holder in holders), 4)
    if holders and abs(total - 100) <= SHARE_TOLERANCE:
        return []
    listed = "、".join(f"{holder.get('name')} {holder.get('share_pct')}%" for holder in holders) or "无股东"
    return [Flag(
        "SHARES_NOT_100",
        f"承担单位股权比例合计 {total:g}%，应为100%（{listed}）",
        f"The bearer unit's shareholdings sum to {total:g} %, not 100 % ({len(holders)} shareholder(s) listed)",
    )]


def initiating_unit(members: list[dict]) -> list[Flag]:
    """NO_INITIATING_UNIT when no member unit is an initiating unit (发起单位)."""
    if any(member.get("role") == "initiating" for member in members):
        return []
    return [Flag(
        "NO_INITIATING_UNIT",
        f"成员单位（{len(members)}家）中没有发起单位，至少应有一家",
        f"None of the {len(members)} member unit(s) is an initiating unit; at least one is required",
    )]


def attachments(items: list[dict]) -> list[Flag]:
    """MISSING_ATTACHMENT for each required document kind not attached, naming the document."""
    present = {item.get("kind") for item in items}
    return [Flag("MISSING_ATTACHMENT", f"缺少附件：{chinese}", f"Missing attachment: {english}")
            for kind, (chinese, english) in REQUIRED_ATTACHMENTS.items() if kind not in present]


def member_figures(members: list[dict]) -> list[Flag]:
    """RD_STAFF_ABOVE_EMPLOYEES and FIXED_ABOVE_TOTAL_ASSETS for each enterprise member, naming the unit."""
    flags = []
    for member in members:
        name = member.get("name")
        employees, rd_staff = member.get("employees"), member.get("rd_staff")
        if employees is not None and rd_staff is not None and rd_staff > employees:
            flags.append(Flag(
                "RD_STAFF_ABOVE_EMPLOYEES",
                f"成员单位“{name}”研发人员 {rd_staff} 人，多于员工总人数 {employees} 人",
                f"Member unit {name} reports {rd_staff} R&D staff, more than its {employees} employees",
            ))
        total, fixed = member.get("total_assets"), member.get("fixed_assets")
        if total is not None and fixed is not None and fixed > total:
            flags.append(Flag(
                "FIXED_ABOVE_TOTAL_ASSETS",
                f"成员单位“{name}”固定资产 {fixed:g} 万元，高于资产总额 {total:g} 万元",
                f"Member unit {name} reports fixed assets of {fixed:g} (10k CNY), above its total assets of {total:g}",
            ))
    return flags


def check_report(records: list[dict], *, submitted_on: date | None = None) -> list[dict]:
    """Flags of many applications as plain data: [{ref, center_name, flags: [{code, message, message_en}]}]."""
    return [{"ref": record.get("ref"), "center_name": record.get("center_name"),
             "flags": [asdict(flag) for flag in check_application(record, submitted_on=submitted_on)]}
            for record in records]
