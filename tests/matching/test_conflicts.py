"""Conflict rules of DESIGN §6.1: each rule fires on its evidence, stays silent without it, and says why."""

import copy
import dataclasses
import pickle
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matching.conflicts
from matching.assign import build_context
from matching.conflicts import (
    RULES,
    ConflictReasons,
    conflict_arrays,
    conflict_mask,
    find_conflicts,
    window_start,
)
from matching.organizations import same_organization
from matching.problem import parse_problem
from matching.types import HARD, SOFT, Conflict, Organization
from tests.matching.conftest import application, expert, make_uscc, problem, problems

BEARER = "上海声科智能科技有限公司"
MEMBER = "上海某某科技有限公司"
MEMBER_USCC = make_uscc(42)


def bearer_application(**extra):
    """A1: bearer 上海声科智能科技有限公司 (legal rep 王五), participating member 上海某某科技有限公司 with a team."""
    record = application(
        "A1",
        bearer={"name": BEARER, "uscc": make_uscc(7), "legal_rep": {"name": "王五"},
                "shareholders": [{"name": "声科控股有限公司", "share_pct": 70}, {"name": "钱七", "share_pct": 30}]},
        leads={"rd_team": {"name": "孙八"}},
        members=[{"role": "participating", "kind": "enterprise", "name": MEMBER, "uscc": MEMBER_USCC,
                  "legal_rep": {"name": "周九"}, "team_members": [{"name": "吴 十"}],
                  "shareholders": [{"name": "某某集团有限公司", "share_pct": 100}]}],
    )
    record.update(extra)
    return record


def conflicts_of(expert_record, as_of="2020-10-01", **settings):
    """The conflicts of one expert with A1 and A2; the solver's arrays must name the same (pair, rule) triples."""
    parsed = parse_problem(problem([expert_record], [bearer_application(), application("A2")], as_of=as_of,
                                   **settings))
    found = find_conflicts(parsed)
    arrays = conflict_arrays(parsed)
    assert [(parsed.experts[e].ref, parsed.applications[a].ref, RULES[r])
            for e, a, r in zip(arrays.experts, arrays.applications, arrays.rules, strict=True)] == \
        [(c.expert, c.application, c.rule) for c in found]
    assert_reasons_on_demand(parsed, found)
    return found


def assert_reasons_on_demand(parsed, found):
    """Each conflict's reason asked for alone (written against its application's units only) and after
    ``prepare`` (each expert's sentences against every application's) is the reason ``find_conflicts`` gives."""
    for prepared in (False, True):
        reasons = ConflictReasons(parsed)
        if prepared:
            reasons.prepare()
        assert [reasons.conflict(parsed.expert_index[c.expert], parsed.application_index[c.application], c.rule)
                for c in found] == found


def rules(found, application_ref="A1"):
    return {c.rule for c in found if c.application == application_ref}


def test_same_organization_by_uscc_names_the_unit_and_code():
    found = conflicts_of(expert("E1", organization={"name": "某某科技", "uscc": MEMBER_USCC}))
    assert [(c.application, c.rule, c.kind) for c in found] == [("A1", "same-organization", HARD)]
    assert found[0].reason == f"专家所在单位 某某科技 是本申报的参加单位 {MEMBER}（USCC {MEMBER_USCC}）"


def test_same_organization_by_normalized_name():
    found = conflicts_of(expert("E1", organization={"name": "声科智能科技（上海）股份有限公司"}))
    assert rules(found) == {"same-organization"}
    assert "承担单位 上海声科智能科技有限公司（名称规范化后一致）" in found[0].reason


def test_different_usccs_are_different_organizations_despite_the_name():
    found = conflicts_of(expert("E1", organization={"name": MEMBER, "uscc": make_uscc(43)}))
    assert "same-organization" not in rules(found)


def test_unrelated_expert_has_no_conflict():
    assert conflicts_of(expert("E1", name="陈二", organization={"name": "复旦大学"})) == []


