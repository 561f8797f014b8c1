"""Conflicts of interest (利益冲突 / 回避), DESIGN §6.1: every rule, with its kind and a reason naming the evidence.

| rule               | kind | evidence                                                                       |
|--------------------|------|--------------------------------------------------------------------------------|
| same-organization  | hard | the expert's organization is the bearer or a member unit                       |
| recent-employment  | hard | a past affiliation at the bearer or a member unit ending within the window      |
| governance         | hard | director/supervisor/legal rep/shareholder/controller there, now or in window    |
| named-person       | hard | the expert's name is among the people or shareholders the application names     |
| declared           | hard | a declared relation to a named person, a unit, or the application itself        |
| group-relation     | hard | the organizations share a parent, or one is the other's parent or shareholder   |
| applicant-excluded | soft | the applicant asked to avoid this expert                                        |
| repeat-review      | soft | the expert reviewed the same bearer within ``repeat_review_years`` (off: None)  |

Windows are measured back from ``settings.as_of``: a relation counts when it ended on or after the day exactly
``window_years`` years before ``as_of`` (ongoing relations, ``until=None``, always count). Kinship, advisor and
drafting declarations have no window.

Organizations and people are indexed by key once, so the cost grows with the number of experts plus the size of
the applications, not with their product.

Two entry points. :func:`conflict_arrays` finds every conflicted (expert, application, rule) as three integer
arrays and writes no sentence: it is what the solver needs, and at national scale (20,000 applications × 50,000
experts, tens of millions of conflicted pairs) a Python object per pair would cost minutes and gigabytes.
:func:`find_conflicts` and :class:`ConflictReasons` write the reasons — for every pair (the ``conflicts``
command) or only for the pairs a person looks at (explanations).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np

from matching.organizations import alias_keys, organization_keys, parent_key, same_organization
from matching.types import HARD, SOFT, Application, Conflict, Declaration, Expert, Organization, Problem

RULES = (
    "same-organization", "recent-employment", "governance", "named-person", "declared", "group-relation",
    "applicant-excluded", "repeat-review",
)
RULE_KINDS: Mapping[str, str] = {rule: HARD for rule in RULES[:6]} | {
    "applicant-excluded": SOFT, "repeat-review": SOFT,
}
ROLE_NAMES = {
    "director": "董事", "supervisor": "监事", "legal_rep": "法定代表人", "shareholder": "股东",
    "controller": "实际控制人",
}
DECLARATION_NAMES = {
    "kinship": "亲属", "advisor": "师生", "collaboration": "合作", "dispute": "法律纠纷", "investment": "投资",
    "drafted": "参与编写申报材料",
}
MEMBER_ROLE_NAMES = {"initiating": "发起单位", "participating": "参加单位"}
TIMELESS_DECLARATIONS = ("kinship", "advisor", "drafted")


def window_start(as_of: date, years: int) -> date:
    """The day exactly ``years`` years before ``as_of`` (29 February falls back to the 28th); a window reaching
    before year 1 (a setting of thousands of years) starts at the earliest date, so it covers every relation."""
    if years >= as_of.year:
        return date.min
    try:
        return as_of.replace(year=as_of.year - years)
    except ValueError:
        return as_of.replace(year=as_of.year - years, day=28)


def in_window(until: date | None, start: date) -> bool:
    """True when a relation ending ``until`` (None = ongoing) ended on or after ``start``."""
    return until is None or until >= start


def person_key(name: str) -> str:
    """A person's name for comparison: NFKC, no spaces or middle dots, lower case."""
    text = unicodedata.normalize("NFKC", name).lower()
    return "".join(char for char in text if not char.isspace() and char not in "·•.-")


@dataclass(frozen=True)
class _Unit:
    """A bearer or member unit of one application, as conflict evidence."""

    application: int
    organization: Organization
    label: str
    shareholders: tuple[str, ...]


@dataclass(frozen=True)
class _Person:
    """A person named in one application, and where."""

    application: int
    where: str


