"""Import errors as an organizer reads them on the upload page: by sheet, row and column header as written in
the file, each rule as a sentence of the catalog (Chinese first).

The readers (web/io/files.py, web/io/tabular.py), the validator (web/records/validate.py) and the records
service write one line per error, ``<record or row>: <key or column>: <rule>``, the form the command line and the
API keep. This module takes those lines apart — where (sheet, row, key) and the rule with its values — and puts
the rule into the reader's language through the patterns of :data:`RULES`; a rule no pattern knows is shown as
written. A required column missing from a sheet's header is reported once, in place of its error on every row.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.io.files import ReadResult
from web.io.layout import Sheet, layout, table_columns
from web.records.schema import MEMBER_KINDS, Leaf
from web.records.values import blank, to_text


@dataclass(frozen=True)
class Problem:
    """One error: where it is (sheet and row as in the file, column header as written) and what is wrong."""

    message: str
    sheet: str = ""
    row: int | None = None
    column: str = ""
    column_key: str = field(default="", compare=False)   # the column's dotted key, for reporting a column once


RULES: tuple[tuple[re.Pattern, object], ...] = tuple((re.compile(pattern), message) for pattern, message in (
    (r"required", _l("required, but empty")),
    (r"must be ≥ 0, got (?P<value>.*)", _l("must not be negative (the file has %(value)s)")),
    (r"must be a whole number, got (?P<value>.*)", _l("must be a whole number (the file has %(value)s)")),
    (r"must be a (?:finite )?number, got (?P<value>.*)", _l("must be a number (the file has %(value)s)")),
    (r"must be between 0 and 100, got (?P<value>.*)", _l("must be between 0 and 100 (the file has %(value)s)")),
    (r"must be a year between 1900 and 2100, got (?P<value>.*)",
     _l("must be a year between 1900 and 2100 (the file has %(value)s)")),
    (r"must be an ISO date YYYY-MM-DD, got (?P<value>.*)",
     _l("a date is written YYYY-MM-DD (the file has %(value)s)")),
    (r"is not a calendar date, got (?P<value>.*)", _l("is not a date of the calendar (the file has %(value)s)")),
    (r"must be yes or no .*, got (?P<value>.*)", _l("must be 是 or 否 (the file has %(value)s)")),
    (r"must be text, got .*", _l("must be text")),
    (r"control characters \(such as NUL\) are not allowed", _l("control characters (such as NUL) are not allowed")),
    (r"unknown (?:value|field code|pool) (?P<value>.*) \(one of: .*\)",
     _l("%(value)s is not one of the choices: pick one from the template's drop-down list")),
    (r"must be (?P<length>\d+) characters, got (?P<count>\d+)",
     _l("a unified social credit code has %(length)s characters, the file has %(count)s")),
    (r"characters not allowed: (?P<chars>.*) \(.*\)",
     _l("characters not allowed in a unified social credit code: %(chars)s (digits and capitals except I O Z S "
        "V)")),
    (r"first character (?P<char>\S+) is not a registration authority code.*",
     _l("the first character %(char)s of the unified social credit code is no registration authority's code")),
    (r"check character is (?P<got>\S+), expected (?P<expected>\S+)",
     _l("the unified social credit code's check character is %(got)s, it should be %(expected)s: a character "
        "is mistyped")),
    (r"(?:\S+: )?at most (?P<limit>\d+) characters, got (?P<count>\d+)",
     _l("at most %(limit)s characters, the file has %(count)s")),
    (r"at most (?P<limit>\d+) entries, got (?P<count>\d+)", _l("at most %(limit)s entries, the file has %(count)s")),
    (r"duplicate ref (?P<ref>.*): already in the database",
     _l("%(ref)s is already registered: to replace the registered record with this file's, tick “update "
        "existing records”")),
    (r"duplicate ref (?P<ref>.*): also (?P<other>.*)", _l("%(ref)s appears twice in the file (also %(other)s)")),
    (r"unknown key \(did you mean (?P<key>.*)\?\)", _l("unknown key (did you mean %(key)s?)")),
    (r"unknown key", _l("unknown key")),
    (r"only for (?P<kinds>.*) members, this member is (?P<kind>.*)",
     _l("only for members of kind %(kinds)s; this member is of kind %(kind)s")),
    (r"must be an object(?: with keys)?, got .*", _l("must be a group of named values")),
    (r"must be a list of objects, got .*", _l("must be a list")),
    (r"unknown column", _l("unknown column header: use the headers of the template")),
    (r"unknown sheet \(expected: (?P<sheets>.*)\)", _l("unknown sheet (the template's sheets: %(sheets)s)")),
    (r"missing \(the workbook has: (?P<sheets>.*)\)", _l("the sheet is missing (the workbook has: %(sheets)s)")),
    (r"no record with ref (?P<ref>.*) in the main sheet", _l("the main sheet has no record %(ref)s")),
    (r"record (?P<ref>\S+) has no row numbered (?P<number>.*) in the enclosing sheet",
     _l("record %(ref)s has no member numbered %(number)s")),
    (r"not valid JSON.*", _l("not valid JSON")),
    (r"an Excel 97–2003 \(\.xls\) workbook.*",
     _l("an Excel 97–2003 (.xls) workbook is not read: open it in Excel and save it as .xlsx")),
    (r"the file is empty", _l("the file is empty")),
    (r"unknown file type (?P<suffix>\S+):.*", _l("a %(suffix)s file is not read: upload .xlsx, .csv or .json")),
    (r"JSON files must be UTF-8", _l("a JSON file must be UTF-8 text")),
    (r"must hold a list of records, got .*", _l("a JSON file must hold a list of records")),
    (r"the list of records is empty", _l("the list of records is empty")),
    (r"neither UTF-8 nor GB18030 text.*", _l("neither UTF-8 nor GB18030 text: save the CSV as UTF-8")),
    (r"no records below the header row", _l("there are no records below the header row")),
    (r"the workbook holds no records", _l("the workbook holds no records")),
    (r"not a readable \.xlsx workbook.*", _l("not a readable .xlsx workbook")),
    (r"(?:finances: )?a year is given twice \((?P<years>.*)\)", _l("a year is given twice (%(years)s)")),
    (r"names no person, organization, uscc or application .*",
     _l("names neither the person, the organization, the credit code nor the application")),
    (r"unknown field code (?P<value>\S+).*", _l("%(value)s is not a field of this server's taxonomy")),
))
"""(pattern of an English rule, catalog sentence); the pattern's named groups fill the sentence."""

