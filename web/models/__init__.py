"""The database models, one module per concept; importing this package registers every table."""

from .application import (
    CONSTRUCTION_CONTENT_LIMIT,
    EXPECTED_RESULTS,
    EXPECTED_STANDARDS,
    LEAD_ROLES,
    PLAN_SECTIONS,
    Application,
    ExcludedExpert,
    Lead,
    PlanSection,
    Shareholder,
)
from .assignment import ASSIGNMENT_STATES, Assignment, AssignmentVersion, Reserve
from .attachment import ATTACHMENT_KINDS, Attachment
from .audit import AuditEvent, AuditLogIsAppendOnly
from .center import (
    AMOUNT_INDICATORS,
    CENTER_STATUSES,
    COUNT_INDICATORS,
    DECISION_OUTCOMES,
    INDICATORS,
    AnnualReport,
    Center,
    CenterTarget,
    Decision,
)
from .common import ECONOMIC_TYPES, LARGEST_INTEGER, POOLS, utcnow
from .expert import (
    GOVERNANCE_ROLES,
    RELATION_KINDS,
    DeclaredRelation,
    Expert,
    ExpertField,
    GovernanceRole,
    PastAffiliation,
)
from .flag_review import FLAG_RESPONSES, FlagReview
from .job import JOB_KINDS, JOB_STATES, Job, StoredPanelContext, StoredRanking
from .member import (
    IP_COUNTS,
    MEMBER_KINDS,
    MEMBER_ROLES,
    RD_INSTITUTIONS,
    EnterpriseDetails,
    FinancialYear,
    InstituteDetails,
    MemberUnit,
    TeamMember,
)
from .organization import Organization, OrganizationAlias
from .outbox import MESSAGE_KINDS, OUTBOX_STATES, TRANSPORTS, OutboxMessage
from .round import OBJECTIVES, PANEL_MODES, ROUND_STATES, PoolQuota, Round, RoundApplication
from .sheet import OPINIONS, SHEET_STATES, IndicatorValue, Score, ScoreSheet
from .taxonomy import Field, Sector
from .template import ROUND_KINDS, ScoreTemplate, TemplateCriterion, TemplateIndicator
from .user import ROLES, ApiToken, User

__all__ = [
    "AMOUNT_INDICATORS", "CENTER_STATUSES", "COUNT_INDICATORS", "DECISION_OUTCOMES", "INDICATORS", "LARGEST_INTEGER", "AnnualReport",
    "Center", "CenterTarget", "Decision",
    "ASSIGNMENT_STATES", "ATTACHMENT_KINDS", "CONSTRUCTION_CONTENT_LIMIT", "ECONOMIC_TYPES", "EXPECTED_RESULTS", "EXPECTED_STANDARDS",
    "GOVERNANCE_ROLES", "IP_COUNTS", "LEAD_ROLES", "MEMBER_KINDS", "MEMBER_ROLES", "OBJECTIVES", "OPINIONS",
    "PANEL_MODES", "PLAN_SECTIONS", "POOLS", "RD_INSTITUTIONS", "RELATION_KINDS", "ROLES", "ROUND_KINDS",
    "ROUND_STATES", "SHEET_STATES", "FLAG_RESPONSES", "MESSAGE_KINDS", "TRANSPORTS", "JOB_KINDS", "JOB_STATES", "OUTBOX_STATES",
    "ApiToken", "Application", "Assignment", "AssignmentVersion", "Attachment", "AuditEvent",
    "AuditLogIsAppendOnly", "DeclaredRelation", "EnterpriseDetails", "ExcludedExpert", "Expert", "ExpertField",
    "Field", "FinancialYear", "FlagReview", "OutboxMessage", "GovernanceRole", "IndicatorValue", "InstituteDetails", "Job", "Lead", "MemberUnit", "Organization",
    "OrganizationAlias", "PastAffiliation", "PlanSection", "PoolQuota", "Reserve", "Round", "RoundApplication",
    "Score", "ScoreSheet", "StoredPanelContext", "StoredRanking", "ScoreTemplate", "Sector", "Shareholder", "TeamMember", "TemplateCriterion",
    "TemplateIndicator", "User", "utcnow",
]
