"""How a record kind lays out as tables: one main sheet plus one sheet per list of objects (DESIGN §10).

The layout is derived from the schema (web/records/schema.py): a column per leaf or tag list, named by its
dotted key (``bearer.uscc``) and by its Chinese header (``承担单位.统一社会信用代码``); a sheet per table, whose
rows point at their record by ``ref`` and, for tables inside member units, at their member by number.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from web.records.schema import SCHEMAS, SHEET_NAMES, Group, Leaf, Table, Tags

REF_HEADERS = {"applications": "申报编号", "experts": "专家编号"}
NUMBER_SUFFIX = "#"
NUMBER_LABEL = "序号"
AUXILIARY_SHEETS = frozenset({"说明", "选项"})
"""Sheets a workbook may carry beside the data (the template's notes and drop-down lists); readers skip them."""


@dataclass(frozen=True)
class Column:
    """One column: ``path`` are keys from the row object down to the leaf; ``node`` the schema leaf or tag list."""

    path: tuple[str, ...]
    header: str
    node: Leaf | Tags | None = None  # None for the ref and number columns that link sheets

    @property
    def key(self) -> str:
        """The English header: the dotted key."""
        return ".".join(self.path)


@dataclass(frozen=True)
class Sheet:
    """One table of the layout.

    ``path`` leads from the record to the list this sheet's rows fill (empty for the main sheet), through
    groups and at most one enclosing table; ``parent_table`` is that enclosing table's path, whose rows
    this sheet's rows point at by number.
    """

    name: str
    path: tuple[str, ...]
    columns: tuple[Column, ...]
    table: Table | None = None
    parent_table: tuple[str, ...] | None = None

    def header_map(self) -> dict[str, Column]:
        """Every accepted header (Chinese or dotted English) → its column."""
        headers = {}
        for column in self.columns:
            headers[column.header] = column
            headers[column.key] = column
        return headers


def value_columns(nodes: tuple, path: tuple[str, ...] = (), labels: tuple[str, ...] = ()) -> list[Column]:
    """The leaf and tag columns of an object, groups flattened into dotted names, tables left out."""
    columns = []
    for node in nodes:
        if isinstance(node, Group):
            columns += value_columns(node.children, (*path, node.key), (*labels, node.label))
        elif isinstance(node, Leaf | Tags):
            columns.append(Column((*path, node.key), ".".join((*labels, node.label)), node))
    return columns


def tables_within(nodes: tuple, path: tuple[str, ...] = (), labels: tuple[str, ...] = ()) -> list:
    """(path, label, table) of every table directly inside an object, looking through groups."""
    found = []
    for node in nodes:
        if isinstance(node, Group):
            found += tables_within(node.children, (*path, node.key), (*labels, node.label))
        elif isinstance(node, Table):
            found.append(((*path, node.key), node.label, node))
    return found


def number_column(table_path: tuple[str, ...], label: str) -> Column:
    """The column numbering the rows of a table (1, 2, …) so that nested sheets can point at them."""
    return Column((".".join(table_path) + NUMBER_SUFFIX,), label + NUMBER_LABEL)


@cache
def layout(kind: str) -> tuple[Sheet, ...]:
    """The sheets of a kind's workbook, the main sheet first."""
    schema = SCHEMAS[kind]
    ref = Column(("ref",), REF_HEADERS[kind])
    sheets = [Sheet(SHEET_NAMES[kind], (), tuple(value_columns(schema)))]
    for path, label, table in tables_within(schema):
        inner = tables_within(table.children)
        own_number = (number_column(path, label),) if inner else ()
        sheets.append(Sheet(label, path, (ref, *own_number, *value_columns(table.children)), table))
        for inner_path, inner_label, inner_table in inner:
            columns = (ref, number_column(path, label), *value_columns(inner_table.children))
            sheets.append(Sheet(inner_label, (*path, *inner_path), columns, inner_table, parent_table=path))
    return tuple(sheets)


def table_columns(kind: str) -> list[tuple[tuple[str, ...], str]]:
    """(path, header) of the tables a single-table format (CSV) carries as JSON cells."""
    schema = SCHEMAS[kind]
    return [(path, ".".join(labels_along(schema, path))) for path, _, _ in tables_within(schema)]


def labels_along(nodes: tuple, path: tuple[str, ...]) -> list[str]:
    """The Chinese labels of the nodes along ``path``."""
    labels = []
    for key in path:
        node = next(node for node in nodes if node.key == key)
        labels.append(node.label)
        nodes = getattr(node, "children", ())
    return labels
