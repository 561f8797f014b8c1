"""The form of one application or one expert, generated from the record schema (web/records/schema.py).

Every leaf becomes an input named by its key path (``bearer.uscc``, ``members[2].finances[1].sales``): the
validator's error keys are these names, so each error is shown next to its field. A list of objects shows its
rows and one blank row more; blank rows are dropped when the form is read. Staff who may not see personal data
unmasked (everyone but admins) get those fields empty: left empty, the registered value is kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from web.io.problems import sentence
from web.records.schema import PERSONAL_KEYS, POOLS, SCHEMAS, Group, Leaf, Table, Tags
from web.records.validate import nothing, record_label
from web.records.values import blank

LONG_TEXT = frozenset({"construction_content", "applicant_opinion", "profile", "main_business", "team_description",
                       "lead_bio", "current_projects", "main_results", "note", *(leaf.key for leaf in
                       next(node for node in SCHEMAS["applications"] if node.key == "plan").children)})
"""Keys whose values are paragraphs: a text area instead of a line."""

ROW_MARK = "_row"
"""The hidden field of a list row holding the number of the registered row it shows, so that a personal value left
empty keeps that row's value even after rows before it were removed or the form came back refused."""


@dataclass
class Input:
    """One field: ``widget`` is text, textarea, date, select, checkboxes or tags (comma-separated)."""

    name: str
    label: str
    widget: str
    value: object = None
    choices: tuple[tuple[str, str], ...] = ()
    required: bool = False
    error: str | None = None
    personal: bool = False


@dataclass
class Fieldset:
    """A group, or one row of a list: a legend and the fields (and lists) inside."""

    label: str
    items: list = field(default_factory=list)
    error: str | None = None


@dataclass
class Rows:
    """A list of objects: its rows, each a :class:`Fieldset`."""

    name: str
    label: str
    rows: list[Fieldset] = field(default_factory=list)
    error: str | None = None


