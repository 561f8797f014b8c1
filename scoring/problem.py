"""Read a scoring problem from its JSON form (DESIGN §10) into :class:`scoring.types.Problem`.

References are compared without surrounding spaces ("E1 " is expert E1). Malformed input is refused as a whole: :func:`parse_problem` collects every error, structural ones here and the
sheet rules of :mod:`scoring.validate`, before it raises :class:`ProblemError`. Each error names the record, the
key and the rule, e.g. ``sheets[4] (E2 → P1): scores.market: 7.3 is not a multiple of the step 0.5``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from .templates import DEFAULT_TEMPLATES
from .types import Criterion, Exclusion, Problem, Settings, Sheet, Template
from .validate import validate_problem

TEMPLATE_KEYS = {"kind", "name", "name_en", "criteria", "indicators"}
CRITERION_KEYS = {field.name for field in fields(Criterion)}
SHEET_KEYS = {"expert", "application", "scores", "confidence", "opinion", "comment"}
EXCLUSION_KEYS = {"expert", "application", "reason"}
SETTINGS_KEYS = {field.name for field in fields(Settings)}


class ProblemError(ValueError):
    """A refused problem; ``errors`` lists every error found, each naming record, key and rule."""

    def __init__(self, errors: list[str]):
        super().__init__(f"{len(errors)} error(s): " + "; ".join(errors))
        self.errors = list(errors)


def parse_problem(data: Any) -> Problem:
    """Build a :class:`Problem` from the decoded JSON of DESIGN §10, or raise :class:`ProblemError`.

    ``template`` is either ``{"criteria": [...]}`` (with optional ``kind`` and ``name``) or just
    ``{"kind": "selection_review"}`` for a default template. Unknown keys are errors, so that a misspelt
    setting is never silently ignored.
    """
    if not isinstance(data, Mapping):
        raise ProblemError([f"problem: must be a JSON object, got {type(data).__name__}"])
    oversized = too_large_numbers(data)
    if oversized:
        raise ProblemError(oversized)
    errors: list[str] = _unknown_keys("problem", data, {"template", "sheets", "excluded", "settings"})
    template = _template(data.get("template"), errors)
    sheets = tuple(_records(data.get("sheets"), "sheets", SHEET_KEYS, _sheet, errors, required=True))
    if data.get("sheets") == []:
        errors.append("sheets: the list is empty: there is nothing to rank")
    excluded = tuple(_records(data.get("excluded", []), "excluded", EXCLUSION_KEYS, _exclusion, errors))
    settings = _settings(data.get("settings", {}), errors)
    problem = None if template is None or settings is None else Problem(template, sheets, excluded, settings)
    if problem is not None:
        errors += validate_problem(problem)                         # remembered valid: rank() does not redo it
    if errors:
        raise ProblemError(errors)
    return problem


def too_large_numbers(data: Any) -> list[str]:
    """Every whole number beyond the largest float (JSON allows 10**400; no score, weight or setting is one),
    named by its place, e.g. ``sheets[0].scores.c1: a number of 401 digits is too large``.

    The walk keeps its own stack, so a deeply nested document cannot exhaust Python's.
    """
    errors, stack = [], [("", data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend((f"{where}.{key}" if where else str(key), item) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((f"{where}[{index}]", item) for index, item in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max:
            errors.append(f"{where}: a number of {len(str(abs(value)))} digits is too large "
                          f"(the largest is about {sys.float_info.max:.1e})")
    return sorted(errors)


def _ref(value: Any) -> Any:
    """A reference as compared: without surrounding spaces ("E1 " is expert E1)."""
    return value.strip() if isinstance(value, str) else value


def _unknown_keys(label: str, record: Mapping, allowed: set[str]) -> list[str]:
    return [f"{label}: {key}: unknown key (allowed: {', '.join(sorted(allowed))})"
            for key in record if key not in allowed]


def _template(data: Any, errors: list[str]) -> Template | None:
    if not isinstance(data, Mapping):
        errors.append("template: must be an object with criteria, or with the kind of a default template")
        return None
    errors += _unknown_keys("template", data, TEMPLATE_KEYS)
    kind = data.get("kind", "custom")
    if "criteria" not in data:
        if kind in DEFAULT_TEMPLATES:
            return DEFAULT_TEMPLATES[kind]
        errors.append(f"template: criteria missing and {kind!r} is not a default template "
                      f"({', '.join(DEFAULT_TEMPLATES)})")
        return None
    default = DEFAULT_TEMPLATES.get(kind)
    criteria = tuple(_records(data["criteria"], "template.criteria", CRITERION_KEYS, _criterion, errors,
                              required=True))
    return Template(kind=str(kind), name=str(data.get("name", default.name if default else kind)),
                    name_en=str(data.get("name_en", default.name_en if default else kind)),
                    criteria=criteria, indicators=default.indicators if default else ())


def _records(data: Any, label: str, allowed: set[str], build, errors: list[str], required: bool = False) -> list:
    """Build every record of a list, collecting the errors of each."""
    if data is None and not required:
        return []
    if not isinstance(data, list):
        errors.append(f"{label}: must be a list")
        return []
    records = []
    for index, item in enumerate(data):
        where = f"{label}[{index}]"
        if not isinstance(item, Mapping):
            errors.append(f"{where}: must be an object")
            continue
        errors += _unknown_keys(where, item, allowed)
        missing = [key for key in _required(build) if key not in item]
        if missing:
            errors += [f"{where}: {key}: missing" for key in missing]
            continue
        records.append(build(item))
    return records


def _required(build) -> tuple[str, ...]:
    return {_criterion: ("id", "max"), _sheet: ("expert", "application", "scores"),
            _exclusion: ("expert", "application")}[build]


def _criterion(item: Mapping) -> Criterion:
    return Criterion(id=item["id"], name=item.get("name", item["id"]), name_en=item.get("name_en", ""),
                     max=item["max"], step=item.get("step", 0.5), group=item.get("group", ""),
                     guidance=item.get("guidance", ""), veto=bool(item.get("veto", False)),
                     comment_required=bool(item.get("comment_required", False)),
                     priority=item.get("priority", 0))


def _sheet(item: Mapping) -> Sheet:
    scores = item["scores"]
    return Sheet(expert=_ref(item["expert"]), application=_ref(item["application"]),
                 scores=dict(scores) if isinstance(scores, Mapping) else scores,
                 confidence=item.get("confidence", 1.0), opinion=item.get("opinion"),
                 comment=item.get("comment", "") if item.get("comment") is not None else "")


def _exclusion(item: Mapping) -> Exclusion:
    return Exclusion(expert=_ref(item["expert"]), application=_ref(item["application"]),
                     reason=str(item.get("reason", "")))


def _settings(data: Any, errors: list[str]) -> Settings | None:
    if data is None:
        return Settings()
    if not isinstance(data, Mapping):
        errors.append("settings: must be an object")
        return None
    errors += _unknown_keys("settings", data, SETTINGS_KEYS)
    values = {key: value for key, value in data.items() if key in SETTINGS_KEYS}
    if isinstance(values.get("threshold"), int) and not isinstance(values["threshold"], bool):
        values["threshold"] = float(values["threshold"])
    return Settings(**values)
