"""Shared builders and hypothesis strategies for matching tests.

Builders return the JSON-shaped dicts of DESIGN §10 (what ``parse_problem`` and the CLI read); ``problems()``
draws whole parsed :class:`~matching.types.Problem` instances for property tests of the engines.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from matching.problem import parse_problem
from matching.types import FIELDS, GOVERNANCE_ROLES, POOLS
from matching.uscc import check_character

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
AS_OF = "2020-10-01"
FIELD_CODES = tuple(FIELDS)


def make_uscc(serial: int, division: str = "310000") -> str:
    """A valid USCC (enterprise, given division) whose organization code is ``serial``."""
    body = f"91{division}{serial:09d}"
    return body + check_character(body)


def expert(ref: str, pool: str = "technology", **extra: Any) -> dict[str, Any]:
    """An expert record; ``extra`` keys override the defaults."""
    record = {
        "ref": ref,
        "name": f"专家{ref}",
        "pool": pool,
        "organization": {"name": f"{ref}研究所"},
        "fields": ["DIG-AI"],
        "profile": "人工智能 机器学习",
    }
    record.update(extra)
    return record


def application(ref: str, field: str = "DIG-AI", **extra: Any) -> dict[str, Any]:
    """An application record whose bearer is 上海<ref>科技有限公司; ``extra`` keys override the defaults."""
    record = {
        "ref": ref,
        "center_name": f"上海{ref}创新中心",
        "field": field,
        "construction_content": "建设人工智能共性技术平台",
        "bearer": {"name": f"上海{ref}科技有限公司", "legal_rep": {"name": f"法人{ref}"}},
        "members": [],
    }
    record.update(extra)
    return record


def problem(experts: list[dict], applications: list[dict], **settings: Any) -> dict[str, Any]:
    """A problem dict with sensible small-round settings (panel of 1, no quotas) unless overridden."""
    base = {"as_of": AS_OF, "panel_size": 1, "pool_quotas": {}, "max_per_organization": 1, "max_load": 5}
    base.update(settings)
    return {"settings": base, "experts": copy.deepcopy(experts), "applications": copy.deepcopy(applications)}


def five_pool_experts(per_pool: int = 2) -> list[dict]:
    """``per_pool`` experts in each of the five pools, refs E1…"""
    return [expert(f"E{k * per_pool + n + 1}", pool) for k, pool in enumerate(POOLS) for n in range(per_pool)]


@pytest.fixture
def shared_data() -> Path:
    """The shared real-data folder; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} not present")
    return SHARED_DATA


WINDOW_EDGE_DATES = (None, "2019-06-30", "2017-10-01", "2017-09-30", "2012-12-31")
"""Ends of a relation around AS_OF − 3 years (2017-10-01): ongoing, well inside, on the edge, a day out, long gone."""
GROUPS = ("上海集团0有限公司", "上海集团1有限公司")


