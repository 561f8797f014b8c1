"""Contended realistic rounds for the matching benchmark: records shaped like the import format, fit by Panel.

The benchmark's synthetic instances draw the fit from a formula and finish in one pricing round. Real rounds do
not look like that: applications crowd into a few popular fields (AI, integrated circuits, smart manufacturing),
experts' organizations repeat (large universities and academies send dozens), member units and shareholders
create conflicts, and the fit Panel computes itself is dominated by the taxonomy component, which takes only
three values, so thousands of pairs tie. Same-field experts of the popular fields then hit their load cap, the
organization limit binds, and the master LP is degenerate. :func:`realistic_problem` builds such a round as
:class:`matching.types.Problem` records; :func:`matching.assign.build_context` turns it into an instance with
Panel's own conflicts and fit (:func:`matching.affinity.compute_fit`).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np

from matching.types import (
    POOLS,
    Affiliation,
    Application,
    Expert,
    MemberUnit,
    Organization,
    Problem,
    Settings,
)

TAXONOMY = Path(__file__).resolve().parents[1] / "web" / "data" / "taxonomy.json"
POOL_SHARE = {"technology": 0.40, "industry": 0.15, "economics": 0.15, "management": 0.15, "law": 0.15}
QUOTAS = {"technology": (3, 5), "industry": (1, 3), "economics": (1, 3), "management": (1, 3), "law": (1, 3)}
GENERIC = ("关键技术", "研发平台", "产业化", "工程化", "示范应用")
CITIES = ("北京", "上海", "深圳", "杭州", "南京", "苏州", "武汉", "成都", "西安", "合肥", "广州", "天津")
KINDS = ("大学", "研究院", "科技有限公司", "集团有限公司", "研究所", "实验室")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉建国红文斌宇浩凯健俊帆帅旭宁龙林欣"


def taxonomy_fields() -> dict[str, tuple[str, str]]:
    """Field code → (Chinese name, sector name) from the web application's taxonomy."""
    data = json.loads(TAXONOMY.read_text(encoding="utf-8"))
    return {f["code"]: (f["name"], s["name"]) for s in data["sectors"] for f in s["fields"]}


def _names(rng: np.random.Generator, n: int, prefix: str = "") -> list[str]:
    first = rng.integers(0, len(SURNAMES), n)
    second = rng.integers(0, len(GIVEN), (n, 2))
    return [f"{prefix}{SURNAMES[a]}{GIVEN[b]}{GIVEN[c] if k % 3 else ''}"
            for k, (a, (b, c)) in enumerate(zip(first, second, strict=True))]


def _text(rng: np.random.Generator, field: tuple[str, str], words: int) -> str:
    name, sector = field
    extra = rng.choice(GENERIC, size=words, replace=False)
    return f"{sector}{name}" + "".join(extra)


