"""Every hard rule of DESIGN §6.1 on random rounds, against an oracle written from the rule table alone.

``problems()`` writes each unit and person one way, so the oracle can compare plain strings and dates; it never
calls the library's normalization or window helpers.
"""

from datetime import date

from hypothesis import given, settings

from matching.conflicts import RULES, ConflictReasons, conflict_arrays, find_conflicts
from matching.types import Application, Expert, Problem
from tests.matching.conftest import problems

WINDOW_START = date(2017, 10, 1)
"""AS_OF (2020-10-01) minus the default 3-year window: a relation ending on this day still counts."""


def recent(until: date | None) -> bool:
    return until is None or until >= WINDOW_START


def units(application: Application) -> set[str]:
    return {application.bearer.name, *(m.name for m in application.members)}


def people(application: Application) -> set[str]:
    return {*application.named_people, *application.shareholders,
            *(p for m in application.members for p in (*m.people, *m.shareholders))}


def expected_rules(expert: Expert, application: Application, as_of: date) -> set[str]:
    """The hard rules §6.1 says hold between ``expert`` and ``application``."""
    own = expert.organization
    rules = set()
    if own.name in units(application):
        rules.add("same-organization")
    if any(past.name in units(application) and (past.start is None or past.start <= as_of) and recent(past.until)
           for past in expert.past_affiliations):
        rules.add("recent-employment")
    if any(role.organization in units(application) and recent(role.until) for role in expert.roles):
        rules.add("governance")
    if expert.name in people(application):
        rules.add("named-person")
    if any((d.kind == "kinship" and d.person in people(application))
           or (d.kind == "collaboration" and d.organization in units(application) and recent(d.until))
           for d in expert.declared):
        rules.add("declared")
    if own.parent and any(m.parent == own.parent and m.name != own.name for m in application.members):
        rules.add("group-relation")
    return rules


def oracle(problem: Problem) -> set[tuple[str, str, str]]:
    return {(e.ref, a.ref, rule) for e in problem.experts for a in problem.applications
            for rule in expected_rules(e, a, problem.settings.as_of)}


@settings(max_examples=80, deadline=None)
@given(problems())
def test_hard_conflicts_are_exactly_those_the_rule_table_gives(parsed):
    found = find_conflicts(parsed)
    assert all(c.kind == "hard" for c in found)
    assert {(c.expert, c.application, c.rule) for c in found} == oracle(parsed)


def triples(problem: Problem) -> list[tuple[int, int, str]]:
    found = conflict_arrays(problem)
    return [(int(e), int(a), RULES[r]) for e, a, r in zip(found.experts, found.applications, found.rules, strict=True)]


@settings(max_examples=80, deadline=None)
@given(problems())
def test_conflict_arrays_hold_the_same_conflicts_in_the_same_order_and_reasons_follow_on_demand(parsed):
    """The solver's arrays are the ``conflicts`` command's list without its sentences; asked one pair at a time
    (against the pair's application alone), in reverse order, or after ``prepare`` (one expert at a time, against
    every application), the reasons are the command's reasons word for word."""
    found = find_conflicts(parsed)
    expected = [(parsed.expert_index[c.expert], parsed.application_index[c.application], c.rule) for c in found]
    assert triples(parsed) == expected
    reasons = ConflictReasons(parsed)
    assert [reasons.conflict(e, a, rule) for e, a, rule in reversed(expected)] == found[::-1]
    prepared = ConflictReasons(parsed)
    prepared.prepare()
    assert [prepared.conflict(e, a, rule) for e, a, rule in expected] == found