@st.composite
def problems(draw, max_experts: int = 12, max_applications: int = 5, conflict_rate: float = 0.15):
    """Random valid problems in which every hard rule of DESIGN §6.1 can fire.

    Units and people come from small sets written one way each (so equal strings are exactly the same
    organization or person): experts sit in bearer or member units or share units with each other (the
    per-organization limit binds), hold past affiliations and governance roles ending on either side of the
    3-year window edge, carry the name of a person the application names, declare kinship with a named person or
    collaboration with a unit, and belong to groups that member units also belong to. Panels of 1–5 experts with
    pool quotas drawn from the pools present (some draws are infeasible, which ``assign`` must then explain).
    """
    wanted_panel = draw(st.integers(1, 5))
    n_experts = draw(st.integers(min(max_experts, max(2, 2 * wanted_panel)), max_experts))
    n_applications = draw(st.integers(1, max_applications))
    organizations = [f"上海机构{k}有限公司" for k in range(max(3, n_experts // 2))]
    bearers = [f"申报单位{j + 1}有限公司" for j in range(n_applications)]
    applications = [_drawn_application(draw, j, bearers[j], organizations) for j in range(n_applications)]
    people = [name for a in applications for name in _people_named(a)] + ["不相干的人"]
    units = organizations + bearers
    shared = ["共享单位0", "共享单位1"]
    experts = []
    for i in range(n_experts):
        roll = draw(st.floats(0, 1))
        if roll < conflict_rate:
            organization = {"name": draw(st.sampled_from(units))}
        elif roll < conflict_rate + 0.25:
            organization = {"name": draw(st.sampled_from(shared))}
        else:
            organization = {"name": f"独立单位{i}"}
        if draw(st.floats(0, 1)) < conflict_rate:
            organization["parent"] = draw(st.sampled_from(GROUPS))
        rare = st.floats(0, 1).map(lambda x: x < conflict_rate)
        experts.append(expert(
            f"E{i + 1}",
            name=draw(st.sampled_from(people)) if draw(rare) else f"专家E{i + 1}",
            pool=draw(st.sampled_from(POOLS)),
            organization=organization,
            fields=draw(st.lists(st.sampled_from(FIELD_CODES), min_size=0, max_size=3, unique=True)),
            profile=" ".join(FIELDS[code] for code in draw(st.lists(st.sampled_from(FIELD_CODES), max_size=3))),
            max_load=draw(st.none() | st.integers(1, 4)),
            past_affiliations=draw(st.lists(_affiliations(units), max_size=2)) if draw(rare) else [],
            roles=draw(st.lists(_roles(units), max_size=1)) if draw(rare) else [],
            declared=draw(st.lists(_declarations(people, units), max_size=2)) if draw(rare) else [],
        ))
    panel_size = min(wanted_panel, n_experts)
    pool_counts = {pool: sum(e["pool"] == pool for e in experts) for pool in POOLS}
    settings = {"panel_size": panel_size, "pool_quotas": draw(_quotas(pool_counts, panel_size)),
                "max_per_organization": draw(st.integers(1, 2)), "max_load": draw(st.integers(2, 4))}
    return parse_problem(problem(experts, applications, **settings))


def _drawn_application(draw, j: int, bearer: str, organizations: list[str]) -> dict[str, Any]:
    member = {"role": "initiating", "kind": "enterprise", "name": draw(st.sampled_from(organizations)),
              "legal_rep": {"name": f"成员法人{j + 1}"}, "team_members": [{"name": f"成员骨干{j + 1}"}]}
    if draw(st.booleans()):
        member["parent"] = draw(st.sampled_from(GROUPS))
    return application(f"A{j + 1}", field=draw(st.sampled_from(FIELD_CODES)),
                       bearer={"name": bearer, "legal_rep": {"name": f"法人{j + 1}"}},
                       leads={"rd_team": {"name": f"负责人{j + 1}"}}, members=[member])


def _people_named(record: dict[str, Any]) -> list[str]:
    """Everyone an application record (as drawn by ``problems``) names."""
    names = [record["bearer"]["legal_rep"]["name"], record["leads"]["rd_team"]["name"]]
    for member in record["members"]:
        names += [member["legal_rep"]["name"], *(m["name"] for m in member["team_members"])]
    return names


def _affiliations(units: list[str]):
    ended = st.fixed_dictionaries({"name": st.sampled_from(units), "from": st.just("2010-01-01"),
                                   "until": st.sampled_from(WINDOW_EDGE_DATES)})
    future = st.fixed_dictionaries({"name": st.sampled_from(units), "from": st.just("2021-01-01")})
    return (ended | future).map(_without_none)


def _roles(units: list[str]):
    return st.fixed_dictionaries({"organization": st.sampled_from(units), "role": st.sampled_from(GOVERNANCE_ROLES),
                                  "until": st.sampled_from(WINDOW_EDGE_DATES)}).map(_without_none)


def _declarations(people: list[str], units: list[str]):
    kinship = st.fixed_dictionaries({"kind": st.just("kinship"), "person": st.sampled_from(people),
                                     "note": st.just("配偶")})
    collaboration = st.fixed_dictionaries({"kind": st.just("collaboration"), "organization": st.sampled_from(units),
                                           "until": st.sampled_from(WINDOW_EDGE_DATES)})
    return (kinship | collaboration).map(_without_none)


def _without_none(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if value is not None}


@st.composite
def _quotas(draw, pool_counts: dict[str, int], panel_size: int) -> dict[str, list[int]]:
    """[min, max] for some of the pools present; dropped when the minimums or maximums cannot fit the panel."""
    quotas = {}
    for pool in draw(st.lists(st.sampled_from(POOLS), unique=True, max_size=5)):
        low = draw(st.integers(0, min(pool_counts[pool], 1)))
        quotas[pool] = [low, draw(st.integers(max(low, 1), max(low, 1) + 2))]
    minimums = sum(low for low, _ in quotas.values())
    fillable = sum(min(quotas.get(pool, [0, panel_size])[1], count) for pool, count in pool_counts.items())
    return quotas if minimums <= panel_size and fillable >= panel_size else {}


def organization_cycle_problem(**settings: Any) -> dict[str, Any]:
    """A round whose panels cannot keep the organization limit although every capped fractional rule holds.

    Three applications with a technology and a law seat each (load 1); A_i may take technology T_i or T_i+1 and
    law L_i or L_i+1 (indices mod 3, the rest forbidden); organizations 甲 {T1, L1}, 乙 {T2, L3}, 丙 {T3, L2}, at
    most one a panel. Every pair at 0.5 keeps each row (甲 on A1: T1 + L1 = 1), but each of the four ways to
    fill the seats puts one organization twice on a panel: the draw falls back to redraw-and-repair, and no
    repair exists.
    """
    names = {"T1": "北京甲大学", "L1": "北京甲大学", "T2": "上海乙研究院", "L3": "上海乙研究院",
             "T3": "深圳丙实验室", "L2": "深圳丙实验室"}
    experts = [expert(ref, "technology" if ref[0] == "T" else "law", organization={"name": name})
               for ref, name in sorted(names.items())]
    forbidden = [{"expert": f"{kind}{(i + 2) % 3 + 1}", "application": f"A{i + 1}"}
                 for i in range(3) for kind in "TL"]
    base = {"panel_size": 2, "pool_quotas": {"technology": [1, 1], "law": [1, 1]}, "max_load": 1,
            "max_per_organization": 1, "reserves": 0}
    data = problem(experts, [application(f"A{j}") for j in range(1, 4)], **{**base, **settings})
    data["forbidden"] = forbidden
    return data