class _ApplicationIndex:
    """Units and people of the applications given as ``(column, application)``, looked up by organization key and
    person key (a unit or person keeps its application's column)."""

    def __init__(self, applications: Iterable[tuple[int, Application]], aliases: Mapping[str, str]):
        self.aliases = aliases
        self.units: dict[str, list[_Unit]] = defaultdict(list)
        self.children: dict[str, list[_Unit]] = defaultdict(list)
        self.holdings: dict[str, list[_Unit]] = defaultdict(list)
        self.people: dict[str, list[_Person]] = defaultdict(list)
        for j, application in applications:
            for unit in _units(j, application):
                self._add_unit(unit)
            for person, where in _people(application):
                key = person_key(person)
                if key:
                    self.people[key].append(_Person(j, where))

    def _add_unit(self, unit: _Unit) -> None:
        for key in organization_keys(unit.organization, self.aliases):
            self.units[key].append(unit)
        parent = parent_key(unit.organization.parent, self.aliases)
        if parent:
            self.children[parent].append(unit)
        for holder in unit.shareholders:
            key = parent_key(holder, self.aliases)
            if key:
                self.holdings[key].append(unit)

    def matching_units(self, organization: Organization) -> Iterator[tuple[_Unit, str]]:
        """Units that are ``organization``, with how they matched ('uscc' or 'name'), each unit once."""
        seen: set[int] = set()
        for key in organization_keys(organization, self.aliases):
            for unit in self.units.get(key, ()):
                how = same_organization(organization, unit.organization, self.aliases)
                if how and id(unit) not in seen:
                    seen.add(id(unit))
                    yield unit, how

    def named(self, person: str) -> list[_Person]:
        """Where ``person`` is named, across all applications."""
        return self.people.get(person_key(person), [])


def _units(j: int, application: Application) -> Iterator[_Unit]:
    yield _Unit(j, application.bearer, "承担单位", application.shareholders)
    for member in application.members:
        yield _Unit(j, member.organization, MEMBER_ROLE_NAMES.get(member.role, "成员单位"), member.shareholders)


def _people(application: Application) -> Iterator[tuple[str, str]]:
    for person in application.named_people:
        yield person, f"承担单位 {application.bearer.name} 的负责人或联系人"
    for holder in application.shareholders:
        yield holder, f"承担单位 {application.bearer.name} 的股东"
    for member in application.members:
        label = MEMBER_ROLE_NAMES.get(member.role, "成员单位")
        for person in member.people:
            yield person, f"{label} {member.name} 的人员"
        for holder in member.shareholders:
            yield holder, f"{label} {member.name} 的股东"


def _evidence(unit: _Unit, how: str) -> str:
    """'参加单位 上海某某科技有限公司（USCC 9131…）' — the unit and how it was recognized."""
    if how == "uscc":
        return f"{unit.label} {unit.organization.name}（USCC {unit.organization.uscc}）"
    return f"{unit.label} {unit.organization.name}（名称规范化后一致）"


def _period(until: date | None) -> str:
    return "至今" if until is None else f"至 {until.isoformat()}"


