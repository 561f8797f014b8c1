"""Validation of imported application and expert records (DESIGN §10).

Malformed input is refused: every error is collected (never only the first) as
``<record ref or row>: <key or column>: <rule>``. Well-formed but inconsistent data is accepted here and left to
the formal check (web/services/formal_check.py).

The records returned have every key of the schema: dates as ``datetime.date``, counts as int, money and
percentages as float, enums as their English codes, the field as its code, strings stripped, blanks as None,
absent lists as ``[]`` and absent groups as objects whose keys are all None.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence

from web.records.schema import (
    ENUM_ALIASES,
    MEMBER_KINDS,
    POOLS,
    SCHEMAS,
    Group,
    Leaf,
    Table,
    Tags,
)
from web.records.values import (
    Refused,
    blank,
    choice_reader,
    split_tags,
    to_amount,
    to_bool,
    to_count,
    to_date,
    to_number,
    to_percentage,
    to_text,
    to_uscc,
    to_year,
)

Converter = Callable[[object], object]


def nothing(value: object) -> bool:
    """True when a value holds nothing: None, blank text, an empty list, an object of such values."""
    if isinstance(value, dict):
        return all(nothing(item) for item in value.values())
    return blank(value) or value == []


def unknown_key(key: object, known: set[str]) -> str:
    """The rule for a key the schema does not have, suggesting the closest known key."""
    close = difflib.get_close_matches(str(key), sorted(known), n=1)
    return f"unknown key (did you mean {close[0]}?)" if close else "unknown key"


def located(key: str, origin: Mapping[str, str]) -> str:
    """The key, followed by the sheet row it came from when it lies inside a detail row of a workbook."""
    inside = [path for path in origin if key == path or key.startswith((f"{path}.", f"{path}["))]
    return f"{key} ({origin[max(inside, key=len)]})" if inside else key


def record_label(source: str, ref: object) -> str:
    """How errors name a record: its ref, with the row it came from when that is a file row."""
    if blank(ref) or not isinstance(ref, str | int | float):
        return source
    ref = to_text(ref)
    return ref if source.startswith("[") or not source else f"{source} ({ref})"


class RecordValidator:
    """Validates records of one kind against the schema and a field taxonomy (code → Chinese name)."""

    def __init__(self, kind: str, taxonomy: Mapping[str, str]):
        self.schema = SCHEMAS[kind]
        self.fields = dict(taxonomy)
        pool = choice_reader(POOLS, {}, "pool")
        field = choice_reader(self.fields, {}, "field code")
        self.converters: dict[str, Converter] = {
            "text": to_text, "date": to_date, "count": to_count, "amount": to_amount,
            "signed": to_number, "pct": to_percentage, "uscc": to_uscc, "field": field, "pool": pool,
            "bool": to_bool, "year": to_year, "ref": to_text,
        }

    def __call__(self, raw: Sequence[object], source_refs: Sequence[str], existing_refs: Iterable[str] = (),
                 on_record: Callable[[], None] | None = None,
                 origins: Sequence[Mapping[str, str]] | None = None) -> tuple[list[dict], list[str]]:
        """Validate every record (calling ``on_record`` before each, for progress bars); return (records, errors).

        ``origins`` (from a workbook reader) maps, per record, the key path of a detail row (``members[2]``) to
        the sheet row it came from; errors inside that row name it.
        """
        records, errors = [], []
        existing = set(existing_refs)
        first_seen: dict[str, str] = {}
        origins = origins or [{}] * len(raw)
        for item, source, origin in zip(raw, source_refs, origins, strict=True):
            if on_record is not None:
                on_record()
            if not isinstance(item, dict):
                errors.append(f"{source}: (record): must be an object with keys, got {type(item).__name__}")
                continue
            label = record_label(source, item.get("ref"))
            messages: list[tuple[str, str]] = []
            record = self.group(item, self.schema, "", messages, member_kind=None)
            ref = record.get("ref")
            if ref in existing:
                messages.append(("ref", f"duplicate ref {ref!r}: already in the database"))
            elif ref in first_seen:
                messages.append(("ref", f"duplicate ref {ref!r}: also {first_seen[ref]}"))
            elif ref is not None:
                first_seen[ref] = source
            errors.extend(f"{label}: {located(key, origin)}: {rule}" for key, rule in messages)
            records.append(record)
        return records, errors

    def group(self, raw: dict, nodes: tuple, path: str, messages: list, member_kind: str | None) -> dict:
        """Validate an object's keys against ``nodes``; unknown keys are errors."""
        known = {node.key for node in nodes}
        for key in raw:
            if key not in known:
                messages.append((f"{path}{key}", unknown_key(key, known)))
        return {node.key: self.node(node, raw.get(node.key), f"{path}{node.key}", messages, member_kind)
                for node in nodes}

    @staticmethod
    def member_kind(value: object) -> str | None:
        """A member's kind as a code, or None when it is missing or unknown (reported by its own rule)."""
        try:
            return None if blank(value) else choice_reader(MEMBER_KINDS, ENUM_ALIASES, "kind")(value)
        except Refused:
            return None

    def node(self, node, value: object, path: str, messages: list, member_kind: str | None) -> object:
        """Validate one value of the schema tree."""
        empty = self.empty(node)
        if nothing(value):
            if isinstance(node, Leaf | Group) and node.required:
                messages.append((path, "required"))
            return empty
        if node.kinds and member_kind and member_kind not in node.kinds:
            messages.append((path, f"only for {' or '.join(node.kinds)} members, this member is {member_kind}"))
            return empty
        if isinstance(node, Leaf):
            return self.leaf(node, value, path, messages)
        if isinstance(node, Tags):
            return self.tags(node, value, path, messages)
        if isinstance(node, Group):
            if not isinstance(value, dict):
                messages.append((path, f"must be an object, got {type(value).__name__}"))
                return empty
            return self.group(value, node.children, f"{path}.", messages, member_kind)
        return self.table(node, value, path, messages, member_kind)

    def empty(self, node) -> object:
        """The value standing for "not given": None, [] or a group of Nones."""
        if isinstance(node, Tags | Table):
            return []
        if isinstance(node, Group):
            return {child.key: self.empty(child) for child in node.children}
        return node.default

    def leaf(self, node: Leaf, value: object, path: str, messages: list) -> object:
        """Convert one scalar; None (with an error) when it breaks its rule."""
        convert = (choice_reader(node.choices, ENUM_ALIASES, "value") if node.kind == "enum"
                   else self.converters[node.kind])
        try:
            converted = convert(value)
        except Refused as refused:
            messages.append((path, str(refused)))
            return None
        if node.max_length is not None and len(converted) > node.max_length:
            messages.append((path, f"at most {node.max_length} characters, got {len(converted)}"))
        return (converted or None) if isinstance(converted, str) else converted

    def tags(self, node: Tags, value: object, path: str, messages: list) -> list:
        """Convert a list of codes or refs, without repeats."""
        convert = (choice_reader(node.choices, ENUM_ALIASES, "value") if node.kind == "enum"
                   else self.converters[node.kind])
        items = []
        try:
            raw_items = split_tags(value)
        except Refused as refused:
            messages.append((path, str(refused)))
            return []
        for item in raw_items:
            try:
                items.append(convert(item))
            except Refused as refused:
                messages.append((path, str(refused)))
        items = list(dict.fromkeys(items))
        if node.max_items is not None and len(items) > node.max_items:
            messages.append((path, f"at most {node.max_items} entries, got {len(items)}"))
        return items

    def table(self, node: Table, value: object, path: str, messages: list, member_kind: str | None) -> list:
        """Validate a list of objects; rows are numbered from 1 as in the workbook."""
        if not isinstance(value, list):
            messages.append((path, f"must be a list of objects, got {type(value).__name__}"))
            return []
        if node.max_items is not None and len(value) > node.max_items:
            messages.append((path, f"at most {node.max_items} entries, got {len(value)}"))
        rows = []
        for number, item in enumerate(value, start=1):
            where = f"{path}[{number}]"
            if not isinstance(item, dict):
                messages.append((where, f"must be an object, got {type(item).__name__}"))
                continue
            if node.key == "members":
                member_kind = self.member_kind(item.get("kind"))
            rows.append(self.group(item, node.children, f"{where}.", messages, member_kind))
        return rows


