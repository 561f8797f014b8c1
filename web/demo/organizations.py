"""The demo's organizations: enterprises per field, universities, institutes, law, accounting and consulting
firms. Applications draw their member units from them and experts work at them, so that same-organization
conflicts exist in the demo."""

from __future__ import annotations

import random
from dataclasses import dataclass

from matching.types import FIELDS, sector_of
from web.demo.names import (
    ACCOUNTING_FIRMS,
    BRANDS,
    COMPANY_SUFFIXES,
    CONSULTING_FIRMS,
    ELSEWHERE,
    INSTITUTE_TEMPLATES,
    LAW_FIRMS,
    UNIVERSITIES,
    shanghai_address,
    uscc,
)
from web.demo.vocabulary import FIELD_WORDS

ENTERPRISES_PER_FIELD = 8
INSTITUTES_PER_SECTOR = 3
FIRMS_PER_KIND = 10


@dataclass(frozen=True)
class Org:
    """A demo organization; ``field`` for enterprises, ``sector`` for institutes."""

    name: str
    uscc: str
    kind: str  # enterprise, university, institute, law, accounting, consulting
    address: str
    postcode: str
    field: str | None = None
    sector: str | None = None


@dataclass
class Organizations:
    """All demo organizations, by kind."""

    enterprises: dict[str, list[Org]]  # field code → enterprises
    universities: list[Org]
    institutes: dict[str, list[Org]]  # sector code → institutes
    law_firms: list[Org]
    accounting_firms: list[Org]
    consulting_firms: list[Org]


class OrganizationFactory:
    """Makes organizations with unique names and valid USCCs."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.names: set[str] = set()

    def unique(self, make) -> str:
        """A name from ``make(brand)`` not used before."""
        while True:
            name = make(self.rng.choice(BRANDS))
            if name not in self.names:
                self.names.add(name)
                return name

    def shanghai(self, name: str, kind: str, prefix: str = "91", **extra) -> Org:
        """An organization registered in Shanghai."""
        division_code, address, postcode = shanghai_address(self.rng)
        return Org(name, uscc(self.rng, prefix, division_code), kind, address, postcode, **extra)

    def enterprise(self, field: str) -> Org:
        """An enterprise of ``field``; about one in ten is registered outside Shanghai."""
        words = FIELD_WORDS[field]
        suffixes = COMPANY_SUFFIXES[:2] if words.industry.endswith("科技") else COMPANY_SUFFIXES
        if self.rng.random() < 0.1:
            division_code, province, road, postcode = self.rng.choice(ELSEWHERE)
            city = province[-3:-1] if province.endswith("市") and len(province) > 3 else province[:2]
            name = self.unique(lambda brand: f"{city}{brand}{words.industry}{self.rng.choice(suffixes)}")
            address = f"{province}{road}{self.rng.randint(1, 999)}号"
            return Org(name, uscc(self.rng, "91", division_code), "enterprise", address, postcode, field=field)
        name = self.unique(lambda brand: f"上海{brand}{words.industry}{self.rng.choice(suffixes)}")
        return self.shanghai(name, "enterprise", field=field)

    def institute(self, sector: str, field: str) -> Org:
        """A research institute working in ``sector``."""
        short = FIELD_WORDS[field].short
        name = self.unique(lambda brand: self.rng.choice(INSTITUTE_TEMPLATES).format(brand=brand, short=short))
        return self.shanghai(name, "institute", prefix="12", sector=sector)

    def firm(self, templates: tuple[str, ...], kind: str, prefix: str) -> Org:
        """A law, accounting or consulting firm."""
        name = self.unique(lambda brand: self.rng.choice(templates).format(brand=brand))
        return self.shanghai(name, kind, prefix=prefix)


def make_organizations(rng: random.Random) -> Organizations:
    """Every organization of the demo, reproducibly from ``rng``."""
    factory = OrganizationFactory(rng)
    enterprises = {field: [factory.enterprise(field) for _ in range(ENTERPRISES_PER_FIELD)] for field in FIELDS}
    universities = [factory.shanghai(name, "university", prefix="12") for name in UNIVERSITIES]
    factory.names.update(UNIVERSITIES)
    institutes: dict[str, list[Org]] = {}
    for field in FIELDS:
        sector = sector_of(field)
        if len(institutes.setdefault(sector, [])) < INSTITUTES_PER_SECTOR:
            institutes[sector].append(factory.institute(sector, field))
    return Organizations(
        enterprises=enterprises,
        universities=universities,
        institutes=institutes,
        law_firms=[factory.firm(LAW_FIRMS, "law", "31") for _ in range(FIRMS_PER_KIND)],
        accounting_firms=[factory.firm(ACCOUNTING_FIRMS, "accounting", "91") for _ in range(FIRMS_PER_KIND)],
        consulting_firms=[factory.firm(CONSULTING_FIRMS, "consulting", "91") for _ in range(FIRMS_PER_KIND)],
    )
