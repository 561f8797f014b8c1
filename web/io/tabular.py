"""Records ⇄ tables of cells, following the layout of web/io/layout.py.

Writing turns enum codes into their Chinese labels and tag lists into one comma-separated cell, so that a
workbook reads naturally in Excel; reading hands the cells to the validator unchanged (it accepts codes and
labels alike), after linking the rows of every sheet to their record.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from web.io.layout import AUXILIARY_SHEETS, NUMBER_SUFFIX, Column, Sheet, layout
from web.records.schema import Leaf, Tags
from web.records.values import blank, to_text

TAG_JOINER = ","


@dataclass
class Tables:
    """Cells by sheet name: a header row, then data rows; ``first_row`` is the file row of the first data row."""

    sheets: dict[str, list[list[object]]] = field(default_factory=dict)
    first_row: int = 2


def cell_value(node: Leaf | Tags | None, value: object) -> object:
    """A record value as a cell: Chinese labels for enums, one cell for a tag list, 是/否 for booleans."""
    if value is None or value == []:
        return None
    if isinstance(node, Tags):
        return TAG_JOINER.join(str(node.choices.get(item, item)) if node.choices else str(item) for item in value)
    if node is not None and node.choices:
        return node.choices.get(value, value)
    if isinstance(value, bool):
        return "是" if value else "否"
    return value


def lookup(obj: dict | None, path: Sequence[str]) -> object:
    """The value at ``path`` inside nested dicts, None when any step is missing."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def records_to_tables(kind: str, records: Sequence[dict]) -> Tables:
    """Every sheet of the kind's layout filled from ``records``."""
    tables = Tables()
    for sheet in layout(kind):
        rows: list[list[object]] = [[column.header for column in sheet.columns]]
        for record, number, row in sheet_rows(sheet, records):
            rows.append([link_value(column, record, number) if column.node is None
                         else cell_value(column.node, lookup(row, column.path)) for column in sheet.columns])
        tables.sheets[sheet.name] = rows
    return tables


def sheet_rows(sheet: Sheet, records: Sequence[dict]) -> Iterator[tuple[dict, int | None, dict]]:
    """(record, number of the enclosing or own table row, row object) for every row of ``sheet``."""
    for record in records:
        if not sheet.path:
            yield record, None, record
        elif sheet.parent_table is None:
            for number, row in enumerate(lookup(record, sheet.path) or [], start=1):
                yield record, number, row
        else:
            inner = sheet.path[len(sheet.parent_table):]
            for number, parent in enumerate(lookup(record, sheet.parent_table) or [], start=1):
                for row in lookup(parent, inner) or []:
                    yield record, number, row


def link_value(column: Column, record: dict, number: int | None) -> object:
    """The ref or row-number cell that links a sheet row to its record (and enclosing table row)."""
    return record.get("ref") if column.path == ("ref",) else number


def put(obj: dict, path: Sequence[str], value: object) -> None:
    """Set ``value`` at ``path`` inside nested dicts, creating the dicts on the way."""
    for key in path[:-1]:
        obj = obj.setdefault(key, {})
    obj[path[-1]] = value


def read_header(sheet: Sheet, header: list[object], errors: list[str]) -> list[Column | None]:
    """The column of each header cell; unknown headers are errors, blank ones are skipped."""
    known = sheet.header_map()
    columns = []
    for position, title in enumerate(header, start=1):
        if blank(title):
            columns.append(None)
            continue
        column = known.get(to_text(title))
        if column is None:
            errors.append(f"sheet {sheet.name}: column {position} {to_text(title)!r}: unknown column")
        columns.append(column)
    return columns


def data_rows(rows: list[list[object]], first_row: int) -> Iterator[tuple[int, list[object]]]:
    """(file row number, cells) of the rows that hold anything."""
    for offset, cells in enumerate(rows[1:]):
        if any(not blank(cell) for cell in cells):
            yield first_row + offset, cells


