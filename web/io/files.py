"""Reading and writing record files: .xlsx workbooks, .csv tables and .json lists (DESIGN §8, §10).

Readers never raise on bad content: they return what they could read and every error found, so that the
import command can list them all. Before the expensive work they refuse, in Chinese, a file over the limits of
web/io/limits.py: too many bytes, too many rows, or an .xlsx whose zip directory declares too much to unpack.
Writers produce exactly what the readers read.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path

from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from web.io.cells import inert, restored
from web.io.layout import layout, table_columns
from web.io.limits import ImportLimits, size_text
from web.io.tabular import Tables, data_rows, plain, put, read_header, records_to_tables, tables_to_records
from web.records.values import blank, to_text

OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the compound-file header of .xls workbooks
SAVE_AS_XLSX = "an Excel 97–2003 (.xls) workbook is not read: open it in Excel and save it as .xlsx"
FORMATS = (".xlsx", ".csv", ".json")
DECODE_CHUNK = 1 << 20


@dataclass
class ReadResult:
    """What a reader produced: raw records, how to name each in messages, and the errors found."""

    records: list[dict] = field(default_factory=list)
    source_refs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    origins: list[dict[str, str]] | None = None  # per record: key path of a sheet row → "sheet 成员单位 row 5"
    headers: dict[str, list[object]] = field(default_factory=dict)  # sheet name ("" for a CSV) → header row read


def refused(path: Path, rule: str) -> ReadResult:
    """A result that reads nothing and names the file's problem."""
    return ReadResult(errors=[f"{path.name}: (file): {rule}"])


def read_records(path: Path, kind: str, limits: ImportLimits | None = None) -> ReadResult:
    """Read a .xlsx, .csv or .json file of records of ``kind``; a file over ``limits`` is not even read."""
    path, limits = Path(path), limits or ImportLimits()
    size = path.stat().st_size
    if size > limits.max_bytes:
        return refused(path, too_large(size, limits))
    return read_bytes(path.name, path.read_bytes(), kind, limits)


def read_bytes(filename: str, data: bytes, kind: str, limits: ImportLimits | None = None) -> ReadResult:
    """Read the content of a .xlsx, .csv or .json file (e.g. an upload) named ``filename``."""
    path, limits = Path(filename), limits or ImportLimits()
    suffix = path.suffix.lower()
    if suffix == ".xls" or data.startswith(OLE_MAGIC):
        return refused(path, SAVE_AS_XLSX)
    if len(data) > limits.max_bytes:
        return refused(path, too_large(len(data), limits))
    if not data or data.isspace():
        return refused(path, "the file is empty")
    if suffix == ".xlsx":
        return read_xlsx(path, data, kind, limits)
    if suffix == ".csv":
        return read_csv(path, data, kind, limits)
    if suffix == ".json":
        return read_json(path, data, limits)
    return refused(path, f"unknown file type {suffix or '(none)'}: use one of {', '.join(FORMATS)}")


def too_large(size: int, limits: ImportLimits) -> str:
    """The refusal of a file over the byte limit."""
    return _("the file is %(size)s; at most %(limit)s is imported at once (PANEL_IMPORT_MAX_BYTES): "
             "split it into smaller files", size=size_text(size), limit=size_text(limits.max_bytes))


def too_many_rows(limits: ImportLimits, sheet: str | None = None) -> str:
    """The refusal of a sheet (or, without ``sheet``, a CSV file) over the row limit."""
    if sheet is None:
        return _("the file has more than %(limit)d data rows; at most %(limit)d are imported at once "
                 "(PANEL_IMPORT_MAX_ROWS): split the file", limit=limits.max_rows)
    return _("sheet %(sheet)s has more than %(limit)d data rows; at most %(limit)d are imported at once "
             "(PANEL_IMPORT_MAX_ROWS): split the workbook", sheet=sheet, limit=limits.max_rows)


