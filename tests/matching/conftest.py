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
from matching.types import FIELDS, POOLS
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


@st.composite
def problems(draw, max_experts: int = 12, max_applications: int = 5, conflict_rate: float = 0.15):
    """Random valid problems: pools, fields, shared organizations, past affiliations, named people.

    Organizations are drawn from a small set so that some experts sit in bearer or member units (hard
    conflicts) and some share an organization with each other (the per-organization limit binds).
    """
    n_experts = draw(st.integers(2, max_experts))
    n_applications = draw(st.integers(1, max_applications))
    organizations = [f"上海机构{k}有限公司" for k in range(max(3, n_experts // 2))]
    applications = [
        application(
            f"A{j + 1}",
            field=draw(st.sampled_from(FIELD_CODES)),
            bearer={"name": f"申报单位{j + 1}有限公司"},
            members=[{"role": "initiating", "kind": "enterprise", "name": draw(st.sampled_from(organizations))}],
        )
        for j in range(n_applications)
    ]
    experts = []
    for i in range(n_experts):
        conflicted = draw(st.floats(0, 1)) < conflict_rate
        experts.append(
            expert(
                f"E{i + 1}",
                pool=draw(st.sampled_from(POOLS)),
                organization={"name": draw(st.sampled_from(organizations)) if conflicted else f"独立单位{i}"},
                fields=draw(st.lists(st.sampled_from(FIELD_CODES), min_size=0, max_size=3, unique=True)),
                profile=" ".join(FIELDS[code] for code in draw(st.lists(st.sampled_from(FIELD_CODES), max_size=3))),
                max_load=draw(st.none() | st.integers(1, 4)),
            )
        )
    data = problem(experts, applications, panel_size=1, max_load=3)
    return parse_problem(data)