@pytest.mark.parametrize(("until", "conflicted"), [
    ("2017-10-01", True),   # exactly three years before as_of: still inside the window
    ("2017-09-30", False),  # one day earlier: outside
    (None, True),           # ongoing
])
def test_recent_employment_window_edge(until, conflicted):
    affiliation = {"name": MEMBER, "from": "2010-01-01"}
    if until:
        affiliation["until"] = until
    found = conflicts_of(expert("E1", past_affiliations=[affiliation]))
    assert ("recent-employment" in rules(found)) is conflicted
    if conflicted:
        assert "回避期内" in found[0].reason and MEMBER in found[0].reason


def test_window_is_measured_from_as_of_not_today():
    record = expert("E1", past_affiliations=[{"name": BEARER, "until": "2015-06-30"}])
    assert "recent-employment" in rules(conflicts_of(record, as_of="2018-06-30"))
    assert "recent-employment" not in rules(conflicts_of(record, as_of="2018-07-01"))
    assert "recent-employment" in rules(conflicts_of(record, as_of="2018-07-01", window_years=5))


def test_affiliation_that_starts_after_as_of_does_not_count():
    record = expert("E1", past_affiliations=[{"name": BEARER, "from": "2021-01-01"}])
    assert conflicts_of(record) == []


def test_window_start_on_leap_day():
    from datetime import date

    assert window_start(date(2020, 2, 29), 3) == date(2017, 2, 28)


@pytest.mark.parametrize(("until", "conflicted"), [(None, True), ("2017-10-01", True), ("2017-09-30", False)])
def test_governance_role_within_window(until, conflicted):
    role = {"organization": "某某科技(上海)有限公司", "role": "supervisor"}
    if until:
        role["until"] = until
    found = conflicts_of(expert("E1", roles=[role]))
    assert ("governance" in rules(found)) is conflicted
    if conflicted:
        assert "监事" in found[0].reason


@pytest.mark.parametrize("window_years", [2020, 10**9])
def test_a_window_reaching_before_year_one_covers_every_relation(window_years):
    """A conflict window of thousands of years (a whole number the settings accept) was a ValueError from the
    date arithmetic, which stopped every run and panel page of the round; it covers every ended relation."""
    role = {"organization": "某某科技(上海)有限公司", "role": "supervisor", "until": "1990-01-01"}
    assert rules(conflicts_of(expert("E1", roles=[role]), window_years=window_years)) == {"governance"}
    assert rules(conflicts_of(expert("E1", roles=[role]), window_years=3)) == set()


def test_governance_matched_by_uscc():
    found = conflicts_of(expert("E1", roles=[{"organization": "别名", "uscc": MEMBER_USCC, "role": "controller"}]))
    assert rules(found) == {"governance"} and "实际控制人" in found[0].reason


@pytest.mark.parametrize(("name", "where"), [
    ("王五", "承担单位 上海声科智能科技有限公司 的负责人或联系人"),
    ("孙八", "承担单位 上海声科智能科技有限公司 的负责人或联系人"),
    ("钱七", "承担单位 上海声科智能科技有限公司 的股东"),
    ("周九", f"参加单位 {MEMBER} 的人员"),
    ("吴十", f"参加单位 {MEMBER} 的人员"),
])
def test_named_person(name, where):
    found = conflicts_of(expert("E1", name=name))
    assert [(c.application, c.rule) for c in found] == [("A1", "named-person")]
    assert found[0].reason == f"专家 {name} 在申报书中列为{where}"


@pytest.mark.parametrize(("declaration", "conflicted"), [
    ({"kind": "kinship", "person": "王五", "note": "配偶"}, True),
    ({"kind": "kinship", "person": "王五", "until": "2001-01-01"}, True),  # kinship has no window
    ({"kind": "advisor", "person": "吴十"}, True),
    ({"kind": "collaboration", "person": "孙八", "until": "2017-10-01"}, True),
    ({"kind": "collaboration", "person": "孙八", "until": "2017-09-30"}, False),
    ({"kind": "dispute", "organization": MEMBER}, True),
    ({"kind": "dispute", "organization": MEMBER, "until": "2016-01-01"}, False),
    ({"kind": "investment", "uscc": MEMBER_USCC}, True),
    ({"kind": "drafted", "application": "A1"}, True),
    ({"kind": "kinship", "person": "不相干"}, False),
])
def test_declared_relations(declaration, conflicted):
    found = conflicts_of(expert("E1", declared=[declaration]))
    assert ("declared" in rules(found)) is conflicted
    assert "declared" not in rules(found, "A2")
    if conflicted:
        assert "专家申报" in found[0].reason