@dataclass
class Assembly:
    """What linking the sheets collects: records by ref, numbered member rows, where each table row came from.

    ``numbered`` maps (record id, number) to a member row and its key path (``members[2]``), so that the rows of
    nested sheets find their member by the number the user gave it; ``origins`` maps a record id to
    {key path of a table row: "sheet 成员单位 row 5"}, so that errors can point at the sheet row.
    """

    by_ref: dict[str, dict] = field(default_factory=dict)
    numbered: dict[tuple[int, str], tuple[dict, str]] = field(default_factory=dict)
    origins: dict[int, dict[str, str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def tables_to_records(kind: str, tables: Tables) -> tuple[list[dict], list[str], list[dict[str, str]], list[str]]:
    """Assemble raw records from the sheets; return (records, source refs, row origins, linking errors)."""
    sheets = layout(kind)
    assembly = Assembly()
    assembly.errors += [f"sheet {name}: unknown sheet (expected: {', '.join(sheet.name for sheet in sheets)})"
                        for name in tables.sheets if name not in {sheet.name for sheet in sheets} | AUXILIARY_SHEETS]
    main = sheets[0]
    rows = tables.sheets.get(main.name)
    if rows is None:
        return [], [], [], [*assembly.errors,
                            f"sheet {main.name}: missing (the workbook has: {', '.join(tables.sheets)})"]
    records, sources = [], []
    columns = read_header(main, rows[0] if rows else [], assembly.errors)
    for number, cells in data_rows(rows, tables.first_row):
        record: dict = {}
        for column, cell in zip(columns, cells, strict=False):
            if column is not None and not blank(cell):
                put(record, column.path, cell)
        records.append(record)
        sources.append(f"row {number}")
        if not blank(record.get("ref")):
            assembly.by_ref.setdefault(to_text(record["ref"]), record)
    for sheet in sheets[1:]:
        if sheet.name in tables.sheets:
            attach_rows(sheet, tables.sheets[sheet.name], tables.first_row, assembly)
    origins = [assembly.origins.get(id(record), {}) for record in records]
    return records, sources, origins, assembly.errors


def attach_rows(sheet: Sheet, rows: list[list[object]], first_row: int, assembly: Assembly) -> None:
    """Append each row of a table sheet to the list it belongs to inside its record."""
    columns = read_header(sheet, rows[0] if rows else [], assembly.errors)
    for number, cells in data_rows(rows, first_row):
        where = f"sheet {sheet.name} row {number}"
        row: dict = {}
        links: dict[str, object] = {}
        for column, cell in zip(columns, cells, strict=False):
            if column is None or blank(cell):
                continue
            if column.node is None:
                links[column.key] = cell
            else:
                put(row, column.path, cell)
        record = assembly.by_ref.get(to_text(links.get("ref", "")))
        if record is None:
            assembly.errors.append(
                f"{where}: ref: no record with ref {to_text(links.get('ref', ''))!r} in the main sheet")
            continue
        found = owner_of(sheet, record, links, assembly, where)
        if found is None:
            continue
        target, prefix = found
        siblings = target.setdefault(sheet.path[-1], [])
        siblings.append(row)
        key_path = f"{prefix}[{len(siblings)}]"
        assembly.origins.setdefault(id(record), {})[key_path] = where
        number_key = ".".join(sheet.path) + NUMBER_SUFFIX
        if any(column.key == number_key for column in sheet.columns):
            own_number = links.get(number_key)
            label = len(siblings) if blank(own_number) else to_text(own_number)
            assembly.numbered.setdefault((id(record), str(label)), (row, key_path))


def owner_of(sheet: Sheet, record: dict, links: dict, assembly: Assembly, where: str) -> tuple[dict, str] | None:
    """The object whose list a table row joins (the record through groups, or a numbered enclosing row) and the
    key path of that list (``bearer.shareholders``, ``members[2].finances``)."""
    if sheet.parent_table is None:
        owner = record
        for key in sheet.path[:-1]:
            owner = owner.setdefault(key, {})
        return owner, ".".join(sheet.path)
    number_key = ".".join(sheet.parent_table) + NUMBER_SUFFIX
    number = to_text(links.get(number_key, ""))
    found = assembly.numbered.get((id(record), number))
    if found is None:
        assembly.errors.append(f"{where}: {number_key}: record {record.get('ref')} has no row numbered {number!r} "
                               f"in the enclosing sheet")
        return None
    owner, parent_path = found
    inner = sheet.path[len(sheet.parent_table):]
    for key in inner[:-1]:
        owner = owner.setdefault(key, {})
    return owner, f"{parent_path}.{'.'.join(inner)}"


def plain(value: object) -> object:
    """A value JSON can hold: dates as ISO text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value
