"""The value types of the matching engine (DESIGN §6, §10): experts, applications, round settings, conflicts.

Every type is a frozen dataclass. Parsing and validation live in :mod:`matching.problem`; the types themselves
trust their contents. Dates are :class:`datetime.date`; refs are the caller's unique string ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from types import MappingProxyType

POOLS = ("economics", "technology", "industry", "management", "law")
"""The five expert pools (专家类别) in the order reports list them."""

POOL_ALIASES: Mapping[str, str] = MappingProxyType(
    {"经济": "economics", "技术": "technology", "产业": "industry", "管理": "management", "法律": "law"}
)
"""Chinese pool names accepted on input, mapped to the English code."""

FIELD_POOLS = ("technology", "industry")
"""Pools whose experts are fitted on their own fields; the others are fitted on sector and text (DESIGN §6)."""

SECTORS: Mapping[str, str] = MappingProxyType(
    {"EQP": "高端装备", "BIO": "生物医药", "ICT": "集成电路与电子", "DIG": "数字智能", "MAT": "新材料"}
)
"""Sector code → Chinese name (DESIGN §4)."""

FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "EQP-GT": "燃气轮机",
        "EQP-SM": "智能制造",
        "EQP-AM": "3D打印",
        "EQP-IB": "智能化建筑工程",
        "BIO-PH": "医药高端制剂与绿色制药",
        "BIO-MD": "高性能医疗器械",
        "ICT-SE": "半导体关键装备和材料",
        "ICT-IC": "集成电路",
        "ICT-5G": "5G中高频器件",
        "DIG-AI": "人工智能",
        "DIG-VO": "智能语音",
        "DIG-II": "工业互联网",
        "DIG-CL": "工业云制造",
        "DIG-BD": "工业大数据",
        "DIG-SEC": "工业信息安全",
        "DIG-BDS": "北斗导航定位",
        "MAT-MB": "高性能膜材料",
        "MAT-NM": "新材料",
    }
)
"""The default field taxonomy (DESIGN §4, §10): field code → Chinese name. The web app's table may extend it."""

MODES = ("individual", "meeting")
OBJECTIVES = ("total", "fair")
MEMBER_ROLES = ("initiating", "participating")
MEMBER_KINDS = ("enterprise", "institute")
GOVERNANCE_ROLES = ("director", "supervisor", "legal_rep", "shareholder", "controller")
DECLARATION_KINDS = ("kinship", "advisor", "collaboration", "dispute", "investment", "drafted")
HARD, SOFT = "hard", "soft"


def sector_of(field_code: str) -> str:
    """The sector of a field: the part of the code before the hyphen (``'DIG-AI'`` → ``'DIG'``)."""
    return field_code.split("-", 1)[0]


@dataclass(frozen=True)
class Organization:
    """A legal entity. ``parent`` names its parent organization (group company or holder), by name or USCC."""

    name: str
    uscc: str | None = None
    parent: str | None = None


@dataclass(frozen=True)
class Affiliation:
    """A past (or ongoing, ``until=None``) employment of an expert at an organization."""

    name: str
    uscc: str | None = None
    start: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class GovernanceRole:
    """The expert is or was (until ``until``; None = still) a director, supervisor, legal representative,
    shareholder or actual controller (``role`` in :data:`GOVERNANCE_ROLES`) of ``organization``."""

    organization: str
    uscc: str | None = None
    role: str = "director"
    until: date | None = None


@dataclass(frozen=True)
class Declaration:
    """A relation the expert declared (``kind`` in :data:`DECLARATION_KINDS`).

    It points at a ``person`` (matched against the people named in applications), an ``organization``/``uscc``
    (matched against bearer and member units), or directly at an ``application`` ref (e.g. ``drafted``).
    ``until`` ends a time-bound relation (collaboration, dispute, investment); None means ongoing.
    """

    kind: str
    person: str | None = None
    organization: str | None = None
    uscc: str | None = None
    until: date | None = None
    note: str = ""
    application: str | None = None


@dataclass(frozen=True)
class Expert:
    """A reviewer of one pool. ``fields`` are field codes; ``max_load`` None means the round's cap applies."""

    ref: str
    name: str
    pool: str
    title: str = ""
    organization: Organization | None = None
    fields: tuple[str, ...] = ()
    profile: str = ""
    past_affiliations: tuple[Affiliation, ...] = ()
    roles: tuple[GovernanceRole, ...] = ()
    declared: tuple[Declaration, ...] = ()
    max_load: int | None = None
    available: bool = True

    @property
    def sectors(self) -> tuple[str, ...]:
        """The sectors of the expert's fields, without repeats, in order."""
        return tuple(dict.fromkeys(sector_of(code) for code in self.fields))