def write_records(path: Path, kind: str, records: Sequence[dict]) -> None:
    """Write records of ``kind`` to ``path`` in the format its extension names."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        workbook_of(records_to_tables(kind, records)).save(path)
    elif suffix == ".csv":
        path.write_bytes(csv_bytes(kind, records))
    elif suffix == ".json":
        path.write_text(json_text(records), encoding="utf-8")
    else:
        raise ValueError(f"unknown file type {suffix or '(none)'}: use one of {', '.join(FORMATS)}")


# --- JSON ---------------------------------------------------------------------------------------------------

def pruned(value: object) -> object:
    """The value without None, empty lists and empty objects, so exported files stay readable."""
    if isinstance(value, dict):
        kept = {key: pruned(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, [], {})}
    if isinstance(value, list):
        return [pruned(item) for item in value]
    return value


def json_text(records: Sequence[dict]) -> str:
    """A JSON list of records, dates in ISO form, Chinese kept readable."""
    return json.dumps([pruned(plain(record)) for record in records], ensure_ascii=False, indent=1) + "\n"


def read_json(path: Path, data: bytes, limits: ImportLimits | None = None) -> ReadResult:
    """A JSON list of records (an object holding the list under one key is accepted too)."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        return refused(path, "JSON files must be UTF-8")
    except json.JSONDecodeError as error:
        return refused(path, f"not valid JSON: {error.msg} at line {error.lineno} column {error.colno}")
    except RecursionError:                            # "[[[[…" deeper than the parser goes: a crash before
        return refused(path, "not valid JSON: nested too deeply")
    if isinstance(document, dict) and len(document) == 1:
        document = next(iter(document.values()))
    if not isinstance(document, list):
        return refused(path, f"must hold a list of records, got {type(document).__name__}")
    if not document:
        return refused(path, "the list of records is empty")
    limits = limits or ImportLimits()
    if len(document) > limits.max_rows:
        return refused(path, _("the list holds %(count)d records; at most %(limit)d are imported at once "
                               "(PANEL_IMPORT_MAX_ROWS): split the file", count=len(document),
                               limit=limits.max_rows))
    return ReadResult(document, [f"[{number}]" for number in range(1, len(document) + 1)])


# --- CSV ------------------------------------------------------------------------------------------------------

def csv_bytes(kind: str, records: Sequence[dict]) -> bytes:
    """The main sheet as CSV, the tables as JSON cells; UTF-8 with BOM so that Excel opens it in Chinese."""
    main = records_to_tables(kind, records).sheets[layout(kind)[0].name]
    tables = table_columns(kind)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([*main[0], *(header for _, header in tables)])
    for record, cells in zip(records, main[1:], strict=True):
        json_cells = [json_cell(record, path) for path, _ in tables]
        writer.writerow([inert(csv_cell(cell)) if isinstance(cell, str) else csv_cell(cell) for cell in cells]
                        + json_cells)
    return buffer.getvalue().encode("utf-8-sig")


def csv_cell(value: object) -> str:
    """A cell as CSV text: dates in ISO form, whole floats without '.0'."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return to_text(value)


def json_cell(record: dict, path: tuple[str, ...]) -> str:
    """A table of a record as a JSON cell, empty when the table is."""
    value = record
    for key in path:
        value = (value or {}).get(key)
    return json.dumps(pruned(plain(value)), ensure_ascii=False) if value else ""


def csv_encoding(data: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes are valid UTF-8, GB18030 otherwise; UnicodeDecodeError when
    neither."""
    try:
        check_decodes(data, "utf-8-sig")
        return "utf-8-sig"
    except UnicodeDecodeError:
        check_decodes(data, "gb18030")
        return "gb18030"


def check_decodes(data: bytes, encoding: str) -> None:
    """Raise UnicodeDecodeError unless ``data`` is valid ``encoding``; piece by piece, so that a large file is
    never held as text in full."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    for start in range(0, len(view), DECODE_CHUNK):
        decoder.decode(view[start:start + DECODE_CHUNK])
    decoder.decode(b"", final=True)


def read_csv(path: Path, data: bytes, kind: str, limits: ImportLimits | None = None) -> ReadResult:
    """A CSV whose columns are the main sheet's, with tables as JSON cells; refused past the row limit."""
    limits = limits or ImportLimits()
    try:
        encoding = csv_encoding(data)
    except UnicodeDecodeError:
        return refused(path, "neither UTF-8 nor GB18030 text: save the CSV as UTF-8")
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    try:
        # The header and one row more than allowed, at most: a huge file is refused without building its rows.
        rows = list(islice(csv.reader(text), limits.max_rows + 2))
    except csv.Error as error:
        return refused(path, _("not a readable CSV file (%(error)s)", error=error))
    if len(rows) > limits.max_rows + 1:
        return refused(path, too_many_rows(limits))
    main = layout(kind)[0]
    result = ReadResult()
    json_columns = {}
    for table_path, header in table_columns(kind):
        json_columns[header] = json_columns[".".join(table_path)] = table_path
    leaf_header, table_at = [], {}
    for position, title in enumerate(rows[0]):
        if to_text(title) in json_columns:
            table_at[position] = json_columns[to_text(title)]
            leaf_header.append(None)
        else:
            leaf_header.append(title)
    columns = read_header(main, leaf_header, result.errors)
    for number, cells in data_rows(rows, 2):
        record: dict = {}
        for position, cell in enumerate(cells):
            if blank(cell):
                continue
            if position in table_at:
                put(record, table_at[position], json_table(cell, number, rows[0][position], result.errors))
            elif position < len(columns) and columns[position] is not None:
                put(record, columns[position].path, restored(cell))
        result.records.append(record)
        result.source_refs.append(f"row {number}")
    if not result.records and not result.errors:
        result.errors.append(f"{path.name}: (file): no records below the header row")
    result.headers[""] = list(rows[0]) if rows else []
    return result