FILE_LINE = re.compile(r"^(?P<file>.+?): \(file\): (?P<rule>.*)$")
SHEET_ROW_LINE = re.compile(r"^sheet (?P<sheet>.+?) row (?P<row>\d+): (?P<key>[^:]+): (?P<rule>.*)$")
COLUMN_LINE = re.compile(r"^sheet (?P<sheet>.+?): column \d+ (?P<title>.+): (?P<rule>unknown column)$")
SHEET_LINE = re.compile(r"^sheet (?P<sheet>.+?): (?P<rule>(?:unknown sheet|missing) .*)$")
ROW_LINE = re.compile(r"^row (?P<row>\d+)(?: \(.*?\))?: (?P<key>[^:]+?): (?P<rule>.*)$")
RECORD_LINE = re.compile(r"^\[(?P<row>\d+)\]: (?P<key>[^:]+?): (?P<rule>.*)$")
REF_LINE = re.compile(r"^(?P<ref>.+?): (?P<key>[^:\s]+(?: \(sheet .+? row \d+\))?): (?P<rule>.*)$")
ORIGIN = re.compile(r"^(?P<key>.*) \(sheet (?P<sheet>.+?) row (?P<row>\d+)\)$")
ROW_WORDS = re.compile(r"\brow (\d+)")


def sentence(rule: str) -> str:
    """The rule in the reader's language (a rule already in the catalog's language is kept)."""
    for pattern, message in RULES:
        found = pattern.fullmatch(rule.strip())
        if found:
            values = {name: shown_value(name, value) for name, value in found.groupdict().items()}
            return str(message) % values if values else str(message)
    return rule


def shown_value(name: str, value: str) -> str:
    """A value put into a sentence: member kinds by their Chinese name, other rows as 第 N 行."""
    if name in ("kinds", "kind"):
        return " / ".join(str(MEMBER_KINDS.get(kind, kind)) for kind in value.split(" or "))
    if name == "ref":
        return unquoted(value)
    if name == "other":
        return ROW_WORDS.sub(lambda match: _("row %(row)s", row=match.group(1)), value)
    return value


