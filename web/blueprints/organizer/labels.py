"""Display labels of the record codes (economic types, member roles, pools…), translatable."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ECONOMIC_TYPES = {
    "state_owned": _l("State-owned enterprise"), "state_controlled": _l("State-controlled enterprise"),
    "foreign": _l("Foreign-invested enterprise"), "joint_venture": _l("Joint venture"),
    "private": _l("Private enterprise"), "other": _l("Other"),
}
MEMBER_ROLES = {"initiating": _l("Initiating unit"), "participating": _l("Participating unit")}
MEMBER_KINDS = {"enterprise": _l("Enterprise"), "institute": _l("University/institute")}
LEAD_ROLES = {"initiator": _l("Initiator lead"), "rd_team": _l("R&D team lead"),
              "daily_contact": _l("Day-to-day contact")}
EXPECTED_RESULTS = {
    "patent": _l("Patent"), "standard": _l("Technical standard"), "technology": _l("New technology"),
    "product": _l("New product"), "process": _l("New process"), "device": _l("New device"), "other": _l("Other"),
}
EXPECTED_STANDARDS = {
    "international": _l("International standard"), "national": _l("National standard"),
    "industry": _l("Industry standard"), "alliance": _l("Alliance standard"), "enterprise": _l("Enterprise standard"),
}
RD_INSTITUTIONS = {
    "enterprise_tech_center": _l("Enterprise technology center (municipal or above)"),
    "engineering_research_center": _l("Engineering research center (municipal or above)"),
    "engineering_tech_research_center": _l("Engineering technology research center (municipal or above)"),
    "key_laboratory": _l("Key laboratory (municipal or above)"), "other": _l("Other"),
}
PLAN_SECTIONS = {
    "necessity": _l("1 Necessity"), "goals": _l("2 Mid/long-term goals and tasks"),
    "technical_route": _l("3.1 Technical route, advancement and feasibility"),
    "ip_and_standards": _l("3.2 IP and standards"), "market": _l("3.3 Market and commercialization"),
    "foundation": _l("4.1 Existing conditions"), "operations": _l("4.2 Operations of the last two years"),
    "staff": _l("4.3 Key research and management staff"), "leaders": _l("4.4 Center leader and core staff"),
    "organization": _l("5 Organization and management"), "investment": _l("6 R&D investment plan"),
    "risks": _l("7 Risks and countermeasures"),
}
ATTACHMENT_KINDS = {
    "business_licence": _l("Business licence"), "audited_financials": _l("Audited financial report"),
    "cooperation_agreement": _l("Cooperation agreement"), "bylaws": _l("Bylaws"),
    "qualification": _l("Qualification certificate"), "other": _l("Other"),
}
POOLS = {"economics": _l("Economics"), "technology": _l("Technology"), "industry": _l("Industry"),
         "management": _l("Management"), "law": _l("Law")}
IP_COUNTS = {
    "invention_applied": _l("Invention patents applied"), "invention_granted": _l("Invention patents granted"),
    "utility_applied": _l("Utility models applied"), "utility_granted": _l("Utility models granted"),
    "software_copyrights": _l("Software copyrights"), "ic_layouts": _l("IC layout designs"),
}

LABELS = {
    "economic_type": ECONOMIC_TYPES, "member_role": MEMBER_ROLES, "member_kind": MEMBER_KINDS,
    "lead_role": LEAD_ROLES, "expected_result": EXPECTED_RESULTS, "expected_standard": EXPECTED_STANDARDS,
    "rd_institution": RD_INSTITUTIONS, "plan_section": PLAN_SECTIONS, "attachment_kind": ATTACHMENT_KINDS,
    "pool": POOLS, "ip_count": IP_COUNTS,
}


def label(code: str | None, kind: str) -> str:
    """Template filter: the translated label of ``code``, or the code itself when it has none."""
    if code is None:
        return ""
    return str(LABELS[kind].get(code, code))


def plain(value: object) -> object:
    """Template filter: a whole float without its ".0" (30000.0 万元 reads as 30000), anything else as is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
