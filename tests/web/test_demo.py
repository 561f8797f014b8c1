"""The demo data set (DESIGN §8): reproducible, valid, big and varied enough, with planted problems."""

from __future__ import annotations

from collections import Counter

import pytest

from matching.types import FIELDS, POOLS
from matching.uscc import is_shanghai, is_valid
from web.demo import generate_demo, validated_demo
from web.demo.generate import PLANTED_FLAGS, REFERENCE_DATE
from web.records.schema import CONSTRUCTION_CONTENT_LIMIT
from web.services.formal_check import check_application


@pytest.fixture(scope="module")
def demo():
    return validated_demo()


def test_same_seed_same_records_other_seed_other_records():
    first, second = generate_demo(7, applications=20, experts=40), generate_demo(7, applications=20, experts=40)
    assert first.applications == second.applications and first.experts == second.experts
    other = generate_demo(8, applications=20, experts=40)
    assert other.applications != first.applications


def test_sizes_fields_and_pools(demo):
    assert len(demo.applications) >= 60 and len(demo.experts) >= 400
    per_field = Counter(application["field"] for application in demo.applications)
    assert set(per_field) == set(FIELDS) and min(per_field.values()) >= 3
    per_pool = Counter(expert["pool"] for expert in demo.experts)
    assert set(per_pool) == set(POOLS)
    assert 0.40 <= per_pool["technology"] / len(demo.experts) <= 0.50
    assert 0.17 <= per_pool["industry"] / len(demo.experts) <= 0.23


def test_applications_look_like_the_notice_asks(demo):
    refs = [application["ref"] for application in demo.applications]
    assert len(set(refs)) == len(refs)
    for application in demo.applications:
        assert 2 <= len(application["members"]) <= 6
        assert len(application["construction_content"]) <= CONSTRUCTION_CONTENT_LIMIT
        assert all(application["plan"].values())
        assert is_valid(application["bearer"]["uscc"])
    kinds = Counter(member["kind"] for application in demo.applications for member in application["members"])
    assert kinds["enterprise"] > 0 and kinds["institute"] > 0
    codes = [member["uscc"] for application in demo.applications for member in application["members"]]
    shanghai = sum(is_shanghai(code) for code in codes)
    assert 0.75 * len(codes) <= shanghai < len(codes)  # mostly Shanghai, a few from elsewhere


def test_texts_follow_the_field(demo):
    from web.demo.vocabulary import FIELD_WORDS

    for application in demo.applications:
        words = FIELD_WORDS[application["field"]]
        assert any(tech in application["construction_content"] for tech in words.techs)
    for expert in demo.experts:
        first = FIELD_WORDS[expert["fields"][0]]
        assert first.short in expert["profile"] or any(tech in expert["profile"] for tech in first.techs)


def test_exactly_the_planted_applications_are_flagged(demo):
    assert len(PLANTED_FLAGS) >= 5
    flagged = {application["ref"]: [flag.code for flag in check_application(application)]
               for application in demo.applications}
    expected = {ref: [code] for code, refs in demo.planted_flags.items() for ref in refs}
    assert {ref: codes for ref, codes in flagged.items() if codes} == expected
    assert set(demo.planted_flags) == set(PLANTED_FLAGS)


def test_experts_have_conflicts_to_find(demo):
    member_names = {member["name"] for application in demo.applications for member in application["members"]}
    same_organization = [expert for expert in demo.experts if expert["organization"]["name"] in member_names]
    assert len(same_organization) >= 20
    window = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - 3)
    affiliations = [item for expert in demo.experts for item in expert["past_affiliations"]]
    assert any(item["until"] >= window for item in affiliations)
    assert any(item["until"] < window for item in affiliations)
    assert any(expert["roles"] for expert in demo.experts)
    declared = Counter(item["kind"] for expert in demo.experts for item in expert["declared"])
    assert declared["kinship"] + declared["collaboration"] + declared["drafted"] == 10
    assert len(demo.planted_conflicts["recent-employment"]) >= 1
    assert any(application["excluded_experts"] for application in demo.applications)
    named = {member["name"] for application in demo.applications for member in application["members"]
             if member["kind"] == "institute" for member in member["team_members"]}
    assert any(expert["name"] in named for expert in demo.experts)


def test_experts_fields_stay_mostly_in_one_sector(demo):
    sectors = [len({code.split("-")[0] for code in expert["fields"]}) for expert in demo.experts]
    assert Counter(sectors)[1] / len(sectors) > 0.8