def test_declared_reason_names_kind_person_and_note():
    found = conflicts_of(expert("E1", declared=[{"kind": "kinship", "person": "王五", "note": "配偶"}]))
    assert found[0].reason == "专家申报与 王五 有亲属关系，说明：配偶，此人在申报书中列为承担单位 上海声科智能科技有限公司 的负责人或联系人"


@pytest.mark.parametrize(("organization", "evidence"), [
    ({"name": "某某电子有限公司", "parent": "某某集团有限公司"}, "的股东 某某集团有限公司 是专家所在单位"),  # one group
    ({"name": "某某电子有限公司", "parent": "别的集团"}, None),
    ({"name": "某某集团有限公司"}, "的股东包括专家所在单位"),                      # expert's org holds the member
    ({"name": "声科研究院", "parent": BEARER}, "是专家所在单位 声科研究院 的上级单位"),  # the bearer is its parent
    ({"name": "声科控股有限公司"}, "的股东包括专家所在单位"),                      # shareholder of the bearer
])
def test_group_relation(organization, evidence):
    found = conflicts_of(expert("E1", organization=organization))
    if evidence is None:
        assert "group-relation" not in rules(found)
    else:
        assert rules(found) == {"group-relation"}
        assert evidence in found[0].reason


def test_group_relation_through_a_shared_parent():
    record = bearer_application()
    record["members"][0]["parent"] = "某某集团"
    data = problem([expert("E1", organization={"name": "某某电子", "parent": "某某集团有限公司"})], [record])
    found = find_conflicts(parse_problem(data))
    assert [c.rule for c in found] == ["group-relation"]
    assert "同属 某某集团有限公司" in found[0].reason


def test_applicant_excluded_is_soft():
    data = problem([expert("E1"), expert("E2")], [bearer_application(excluded_experts=["E2"])])
    found = find_conflicts(parse_problem(data))
    assert [(c.expert, c.rule, c.kind) for c in found] == [("E2", "applicant-excluded", SOFT)]


def test_repeat_review_is_off_by_default_and_soft_within_k_years():
    data = problem([expert("E1")], [bearer_application(), application("A2")])
    data["past_reviews"] = [{"expert": "E1", "bearer": {"name": "声科智能科技（上海）有限公司"},
                             "reviewed_on": "2018-10-01"}]
    assert find_conflicts(parse_problem(data)) == []
    data["settings"]["repeat_review_years"] = 2
    found = find_conflicts(parse_problem(data))
    assert [(c.application, c.rule, c.kind) for c in found] == [("A1", "repeat-review", SOFT)]
    data["settings"]["repeat_review_years"] = 1
    assert find_conflicts(parse_problem(data)) == []


def test_aliases_link_organizations():
    data = problem([expert("E1", organization={"name": "声科"})], [bearer_application()])
    assert find_conflicts(parse_problem(data)) == []
    data["organization_aliases"] = {"声科": BEARER}
    assert [c.rule for c in find_conflicts(parse_problem(data))] == ["same-organization"]


def test_conflict_mask_follows_problem_order():
    data = problem([expert("E1"), expert("E2", organization={"name": BEARER})],
                   [application("A2"), bearer_application(excluded_experts=["E1"])])
    parsed = parse_problem(data)
    hard, soft = conflict_mask(parsed, find_conflicts(parsed))
    assert hard.tolist() == [[False, False], [False, True]]
    assert soft.tolist() == [[False, True], [False, False]]