def realistic_problem(n_apps: int, n_experts: int, *, seed: int = 0, max_load: int = 4,
                      max_per_organization: int = 1) -> Problem:
    """A contended round of ``n_apps`` applications and ``n_experts`` experts, panels of 7.

    Applications' fields follow a Zipf law (the top three fields take about half), experts' fields are spread
    more evenly, so the popular fields' specialists run out of load. Organizations follow a Zipf law too (about
    ``n_experts / 5`` of them, the largest sending ~3 % of all experts); applications' bearers and member units
    are drawn from the same organizations (same-organization conflicts), name shareholders and people who may
    be experts (named-person conflicts), and some experts left a bearer recently (recent-employment conflicts).
    """
    rng = np.random.default_rng(seed)
    fields = taxonomy_fields()
    codes = list(fields)
    popularity = 1.0 / (np.arange(len(codes)) + 1.0) ** 1.3
    popularity /= popularity.sum()
    spread = popularity ** 0.25
    spread /= spread.sum()
    n_orgs = max(2, n_experts // 5)
    org_weight = 1.0 / (np.arange(n_orgs) + 3.0) ** 1.1
    org_weight /= org_weight.sum()
    org_names = [f"{CITIES[k % len(CITIES)]}{codes[k % len(codes)].split('-')[1]}{k}{KINDS[k % len(KINDS)]}"
                 for k in range(n_orgs)]
    people = _names(rng, n_experts)
    pools = rng.choice(list(POOL_SHARE), n_experts, p=list(POOL_SHARE.values()))
    expert_org = rng.choice(n_orgs, n_experts, p=org_weight)
    experts = []
    for i in range(n_experts):
        own = rng.choice(len(codes), int(rng.integers(1, 4)), replace=False, p=spread)
        past = ()
        if rng.random() < 0.1:
            past = (Affiliation(org_names[int(rng.choice(n_orgs, p=org_weight))], start=date(2015, 1, 1),
                                until=date(2024, int(rng.integers(1, 13)), 1)),)
        experts.append(Expert(
            ref=f"E{i + 1:06d}", name=people[i], pool=str(pools[i]), title="教授级高级工程师",
            organization=Organization(org_names[expert_org[i]]), fields=tuple(codes[k] for k in own),
            profile="、".join(fields[codes[k]][0] for k in own), past_affiliations=past))
    applications = []
    for j in range(n_apps):
        code = codes[int(rng.choice(len(codes), p=popularity))]
        units = rng.choice(n_orgs, int(rng.integers(2, 5)), replace=False, p=org_weight)
        members = tuple(MemberUnit(
            role="initiating" if k == 0 else "participating", kind="enterprise" if k % 2 else "institute",
            name=org_names[u], people=tuple(_names(rng, 2)),
            shareholders=tuple(people[int(s)] for s in rng.integers(0, n_experts, 2)) if k % 2 else ())
            for k, u in enumerate(units[1:], start=1))
        applications.append(Application(
            ref=f"A{j + 1:06d}", center_name=f"{CITIES[j % len(CITIES)]}{fields[code][0]}创新中心", field=code,
            text=_text(rng, fields[code], 2), bearer=Organization(org_names[units[0]]), members=members,
            named_people=tuple(_names(rng, 3)), shareholders=(people[int(rng.integers(0, n_experts))],)))
    settings = Settings(as_of=date(2026, 6, 1), pool_quotas=QUOTAS, max_load=max_load,
                        max_per_organization=max_per_organization)
    assert set(POOL_SHARE) == set(POOLS)
    return Problem(settings=settings, experts=tuple(experts), applications=tuple(applications))


def problem_json(problem: Problem) -> dict:
    """A round built by :func:`realistic_problem` as the §10 problem JSON users give ``python -m matching assign``.

    Named people become the bearer's legal representative and contact and the lead initiator; a member unit's
    people its legal representative and contact. The application's text goes under ``text`` (the parser puts
    the center name in front of it).
    """
    def person(name: str) -> dict:
        return {"name": name}

    settings = problem.settings
    experts = [{
        "ref": e.ref, "name": e.name, "pool": e.pool, "title": e.title, "organization": {"name": e.organization.name},
        "fields": list(e.fields), "profile": e.profile,
        "past_affiliations": [{"name": p.name, "from": p.start.isoformat(), "until": p.until.isoformat()}
                              for p in e.past_affiliations],
    } for e in problem.experts]
    applications = []
    for a in problem.applications:
        named = dict(zip(("legal_rep", "contact", "initiator"), a.named_people, strict=False))  # ≤ 3 names
        bearer = {key: person(named[key]) for key in ("legal_rep", "contact") if key in named}
        applications.append({
            "ref": a.ref, "center_name": a.center_name, "field": a.field, "text": a.text,
            "bearer": {"name": a.bearer.name, **bearer,
                       "shareholders": [{"name": s, "share_pct": 10} for s in a.shareholders]},
            "leads": {"initiator": person(named["initiator"])} if "initiator" in named else {},
            "members": [{"role": m.role, "kind": m.kind, "name": m.name, "legal_rep": person(m.people[0]),
                         "contact": person(m.people[1]),
                         "shareholders": [{"name": s, "share_pct": 10} for s in m.shareholders]}
                        for m in a.members],
        })
    return {"settings": {"as_of": settings.as_of.isoformat(), "panel_size": settings.panel_size,
                         "pool_quotas": {pool: list(q) for pool, q in settings.pool_quotas.items()},
                         "max_load": settings.max_load, "max_per_organization": settings.max_per_organization},
            "experts": experts, "applications": applications}
