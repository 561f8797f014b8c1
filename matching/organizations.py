"""Organization identity: are two records the same legal entity? (DESIGN §6.1)

Organizations are matched by USCC first, then by a normalized name. Normalization folds the ways people write
one registered name: full-/half-width characters (NFKC), every kind of bracket, spaces and punctuation, legal-form
suffixes (有限公司, 股份有限公司, 有限责任公司, 公司, Co., Ltd., Inc., …) and a leading or bracketed 上海 /
上海市 — so 上海某某科技有限公司, 某某科技（上海）有限公司 and ``某某科技 Co., Ltd.`` share one key. 集团 is kept:
a group and its subsidiary are different entities (the group-relation rule links them through ``parent``).
Aliases (e.g. 上海交大 → 上海交通大学) are data passed in by the caller.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

from matching import uscc as uscc_check
from matching.types import Organization

CHINESE_LEGAL_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "股份公司", "有限合伙", "公司")
ENGLISH_LEGAL_SUFFIXES = frozenset(
    {"co", "ltd", "limited", "company", "inc", "incorporated", "corp", "corporation", "llc", "plc", "gmbh"}
)
SHANGHAI_PREFIXES = ("上海市", "上海")
GENERIC_REMAINDERS = frozenset({"大学", "学院", "银行", "医院", "研究院", "研究所", "集团", "中心"})
"""What a leading 上海 is kept in front of: 上海大学 must not become 大学 (nor 上海市第一人民医院 第一人民医院)."""

_BRACKETED_SHANGHAI = re.compile(r"[(\[{【〔〖（［｛「『]\s*上\s*海\s*(?:市\s*)?[)\]}】〕〗）］｝」』]")
_NON_WORD = re.compile(r"[\W_]+")


def _fold(name: str) -> str:
    """NFKC (full-width → half-width), lower case, bracketed 上海 removed, punctuation → single spaces."""
    text = unicodedata.normalize("NFKC", name).lower()
    text = _BRACKETED_SHANGHAI.sub(" ", text)
    return _NON_WORD.sub(" ", text).strip()


def _strip_english_suffixes(text: str) -> str:
    tokens = text.split()
    while len(tokens) > 1 and tokens[-1] in ENGLISH_LEGAL_SUFFIXES:
        tokens.pop()
    return "".join(tokens)


def _strip_chinese_suffixes(text: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for suffix in CHINESE_LEGAL_SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                stripped = True
                break
    return text


def _strip_shanghai_prefix(text: str) -> str:
    for prefix in SHANGHAI_PREFIXES:
        if text.startswith(prefix):
            rest = text[len(prefix):]
            generic = rest in GENERIC_REMAINDERS or rest.startswith("第")
            return text if generic or len(rest) < 2 else rest
    return text


@lru_cache(maxsize=65536)
def _key(name: str) -> str:
    return _strip_shanghai_prefix(_strip_chinese_suffixes(_strip_english_suffixes(_fold(name))))


def normalize_name(name: str, aliases: Mapping[str, str] | None = None) -> str:
    """The matching key of an organization name.

    Parameters
    ----------
    name : str
        A name as written, e.g. ``'某某科技（上海）有限公司'``.
    aliases : mapping, optional
        Alias → canonical name (both as written); a name whose key equals an alias's key gets the canonical
        name's key.

    Returns
    -------
    str
        The key; equal keys mean the same organization. Empty for a blank name.
    """
    key = _key(name)
    if aliases:
        key = alias_keys(aliases).get(key, key)
    return key


class AliasKeys(dict):
    """An alias map already on keys (normalized alias → normalized canonical name); build it once per problem."""


def alias_keys(aliases: Mapping[str, str]) -> AliasKeys:
    """Alias map on keys: normalized alias → normalized canonical name (returned as is when already keyed)."""
    if isinstance(aliases, AliasKeys):
        return aliases
    return AliasKeys({_key(alias): _key(canonical) for alias, canonical in aliases.items()})


def same_organization(a: Organization, b: Organization, aliases: Mapping[str, str] | None = None) -> str | None:
    """How ``a`` and ``b`` are the same organization: ``'uscc'``, ``'name'``, or None when they are not.

    Two valid, different USCCs are two legal entities whatever their names; the names decide only when a USCC
    is missing on either side.
    """
    code_a, code_b = _uscc(a.uscc), _uscc(b.uscc)
    if code_a and code_b:
        return "uscc" if code_a == code_b else None
    key_a, key_b = normalize_name(a.name, aliases), normalize_name(b.name, aliases)
    return "name" if key_a and key_a == key_b else None


def _uscc(code: str | None) -> str | None:
    return uscc_check.compact(code).upper() if code else None


def parent_key(parent: str | None, aliases: Mapping[str, str] | None = None) -> str | None:
    """A ``parent`` reference (name or USCC) as a comparable key: ``'uscc:<code>'`` or ``'name:<key>'``."""
    if not parent:
        return None
    code = uscc_check.compact(parent).upper()
    if uscc_check.is_valid(code):
        return "uscc:" + code
    key = normalize_name(parent, aliases)
    return "name:" + key if key else None


def organization_keys(organization: Organization, aliases: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Every key ``organization`` can be found under: its USCC and its normalized name (as in parent_key)."""
    keys = []
    if organization.uscc:
        keys.append("uscc:" + _uscc(organization.uscc))
    name = normalize_name(organization.name, aliases)
    if name:
        keys.append("name:" + name)
    return tuple(keys)