# Spellings of one registered name (DESIGN §6.1: width, brackets, spaces, legal suffixes, a leading 上海/（上海）),
# written out by hand so that the oracle does not depend on normalize_name.
SAME_UNIT = (
    MEMBER, "（上海）某某科技股份有限公司", "某某科技有限公司", "上海 某某 科技 有限公司", "(上海)某某科技有限公司",
    "某某科技（上海）有限公司", "上海市某某科技有限责任公司", "某某科技 Co., Ltd.", "某某科技公司",
)
SAME_LATIN_UNIT = ("ＸＹＺ智能科技有限公司", "XYZ智能科技有限公司", "xyz 智能科技 Co., Ltd.", "（上海）ＸＹＺ智能科技公司")
DIFFERENT_UNITS = (
    ("上海大学", "大学"), ("上海银行", "银行"), ("上海市第一人民医院", "第一人民医院"),
    ("某某集团有限公司", "某某科技有限公司"), ("北京某某科技有限公司", MEMBER), ("XYZ智能科技有限公司", "智能科技有限公司"),
)


@pytest.mark.parametrize("group", [SAME_UNIT, SAME_LATIN_UNIT])
def test_every_spelling_of_one_unit_is_the_same_organization(group):
    assert all(same_organization(Organization(a), Organization(b)) == "name" for a in group for b in group)


@pytest.mark.parametrize(("first", "second"), DIFFERENT_UNITS)
def test_different_units_are_never_the_same_organization(first, second):
    assert same_organization(Organization(first), Organization(second)) is None
    assert same_organization(Organization(second), Organization(first)) is None


def test_uscc_outranks_the_name_in_both_directions():
    same_name = (Organization(MEMBER, make_uscc(42)), Organization(MEMBER, make_uscc(43)))
    assert same_organization(*same_name) is None
    assert same_organization(Organization("甲公司", MEMBER_USCC), Organization("乙公司", MEMBER_USCC)) == "uscc"


@pytest.mark.parametrize("spelling", SAME_UNIT)
def test_an_expert_at_any_spelling_of_a_member_is_conflicted(spelling):
    found = conflicts_of(expert("E1", organization={"name": spelling}))
    assert [(c.application, c.rule) for c in found] == [("A1", "same-organization")]


@pytest.mark.parametrize(("first", "second"), DIFFERENT_UNITS)
def test_an_expert_at_a_different_unit_is_not_conflicted(first, second):
    for own, bearer in ((first, second), (second, first)):
        data = problem([expert("E1", organization={"name": own})], [application("A1", bearer={"name": bearer})])
        assert find_conflicts(parse_problem(data)) == []


CORE = st.text(alphabet="华东电子新材料智能装备芯微光XYZ", min_size=2, max_size=8)


@st.composite
def spellings(draw, core: str) -> str:
    """``core`` written as people write a registered name: only transformations DESIGN §6.1 folds."""
    spaced = draw(st.booleans())
    if spaced:      # spaces between characters, not inside the words of an English suffix
        core = " ".join(core)
    suffix = draw(st.sampled_from(["有限公司", "股份有限公司", "有限责任公司", "公司", " Co., Ltd.", " Limited", ""]))
    if spaced and not suffix.startswith(" "):
        suffix = " ".join(suffix)
    place = draw(st.sampled_from(["", "上海", "上海市", "（上海）", "(上海)", "[上海]", "after the core"]))
    name = f"{core}（上海）{suffix}" if place == "after the core" else f"{place}{core}{suffix}"
    if draw(st.booleans()):
        name = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    return name


@settings(max_examples=60, deadline=None)
@given(data=st.data(), core=CORE, other=CORE)
def test_spellings_of_one_core_conflict_exactly_like_the_registered_name(data, core, other):
    registered = problem([expert("E1", organization={"name": core + "有限公司"})],
                         [application("A1", bearer={"name": core + "有限公司"}),
                          application("A2", bearer={"name": other + "有限公司"})])
    spelled = copy.deepcopy(registered)
    spelled["experts"][0]["organization"]["name"] = data.draw(spellings(core))
    outcome = {(c.application, c.rule) for c in find_conflicts(parse_problem(registered))}
    assert {(c.application, c.rule) for c in find_conflicts(parse_problem(spelled))} == outcome
    assert ("A1", "same-organization") in outcome
    assert (("A2", "same-organization") in outcome) == (core.lower() == other.lower())