class ProblemReader:
    """Turns the error lines of one file of ``kind`` into :class:`Problem` s, knowing the file's headers."""

    def __init__(self, kind: str, read: ReadResult, filename: str):
        self.kind = kind
        self.sheets = {sheet.name: sheet for sheet in layout(kind)}
        self.main = layout(kind)[0]
        self.is_csv = filename.lower().endswith(".csv")
        self.is_json = filename.lower().endswith(".json")
        self.written = {name: self.written_headers(name, header) for name, header in read.headers.items()}
        self.ref_rows = {to_text(record.get("ref")): int(re.sub(r"\D", "", source))
                         for record, source in zip(read.records, read.source_refs, strict=False)
                         if isinstance(record, dict) and isinstance(record.get("ref"), str | int | float)
                         and not blank(record.get("ref"))}

    def written_headers(self, sheet_name: str, header: list[object]) -> dict[str, str]:
        """Column key → the header cell as written, for one sheet of the file (a CSV's JSON table columns too)."""
        sheet = self.main if sheet_name == "" else self.sheets.get(sheet_name)
        if sheet is None:
            return {}
        known = sheet.header_map()
        tables = {}
        if sheet_name == "":
            for path, title in table_columns(self.kind):
                tables[title] = tables[".".join(path)] = ".".join(path)
        written = {}
        for cell in header:
            title = "" if blank(cell) else to_text(cell)
            if title in known:
                written[known[title].key] = title
            elif title in tables:
                written[tables[title]] = title
        return written

    def problems(self, lines: Sequence[str]) -> list[Problem]:
        """Every line as a Problem, a missing required column once in place of its error on every row."""
        problems = [self.problem(line) for line in lines]
        missing = self.missing_columns()
        if not missing:
            return problems
        once = [Problem(_("required column %(column)s is missing: add it to the header row", column=header),
                        sheet=sheet_name, column=header, column_key=key)
                for (sheet_name, key), header in missing.items()]
        required = str(sentence("required"))
        kept = [problem for problem in problems
                if not (problem.message == required and (problem.sheet, problem.column_key) in missing)]
        return once + kept

    def missing_columns(self) -> dict[tuple[str, str], str]:
        """(sheet as reported, column key) → expected header, for each required column a read sheet lacks."""
        missing = {}
        for name, written in self.written.items():
            sheet = self.main if name == "" else self.sheets.get(name)
            if sheet is None:
                continue
            for column in required_columns(sheet):
                if column.key not in written:
                    missing[(self.sheet_shown(name), column.key)] = column.header
        return missing

    def sheet_shown(self, name: str) -> str:
        """The sheet's name as the page shows it: none for a CSV's only table."""
        return "" if self.is_csv else name

    def problem(self, line: str) -> Problem:
        """One error line as a Problem."""
        if found := FILE_LINE.match(line):
            return Problem(sentence(found["rule"]))
        if found := COLUMN_LINE.match(line):
            return Problem(sentence(found["rule"]), sheet=found["sheet"], column=unquoted(found["title"]))
        if found := SHEET_LINE.match(line):
            return Problem(sentence(found["rule"]), sheet=found["sheet"])
        if found := SHEET_ROW_LINE.match(line):
            return self.placed(found["key"], found["rule"], found["sheet"], int(found["row"]))
        if found := ROW_LINE.match(line):
            return self.placed(found["key"], found["rule"], self.main_sheet_name(), int(found["row"]))
        if found := RECORD_LINE.match(line):
            return self.placed(found["key"], found["rule"], "", int(found["row"]))
        if found := REF_LINE.match(line):
            return self.placed(found["key"], found["rule"], self.main_sheet_name(), self.ref_rows.get(found["ref"]))
        return Problem(sentence(line))

    def main_sheet_name(self) -> str:
        """The main sheet as reported: its name in a workbook, none in a CSV or JSON file."""
        return "" if self.is_csv or self.is_json else self.main.name

    def placed(self, key: str, rule: str, sheet: str, row: int | None) -> Problem:
        """A problem at ``key`` of a record: inside a detail row of a workbook, that sheet and row."""
        if origin := ORIGIN.match(key):
            key, sheet, row = origin["key"], origin["sheet"], int(origin["row"])
            inner = key.rsplit("]", 1)[-1].lstrip(".")
            return Problem(sentence(rule), sheet=sheet, row=row, column=self.header(sheet, inner),
                           column_key=inner)
        if self.is_json:
            return Problem(sentence(rule), row=row, column=key, column_key=key)
        if "[" in key:
            table, rest = key.split("[", 1)
            header = self.header(sheet, table)
            return Problem(sentence(rule), sheet=sheet, row=row, column=f"{header}[{rest}", column_key=key)
        return Problem(sentence(rule), sheet=sheet, row=row, column=self.header(sheet, key), column_key=key)

    def header(self, sheet: str, key: str) -> str:
        """The header of column ``key`` in ``sheet`` as the file writes it (the template's, when absent)."""
        name = "" if self.is_csv else sheet
        written = self.written.get(name, {})
        if key in written:
            return written[key]
        layout_sheet = self.main if name == "" else self.sheets.get(name)
        for column in layout_sheet.columns if layout_sheet else ():
            if column.key == key:
                return column.header
        return key


def required_columns(sheet: Sheet) -> list:
    """The sheet's columns of required leaves whose enclosing groups are required too (or none)."""
    return [column for column in sheet.columns
            if isinstance(column.node, Leaf) and column.node.required and len(column.path) <= 2
            and (len(column.path) == 1 or column.path[0] == "bearer" and not sheet.path)]


def unquoted(title: str) -> str:
    """A header as the reader quoted it (``'承担单位名称'``), without the quotes."""
    return title[1:-1] if len(title) >= 2 and title[0] == title[-1] and title[0] in "'\"" else title


def record_line(line: str) -> str:
    """One error line of a JSON import (the API's ``[N]: key: rule`` or ``REF: key: rule``) as a sentence in the
    reader's language, for the job page that shows an API import's refusal."""
    if found := RECORD_LINE.match(line):
        return _("Record %(number)s, %(key)s: %(rule)s", number=found["row"], key=found["key"],
                 rule=sentence(found["rule"]))
    if found := REF_LINE.match(line):
        return _("%(ref)s, %(key)s: %(rule)s", ref=unquoted(found["ref"]), key=found["key"],
                 rule=sentence(found["rule"]))
    return sentence(line)


def problems_of(lines: Sequence[str], kind: str, read: ReadResult, filename: str) -> list[Problem]:
    """The error lines of one upload as Problems (see :class:`ProblemReader`)."""
    return ProblemReader(kind, read, filename).problems(lines)