class _Finder:
    """Applies every rule of §6.1 to one problem; ``found`` collects (expert, application, rule) → reasons.

    With ``columns``, an expert's rules look at those applications' units and people only: the reasons of the
    pairs with those applications come out the same, word for word (each piece of evidence is a unit or person
    of the pair's own application, found in the same order), for an index of a few applications instead of all.
    """

    def __init__(self, problem: Problem, aliases: Mapping[str, str] | None, columns: Sequence[int] | None = None):
        self.problem = problem
        self.settings = problem.settings
        self.aliases = alias_keys(aliases or {})
        self.columns = columns
        self.start = window_start(self.settings.as_of, self.settings.window_years)
        self.found: dict[tuple[int, int, str], list[str]] = defaultdict(list)

    @cached_property
    def index(self) -> _ApplicationIndex:
        """Built on the first expert (the per-application and per-review rules do not need it)."""
        applications = self.problem.applications
        columns = range(len(applications)) if self.columns is None else self.columns
        return _ApplicationIndex(((j, applications[j]) for j in columns), self.aliases)

    def add(self, i: int, j: int, rule: str, reason: str) -> None:
        reasons = self.found[(i, j, rule)]
        if reason not in reasons:
            reasons.append(reason)

    def expert(self, i: int, expert: Expert) -> None:
        if expert.organization and expert.organization.name:
            self.same_organization(i, expert.organization)
            self.group_relation(i, expert.organization)
        self.recent_employment(i, expert)
        self.governance(i, expert)
        self.named_person(i, expert)
        for declaration in expert.declared:
            self.declared(i, declaration)

    def same_organization(self, i: int, organization: Organization) -> None:
        for unit, how in self.index.matching_units(organization):
            self.add(i, unit.application, "same-organization",
                     f"专家所在单位 {organization.name} 是本申报的{_evidence(unit, how)}")

    def recent_employment(self, i: int, expert: Expert) -> None:
        for past in expert.past_affiliations:
            started = past.start is None or past.start <= self.settings.as_of
            if not (started and in_window(past.until, self.start)):
                continue
            since = past.start.isoformat() if past.start else ""
            for unit, how in self.index.matching_units(Organization(past.name, past.uscc)):
                self.add(i, unit.application, "recent-employment",
                         f"专家曾任职于 {past.name}（{since}{_period(past.until)}，"
                         f"在 {self.start.isoformat()} 起的{self.settings.window_years}年回避期内），"
                         f"该单位是本申报的{_evidence(unit, how)}")

    def governance(self, i: int, expert: Expert) -> None:
        for role in expert.roles:
            if not in_window(role.until, self.start):
                continue
            title = ROLE_NAMES.get(role.role, role.role)
            for unit, how in self.index.matching_units(Organization(role.organization, role.uscc)):
                self.add(i, unit.application, "governance",
                         f"专家担任 {role.organization} 的{title}（{_period(role.until)}），"
                         f"该单位是本申报的{_evidence(unit, how)}")

    def named_person(self, i: int, expert: Expert) -> None:
        for person in self.index.named(expert.name):
            self.add(i, person.application, "named-person", f"专家 {expert.name} 在申报书中列为{person.where}")

    def declared(self, i: int, declaration: Declaration) -> None:
        kind = DECLARATION_NAMES.get(declaration.kind, declaration.kind)
        timeless = declaration.kind in TIMELESS_DECLARATIONS
        if not (timeless or in_window(declaration.until, self.start)):
            return
        when = "" if timeless else f"（{_period(declaration.until)}）"
        note = f"，说明：{declaration.note}" if declaration.note else ""
        if declaration.person:
            for person in self.index.named(declaration.person):
                self.add(i, person.application, "declared",
                         f"专家申报与 {declaration.person} 有{kind}关系{when}{note}，"
                         f"此人在申报书中列为{person.where}")
        if declaration.organization or declaration.uscc:
            organization = Organization(declaration.organization or "", declaration.uscc)
            for unit, how in self.index.matching_units(organization):
                self.add(i, unit.application, "declared",
                         f"专家申报与 {declaration.organization or declaration.uscc} 有{kind}关系{when}{note}，"
                         f"该单位是本申报的{_evidence(unit, how)}")
        j = self.problem.application_index.get(declaration.application or "")
        if j is not None:
            self.add(i, j, "declared", f"专家申报与本申报 {declaration.application} 有{kind}关系{when}{note}")

    def group_relation(self, i: int, organization: Organization) -> None:
        own = set(organization_keys(organization, self.aliases))
        parent = parent_key(organization.parent, self.aliases)
        same = {id(unit) for unit, _ in self.index.matching_units(organization)}
        evidence: list[tuple[_Unit, str]] = []
        if parent:
            evidence += [(unit, f"是专家所在单位 {organization.name} 的上级单位")
                         for unit in self.index.units.get(parent, ())]
            evidence += [(unit, f"与专家所在单位 {organization.name} 同属 {organization.parent}")
                         for unit in self.index.children.get(parent, ())]
            evidence += [(unit, f"的股东 {organization.parent} 是专家所在单位 {organization.name} 的上级单位")
                         for unit in self.index.holdings.get(parent, ())]
        for key in own:
            evidence += [(unit, f"的上级单位是专家所在单位 {organization.name}")
                         for unit in self.index.children.get(key, ())]
            evidence += [(unit, f"的股东包括专家所在单位 {organization.name}")
                         for unit in self.index.holdings.get(key, ())]
        for unit, relation in evidence:
            if id(unit) not in same:
                self.add(i, unit.application, "group-relation",
                         f"本申报的{unit.label} {unit.organization.name} {relation}")

    def applicant_excluded(self) -> None:
        for j, application in enumerate(self.problem.applications):
            for ref in application.excluded_experts:
                i = self.problem.expert_index.get(ref)
                if i is not None:
                    self.add(i, j, "applicant-excluded",
                             f"申报单位 {application.bearer.name} 申请该专家回避（回避名单："
                             f"{'、'.join(application.excluded_experts)}）")

    def repeat_review(self) -> None:
        years = self.settings.repeat_review_years
        if years is None:
            return
        start = window_start(self.settings.as_of, years)
        by_bearer: dict[str, list[int]] = defaultdict(list)
        for j, application in enumerate(self.problem.applications):
            for key in organization_keys(application.bearer, self.aliases):
                by_bearer[key].append(j)
        for review in self.problem.past_reviews:
            i = self.problem.expert_index.get(review.expert)
            if i is None or review.reviewed_on < start:
                continue
            columns = {j for key in organization_keys(review.bearer, self.aliases) for j in by_bearer.get(key, ())}
            for j in sorted(columns):
                if same_organization(review.bearer, self.problem.applications[j].bearer, self.aliases):
                    self.add(i, j, "repeat-review",
                             f"专家于 {review.reviewed_on.isoformat()} 评审过承担单位 {review.bearer.name}"
                             f"（{years}年内不重复评审）")

    def conflicts(self) -> list[Conflict]:
        order = {rule: k for k, rule in enumerate(RULES)}
        keys = sorted(self.found, key=lambda key: (key[0], key[1], order[key[2]]))
        return [
            Conflict(
                expert=self.problem.experts[i].ref,
                application=self.problem.applications[j].ref,
                rule=rule,
                kind=RULE_KINDS[rule],
                reason="；".join(self.found[(i, j, rule)]),
            )
            for i, j, rule in keys
        ]