@settings(max_examples=40, deadline=None)
@given(problems())
def test_every_conflict_has_a_known_rule_kind_and_a_reason(parsed):
    found = find_conflicts(parsed)
    keys = [(c.expert, c.application, c.rule) for c in found]
    assert len(keys) == len(set(keys))
    assert all(c.reason and c.kind in (HARD, SOFT) for c in found)
    hard, soft = conflict_mask(parsed, found)
    assert hard.shape == soft.shape == (len(parsed.experts), len(parsed.applications))
    assert int(np.sum(hard | soft)) == len({(c.expert, c.application) for c in found})


def every_rule_round(**extra):
    """Four applications sharing units (A1 and A2 the same member, A3 the same bearer by name, A4 an aliased
    bearer) and experts whose evidence for one rule lies in several units and applications: every rule of §6.1,
    soft ones included, several pieces of evidence joined, an expert with no organization."""
    a2 = application("A2", members=[{"role": "initiating", "kind": "enterprise", "name": MEMBER, "uscc": MEMBER_USCC,
                                     "legal_rep": {"name": "王五"}, "parent": "某某集团有限公司",
                                     "shareholders": [{"name": "声科控股有限公司", "share_pct": 100}]}],
                     excluded_experts=["E1", "E5"])
    a3 = application("A3", bearer={"name": BEARER, "legal_rep": {"name": "孙八"},
                                   "shareholders": [{"name": "钱七", "share_pct": 100}]})
    a4 = application("A4", bearer={"name": "声科", "legal_rep": {"name": "赵一"}})
    experts = [
        expert("E1", name="王五", organization={"name": BEARER, "parent": "某某集团有限公司"},
               past_affiliations=[{"name": MEMBER, "from": "2010-01-01"}, {"name": "声科", "until": "2019-01-01"}],
               roles=[{"organization": MEMBER, "role": "director"},
                      {"organization": "别名", "uscc": MEMBER_USCC, "role": "shareholder", "until": "2018-01-01"}],
               declared=[{"kind": "kinship", "person": "孙八", "note": "配偶"},
                         {"kind": "dispute", "organization": MEMBER},
                         {"kind": "drafted", "application": "A2"},
                         {"kind": "kinship", "person": "钱七"}]),
        expert("E2", organization=None, name="钱七", declared=[{"kind": "advisor", "person": "吴十"}]),
        expert("E3", organization={"name": "声科控股有限公司"}),
        expert("E4", organization={"name": "某某电子有限公司", "parent": "某某集团有限公司"},
               roles=[{"organization": BEARER, "role": "legal_rep"}]),
        expert("E5", organization={"name": "某某科技", "uscc": MEMBER_USCC}),
        expert("E6"),
    ]
    data = problem(experts, [bearer_application(excluded_experts=["E6"]), a2, a3, a4], repeat_review_years=3)
    data["organization_aliases"] = {"声科": BEARER}
    data["past_reviews"] = [{"expert": "E3", "bearer": {"name": BEARER}, "reviewed_on": "2019-05-01"},
                            {"expert": "E6", "bearer": {"name": "声科"}, "reviewed_on": "2020-01-01"}]
    data.update(extra)
    return parse_problem(data)


@pytest.mark.parametrize("seed", range(4))
def test_reasons_asked_for_alone_in_any_order_are_the_listed_ones_for_every_rule(seed):
    """Each reason of a round where every rule fires, units are shared between applications and one rule has
    several pieces of evidence: asked pair by pair in a random order, after ``prepare``, and half before and
    half after ``prepare`` on one object, it is ``find_conflicts``' reason word for word."""
    parsed = every_rule_round()
    found = find_conflicts(parsed)
    assert {c.rule for c in found} == set(RULES)
    assert any("；" in c.reason for c in found)
    order = list(range(len(found)))
    random.Random(seed).shuffle(order)
    keys = [(parsed.expert_index[c.expert], parsed.application_index[c.application], c.rule) for c in found]
    alone, prepared, mixed = ConflictReasons(parsed), ConflictReasons(parsed), ConflictReasons(parsed)
    prepared.prepare()
    for n, k in enumerate(order):
        if n == len(order) // 2:
            mixed.prepare()
        for reasons in (alone, prepared, mixed):
            assert reasons.conflict(*keys[k]) == found[k]
    listed = set(keys)
    assert all(alone.reason(e, a, rule) == "" for e in range(len(parsed.experts))
               for a in range(len(parsed.applications)) for rule in RULES if (e, a, rule) not in listed)


