"""Codes as a person reads them: each code family (record codes, pools, conflict rules, round states, audit actions,
the ranking's sheet verdicts) mapped once to an English msgid whose Chinese is in the catalog.

Services and the API keep the codes; pages, e-mails, Excel and PDF files show ``label(code, kind)`` and keep the code
only as a tooltip. A code with no label is shown as is, so a new code is visible (and caught by
tests/web/test_chinese_pages.py) rather than hidden.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from scoring.templates import TemplateIssue

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

CONFLICT_RULES = {
    "same-organization": _l("Works at the bearer or a member unit"),
    "recent-employment": _l("Recently worked at the bearer or a member unit"),
    "governance": _l("Director, shareholder or legal representative there"),
    "named-person": _l("Named in the application"),
    "declared": _l("Declared relation"),
    "group-relation": _l("Organizations of the same group"),
    "applicant-excluded": _l("Excluded by the applicant"),
    "repeat-review": _l("Reviewed the same bearer recently"),
}
CONFLICT_KINDS = {"hard": _l("hard conflict"), "soft": _l("soft conflict")}
# Flags of the formal check and of the ranking engine; each flag also carries its own sentence.
FLAGS = {
    "ROBUST": _l("abnormal total"), "DEVIATION": _l("total far from the other experts"),
    "SMALL_PANEL": _l("small panel"), "INSUFFICIENT": _l("too few sheets"), "TIE": _l("tie"),
    "VETO": _l("veto criterion"), "GATE": _l("below the gate"), "LOW_SUPPORT": _l("few applications reviewed"),
    "COMPLETE_DESIGN": _l("every expert reviewed everything"), "ONE_LINK": _l("groups linked by one expert"),
    "MISSING_ROUND": _l("round missing"), "BEARER_NOT_SHANGHAI": _l("bearer not registered in Shanghai"),
    "BEARER_TOO_OLD": _l("bearer registered too early"), "SHARES_NOT_100": _l("shareholdings do not sum to 100%"),
    "NO_INITIATING_UNIT": _l("no initiating unit"), "MISSING_ATTACHMENT": _l("attachment missing"),
    "RD_STAFF_ABOVE_EMPLOYEES": _l("more R&D staff than employees"),
    "FIXED_ABOVE_TOTAL_ASSETS": _l("fixed assets above total assets"),
}
ROUND_STATES = {"draft": _l("draft"), "assigning": _l("assigning"), "scoring": _l("scoring"), "closed": _l("closed")}
VERSION_STATUSES = {"optimal": _l("optimal"), "feasible": _l("feasible, not proven optimal"),
                    "infeasible": _l("infeasible"), "manual": _l("manual")}
SEAT_STATES = {"proposed": _l("proposed"), "invited": _l("invited"), "accepted": _l("accepted"),
               "declined": _l("declined"), "recused": _l("recused"), "replaced": _l("replaced")}
# What the ranking engine did with a sheet it trimmed or could not use (scoring.trace's reason codes).
TRACE_REASONS = {"lowest_dropped": _l("lowest total dropped"), "highest_dropped": _l("highest total dropped"),
                 "too_few_sheets": _l("too few sheets for a score")}
# Why the ranking left a sheet out (web.services.ranking.ExclusionReason): %(detail)s is the note or reason given.
EXCLUSION_REASONS = {
    "declared": _l("the expert declared a conflict: %(detail)s"),
    "recused": _l("the expert recused: %(detail)s"),
    "left_out": _l("left out of the aggregation: %(detail)s"),
    "off_panel": _l("the expert no longer sits on this panel (removed, swapped or declined)"),
    "conflict": _l("conflict of interest (%(rule)s): %(detail)s"),
}
AUDIT_ACTIONS = {
    "assignment.add": _l("Expert added to a panel"), "assignment.invite": _l("Expert invited"),
    "assignment.remove": _l("Expert removed from a panel"), "assignment.replace": _l("Expert replaced"),
    "assignment.restore": _l("Assignment version restored"), "assignment.run": _l("Matching run"),
    "assignment.state": _l("Seat state changed"), "assignment.swap": _l("Experts swapped"),
    "attachment.add": _l("Attachment added"), "center.create": _l("Center created"),
    "center.status": _l("Center status changed"), "center.targets": _l("Center targets set"),
    "decision.record": _l("Decision recorded"), "flag_review.answer": _l("Score review answered"),
    "flag_review.request": _l("Score review requested"), "job.requested": _l("Job requested"),
    "job.done": _l("Job done"), "job.failed": _l("Job failed"),
    "job.interrupted": _l("Job interrupted (back in its queue)"), "job.claimed": _l("Job started"),
    "job.retry": _l("Job hit an unexpected error (back in its queue for another attempt)"),
    "job.stalled": _l("Job's worker stopped answering (back in its queue)"),
    "login.failure": _l("Login failed"), "login.refused_locked": _l("Login refused (account locked)"),
    "login.success": _l("Logged in"), "outbox.resend": _l("Message sent again"),
    "report.document": _l("Annual report document added"), "report.save": _l("Annual report saved"),
    "round.attach": _l("Applications attached to a round"), "round.create": _l("Round created"),
    "round.create_accounts": _l("Expert accounts created"), "round.criterion": _l("Score template changed"),
    "round.detach": _l("Application detached from a round"), "round.remind": _l("Reminders sent"),
    "round.settings": _l("Round settings changed"), "round.transition": _l("Round state changed"),
    "sheet.declare": _l("Conflict of interest declared"), "sheet.reopen": _l("Score sheet reopened"),
    "sheet.save_draft": _l("Score sheet draft saved"), "sheet.submit": _l("Score sheet submitted"),
    "token.create": _l("API token created"), "token.revoke": _l("API token revoked"),
    "user.activate": _l("Account activated"), "user.deactivate": _l("Account deactivated"),
    "user.create": _l("Account created"), "user.password_set": _l("Password set"),
    "user.password_set_by_link": _l("Password set through the personal link"),
    "user.password_set_by_operator": _l("Password set by an administrator"),
    "user.password_change": _l("Password changed"), "application.import": _l("Application imported"),
    "expert.import": _l("Expert imported"), "assignment.accept": _l("Invitation accepted"),
    "assignment.decline": _l("Invitation declined"),
    "user.force_reset": _l("Password reset forced"), "user.lock": _l("Account locked"),
    "user.logout": _l("Logged out"), "user.reset_requested": _l("Password reset requested"),
    "user.send_link": _l("Personal link sent"), "user.unlock": _l("Account unlocked"),
}
AUDIT_ENTITIES = {
    "api_token": _l("API token"), "application": _l("Application"), "assignment": _l("Seat"),
    "assignment_version": _l("Assignment version"), "attachment": _l("Attachment"), "center": _l("Center"),
    "flag_review": _l("Score review"), "job": _l("Job"), "outbox_message": _l("Message"), "round": _l("Round"),
    "score_sheet": _l("Score sheet"), "template_criterion": _l("Criterion"), "user": _l("Account"),
    "expert": _l("Expert"),
}
ACTORS = {"system": _l("System")}
USER_ROLES = {"admin": _l("Administrator"), "organizer": _l("Organizer"), "expert": _l("Expert")}
# A round's settings as its form names them, for errors that name the setting at fault.
SETTINGS = {
    "name": _l("Round name"), "kind": _l("Kind"), "as_of": _l("Reference date"), "deadline": _l("Deadline"),
    "mode": _l("Mode"), "panel_size": _l("Panel size"), "meeting_max_applications": _l("Applications per meeting panel"),
    "max_per_organization": _l("At most this many experts of one organization per panel"),
    "max_load": _l("Load cap (panels per expert)"), "reserves": _l("Reserves per application"),
    "auto_replace": _l("Replace a declining or recusing expert from the reserves automatically"),
    "pool_quotas": _l("Pool quotas"), "objective": _l("Objective"), "weight_field": _l("Weight of field fit"),
    "weight_text": _l("Weight of text fit"), "window_years": _l("Conflict window (years)"),
    "repeat_review_years": _l("No repeat review of the same bearer within (years, empty = off)"),
    "time_limit": _l("Solve time limit (seconds, empty = until proven optimal)"),
    "max_probability": _l("Maximum probability per expert and application"), "seed": _l("Seed"),
    "state": _l("State"), "applications": _l("Applications"), "fields": _l("Fields"), "settings": _l("Settings"),
    "template": _l("Score template"),
}
# The rules a score template breaks (scoring.templates.TemplateIssue codes); %(criterion)s is the criterion's name.
TEMPLATE_ISSUES = {
    "no_criteria": _l("The template has no criteria."),
    "id_missing": _l("%(criterion)s: the criterion has no code."),
    "id_duplicate": _l("%(criterion)s: another criterion already has the code %(id)s."),
    "max_not_positive": _l("%(criterion)s: the maximum must be a positive number (it is %(max)s)."),
    "step_not_positive": _l("%(criterion)s: the step must be a positive number (it is %(step)s)."),
    "step_not_dividing": _l("%(criterion)s: the step %(step)s does not divide the maximum %(max)s."),
    "priority_negative": _l("%(criterion)s: the tie-break priority must be a whole number ≥ 0 (it is %(priority)s)."),
    "maxima_sum": _l("The criterion maxima sum to %(total)s; they must sum to %(expected)s."),
}
# Keys of the changes a center's history shows.
CHANGE_FIELDS = {
    "application": _l("Application"), "status": _l("Status"), "listed_on": _l("Listed on"),
    "outcome": _l("Outcome"), "decided_on": _l("Decided on"), "document_no": _l("Document number"),
    "reason": _l("Reason"), "year": _l("Year"), "attachment": _l("Attachment"), "filename": _l("File name"),
}

LABELS = {
    "economic_type": ECONOMIC_TYPES, "member_role": MEMBER_ROLES, "member_kind": MEMBER_KINDS,
    "lead_role": LEAD_ROLES, "expected_result": EXPECTED_RESULTS, "expected_standard": EXPECTED_STANDARDS,
    "rd_institution": RD_INSTITUTIONS, "plan_section": PLAN_SECTIONS, "attachment_kind": ATTACHMENT_KINDS,
    "pool": POOLS, "ip_count": IP_COUNTS, "rule": CONFLICT_RULES, "flag": FLAGS, "conflict_kind": CONFLICT_KINDS,
    "round_state": ROUND_STATES, "version_status": VERSION_STATUSES, "seat_state": SEAT_STATES,
    "trace_reason": TRACE_REASONS, "audit_action": AUDIT_ACTIONS, "audit_entity": AUDIT_ENTITIES, "actor": ACTORS,
    "change_field": CHANGE_FIELDS, "setting": SETTINGS, "role": USER_ROLES,
}


def label(code: str | None, kind: str) -> str:
    """Template filter: the translated label of ``code``, or the code itself when it has none."""
    if code is None:
        return ""
    return str(LABELS[kind].get(code, code))


def setting_name(field: str) -> str:
    """The name of a round setting as its form shows it; ``pool_quotas.<pool>`` names the pool too."""
    setting, _dot, pool = field.partition(".")
    name = label(setting, "setting")
    return _("%(setting)s (%(pool)s)", setting=name, pool=label(pool, "pool")) if pool else name


def setting_error(field: str, message: str) -> str:
    """An error naming the round setting at fault: "<setting>: <message>"."""
    return _("%(field)s: %(message)s", field=setting_name(field), message=message)


def template_issue(issue: TemplateIssue, names: Mapping[object, str]) -> str:
    """A rule the score template breaks as a sentence, the criterion named by ``names`` (criterion code → name)."""
    values = {key: number_text(value) for key, value in issue.values}
    if issue.index is not None:
        values["criterion"] = names.get(issue.criterion) or _("criterion %(number)s", number=issue.index + 1)
    return str(TEMPLATE_ISSUES[issue.code]) % values


def number_text(value: object) -> str:
    """A number as a person writes it (7.0 as 7, 7.5 as 7.5); anything else as text, “five” as typed."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:g}"
    return "" if value is None else str(value)


def state_label(state: str | None) -> str:
    """The label of a round state, an assignment version's status or a seat's state (they share the badges)."""
    for kind in ("round_state", "version_status", "seat_state"):
        if state in LABELS[kind]:
            return label(state, kind)
    return state or ""


def plain(value: object) -> object:
    """Template filter: a whole float without its ".0" (30000.0 万元 reads as 30000), anything else as is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