@dataclass(frozen=True)
class MemberUnit:
    """An initiating or participating unit of an application.

    ``people`` are the persons the unit's table names (legal representative, contact, team lead, team members);
    ``shareholders`` its top shareholders (persons or organizations); ``parent`` its parent organization if known.
    """

    role: str
    kind: str
    name: str
    uscc: str | None = None
    people: tuple[str, ...] = ()
    shareholders: tuple[str, ...] = ()
    parent: str | None = None

    @property
    def organization(self) -> Organization:
        """The unit as an :class:`Organization` for name/USCC matching."""
        return Organization(self.name, self.uscc, self.parent)


@dataclass(frozen=True)
class Application:
    """One center's application as the matching engine sees it.

    ``text`` is what text fit reads (center name + construction content + plan). ``named_people`` are the
    persons the basic table names for the bearer (legal representative, contact, leads); ``shareholders`` the
    bearer's shareholders (persons or organizations). ``excluded_experts`` are the at most 3 expert refs the
    applicant asks to avoid.
    """

    ref: str
    center_name: str
    field: str
    text: str = ""
    bearer: Organization = Organization("")
    bearer_registered_on: date | None = None
    members: tuple[MemberUnit, ...] = ()
    named_people: tuple[str, ...] = ()
    shareholders: tuple[str, ...] = ()
    excluded_experts: tuple[str, ...] = ()
    submitted_on: date | None = None

    @property
    def sector(self) -> str:
        """The sector of the application's field."""
        return sector_of(self.field)


@dataclass(frozen=True)
class Randomize:
    """Randomized draw (随机抽取): every pair assigned with probability at most ``max_probability``."""

    max_probability: float
    seed: int


@dataclass(frozen=True)
class FitWeights:
    """How field fit and text fit blend for technology and industry experts (they sum to 1 after parsing)."""

    field: float = 0.6
    text: float = 0.4


@dataclass(frozen=True)
class Settings:
    """One round's matching settings (DESIGN §10 ``settings``).

    ``pool_quotas`` maps a pool to its [min, max] per panel; a pool left out has [0, panel_size].
    ``max_per_organization`` None means no limit. ``as_of`` is the reference date every window is measured
    back from; ``window_years`` the length of those windows (3 in the notice). ``repeat_review_years`` None
    switches the repeat-review rule off. ``time_limit`` (seconds, None: none) stops the exact solve's pricing
    rounds once passed; the best panels at hand are then returned with their bound and gap, not proven optimal.
    It applies to the ``total`` objective of individual mode without ``randomize`` only (the others keep their own
    limits, and a diagnostic says so).
    """

    as_of: date
    mode: str = "individual"
    panel_size: int = 7
    pool_quotas: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    max_per_organization: int | None = 1
    max_load: int = 5
    objective: str = "total"
    randomize: Randomize | None = None
    reserves: int = 3
    weights: FitWeights = FitWeights()
    window_years: int = 3
    meeting_max_applications: int = 8
    repeat_review_years: int | None = None
    time_limit: float | None = None

    def quota(self, pool: str) -> tuple[int, int]:
        """The [min, max] of ``pool`` per panel, with the default for pools the settings leave out."""
        return tuple(self.pool_quotas.get(pool, (0, self.panel_size)))


@dataclass(frozen=True)
class Pair:
    """An (expert ref, application ref) pair, e.g. a fixed or forbidden one, with the organizer's reason."""

    expert: str
    application: str
    reason: str = ""


@dataclass(frozen=True)
class AffinityScore:
    """An organizer-supplied fit in [0, 1] that replaces the computed one for this pair."""

    expert: str
    application: str
    score: float


@dataclass(frozen=True)
class PastReview:
    """The expert reviewed an application of ``bearer`` on ``reviewed_on`` (feeds the repeat-review rule)."""

    expert: str
    bearer: Organization
    reviewed_on: date


@dataclass(frozen=True)
class Problem:
    """A whole matching problem. Experts and applications keep their input order, which is the row/column
    order of every matrix the engine returns. ``organization_aliases`` (alias → canonical name) feeds the
    organization matching of the conflict rules."""

    settings: Settings
    experts: tuple[Expert, ...]
    applications: tuple[Application, ...]
    affinity: tuple[AffinityScore, ...] | None = None
    fixed: tuple[Pair, ...] = ()
    forbidden: tuple[Pair, ...] = ()
    past_reviews: tuple[PastReview, ...] = ()
    organization_aliases: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def expert_index(self) -> Mapping[str, int]:
        """Expert ref → row index."""
        return {expert.ref: i for i, expert in enumerate(self.experts)}

    @cached_property
    def application_index(self) -> Mapping[str, int]:
        """Application ref → column index."""
        return {application.ref: j for j, application in enumerate(self.applications)}


@dataclass(frozen=True)
class Conflict:
    """A conflict of interest: rule id (DESIGN §6.1), kind ``'hard'`` or ``'soft'``, and a reason naming the
    evidence in Chinese."""

    expert: str
    application: str
    rule: str
    kind: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        """The JSON form of DESIGN §10."""
        return {
            "expert": self.expert,
            "application": self.application,
            "rule": self.rule,
            "kind": self.kind,
            "reason": self.reason,
        }
