"""The seeded demo data set (DESIGN §8 ``panel demo``): ≥ 60 applications over all 18 fields and ≥ 400 experts
over the five pools, with planted formal-check failures and conflicts of interest.

Everything comes from one ``random.Random(seed)``: the same seed gives the same records. The records are in
the DESIGN §10 shape and pass web/records validation.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from matching.types import FIELDS, sector_of
from web.demo.names import ELSEWHERE, email, id_number, landline, mobile, person_name, uscc
from web.demo.organizations import Org, Organizations, make_organizations
from web.demo.texts import construction_content, general_profile, plan_sections, technical_profile
from web.demo.vocabulary import FIELD_WORDS
from web.records import default_field_names, validate_applications, validate_experts

REFERENCE_DATE = date(2020, 10, 1)
"""The demo round's reference date: conflict windows and eligibility are measured back from it."""
DEFAULT_SEED = 20200627  # the notice's date
POOL_SHARES = {"technology": 0.45, "industry": 0.20, "economics": 0.12, "management": 0.12, "law": 0.11}
PLANTED_FLAGS = (
    "SHARES_NOT_100", "BEARER_TOO_OLD", "BEARER_NOT_SHANGHAI", "RD_STAFF_ABOVE_EMPLOYEES", "MISSING_ATTACHMENT",
    "NO_INITIATING_UNIT", "FIXED_ABOVE_TOTAL_ASSETS",
)
REQUIRED_ATTACHMENT_KINDS = ("business_licence", "audited_financials", "cooperation_agreement", "bylaws")
TECH_TITLES = ("教授", "研究员", "副教授", "副研究员", "教授级高级工程师")
INDUSTRY_TITLES = ("总工程师", "技术总监", "教授级高级工程师", "副总经理", "首席技术官")
GENERAL_TITLES = {
    "economics": ("注册会计师", "合伙人", "教授", "研究员", "资产评估师"),
    "management": ("教授", "副教授", "高级咨询师", "合伙人", "研究员"),
    "law": ("律师", "高级合伙人", "合伙人", "教授", "副教授"),
}
GENERAL_DEPARTMENTS = {"economics": "经济学院", "management": "管理学院", "law": "法学院"}


@dataclass
class DemoData:
    """The demo records and what was planted in them: flag code → application refs, conflict kind → pairs."""

    applications: list[dict]
    experts: list[dict]
    planted_flags: dict[str, list[str]] = field(default_factory=dict)
    planted_conflicts: dict[str, list[tuple[str, str]]] = field(default_factory=dict)


def pool_sizes(total: int) -> dict[str, int]:
    """Experts per pool: the shares of POOL_SHARES, the rounding remainder to technology."""
    sizes = {pool: int(total * share) for pool, share in POOL_SHARES.items()}
    sizes["technology"] += total - sum(sizes.values())
    return sizes


def day_between(rng: random.Random, start: date, end: date) -> date:
    """A random day in [start, end]."""
    return start + timedelta(days=rng.randint(0, (end - start).days))


def split_shares(rng: random.Random, holders: int) -> list[float]:
    """Whole-number shares of ``holders`` shareholders summing to 100, the first the largest."""
    cuts = sorted(rng.sample(range(5, 96), holders - 1))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    return [float(share) for share in sorted(shares, reverse=True)]


