"""Parse and validate a matching problem (DESIGN §10) into :class:`matching.types.Problem`.

Malformed input is refused as a whole: :func:`parse_problem` collects every error before it raises
:class:`ProblemError`, and each error names the record, the key and the rule, e.g.
``experts[3] (E17): pool: unknown pool 'finance'``.

What counts as malformed here, beyond types and formats: unknown pools and fields, duplicate refs, references to
unknown experts or applications, quota minimums above their maximums or summing above the panel size, and a
panel no set of available experts could fill (more seats than available experts, a pool minimum above that pool's
available experts). Shortfalls that depend on loads and conflicts are not refused here: the solver reports them
as ``status: infeasible`` with explanations.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from matching import uscc as uscc_check
from matching.types import (
    DECLARATION_KINDS,
    FIELDS,
    GOVERNANCE_ROLES,
    MEMBER_KINDS,
    MEMBER_ROLES,
    MODES,
    OBJECTIVES,
    POOL_ALIASES,
    POOLS,
    Affiliation,
    AffinityScore,
    Application,
    Declaration,
    Expert,
    FitWeights,
    GovernanceRole,
    MemberUnit,
    Organization,
    Pair,
    PastReview,
    Problem,
    Randomize,
    Settings,
)

CONSTRUCTION_CONTENT_LIMIT = 500
MAX_EXCLUDED_EXPERTS = 3
PLAN_SECTIONS = (
    "necessity", "goals", "technical_route", "ip_and_standards", "market", "foundation", "operations", "staff",
    "leaders", "organization", "investment", "risks",
)
LEAD_KEYS = ("initiator", "rd_team", "daily_contact")
PERSON_KEYS = ("legal_rep", "contact", "rd_lead", "team_contact")


class ProblemError(ValueError):
    """A refused problem; ``errors`` lists every error found, each naming record, key and rule."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


