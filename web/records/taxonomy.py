"""The field taxonomy the validator checks field codes against: code → Chinese name (DESIGN §4)."""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_TAXONOMY = Path(__file__).resolve().parents[1] / "data" / "taxonomy.json"


def fields_of(taxonomy: dict) -> dict[str, str]:
    """Field code → Chinese name from a taxonomy document shaped like web/data/taxonomy.json."""
    return {field["code"]: field["name"] for sector in taxonomy["sectors"] for field in sector["fields"]}


def default_field_names() -> dict[str, str]:
    """The 18 fields of the notice, as shipped in web/data/taxonomy.json."""
    return fields_of(json.loads(DEFAULT_TAXONOMY.read_text(encoding="utf-8")))