def test_prepare_drops_what_reasons_asked_for_alone_kept():
    """After ``prepare`` every reason comes from the index of every application, so the one-application finders
    of reasons asked before (a fixed pair's conflict in a context's diagnostics) are dropped, not stored with
    the object (the web pickles a prepared context)."""
    parsed = every_rule_round()
    asked, fresh = ConflictReasons(parsed), ConflictReasons(parsed)
    first = asked.reason(0, 1, "governance")
    asked.prepare()
    fresh.prepare()
    assert pickle.dumps(asked) == pickle.dumps(fresh)
    assert asked.reason(0, 1, "governance") == first != ""


def test_exclusion_sentences_are_the_listed_reasons_before_and_after_prepare():
    """A context's exclusion sentence of every disallowed pair — the organizer's exclusion first, then the first
    rule (a hard one, or a soft one not accepted: E6's soft conflicts with A1 are accepted by fixing the pair),
    then unavailability — names the listed reason of that rule, asked for alone or after ``prepare``."""
    parsed = every_rule_round(
        fixed=[{"expert": "E6", "application": "A1"}, {"expert": "E5", "application": "A1"}],
        forbidden=[{"expert": "E2", "application": "A1", "reason": "回避"}, {"expert": "E3", "application": "A4"}])
    parsed = dataclasses.replace(parsed, experts=(*parsed.experts[:3], dataclasses.replace(parsed.experts[3],
                                                                                            available=False),
                                                  *parsed.experts[4:]))
    listed: dict[tuple[int, int], Conflict] = {}
    for c in find_conflicts(parsed):
        listed.setdefault((parsed.expert_index[c.expert], parsed.application_index[c.application]), c)
    expected = {}
    for e in range(len(parsed.experts)):
        for a in range(len(parsed.applications)):
            first = listed.get((e, a))
            if (e, a) == (1, 0):
                expected[(e, a)] = "组织方排除（回避）"
            elif (e, a) == (2, 3):
                expected[(e, a)] = "组织方排除"
            elif first is not None and (e, a) != (5, 0):
                kind = "利益冲突" if first.kind == "hard" else "软性冲突未获接受"
                expected[(e, a)] = f"{kind}：{first.reason}"
            elif e == 3:
                expected[(e, a)] = "专家本轮不可用"
    for prepared in (False, True):
        context = build_context(parsed)
        if prepared:
            context.reasons.prepare()
        allowed = context.instance.allowed.dense()
        assert {pair: context.exclusions[pair] for pair in zip(*(np.nonzero(~allowed)[k].tolist() for k in (0, 1)), strict=True)} == expected
        assert context.diagnostics == [f"固定分配 专家 E5 → 申报 A1 不可执行：{expected[(4, 0)]}"]


def test_listing_no_conflict_indexes_no_application(monkeypatch):
    """``Context.conflicts`` prepares the reasons for writing many; a round without a conflict has none to write,
    and the index of every application's units and people costs seconds at national scale (7 s wall at
    10,000 × 25,000)."""
    built = []
    original = matching.conflicts._ApplicationIndex.__init__

    def counting(self, applications, aliases):
        built.append(1)
        original(self, applications, aliases)

    monkeypatch.setattr(matching.conflicts._ApplicationIndex, "__init__", counting)
    context = build_context(parse_problem(problem([expert("E1"), expert("E2")], [application("A1")])))
    assert context.conflicts == [] and built == []
