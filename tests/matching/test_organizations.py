"""Organization identity: USCC first, then normalized names — on made-up and on 621 real registered names."""

import csv
import unicodedata
from collections import defaultdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.organizations import normalize_name, same_organization
from matching.types import Organization
from tests.matching.conftest import make_uscc


@pytest.mark.parametrize(
    "variant",
    [
        "上海某某科技有限公司",
        "某某科技（上海）有限公司",
        "某某科技(上海)有限公司",
        "某某科技【上海市】股份有限公司",
        "上海市某某科技有限责任公司",
        "某某科技 Co., Ltd.",
        "某某科技　有限公司",
        "ＳＨ某某科技有限公司".replace("ＳＨ", ""),
        "某某科技公司",
    ],
)
def test_variants_of_one_name_share_a_key(variant):
    assert normalize_name(variant) == "某某科技"


def test_full_width_latin_and_english_suffixes_fold():
    assert normalize_name("ＡＢＣ　Ｔｅｃｈ　Ｃｏ．，Ｌｔｄ．") == normalize_name("ABC Tech Limited") == "abctech"


def test_group_and_generic_shanghai_names_are_kept():
    assert normalize_name("上海电气集团股份有限公司") == "电气集团"
    assert normalize_name("上海电气集团股份有限公司") != normalize_name("上海电气股份有限公司")
    assert normalize_name("上海大学") == "上海大学"
    assert normalize_name("上海市第一人民医院") == "上海市第一人民医院"
    assert normalize_name("北京某某科技有限公司") != normalize_name("上海某某科技有限公司")


def test_aliases_are_data():
    aliases = {"上海交大": "上海交通大学"}
    assert normalize_name("上海交大", aliases) == normalize_name("上海交通大学", aliases)
    assert normalize_name("上海交大") != normalize_name("上海交通大学")


def test_uscc_decides_before_names():
    first, second = make_uscc(1), make_uscc(2)
    assert same_organization(Organization("甲公司", first), Organization("乙公司", first)) == "uscc"
    assert same_organization(Organization("甲公司", first), Organization("甲公司", second)) is None
    assert same_organization(Organization("甲有限公司", first), Organization("（上海）甲公司")) == "name"
    assert same_organization(Organization("甲公司"), Organization("乙公司")) is None
    assert same_organization(Organization(""), Organization("")) is None


@settings(max_examples=80, deadline=None)
@given(core=st.text(alphabet="华东电子新材料智能装备芯微光", min_size=2, max_size=8),
       suffix=st.sampled_from(["有限公司", "股份有限公司", "有限责任公司", "公司", " Co., Ltd.", ""]),
       front=st.sampled_from(["", "上海", "上海市", "（上海）", "(上海)", "（上海市）", "(上海市)"]),
       inner=st.sampled_from(["", "（上海）", "(上海)", "（上海市）"]))
def test_generated_spellings_of_one_core_name_collide(core, suffix, front, inner):
    """DESIGN §6.1's own example: 上海某某科技有限公司 = （上海）某某科技… = 某某科技(上海)…, any bracket width."""
    assert normalize_name(f"{front}{core}{inner}{suffix}") == normalize_name(core + "有限公司")


# --- real names: ../shared/data/cn_org_names/company_names.csv (shibing624/companynameparser) ---------------

LEGAL_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "公司")


def _real_names(shared_data):
    with open(shared_data / "cn_org_names" / "company_names.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _variants(name: str) -> list[str]:
    """Spellings of the same registered name people type: width, brackets, suffix, 上海, spaces."""
    base = name
    for suffix in LEGAL_SUFFIXES:
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            break
    full_width = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    variants = [full_width, base + "有限公司", base + "股份有限公司", base + " Co., Ltd.", base + "（上海）有限公司",
                base + "(上海)有限公司", " ".join(name), name.replace("(", "（").replace(")", "）")]
    if not name.startswith("上海"):
        variants += ["上海" + name, "上海市" + name, "（上海）" + name, "(上海)" + name]
    return variants


def test_real_names_keep_their_labelled_brand(shared_data):
    labelled = [row for row in _real_names(shared_data) if row["brand_label"]]
    assert len(labelled) >= 450
    lost = [row["name"] for row in labelled if normalize_name(row["brand_label"]) not in normalize_name(row["name"])]
    assert lost == []


def test_real_name_variants_normalize_to_the_same_key(shared_data):
    rows = _real_names(shared_data)
    mismatches = [(row["name"], v) for row in rows for v in _variants(row["name"])
                  if normalize_name(v) != normalize_name(row["name"])]
    assert mismatches == []


def test_distinct_real_names_stay_distinct(shared_data):
    names = {unicodedata.normalize("NFKC", row["name"]) for row in _real_names(shared_data)}
    keys = defaultdict(set)
    for name in names:
        keys[normalize_name(name)].add(name)
    collisions = {key: group for key, group in keys.items() if len(group) > 1}
    assert collisions == {}
    assert all(keys)