def json_table(cell: str, row: int, header: str, errors: list[str]) -> object:
    """The list a JSON cell holds; an error (and None) when it is not valid JSON."""
    try:
        return json.loads(cell)
    except json.JSONDecodeError as error:
        errors.append(f"row {row}: {header}: not valid JSON ({error.msg} at character {error.pos})")
        return None
    except RecursionError:
        errors.append(f"row {row}: {header}: not valid JSON (nested too deeply)")
        return None


# --- Excel ----------------------------------------------------------------------------------------------------

def workbook_of(tables: Tables) -> Workbook:
    """A workbook with one sheet per table, bold frozen headers, ISO-formatted dates."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in tables.sheets.items():
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                protect_text(cell)
        style_header(sheet)
    return workbook


def protect_text(cell) -> None:
    """Keep text that starts with '=' a string (not a formula) and show dates as YYYY-MM-DD."""
    if isinstance(cell.value, str) and cell.value.startswith("="):
        cell.data_type = "s"
    elif isinstance(cell.value, date):
        cell.number_format = "yyyy-mm-dd"


def style_header(sheet) -> None:
    """Bold header row, frozen below it, columns wide enough for Chinese headers."""
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        sheet.column_dimensions[cell.column_letter].width = max(10, min(40, 2 * len(str(cell.value or "")) + 2))
    sheet.freeze_panes = "A2"


def unpacking_refusal(data: bytes, limits: ImportLimits) -> str | None:
    """Why a workbook must not be unpacked, judged from its zip directory alone (nothing is decompressed), or None.

    The declared sizes bound what is read: Python's zipfile stops a member at its declared size and fails its
    CRC check when the data goes on, so a member that lies about its size cannot unpack to more.
    """
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile:
        return None  # openpyxl names the problem
    total = sum(member.file_size for member in members)
    if total > limits.max_uncompressed:
        return _("the workbook unpacks to %(size)s, more than the %(limit)s allowed "
                 "(PANEL_IMPORT_MAX_UNCOMPRESSED): it was not opened", size=size_text(total),
                 limit=size_text(limits.max_uncompressed))
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > limits.ratio_floor and ratio > limits.max_ratio:
            return _("the workbook part %(part)s unpacks to %(ratio)d times its packed size (a zip bomb?): "
                     "it was not opened", part=member.filename, ratio=ratio)
    return None


def sheet_rows_within(sheet, limits: ImportLimits) -> list[list[object]] | None:
    """The rows of a read-only sheet, or None when it has more data rows than allowed (reading stops there)."""
    rows = [list(row) for row in islice(sheet.iter_rows(values_only=True), limits.max_rows + 2)]
    return None if len(rows) > limits.max_rows + 1 else rows


def read_xlsx(path: Path, data: bytes, kind: str, limits: ImportLimits | None = None) -> ReadResult:
    """Every sheet of a workbook, linked into records; refused unopened past the unpacking limits."""
    limits = limits or ImportLimits()
    refusal = unpacking_refusal(data, limits)
    if refusal:
        return refused(path, refusal)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
        return refused(path, f"not a readable .xlsx workbook ({error})")
    tables = Tables()
    try:
        for sheet in workbook.worksheets:
            rows = sheet_rows_within(sheet, limits)
            if rows is None:
                return refused(path, too_many_rows(limits, sheet.title))
            tables.sheets[sheet.title] = rows
    finally:
        workbook.close()
    records, sources, origins, errors = tables_to_records(kind, tables)
    if not records and not errors:
        errors.append(f"{path.name}: (file): the workbook holds no records")
    headers = {name: list(rows[0]) for name, rows in tables.sheets.items() if rows}
    return ReadResult(records, sources, errors, origins, headers)
