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
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date

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
    """The day exactly ``years`` years before ``as_of`` (29 February falls back to the 28th)."""
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
    """Units and people of every application, looked up by organization key and person key."""

    def __init__(self, applications: Iterable[Application], aliases: Mapping[str, str] | None):
        self.aliases = alias_keys(aliases or {})
        self.units: dict[str, list[_Unit]] = defaultdict(list)
        self.children: dict[str, list[_Unit]] = defaultdict(list)
        self.holdings: dict[str, list[_Unit]] = defaultdict(list)
        self.people: dict[str, list[_Person]] = defaultdict(list)
        for j, application in enumerate(applications):
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
    """Applies every rule of §6.1 to one problem; ``found`` collects (expert, application, rule) → reasons."""

    def __init__(self, problem: Problem, aliases: Mapping[str, str] | None):
        self.problem = problem
        self.settings = problem.settings
        self.aliases = alias_keys(aliases or {})
        self.index = _ApplicationIndex(problem.applications, self.aliases)
        self.start = window_start(self.settings.as_of, self.settings.window_years)
        self.found: dict[tuple[int, int, str], list[str]] = defaultdict(list)

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