class DemoGenerator:
    """Builds the demo records; call :meth:`generate` once."""

    def __init__(self, seed: int = DEFAULT_SEED, applications: int = 60, experts: int = 420,
                 reference_date: date = REFERENCE_DATE):
        self.rng = random.Random(seed)
        self.n_applications = applications
        self.n_experts = experts
        self.reference_date = reference_date
        self.orgs: Organizations = make_organizations(self.rng)
        self.experts: list[dict] = []
        self.experts_at: dict[str, list[dict]] = {}
        self.used_names: set[str] = set()
        self.planted_conflicts: dict[str, list[tuple[str, str]]] = {}

    # --- people ---------------------------------------------------------------------------------------------

    def name(self) -> str:
        """A person name not used before in the demo, so that named-person conflicts are unambiguous."""
        while True:
            candidate = person_name(self.rng)
            if candidate not in self.used_names:
                self.used_names.add(candidate)
                return candidate

    def person(self, domain: str, **extra: str) -> dict:
        """A contact person with mobile and e-mail."""
        number = len(self.used_names)
        return {"name": self.name(), "mobile": mobile(self.rng), "email": email(f"p{number}", domain), **extra}

    # --- experts --------------------------------------------------------------------------------------------

    def expert_fields(self, pool: str) -> list[str]:
        """1–3 fields mostly in one sector (technology, industry); 2–4 fields of one sector (the others)."""
        home = self.rng.choice(list(FIELDS))
        sector_fields = [code for code in FIELDS if sector_of(code) == home.split("-")[0]]
        if pool in ("technology", "industry"):
            count = min(len(sector_fields), self.rng.choice((1, 2, 2, 3)))
            chosen = [home, *self.rng.sample([f for f in sector_fields if f != home], count - 1)]
            if self.rng.random() < 0.15:
                chosen.append(self.rng.choice([code for code in FIELDS if code not in chosen]))
            return chosen
        count = min(len(sector_fields), self.rng.randint(2, 4))
        return [home, *self.rng.sample([f for f in sector_fields if f != home], count - 1)]

    def expert_organization(self, pool: str, fields: list[str]) -> tuple[Org, str]:
        """Where an expert of ``pool`` works, and the title there."""
        sector, roll = sector_of(fields[0]), self.rng.random()
        orgs = self.orgs
        if pool == "technology":
            org = (self.rng.choice(orgs.universities) if roll < 0.55 else
                   self.rng.choice(orgs.institutes[sector]) if roll < 0.8 else
                   self.rng.choice(orgs.enterprises[self.rng.choice(fields)]))
            return org, self.rng.choice(TECH_TITLES if org.kind != "enterprise" else INDUSTRY_TITLES)
        if pool == "industry":
            org = (self.rng.choice(orgs.enterprises[self.rng.choice(fields)]) if roll < 0.75
                   else self.rng.choice(orgs.institutes[sector]))
            return org, self.rng.choice(INDUSTRY_TITLES)
        firms = {"economics": orgs.accounting_firms + orgs.consulting_firms[:4],
                 "management": orgs.consulting_firms, "law": orgs.law_firms}[pool]
        org = self.rng.choice(orgs.universities) if roll < 0.35 else self.rng.choice(firms)
        return org, self.rng.choice(GENERAL_TITLES[pool])

    def make_expert(self, number: int, pool: str) -> dict:
        """One expert record without planted relations."""
        fields = self.expert_fields(pool)
        org, title = self.expert_organization(pool, fields)
        department = (FIELD_WORDS[fields[0]].discipline if pool in ("technology", "industry")
                      else GENERAL_DEPARTMENTS[pool]) if org.kind == "university" else ""
        name = self.name()
        profile = (technical_profile(self.rng, fields, org.name + department, title)
                   if pool in ("technology", "industry")
                   else general_profile(self.rng, pool, fields, org.name + department, title))
        expert = {
            "ref": f"E{number:04d}", "name": name, "pool": pool, "title": title,
            "organization": {"name": org.name, "uscc": org.uscc},
            "fields": fields, "profile": profile, "past_affiliations": [], "roles": [], "declared": [],
            "email": email(f"e{number:04d}", "experts"), "mobile": mobile(self.rng),
            "available": self.rng.random() > 0.04,
        }
        if self.rng.random() < 0.3:
            expert["max_load"] = self.rng.randint(3, 8)
        if self.rng.random() < 0.35:
            expert["past_affiliations"].append(self.old_affiliation(fields))
        return expert

    def old_affiliation(self, fields: list[str]) -> dict:
        """A past job that ended long before the reference date (no conflict)."""
        org = self.rng.choice(self.orgs.enterprises[self.rng.choice(fields)] + self.orgs.universities)
        until = day_between(self.rng, date(2008, 1, 1), date(2016, 6, 30))
        start = until - timedelta(days=self.rng.randint(700, 3000))
        return {"name": org.name, "uscc": org.uscc, "from": start, "until": until}

    def make_experts(self) -> None:
        """All experts, pools in DESIGN proportions, refs E0001…"""
        number = 0
        for pool, size in pool_sizes(self.n_experts).items():
            for _ in range(size):
                number += 1
                expert = self.make_expert(number, pool)
                self.experts.append(expert)
                self.experts_at.setdefault(expert["organization"]["name"], []).append(expert)

    # --- applications ---------------------------------------------------------------------------------------

    def enterprise_member(self, org: Org, role: str, domain: str) -> dict:
        """An enterprise member unit with a full enterprise table of plausible figures."""
        rng = self.rng
        employees = rng.randint(80, 6000)
        total_assets = round(rng.uniform(8_000, 600_000), 1)
        sales_2017 = round(total_assets * rng.uniform(0.3, 1.2), 1)
        growth = rng.uniform(0.95, 1.3)
        finances = []
        for offset, year in enumerate((2017, 2018, 2019)):
            sales = round(sales_2017 * growth ** offset, 1)
            finances.append({"year": year, "sales": sales, "rd_investment": round(sales * rng.uniform(0.03, 0.15), 1)})
        holders = rng.randint(1, 3)
        top = split_shares(rng, holders + 1)[:holders]
        return {
            "role": role, "kind": "enterprise", "name": org.name, "uscc": org.uscc,
            "registered_on": day_between(rng, date(1995, 1, 1), date(2015, 12, 31)),
            "registered_capital": float(rng.choice((1000, 2000, 5000, 10000, 20000, 50000))),
            "foreign_share_pct": float(rng.choice((0, 0, 0, 10, 25, 49))),
            "registered_address": org.address, "registered_postcode": org.postcode,
            "contact_address": org.address, "contact_postcode": org.postcode,
            "legal_rep": {"name": self.name(), "phone": landline(rng), "email": email("legal", domain),
                          "id_type": "居民身份证", "id_number": id_number(rng)},
            "contact": {"name": self.name(), "post": "科技发展部经理", "mobile": mobile(rng),
                        "email": email("contact", domain)},
            "economic_type": rng.choice(("state_owned", "state_controlled", "private", "private", "joint_venture")),
            "employees": employees, "rd_staff": int(employees * rng.uniform(0.08, 0.45)),
            "total_assets": total_assets, "fixed_assets": round(total_assets * rng.uniform(0.15, 0.6), 1),
            "debt_ratio_pct": round(rng.uniform(15, 70), 1),
            "after_tax_profit": round(sales_2017 * rng.uniform(-0.05, 0.15), 1),
            "finances": finances,
            "rd_institutions": rng.sample(["enterprise_tech_center", "engineering_research_center",
                                           "engineering_tech_research_center", "key_laboratory"], rng.randint(0, 2)),
            "ip": {"invention_applied": rng.randint(10, 400), "invention_granted": rng.randint(5, 200),
                   "utility_applied": rng.randint(5, 300), "utility_granted": rng.randint(5, 250),
                   "software_copyrights": rng.randint(0, 120), "ic_layouts": rng.randint(0, 20)},
            "top_shareholders": [{"name": f"{self.name()}" if i else f"{org.name[:-4]}控股集团有限公司",
                                  "share_pct": share} for i, share in enumerate(top)],
            "main_business": f"{'、'.join(self.rng.sample(FIELD_WORDS[org.field or 'MAT-NM'].products, 2))}的研发、"
                             f"生产和销售",
            "market_share_pct": round(rng.uniform(1, 30), 1),
        }

    def institute_member(self, org: Org, role: str, field: str, domain: str) -> dict:
        """A university or institute member unit: its R&D team, some of whose members are demo experts."""
        rng = self.rng
        words = FIELD_WORDS[field]
        colleagues = [expert for expert in self.experts_at.get(org.name, [])
                      if expert["pool"] in ("technology", "industry")]
        lead_name = colleagues[0]["name"] if colleagues and rng.random() < 0.5 else self.name()
        members = [{"name": self.name(), "title": rng.choice(("副教授", "讲师", "副研究员", "工程师")),
                    "research_direction": rng.choice(words.techs), "phone": mobile(rng)}
                   for _ in range(rng.randint(2, 4))]
        if colleagues and rng.random() < 0.6:
            member = rng.choice(colleagues)
            members.append({"name": member["name"], "title": member["title"],
                            "research_direction": rng.choice(words.techs), "phone": member["mobile"]})
        techs = "、".join(rng.sample(words.techs, 3))
        return {
            "role": role, "kind": "institute", "name": org.name, "uscc": org.uscc,
            "team_lead": {"name": lead_name, "department": words.discipline if org.kind == "university" else "研发中心",
                          "title": rng.choice(("教授", "研究员")), "phone": landline(rng),
                          "email": email("lead", domain)},
            "team_contact": {"name": self.name(), "fax": landline(rng), "phone": landline(rng),
                             "email": email("team", domain)},
            "team_description": f"团队长期从事{techs}研究，拥有省部级重点实验室和中试平台。",
            "lead_bio": f"{lead_name}，{words.discipline}教授，博士生导师，从事{rng.choice(words.techs)}研究二十余年。",
            "team_members": members,
            "current_projects": f"国家重点研发计划“{rng.choice(words.techs)}关键技术”课题；"
                                f"上海市科技创新行动计划“{rng.choice(words.products)}研制”项目。",
            "main_results": f"在{rng.choice(words.techs)}方向发表论文{rng.randint(30, 200)}篇，"
                            f"授权发明专利{rng.randint(10, 90)}项，获上海市科技进步奖。",
        }

    def member_units(self, field: str, domain: str) -> list[dict]:
        """2–6 member units: an initiating enterprise first, then enterprises and universities/institutes."""
        rng = self.rng
        sector = sector_of(field)
        count = rng.randint(2, 6)
        sector_fields = [code for code in FIELDS if sector_of(code) == sector]
        enterprises = rng.sample(self.orgs.enterprises[field], min(3, count))
        academic = rng.sample(self.orgs.universities, 2) + rng.sample(self.orgs.institutes[sector], 1)
        pool = enterprises[1:] + academic + [rng.choice(self.orgs.enterprises[rng.choice(sector_fields)])]
        units = [self.enterprise_member(enterprises[0], "initiating", domain)]
        for org in pool:
            if len(units) == count:
                break
            if any(unit["name"] == org.name for unit in units):
                continue
            role = "initiating" if len(units) == 1 and rng.random() < 0.3 else "participating"
            units.append(self.enterprise_member(org, role, domain) if org.kind == "enterprise"
                         else self.institute_member(org, role, field, domain))
        return units

    def bearer(self, field: str, submitted_on: date, initiators: list[str], domain: str) -> dict:
        """The bearer unit: a company registered in Shanghai within three years, owned by its initiators."""
        rng = self.rng
        words = FIELD_WORDS[field]
        brand = initiators[0][2:4] if initiators[0].startswith("上海") else initiators[0][:2]
        name = f"上海{brand}{words.short}创新中心有限公司"
        division_code = rng.choice(("310115", "310112", "310104", "310110", "310114"))
        address = f"上海市{'浦东新区' if division_code == '310115' else '闵行区'}创新路{rng.randint(1, 999)}号"
        holders = initiators[:3] + [f"上海{brand}科创投资合伙企业（有限合伙）"]
        shares = split_shares(rng, len(holders))
        return {
            "name": name, "uscc": uscc(rng, "91", division_code),
            "registered_on": day_between(rng, submitted_on - timedelta(days=900), submitted_on - timedelta(days=60)),
            "registered_capital": float(rng.choice((5000, 10000, 20000, 30000))),
            "foreign_share_pct": 0.0, "registered_address": address, "registered_postcode": "201203",
            "contact_address": address, "contact_postcode": "201203",
            "legal_rep": {"name": self.name(), "phone": landline(rng), "email": email("legal", domain),
                          "id_type": "居民身份证", "id_number": id_number(rng)},
            "contact": {"name": self.name(), "post": "综合管理部主任", "mobile": mobile(rng),
                        "email": email("office", domain)},
            "economic_type": rng.choice(("state_controlled", "private", "other")),
            "economic_type_other": None,
            "shareholders": [{"name": holder, "share_pct": share}
                             for holder, share in zip(holders, shares, strict=True)],
        }

    def make_application(self, number: int, field: str) -> dict:
        """One application of ``field`` with members, bearer, leads, texts and attachments."""
        rng = self.rng
        ref = f"A{number:03d}"
        domain = f"center{number:03d}"
        submitted_on = day_between(rng, date(2020, 7, 1), date(2020, 9, 15))
        members = self.member_units(field, domain)
        initiators = [unit["name"] for unit in members if unit["role"] == "initiating"]
        initiators += [unit["name"] for unit in members if unit["kind"] == "enterprise" and unit["name"] not in initiators]
        bearer = self.bearer(field, submitted_on, initiators, domain)
        if bearer["economic_type"] == "other":
            bearer["economic_type_other"] = "混合所有制"
        center = f"上海市{rng.choice(FIELD_WORDS[field].techs)}创新中心"
        rd_lead = next((unit["team_lead"] for unit in members if unit["kind"] == "institute"), None)
        return {
            "ref": ref, "center_name": center, "field": field, "submitted_on": submitted_on,
            "bearer": bearer, "members": members,
            "leads": {
                "initiator": self.person(domain, post="董事长"),
                "rd_team": ({"name": rd_lead["name"], "mobile": mobile(rng), "post": rd_lead["title"],
                             "email": rd_lead["email"]} if rd_lead else self.person(domain, post="首席科学家")),
                "daily_contact": self.person(domain, post="办公室主任"),
            },
            "expected_results": sorted(rng.sample(["patent", "standard", "technology", "product", "process",
                                                   "device"], rng.randint(3, 5))),
            "expected_ip": {"foreign_invention": rng.randint(0, 15), "domestic_invention": rng.randint(20, 120),
                            "other": rng.randint(5, 60)},
            "expected_standards": sorted(rng.sample(["international", "national", "industry", "alliance",
                                                     "enterprise"], rng.randint(1, 3))),
            "construction_content": construction_content(rng, field, center, bearer["name"], len(members)),
            "plan": plan_sections(rng, field, center, initiators),
            "applicant_opinion": "同意申报，所填内容真实、准确。", "applicant_opinion_on": submitted_on,
            "excluded_experts": [],
            "attachments": [{"kind": kind, "filename": f"{ref}_{kind}.pdf",
                             "sha256": hashlib.sha256(f"{ref}/{kind}".encode()).hexdigest()}
                            for kind in (*REQUIRED_ATTACHMENT_KINDS, "qualification")],
        }

    def make_applications(self) -> list[dict]:
        """Applications A001…, the fields in turn so that every field has at least n // 18 of them."""
        codes = list(FIELDS)
        return [self.make_application(number, codes[(number - 1) % len(codes)])
                for number in range(1, self.n_applications + 1)]

    # --- planted problems -----------------------------------------------------------------------------------

    def plant_flags(self, applications: list[dict]) -> dict[str, list[str]]:
        """One application per formal-check flag kind, spread over the list (DESIGN §5 step 2)."""
        planted: dict[str, list[str]] = {}
        step = max(1, len(applications) // len(PLANTED_FLAGS))
        for position, code in enumerate(PLANTED_FLAGS):
            application = applications[(position * step + 4) % len(applications)]
            self.plant(code, application)
            planted.setdefault(code, []).append(application["ref"])
        return planted

    def plant(self, code: str, application: dict) -> None:
        """Make ``application`` well-formed but ineligible or inconsistent in the way ``code`` names."""
        bearer, members = application["bearer"], application["members"]
        if code == "SHARES_NOT_100":
            bearer["shareholders"][0]["share_pct"] -= 5
        elif code == "BEARER_TOO_OLD":
            bearer["registered_on"] = application["submitted_on"].replace(year=application["submitted_on"].year - 5)
        elif code == "BEARER_NOT_SHANGHAI":
            division_code, province, road, postcode = ELSEWHERE[0]
            bearer["name"] = bearer["name"].replace("上海", "苏州", 1)
            bearer["uscc"] = uscc(self.rng, "91", division_code)
            bearer["registered_address"] = bearer["contact_address"] = f"{province}{road}88号"
            bearer["registered_postcode"] = bearer["contact_postcode"] = postcode
        elif code == "RD_STAFF_ABOVE_EMPLOYEES":
            members[0]["rd_staff"] = members[0]["employees"] + 37
        elif code == "MISSING_ATTACHMENT":
            application["attachments"] = [item for item in application["attachments"] if item["kind"] != "bylaws"]
        elif code == "NO_INITIATING_UNIT":
            for member in members:
                member["role"] = "participating"
        elif code == "FIXED_ABOVE_TOTAL_ASSETS":
            members[0]["fixed_assets"] = round(members[0]["total_assets"] * 1.2, 1)

    def plant_conflicts(self, applications: list[dict]) -> None:
        """Past jobs, governance roles, declared relations and exclusions that make conflicts (DESIGN §6.1)."""
        rng = self.rng
        window_start = self.reference_date.replace(year=self.reference_date.year - 3)
        technical = [expert for expert in self.experts if expert["pool"] in ("technology", "industry")]
        for application in rng.sample(applications, min(15, len(applications))):
            unit = rng.choice([unit for unit in application["members"] if unit["kind"] == "enterprise"])
            expert = rng.choice(technical)
            recent = rng.random() < 0.6
            until = (day_between(rng, window_start + timedelta(days=30), self.reference_date - timedelta(days=30))
                     if recent else day_between(rng, date(2010, 1, 1), window_start - timedelta(days=30)))
            expert["past_affiliations"].append({"name": unit["name"], "uscc": unit["uscc"],
                                                "from": until - timedelta(days=rng.randint(400, 2500)),
                                                "until": until})
            if recent:
                self.conflict("recent-employment", expert, application)
        for application in rng.sample(applications, min(8, len(applications))):
            unit = application["members"][0]
            expert = rng.choice(self.experts)
            role = rng.choice(("director", "supervisor", "shareholder"))
            expert["roles"].append({"organization": unit["name"], "uscc": unit["uscc"], "role": role,
                                    "until": None if rng.random() < 0.5 else date(2019, 12, 31)})
            self.conflict("governance", expert, application)
        for application in rng.sample(applications, min(10, len(applications))):
            expert = rng.choice(self.experts)
            kind = rng.choice(("kinship", "collaboration", "drafted"))
            if kind == "kinship":
                relation = {"kind": kind, "person": application["bearer"]["legal_rep"]["name"], "note": "配偶之兄弟"}
            elif kind == "collaboration":
                unit = rng.choice(application["members"])
                relation = {"kind": kind, "organization": unit["name"], "uscc": unit["uscc"],
                            "until": date(2019, 12, 31), "note": "联合承担国家重点研发计划课题"}
            else:
                relation = {"kind": kind, "application": application["ref"], "note": "参与编写建设方案"}
            expert["declared"].append(relation)
            self.conflict("declared", expert, application)
        for application in rng.sample(applications, max(1, len(applications) // 5)):
            sector = sector_of(application["field"])
            candidates = [expert["ref"] for expert in self.experts if sector_of(expert["fields"][0]) == sector]
            application["excluded_experts"] = rng.sample(candidates, min(len(candidates), rng.randint(1, 3)))
            for ref in application["excluded_experts"]:
                self.planted_conflicts.setdefault("applicant-excluded", []).append((ref, application["ref"]))

    def conflict(self, rule: str, expert: dict, application: dict) -> None:
        """Remember a planted (expert, application) conflict for tests and the demo notes."""
        self.planted_conflicts.setdefault(rule, []).append((expert["ref"], application["ref"]))

    def generate(self) -> DemoData:
        """The demo data set."""
        self.make_experts()
        applications = self.make_applications()
        planted = self.plant_flags(applications)
        self.plant_conflicts(applications)
        return DemoData(applications, self.experts, planted, self.planted_conflicts)


def generate_demo(seed: int = DEFAULT_SEED, *, applications: int = 60, experts: int = 420,
                  reference_date: date = REFERENCE_DATE) -> DemoData:
    """The demo data set for ``seed`` as raw records (dates as ``datetime.date``)."""
    return DemoGenerator(seed, applications, experts, reference_date).generate()


def validated_demo(seed: int = DEFAULT_SEED, **sizes: int) -> DemoData:
    """The demo data set passed through the import validator, records in its output shape.

    Raises ValueError listing the errors if the generator ever produced malformed records.
    """
    data = generate_demo(seed, **sizes)
    taxonomy = default_field_names()
    applications, errors = validate_applications(
        data.applications, source_refs=[f"[{n}]" for n in range(1, len(data.applications) + 1)], taxonomy=taxonomy)
    experts, expert_errors = validate_experts(
        data.experts, source_refs=[f"[{n}]" for n in range(1, len(data.experts) + 1)], taxonomy=taxonomy)
    if errors or expert_errors:
        raise ValueError("the demo generator produced malformed records:\n" + "\n".join(errors + expert_errors))
    return DemoData(applications, experts, data.planted_flags, data.planted_conflicts)