class _Record:
    """Reads the keys of one JSON object, reporting each bad value under the record's label."""

    def __init__(self, data: Any, label: str, errors: list[str]):
        self.label = label
        self.errors = errors
        if not isinstance(data, Mapping):
            self.error("", f"must be an object, got {type(data).__name__}")
            data = {}
        self.data = data

    def error(self, key: str, rule: str) -> None:
        label = self.label or "problem"
        self.errors.append(f"{label}: {key}: {rule}" if key else f"{label}: {rule}")

    def path(self, key: str) -> str:
        return f"{self.label}.{key}" if self.label else key

    def child(self, key: str) -> _Record:
        return _Record(self.data.get(key) or {}, self.path(key), self.errors)

    def text(self, key: str, *, required: bool = False, default: str = "") -> str:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.error(key, "is required")
            return default
        if not isinstance(value, str):
            self.error(key, f"must be text, got {type(value).__name__}")
            return default
        return value.strip()

    def optional_text(self, key: str) -> str | None:
        return self.text(key) or None

    def integer(self, key: str, default: int | None, *, minimum: int = 0, required: bool = False) -> int | None:
        value = self.data.get(key)
        if value is None:
            if required:
                self.error(key, "is required")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(key, f"must be an integer, got {value!r}")
            return default
        if value < minimum:
            self.error(key, f"must be at least {minimum}, got {value}")
            return default
        return value

    def number(self, key: str, default: float, *, low: float, high: float) -> float:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.error(key, f"must be a number, got {value!r}")
            return default
        if not low <= value <= high:
            self.error(key, f"must be between {low:g} and {high:g}, got {value!r}")
            return default
        return float(value)

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.error(key, f"must be true or false, got {value!r}")
            return default
        return value

    def date(self, key: str, *, required: bool = False) -> date | None:
        value = self.data.get(key)
        if value is None or value == "":
            if required:
                self.error(key, "is required")
            return None
        try:
            if not isinstance(value, str) or len(value) != 10:
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            self.error(key, f"not an ISO date YYYY-MM-DD: {value!r}")
            return None

    def uscc(self, key: str = "uscc") -> str | None:
        value = self.optional_text(key)
        if value is None:
            return None
        problem = uscc_check.uscc_error(value)
        if problem:
            self.error(key, f"invalid USCC {value!r}: {problem}")
            return None
        return uscc_check.compact(value)

    def choice(self, key: str, choices: Iterable[str], *, default: str | None = None) -> str | None:
        value = self.data.get(key)
        if value is None:
            if default is None:
                self.error(key, "is required")
            return default
        choices = tuple(choices)
        if value not in choices:
            self.error(key, f"unknown value {value!r} (one of {', '.join(choices)})")
            return default
        return value

    def items(self, key: str, *, with_ref: bool = False) -> list[_Record]:
        """The list under ``key`` as records labelled ``key[i]``, or ``key[i] (ref)`` when ``with_ref``."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(key, f"must be a list, got {type(value).__name__}")
            return []
        records = []
        for i, item in enumerate(value):
            ref = item.get("ref") if with_ref and isinstance(item, Mapping) else None
            label = f"{self.path(key)}[{i}]" + (f" ({ref})" if ref else "")
            records.append(_Record(item, label, self.errors))
        return records

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            self.error(key, "must be a list of text")
            return ()
        return tuple(item.strip() for item in value if item.strip())


def pool_code(name: str) -> str | None:
    """The English pool code for an English or Chinese pool name, or None when unknown."""
    if name in POOLS:
        return name
    return POOL_ALIASES.get(name)


def field_lookup(fields: Mapping[str, str]) -> dict[str, str]:
    """Every accepted spelling of a field (code, lower-case code, Chinese name) → its code."""
    lookup: dict[str, str] = {}
    for code, name in fields.items():
        lookup[name] = code
        lookup[code.lower()] = code
        lookup[code] = code
    return lookup


def parse_problem(data: Mapping[str, Any], fields: Mapping[str, str] = FIELDS) -> Problem:
    """Parse a problem dict (the JSON of DESIGN §10) into a validated :class:`Problem`.

    Parameters
    ----------
    data : mapping
        The decoded JSON object with ``settings``, ``experts``, ``applications`` and optional ``affinity``,
        ``fixed``, ``forbidden``, ``past_reviews`` ([{``expert``, ``bearer`` {``name``, ``uscc``},
        ``reviewed_on``}]) and ``organization_aliases`` ({alias: canonical name}).
    fields : mapping
        The field taxonomy, code → Chinese name; fields may be given by either. Defaults to DESIGN §4.

    Raises
    ------
    ProblemError
        With every error found, when anything is malformed.
    """
    errors: list[str] = []
    root = _Record(data, "", errors)
    lookup = field_lookup(fields)
    settings = _settings(root.child("settings"))
    experts = tuple(_expert(record, lookup) for record in root.items("experts", with_ref=True))
    applications = tuple(_application(record, lookup) for record in root.items("applications", with_ref=True))
    if not root.data.get("experts"):
        root.error("experts", "at least one expert is required")
    if not root.data.get("applications"):
        root.error("applications", "at least one application is required")
    _check_unique(experts, "experts", errors)
    _check_unique(applications, "applications", errors)
    expert_refs = {expert.ref for expert in experts}
    application_refs = {application.ref for application in applications}
    _check_excluded(applications, expert_refs, errors)
    pair_lists = {
        key: _pairs(root, key, expert_refs, application_refs) for key in ("fixed", "forbidden")
    }
    _check_fixed_not_forbidden(pair_lists["fixed"], pair_lists["forbidden"], errors)
    affinity = _affinity(root, expert_refs, application_refs)
    past_reviews = tuple(_past_review(record, expert_refs) for record in root.items("past_reviews"))
    aliases = _aliases(root)
    if settings is not None and experts:
        _check_capacity(settings, experts, errors)
    if errors:
        raise ProblemError(errors)
    return Problem(
        settings=settings,
        experts=experts,
        applications=applications,
        affinity=affinity,
        fixed=tuple(pair_lists["fixed"]),
        forbidden=tuple(pair_lists["forbidden"]),
        past_reviews=past_reviews,
        organization_aliases=aliases,
    )


def _settings(record: _Record) -> Settings | None:
    as_of = record.date("as_of", required=True)
    panel_size = record.integer("panel_size", 7, minimum=1)
    quotas = _pool_quotas(record, panel_size)
    weights = _weights(record.child("weights"))
    meeting = record.child("meeting")
    settings = dict(
        mode=record.choice("mode", MODES, default="individual"),
        panel_size=panel_size,
        pool_quotas=quotas,
        max_per_organization=record.integer("max_per_organization", 1, minimum=1),
        max_load=record.integer("max_load", 5, minimum=1),
        objective=record.choice("objective", OBJECTIVES, default="total"),
        randomize=_randomize(record),
        reserves=record.integer("reserves", 3, minimum=0),
        weights=weights,
        window_years=record.integer("window_years", 3, minimum=0),
        meeting_max_applications=meeting.integer("max_applications_per_panel", 8, minimum=1),
        repeat_review_years=record.integer("repeat_review_years", None, minimum=1),
        time_limit=record.number("time_limit", math.inf, low=1.0, high=math.inf),
    )
    if settings["time_limit"] == math.inf:
        settings["time_limit"] = None
    if "max_per_organization" in record.data and record.data["max_per_organization"] is None:
        settings["max_per_organization"] = None
    return Settings(as_of=as_of, **settings) if as_of else None


def _pool_quotas(record: _Record, panel_size: int) -> dict[str, tuple[int, int]]:
    raw = record.data.get("pool_quotas") or {}
    if not isinstance(raw, Mapping):
        record.error("pool_quotas", "must be an object {pool: [min, max]}")
        return {}
    quotas: dict[str, tuple[int, int]] = {}
    for name, bounds in raw.items():
        key = f"pool_quotas.{name}"
        pool = pool_code(name)
        if pool is None:
            record.error(key, f"unknown pool {name!r} (one of {', '.join(POOLS)})")
            continue
        if (
            not isinstance(bounds, list | tuple)
            or len(bounds) != 2
            or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
        ):
            record.error(key, f"must be [min, max] integers, got {bounds!r}")
            continue
        low, high = bounds
        if low < 0 or high < 0:
            record.error(key, f"quotas must not be negative, got [{low}, {high}]")
        elif low > high:
            record.error(key, f"minimum {low} is above maximum {high}")
        else:
            quotas[pool] = (low, high)
    minimums = sum(low for low, _ in quotas.values())
    if minimums > panel_size:
        record.error("pool_quotas", f"minimums sum to {minimums}, above the panel size {panel_size}")
    capacity = sum(quotas.get(pool, (0, panel_size))[1] for pool in POOLS)
    if capacity < panel_size:
        record.error("pool_quotas", f"maximums sum to {capacity}, below the panel size {panel_size}")
    return quotas


def _weights(record: _Record) -> FitWeights:
    field_weight = record.number("field", 0.6, low=0.0, high=math.inf)
    text_weight = record.number("text", 0.4, low=0.0, high=math.inf)
    total = field_weight + text_weight
    if total == 0:
        record.error("", "field and text weights must not both be 0")
        return FitWeights()
    return FitWeights(field=field_weight / total, text=text_weight / total)


def _randomize(record: _Record) -> Randomize | None:
    if record.data.get("randomize") is None:
        return None
    draw = record.child("randomize")
    probability = draw.data.get("max_probability")
    if (
        isinstance(probability, bool)
        or not isinstance(probability, int | float)
        or not 0 < probability <= 1
    ):
        draw.error("max_probability", f"must be a number in (0, 1], got {probability!r}")
        probability = 1.0
    seed = draw.integer("seed", None, minimum=0, required=True)
    return Randomize(float(probability), seed if seed is not None else 0)


def _organization(record: _Record, key: str) -> Organization | None:
    value = record.data.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return Organization(value.strip())
    org = record.child(key)
    name = org.text("name", required=True)
    return Organization(name, org.uscc(), org.optional_text("parent")) if name else None


def _fields(record: _Record, lookup: Mapping[str, str]) -> tuple[str, ...]:
    codes = []
    for raw in record.strings("fields"):
        code = lookup.get(raw) or lookup.get(raw.lower())
        if code is None:
            record.error("fields", f"unknown field {raw!r}")
        else:
            codes.append(code)
    return tuple(dict.fromkeys(codes))


def _expert(record: _Record, lookup: Mapping[str, str]) -> Expert:
    ref = record.text("ref", required=True)
    raw_pool = record.text("pool", required=True)
    pool = pool_code(raw_pool)
    if raw_pool and pool is None:
        record.error("pool", f"unknown pool {raw_pool!r} (one of {', '.join(POOLS)})")
    return Expert(
        ref=ref,
        name=record.text("name", required=True),
        pool=pool or "",
        title=record.text("title"),
        organization=_organization(record, "organization"),
        fields=_fields(record, lookup),
        profile=record.text("profile"),
        past_affiliations=tuple(_affiliation(item) for item in record.items("past_affiliations")),
        roles=tuple(_role(item) for item in record.items("roles")),
        declared=tuple(_declaration(item) for item in record.items("declared")),
        max_load=record.integer("max_load", None, minimum=0),
        available=record.boolean("available", True),
    )


def _affiliation(record: _Record) -> Affiliation:
    start, until = record.date("from"), record.date("until")
    if start and until and start > until:
        record.error("until", f"{until} is before from {start}")
    return Affiliation(record.text("name", required=True), record.uscc(), start, until)


def _role(record: _Record) -> GovernanceRole:
    return GovernanceRole(
        organization=record.text("organization", required=True),
        uscc=record.uscc(),
        role=record.choice("role", GOVERNANCE_ROLES) or "",
        until=record.date("until"),
    )


def _declaration(record: _Record) -> Declaration:
    kind = record.choice("kind", DECLARATION_KINDS) or ""
    declaration = Declaration(
        kind=kind,
        person=record.optional_text("person"),
        organization=record.optional_text("organization"),
        uscc=record.uscc(),
        until=record.date("until"),
        note=record.text("note"),
        application=record.optional_text("application"),
    )
    if not (declaration.person or declaration.organization or declaration.uscc or declaration.application):
        record.error("", "a declaration names a person, an organization, a uscc or an application")
    return declaration


def _people(record: _Record, keys: Iterable[str]) -> list[str]:
    names = []
    for key in keys:
        person = record.data.get(key)
        if isinstance(person, Mapping) and isinstance(person.get("name"), str) and person["name"].strip():
            names.append(person["name"].strip())
    return names


def _shareholders(record: _Record, key: str = "shareholders") -> tuple[str, ...]:
    names = []
    for item in record.items(key):
        name = item.text("name", required=True)
        if name:
            names.append(name)
        item.number("share_pct", 0.0, low=0.0, high=100.0)
    return tuple(names)


def _member(record: _Record) -> MemberUnit:
    people = _people(record, PERSON_KEYS)
    for index, member in enumerate(record.data.get("team_members") or []):
        if isinstance(member, str):
            people.append(member.strip())
        else:
            people.append(_Record(member, f"{record.path('team_members')}[{index}]", record.errors).text("name"))
    return MemberUnit(
        role=record.choice("role", MEMBER_ROLES) or "",
        kind=record.choice("kind", MEMBER_KINDS, default="enterprise") or "",
        name=record.text("name", required=True),
        uscc=record.uscc(),
        people=tuple(dict.fromkeys(name for name in people if name)),
        shareholders=_shareholders(record),
        parent=record.optional_text("parent"),
    )


def _application_text(record: _Record, center_name: str) -> str:
    content = record.text("construction_content")
    if len(content) > CONSTRUCTION_CONTENT_LIMIT:
        record.error(
            "construction_content",
            f"{len(content)} characters, above the limit of {CONSTRUCTION_CONTENT_LIMIT}",
        )
    plan = record.data.get("plan") or {}
    sections = [plan.get(key) for key in PLAN_SECTIONS] if isinstance(plan, Mapping) else []
    parts = [center_name, content, *(s for s in sections if isinstance(s, str)), record.text("text")]
    return "\n".join(part for part in parts if part)


def _application(record: _Record, lookup: Mapping[str, str]) -> Application:
    center_name = record.text("center_name", required=True)
    raw_field = record.text("field", required=True)
    field_code = lookup.get(raw_field) or lookup.get(raw_field.lower())
    if raw_field and field_code is None:
        record.error("field", f"unknown field {raw_field!r}")
    bearer = record.child("bearer")
    bearer_name = bearer.text("name", required=True)
    named = _people(bearer, ("legal_rep", "contact")) + _people(record.child("leads"), LEAD_KEYS)
    excluded = record.strings("excluded_experts")
    if len(excluded) > MAX_EXCLUDED_EXPERTS:
        record.error("excluded_experts", f"at most {MAX_EXCLUDED_EXPERTS} experts, got {len(excluded)}")
    return Application(
        ref=record.text("ref", required=True),
        center_name=center_name,
        field=field_code or "",
        text=_application_text(record, center_name),
        bearer=Organization(bearer_name, bearer.uscc(), bearer.optional_text("parent")),
        bearer_registered_on=bearer.date("registered_on"),
        members=tuple(_member(item) for item in record.items("members")),
        named_people=tuple(dict.fromkeys(named)),
        shareholders=_shareholders(bearer),
        excluded_experts=excluded,
        submitted_on=record.date("submitted_on"),
    )


def _check_unique(records: Iterable[Expert | Application], collection: str, errors: list[str]) -> None:
    counts = Counter(record.ref for record in records if record.ref)
    for index, record in enumerate(records):
        if counts[record.ref] > 1:
            errors.append(f"{collection}[{index}] ({record.ref}): ref: duplicate ref {record.ref!r}")


def _check_excluded(applications: Iterable[Application], experts: set[str], errors: list[str]) -> None:
    for index, application in enumerate(applications):
        for ref in application.excluded_experts:
            if ref not in experts:
                errors.append(
                    f"applications[{index}] ({application.ref}): excluded_experts: unknown expert {ref!r}"
                )


def _pair_refs(record: _Record, expert_refs: set[str], application_refs: set[str]) -> tuple[str, str]:
    """The ``expert`` and ``application`` refs of a pair record, each checked against the known refs."""
    refs = []
    for key, known in (("expert", expert_refs), ("application", application_refs)):
        ref = record.text(key, required=True)
        if ref and ref not in known:
            record.error(key, f"unknown {key} {ref!r}")
        refs.append(ref)
    return refs[0], refs[1]


def _pairs(root: _Record, key: str, expert_refs: set[str], application_refs: set[str]) -> list[Pair]:
    pairs = []
    seen: set[tuple[str, str]] = set()
    for record in root.items(key):
        expert, application = _pair_refs(record, expert_refs, application_refs)
        if (expert, application) in seen:
            record.error("", f"duplicate pair ({expert}, {application})")
        seen.add((expert, application))
        pairs.append(Pair(expert, application, record.text("reason")))
    return pairs


def _check_fixed_not_forbidden(fixed: list[Pair], forbidden: list[Pair], errors: list[str]) -> None:
    banned = {(pair.expert, pair.application) for pair in forbidden}
    for index, pair in enumerate(fixed):
        if (pair.expert, pair.application) in banned:
            errors.append(
                f"fixed[{index}]: pair ({pair.expert}, {pair.application}) is also forbidden"
            )


def _affinity(root: _Record, expert_refs: set[str], application_refs: set[str]) -> tuple | None:
    if root.data.get("affinity") is None:
        return None
    scores = []
    seen: set[tuple[str, str]] = set()
    for record in root.items("affinity"):
        expert, application = _pair_refs(record, expert_refs, application_refs)
        if "score" not in record.data:
            record.error("score", "is required")
        score = record.number("score", 0.0, low=0.0, high=1.0)
        if (expert, application) in seen:
            record.error("", f"duplicate pair ({expert}, {application})")
        seen.add((expert, application))
        scores.append(AffinityScore(expert, application, score))
    return tuple(scores)


def _aliases(root: _Record) -> dict[str, str]:
    raw = root.data.get("organization_aliases") or {}
    if not isinstance(raw, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) and k.strip() and v.strip() for k, v in raw.items()
    ):
        root.error("organization_aliases", "must be an object {alias: canonical name} of non-empty text")
        return {}
    return {k.strip(): v.strip() for k, v in raw.items()}


def _past_review(record: _Record, expert_refs: set[str]) -> PastReview:
    expert = record.text("expert", required=True)
    if expert and expert not in expert_refs:
        record.error("expert", f"unknown expert {expert!r}")
    bearer = _organization(record, "bearer") or Organization("")
    if not bearer.name:
        record.error("bearer", "is required")
    uscc = record.uscc()
    if uscc and not bearer.uscc:
        bearer = Organization(bearer.name, uscc, bearer.parent)
    reviewed_on = record.date("reviewed_on", required=True)
    return PastReview(expert, bearer, reviewed_on or date.min)


def _check_capacity(settings: Settings, experts: Iterable[Expert], errors: list[str]) -> None:
    """Refuse panels that no set of available experts could fill, whatever the loads and conflicts."""
    available = Counter(expert.pool for expert in experts if expert.available)
    total = sum(available.values())
    if settings.panel_size > total:
        errors.append(
            f"settings: panel_size: panel of {settings.panel_size} is larger than the {total} available experts"
        )
        return
    fillable = 0
    for pool in POOLS:
        low, high = settings.quota(pool)
        if low > available[pool]:
            errors.append(
                f"settings: pool_quotas.{pool}: minimum {low} is above the {available[pool]} available "
                f"{pool} experts"
            )
        fillable += min(high, available[pool])
    if fillable < settings.panel_size:
        errors.append(
            f"settings: panel_size: panel of {settings.panel_size} is larger than the pool capacity "
            f"{fillable} (available experts within each pool's maximum)"
        )