def find_conflicts(problem: Problem, aliases: Mapping[str, str] | None = None) -> list[Conflict]:
    """Every conflict of interest between the problem's experts and applications.

    Parameters
    ----------
    problem : Problem
        Experts, applications, past reviews and settings (``as_of``, ``window_years``, ``repeat_review_years``).
    aliases : mapping, optional
        Organization name aliases (alias → canonical name), see :func:`matching.organizations.normalize_name`;
        defaults to ``problem.organization_aliases``.

    Returns
    -------
    list of Conflict
        One per (expert, application, rule), ordered by expert, application and rule (as in :data:`RULES`);
        several pieces of evidence for the same rule are joined in one reason.
    """
    finder = _Finder(problem, problem.organization_aliases if aliases is None else aliases)
    for i, expert in enumerate(problem.experts):
        finder.expert(i, expert)
    finder.applicant_excluded()
    finder.repeat_review()
    return finder.conflicts()


RULE_CODES: Mapping[str, int] = {rule: k for k, rule in enumerate(RULES)}
HARD_RULES = np.array([RULE_KINDS[rule] == HARD for rule in RULES])
"""``HARD_RULES[code]``: whether the rule with that code (index into :data:`RULES`) is hard."""


@dataclass(frozen=True)
class ConflictArrays:
    """Every conflicted (expert, application, rule), as arrays sorted by expert, application and rule code.

    Attributes
    ----------
    experts, applications : ndarray of int32, shape (K,)
        Row and column indices in the problem's order.
    rules : ndarray of int8, shape (K,)
        Index into :data:`RULES`.
    n_applications : int
        Columns of the problem (for :meth:`pair_keys`).
    """

    experts: np.ndarray
    applications: np.ndarray
    rules: np.ndarray
    n_applications: int

    def __len__(self) -> int:
        return len(self.rules)

    @property
    def hard(self) -> np.ndarray:
        """Boolean per entry: the rule is hard."""
        return HARD_RULES[self.rules]

    @cached_property
    def pair_keys(self) -> np.ndarray:
        """``expert × n_applications + application`` per entry, ascending (entries are sorted)."""
        return self.experts.astype(np.int64) * self.n_applications + self.applications

    def rules_of(self, expert: int, application: int) -> list[str]:
        """The rules that hold between one expert and one application, in :data:`RULES` order (two binary
        searches in the sorted arrays: no int64 key per conflict is kept for it, 270 MB at 20,000 × 50,000).
        The keys take each array's own type: numpy would otherwise convert the whole array to the key's type on
        every call (10 ms a call over 9.5 M conflicts, against 2 µs)."""
        first, last = np.searchsorted(self.experts, np.array([expert, expert + 1], dtype=self.experts.dtype))
        applications = self.applications[first:last]
        low, high = first + np.searchsorted(applications,
                                            np.array([application, application + 1], dtype=applications.dtype))
        return [RULES[code] for code in self.rules[low:high]]

    def masks(self, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Boolean (n_experts, n_applications) matrices of hard and soft conflicts."""
        hard, soft = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
        is_hard = self.hard
        hard[self.experts[is_hard], self.applications[is_hard]] = True
        soft[self.experts[~is_hard], self.applications[~is_hard]] = True
        return hard, soft


class _KeyIndex:
    """Units and people of every application as integer arrays per key (no sentence, no object per pair).

    A unit is a bearer or member unit of one application; ``unit_app[u]`` is its application. Units are listed
    by each organization key (USCC and normalized name), and under a name key split by whether they carry a
    USCC: two valid, different USCCs are two organizations whatever their names (as in
    :func:`matching.organizations.same_organization`).
    """

    def __init__(self, applications: Iterable[Application], aliases: Mapping[str, str]):
        self.aliases = aliases
        unit_app: list[int] = []
        units: dict[str, list[int]] = defaultdict(list)
        name_only: dict[str, list[int]] = defaultdict(list)
        children: dict[str, list[int]] = defaultdict(list)
        holdings: dict[str, list[int]] = defaultdict(list)
        people: dict[str, list[int]] = defaultdict(list)
        for j, application in enumerate(applications):
            for unit in _units(j, application):
                u = len(unit_app)
                unit_app.append(j)
                for key in organization_keys(unit.organization, aliases):
                    units[key].append(u)
                    if key.startswith("name:") and not unit.organization.uscc:
                        name_only[key].append(u)
                parent = parent_key(unit.organization.parent, aliases)
                if parent:
                    children[parent].append(u)
                for holder in unit.shareholders:
                    key = parent_key(holder, aliases)
                    if key:
                        holdings[key].append(u)
            for person, _ in _people(application):
                key = person_key(person)
                if key:
                    people[key].append(j)
        self.unit_app = np.array(unit_app, dtype=np.int32)
        self.units, self.name_only = _arrays(units), _arrays(name_only)
        self.children, self.holdings, self.people = _arrays(children), _arrays(holdings), _arrays(people)

    def matching_units(self, organization: Organization) -> np.ndarray:
        """Units that are ``organization`` (same USCC, or same name where either side has no USCC)."""
        found = []
        for key in organization_keys(organization, self.aliases):
            if key.startswith("uscc:"):
                found.append(self.units.get(key, _NONE))
            elif organization.uscc:
                found.append(self.name_only.get(key, _NONE))
            else:
                found.append(self.units.get(key, _NONE))
        return np.concatenate(found) if found else _NONE

    def named(self, person: str) -> np.ndarray:
        """Applications naming ``person``."""
        return self.people.get(person_key(person), _NONE)


_NONE = np.zeros(0, dtype=np.int32)


def _arrays(index: Mapping[str, list[int]]) -> dict[str, np.ndarray]:
    return {key: np.array(values, dtype=np.int32) for key, values in index.items()}


class _ArrayFinder:
    """The rules of §6.1 as :class:`_Finder` applies them, collecting application arrays instead of sentences."""

    def __init__(self, problem: Problem, aliases: Mapping[str, str]):
        self.problem = problem
        self.settings = problem.settings
        self.aliases = alias_keys(aliases)
        self.index = _KeyIndex(problem.applications, self.aliases)
        self.start = window_start(self.settings.as_of, self.settings.window_years)
        self.chunks: list[tuple[int, int, np.ndarray]] = []
        self.by_organization: dict[Organization, tuple[np.ndarray, np.ndarray]] = {}

    def add(self, i: int, rule: str, apps: np.ndarray) -> None:
        if len(apps):
            self.chunks.append((i, RULE_CODES[rule], apps))

    def units(self, i: int, rule: str, units: np.ndarray) -> None:
        self.add(i, rule, self.index.unit_app[units])

    def expert(self, i: int, expert: Expert) -> None:
        organization = expert.organization
        if organization and organization.name:
            same, group = self.organization(organization)
            self.add(i, "same-organization", same)
            self.add(i, "group-relation", group)
        for past in expert.past_affiliations:
            started = past.start is None or past.start <= self.settings.as_of
            if started and in_window(past.until, self.start):
                self.units(i, "recent-employment", self.index.matching_units(Organization(past.name, past.uscc)))
        for role in expert.roles:
            if in_window(role.until, self.start):
                self.units(i, "governance", self.index.matching_units(Organization(role.organization, role.uscc)))
        self.add(i, "named-person", self.index.named(expert.name))
        for declaration in expert.declared:
            self.declared(i, declaration)

    def declared(self, i: int, declaration: Declaration) -> None:
        if not (declaration.kind in TIMELESS_DECLARATIONS or in_window(declaration.until, self.start)):
            return
        if declaration.person:
            self.add(i, "declared", self.index.named(declaration.person))
        if declaration.organization or declaration.uscc:
            organization = Organization(declaration.organization or "", declaration.uscc)
            self.units(i, "declared", self.index.matching_units(organization))
        j = self.problem.application_index.get(declaration.application or "")
        if j is not None:
            self.add(i, "declared", np.array([j], dtype=np.int32))

    def organization(self, organization: Organization) -> tuple[np.ndarray, np.ndarray]:
        """Applications in which ``organization`` is a unit, and those related to it through a group; found once
        per organization (a large one sends hundreds of experts)."""
        if organization not in self.by_organization:
            same = self.index.matching_units(organization)
            self.by_organization[organization] = (self.index.unit_app[same],
                                                  self.index.unit_app[self.group_relation(organization, same)])
        return self.by_organization[organization]

    def group_relation(self, organization: Organization, same: np.ndarray) -> np.ndarray:
        """Units related to ``organization`` through a parent or a shareholding, itself left out."""
        index, keys = self.index, []
        parent = parent_key(organization.parent, self.aliases)
        if parent:
            keys += [index.units.get(parent, _NONE), index.children.get(parent, _NONE),
                     index.holdings.get(parent, _NONE)]
        for key in set(organization_keys(organization, self.aliases)):
            keys += [index.children.get(key, _NONE), index.holdings.get(key, _NONE)]
        return np.setdiff1d(np.concatenate(keys), same) if keys else _NONE

    def soft_rules(self) -> None:
        """applicant-excluded and repeat-review, which :class:`_Finder` finds per application and per review."""
        finder = _Finder(self.problem, self.aliases)
        finder.applicant_excluded()
        finder.repeat_review()
        for i, j, rule in finder.found:
            self.add(i, rule, np.array([j], dtype=np.int32))

    def arrays(self) -> ConflictArrays:
        n_apps = len(self.problem.applications)
        if not self.chunks:
            empty = np.zeros(0, dtype=np.int32)
            return ConflictArrays(empty, empty, empty.astype(np.int8), n_apps)
        lengths = np.array([len(apps) for _, _, apps in self.chunks], dtype=np.int64)
        keys = np.repeat(np.array([i * n_apps * len(RULES) + r for i, r, _ in self.chunks], dtype=np.int64), lengths)
        keys += np.concatenate([apps for _, _, apps in self.chunks]).astype(np.int64) * len(RULES)
        keys = sorted_distinct(keys)
        pairs, rules = np.divmod(keys, len(RULES))
        experts, apps = np.divmod(pairs, n_apps)
        return ConflictArrays(experts.astype(np.int32), apps.astype(np.int32), rules.astype(np.int8), n_apps)


def sorted_distinct(keys: np.ndarray) -> np.ndarray:
    """``np.unique(keys)`` for a flat integer array, by a sort in place and one comparison: numpy 2.4's
    ``np.unique`` hashes first, which took 21.9 CPU s against 1.1 for this on 15 M int64 keys (the size of a
    10,000 × 25,000 round's conflicts)."""
    keys.sort()
    keep = np.empty(len(keys), dtype=bool)
    keep[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=keep[1:])
    return keys[keep]


def conflict_arrays(problem: Problem, aliases: Mapping[str, str] | None = None) -> ConflictArrays:
    """Every conflict of interest as arrays, without reasons: the same (expert, application, rule) triples as
    :func:`find_conflicts`, at the cost of the index lookups and one sort.

    Parameters
    ----------
    problem : Problem
    aliases : mapping, optional
        As in :func:`find_conflicts`.
    """
    finder = _ArrayFinder(problem, problem.organization_aliases if aliases is None else aliases)
    for i, expert in enumerate(problem.experts):
        finder.expert(i, expert)
    finder.soft_rules()
    return finder.arrays()


def reasons_by_expert(problem: Problem, found: ConflictArrays,
                      aliases: Mapping[str, str] | None = None) -> Iterator[tuple[int, int, list[str]]]:
    """The reason of every conflict ``found`` holds, one expert at a time: what ``python -m matching conflicts``
    writes, without a :class:`Conflict` per pair.

    Yields ``(first, last, reasons)`` for each expert with a conflict, in expert order: entries
    ``found[first:last]`` are that expert's and ``reasons[k]`` is the reason of entry ``first + k`` (several pieces
    of evidence joined with ；, as in :func:`find_conflicts`). An expert's sentences are written when their turn
    comes and dropped after it, so memory holds one expert's sentences, not the round's (tens of millions at
    national scale).

    Parameters
    ----------
    problem : Problem
    found : ConflictArrays
        :func:`conflict_arrays` of the problem.
    aliases : mapping, optional
        As in :func:`find_conflicts`.
    """
    finder = _Finder(problem, problem.organization_aliases if aliases is None else aliases)
    finder.applicant_excluded()              # the per-application and per-review rules, for every expert at once
    finder.repeat_review()
    by_expert: dict[int, dict[tuple[int, int, str], list[str]]] = defaultdict(dict)
    for key, reasons in finder.found.items():
        by_expert[key[0]][key] = reasons
    bounds = np.searchsorted(found.experts, np.arange(len(problem.experts) + 1))
    for i in np.nonzero(np.diff(bounds))[0].tolist():
        finder.found = defaultdict(list, by_expert.pop(i, {}))
        finder.expert(i, problem.experts[i])
        first, last = int(bounds[i]), int(bounds[i + 1])
        yield first, last, ["；".join(finder.found.get((i, j, RULES[r]), ()))
                            for j, r in zip(found.applications[first:last].tolist(),
                                            found.rules[first:last].tolist(), strict=True)]


class ConflictReasons:
    """Reasons for the conflicts a person looks at, written on demand.

    Until :meth:`prepare` is called, a reason is written for its own pair: the expert's rules run against an
    index of the pair's application alone (kept per application), so a report asking for a thousand reasons
    scattered over a national round pays for a thousand small lookups, not for the index of every application's
    units and people (7 s wall at 10,000 × 25,000) and every sentence of each expert asked about. After
    :meth:`prepare` (a caller about to ask for many reasons, or to store the object), each expert's sentences
    are written once, against the index of every application, and kept. Both give the same sentences.
    """

    def __init__(self, problem: Problem, aliases: Mapping[str, str] | None = None):
        self.problem = problem
        self.aliases = problem.organization_aliases if aliases is None else aliases
        self._finder: _Finder | None = None
        self._done: set[int] = set()
        self._by_application: dict[int, _Finder] = {}
        self._pairs_done: set[tuple[int, int]] = set()

    def prepare(self) -> None:
        """Do now what every reason needs first (the per-application rules and the index of the applications'
        units and people), e.g. before the object is stored or before asking for every conflict's reason, so
        that each expert's sentences are written once and whoever reads the object back writes a reason without
        rebuilding the index. The one-application finders of reasons asked for before are dropped: no reason
        reads them again, and a stored object would carry them."""
        _ = self._base_finder().index        # a cached property: reading it builds it
        self._by_application.clear()
        self._pairs_done.clear()

    def _base_finder(self) -> _Finder:
        if self._finder is None:
            self._finder = _Finder(self.problem, self.aliases)
            self._finder.applicant_excluded()
            self._finder.repeat_review()
        return self._finder

    def _prepared(self) -> bool:
        return self._finder is not None and "index" in self._finder.__dict__

    def _finder_for(self, expert: int) -> _Finder:
        self._base_finder()
        if expert not in self._done:
            self._done.add(expert)
            self._finder.expert(expert, self.problem.experts[expert])
        return self._finder

    def _pair_finder(self, expert: int, application: int) -> _Finder:
        """A finder whose expert rules ran for ``expert`` against ``application``'s units and people only."""
        finder = self._by_application.get(application)
        if finder is None:
            finder = self._by_application[application] = _Finder(self.problem, self._base_finder().aliases,
                                                                  columns=(application,))
        if (expert, application) not in self._pairs_done:
            self._pairs_done.add((expert, application))
            finder.expert(expert, self.problem.experts[expert])
        return finder

    def reason(self, expert: int, application: int, rule: str) -> str:
        """The reason of one conflict (several pieces of evidence joined with ；), empty if the rule does not hold."""
        key = (expert, application, rule)
        if self._prepared() or expert in self._done:
            return "；".join(self._finder_for(expert).found.get(key, ()))
        # applicant-excluded and repeat-review are the base finder's, every other rule is an expert's
        reasons = self._base_finder().found.get(key) or self._pair_finder(expert, application).found.get(key, ())
        return "；".join(reasons)

    def conflict(self, expert: int, application: int, rule: str) -> Conflict:
        """One conflict as the ``conflicts`` command reports it."""
        return Conflict(expert=self.problem.experts[expert].ref, application=self.problem.applications[application].ref,
                        rule=rule, kind=RULE_KINDS[rule], reason=self.reason(expert, application, rule))


def conflict_mask(problem: Problem, conflicts: Iterable[Conflict]) -> tuple[np.ndarray, np.ndarray]:
    """Boolean matrices of conflicted pairs, in the problem's expert and application order.

    Returns
    -------
    hard, soft : ndarray of bool, shape (n_experts, n_applications)
        ``hard[i, j]`` when expert i has a hard conflict with application j; ``soft`` likewise for soft ones.
    """
    shape = (len(problem.experts), len(problem.applications))
    masks = {HARD: np.zeros(shape, dtype=bool), SOFT: np.zeros(shape, dtype=bool)}
    for conflict in conflicts:
        masks[conflict.kind][problem.expert_index[conflict.expert], problem.application_index[conflict.application]] = True
    return masks[HARD], masks[SOFT]