class RecordForm:
    """The fields of a record of ``kind`` filled from ``record`` (validated or raw), with ``errors`` by key path."""

    def __init__(self, kind: str, taxonomy: Mapping[str, str], *, personal_visible: bool):
        self.kind = kind
        self.schema = SCHEMAS[kind]
        self.taxonomy = dict(taxonomy)
        self.personal_visible = personal_visible

    def fields(self, record: Mapping | None, errors: Mapping[str, str] | None = None) -> list:
        """The form's items for ``record`` (None: a blank form)."""
        return self.items(self.schema, record or {}, "", errors or {})

    def items(self, nodes: tuple, values: Mapping, prefix: str, errors: Mapping[str, str]) -> list:
        """The items of an object's nodes under the name ``prefix``."""
        items = []
        for node in nodes:
            name = f"{prefix}{node.key}"
            value = values.get(node.key) if isinstance(values, Mapping) else None
            if isinstance(node, Group):
                items.append(Fieldset(node.label, self.items(node.children, value or {}, f"{name}.", errors),
                                      errors.get(name)))
            elif isinstance(node, Table):
                rows = [row for row in (value or []) if isinstance(row, Mapping)]
                items.append(Rows(name, node.label, [
                    Fieldset(f"{node.label} {number}", self.row_mark(row, number, f"{name}[{number}].")
                             + self.items(node.children, row, f"{name}[{number}].", errors),
                             errors.get(f"{name}[{number}]"))
                    for number, row in enumerate([*rows, {ROW_MARK: None}], start=1)], errors.get(name)))
            else:
                items.append(self.input(node, name, value, errors.get(name)))
        return items

    @staticmethod
    def row_mark(row: Mapping, number: int, prefix: str) -> list[Input]:
        """The hidden field naming which registered row a form row shows (a row read back from a refused form
        keeps the number it had; a registered row shown for the first time is its own number; a new row none)."""
        origin = row.get(ROW_MARK, number)
        return [] if origin is None else [Input(f"{prefix}{ROW_MARK}", "", "hidden", origin)]

    def input(self, node: Leaf | Tags, name: str, value: object, error: str | None) -> Input:
        """The input of one leaf or tag list."""
        label = node.label
        personal = node.key in PERSONAL_KEYS and not self.personal_visible
        shown = None if personal else value
        if isinstance(node, Tags):
            choices = self.choices_of(node)
            if choices:
                return Input(name, label, "checkboxes", list(shown or []), choices, error=error)
            typed = shown if isinstance(shown, str) else ", ".join(map(str, shown or []))
            return Input(name, label, "tags", typed, error=error)
        choices = self.choices_of(node)
        if node.kind == "bool":
            choices = (("true", "是"), ("false", "否"))
            shown = None if shown is None else ("true" if shown in (True, "true") else "false")
        widget = ("select" if choices else "date" if node.kind == "date"
                  else "textarea" if node.key in LONG_TEXT else "text")
        if isinstance(shown, date):
            shown = shown.isoformat()
        if isinstance(shown, float) and shown.is_integer():
            shown = int(shown)
        return Input(name, label, widget, shown, choices, node.required, error, personal)

    def choices_of(self, node: Leaf | Tags) -> tuple[tuple[str, str], ...]:
        """(code, Chinese label) of a coded value: its enumeration, the pools or the fields."""
        if node.kind == "field":
            return tuple(self.taxonomy.items())
        if node.kind == "pool":
            return tuple(POOLS.items())
        return tuple(node.choices.items()) if node.choices else ()

    def read(self, form: Mapping[str, list[str]], registered: Mapping | None = None) -> dict:
        """The raw record a posted form holds (``form``: name → values), blank list rows dropped.

        With ``registered`` (an edit by staff who were shown personal fields empty), a personal field left empty
        keeps the registered value of the same field in the same form row: rows are matched by their number in
        the form, not by their place after blank rows were dropped, so removing one row never hands its
        personal data to the next.
        """
        return self.read_nodes(self.schema, form, "", registered)

    def read_nodes(self, nodes: tuple, form: Mapping[str, list[str]], prefix: str,
                   registered: Mapping | None = None) -> dict:
        """The raw object of ``nodes`` under ``prefix``, blank personal values taken from ``registered``."""
        record: dict = {}
        for node in nodes:
            name = f"{prefix}{node.key}"
            kept = registered.get(node.key) if isinstance(registered, Mapping) else None
            if isinstance(node, Group):
                record[node.key] = self.read_nodes(node.children, form, f"{name}.",
                                                   kept if isinstance(kept, Mapping) else None)
            elif isinstance(node, Table):
                record[node.key] = self.read_rows(node, form, name, kept if isinstance(kept, list) else [])
            elif isinstance(node, Tags):
                values = [value for value in form.get(name, []) if not blank(value)]
                record[node.key] = values if self.choices_of(node) else ", ".join(values)
            else:
                value = (form.get(name) or [None])[0]
                record[node.key] = None if blank(value) else value
            if isinstance(registered, Mapping) and node.key in PERSONAL_KEYS and blank(record[node.key]):
                record[node.key] = kept
        return record

    def read_rows(self, node: Table, form: Mapping[str, list[str]], name: str, registered: list) -> list:
        """The rows of a list as posted, blank ones dropped; row n of the form is row n of ``registered`` (the
        form numbers the registered rows from 1, as :meth:`items` shows them)."""
        row_name = re.compile(re.escape(name) + r"\[(\d+)\]\.")
        numbers = sorted({int(found[1]) for key in form if (found := row_name.match(key))})
        shown = [row for row in registered if isinstance(row, Mapping)]
        marked = any(key.startswith(f"{name}[") and key.endswith(f"].{ROW_MARK}") for key in form)
        rows = []
        for number in numbers:
            row_prefix = f"{name}[{number}]."
            if nothing(self.read_nodes(node.children, form, row_prefix)):
                continue
            origin = self.origin(form, row_prefix, number if not marked else None, len(shown))
            stored = shown[origin - 1] if origin is not None else None
            rows.append({**self.read_nodes(node.children, form, row_prefix, stored), ROW_MARK: origin})
        return rows

    @staticmethod
    def origin(form: Mapping[str, list[str]], row_prefix: str, default: int | None, registered: int) -> int | None:
        """The registered row (1-based) a form row shows: its hidden mark, else ``default``; None for a new row."""
        value = (form.get(f"{row_prefix}{ROW_MARK}") or [None])[0]
        number = int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else default
        return number if number is not None and 0 < number <= registered else None


def unmarked(value: object) -> object:
    """``value`` without the form's row marks (what the validator and the records service receive)."""
    if isinstance(value, Mapping):
        return {key: unmarked(item) for key, item in value.items() if key != ROW_MARK}
    if isinstance(value, list):
        return [unmarked(item) for item in value]
    return value


def errors_by_field(lines: list[str], raw: Mapping) -> dict[str, str]:
    """The validator's error lines about one record as {field name: sentence in the reader's language}."""
    label = record_label("[1]", raw.get("ref"))
    found: dict[str, str] = {}
    for line in lines:
        rest = line[len(label) + 2:] if line.startswith(f"{label}: ") else line.split(": ", 1)[-1]
        key, _, rule = rest.partition(": ")
        found.setdefault(key, sentence(rule))
    return found