def validate_records(kind: str, raw: Sequence[object], *, source_refs: Sequence[str],
                     taxonomy: Mapping[str, str], existing_refs: Iterable[str] = (),
                     on_record: Callable[[], None] | None = None,
                     origins: Sequence[Mapping[str, str]] | None = None) -> tuple[list[dict], list[str]]:
    """Validate records of ``kind`` ('applications' or 'experts'); return (records, errors)."""
    return RecordValidator(kind, taxonomy)(raw, source_refs, existing_refs, on_record, origins)


def validate_applications(raw: Sequence[object], *, source_refs: Sequence[str], taxonomy: Mapping[str, str],
                          existing_refs: Iterable[str] = ()) -> tuple[list[dict], list[str]]:
    """Validate application records (DESIGN §10); return (records, errors)."""
    return validate_records("applications", raw, source_refs=source_refs, taxonomy=taxonomy,
                            existing_refs=existing_refs)


def validate_experts(raw: Sequence[object], *, source_refs: Sequence[str], taxonomy: Mapping[str, str],
                     existing_refs: Iterable[str] = ()) -> tuple[list[dict], list[str]]:
    """Validate expert records (DESIGN §10); return (records, errors)."""
    return validate_records("experts", raw, source_refs=source_refs, taxonomy=taxonomy,
                            existing_refs=existing_refs)
