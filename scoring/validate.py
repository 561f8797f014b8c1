"""Sheet and settings validation (DESIGN §7.1 step 1, §10 "Errors and flags").

Every error is collected, none stops the search, and each names the record, the key and the rule, e.g.
``sheets[3] (E2 → P1): scores.technical_route: 21 is above the maximum 20``. A problem with any error ranks
nothing. A sheet of an excluded (recused or conflicted) expert is not an error: it is kept and shown as
excluded in the trace.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Iterable

from .templates import is_multiple, is_number, validate_template
from .types import OPINIONS, TRIMS, Exclusion, Problem, Settings, Sheet, Template

MIN_STEP = 0.0001        # finer steps make totals whose decimals no float (nor the exact rounding) can hold
MAX_BOOTSTRAP = 100_000  # draws; 10⁵ gives rank intervals to well under a rank, more only costs minutes


def validate_problem(problem: Problem) -> list[str]:
    """All errors of a problem: its template, its settings, every sheet and every exclusion.

    A problem found valid is remembered (see :func:`known_valid`), so that ranking a parsed problem does not
    check its sheets a second time.
    """
    template_errors = step_errors(problem.template) or validate_template(problem.template)
    sheet_errors = validate_sheets(problem.sheets, problem.template, check_scores=not template_errors)
    errors = (template_errors + validate_settings(problem.settings) + sheet_errors
              + exclusion_errors(problem.excluded, problem.sheets))
    if not errors:
        key = id(problem)
        _VALID[key] = weakref.ref(problem, lambda _: _VALID.pop(key, None))
    return errors


_VALID: dict[int, weakref.ref] = {}     # id → the problem found valid, while it lives (a Problem is not hashable)


def known_valid(problem: Problem) -> bool:
    """True when this very object was found valid before. A :class:`Problem` is frozen: a changed template,
    sheet list or setting (``dataclasses.replace``) is a new object and is checked again. Only editing a sheet's
    ``scores`` dict in place would go unseen; nothing in Panel does that after building a problem."""
    known = _VALID.get(id(problem))
    return known is not None and known() is problem


def step_errors(template: Template) -> list[str]:
    """Steps that are not numbers or are finer than :data:`MIN_STEP`."""
    errors = []
    for index, criterion in enumerate(template.criteria):
        step = criterion.step
        if not is_number(step) or step <= 0:
            errors.append(f"template.criteria[{index}].step: must be a positive number, got {step!r}")
        elif step < MIN_STEP:
            errors.append(f"template.criteria[{index}].step: {step:g} is finer than the smallest step {MIN_STEP:g}")
    return errors


def exclusion_errors(excluded: Iterable[Exclusion], sheets: Iterable[Sheet]) -> list[str]:
    """Exclusions naming an expert without any sheet: a misspelt reference would otherwise exclude nobody."""
    experts = {sheet.expert for sheet in sheets}
    return [f"excluded[{index}] ({item.expert} → {item.application}): expert {item.expert} has no sheet"
            for index, item in enumerate(excluded) if item.expert not in experts]


def validate_sheets(sheets: Iterable[Sheet], template: Template, check_scores: bool = True) -> list[str]:
    """Errors of every sheet: identity, confidence, opinion, each score's presence, type, range and step,
    unknown criteria, and duplicate sheets for one (expert, application)."""
    errors: list[str] = []
    first_index: dict[tuple[str, str], int] = {}
    for index, sheet in enumerate(sheets):
        label = sheet_label(index, sheet)
        errors += [f"{label}: {message}" for message in _identity_errors(sheet)]
        key = (sheet.expert, sheet.application)
        if key in first_index:
            errors.append(f"{label}: duplicate sheet: expert {sheet.expert} already scored application "
                          f"{sheet.application} in sheets[{first_index[key]}]")
        else:
            first_index[key] = index
        if check_scores:
            errors += [f"{label}: {message}" for message in _score_errors(sheet, template)]
    return errors


def sheet_label(index: int, sheet: Sheet) -> str:
    """How an error names a sheet: its position and its (expert → application) pair."""
    return f"sheets[{index}] ({sheet.expert} → {sheet.application})"


def _identity_errors(sheet: Sheet) -> list[str]:
    errors = []
    for key in ("expert", "application"):
        value = getattr(sheet, key)
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{key}: must be a non-empty reference, got {value!r}")
        elif value != value.strip():
            errors.append(f"{key}: must not begin or end with spaces, got {value!r}")
    if not is_number(sheet.confidence) or not 0 < sheet.confidence <= 1:
        errors.append(f"confidence: must be a number in (0, 1], got {sheet.confidence!r}")
    if sheet.opinion is not None and sheet.opinion not in OPINIONS:
        errors.append(f"opinion: must be one of {', '.join(OPINIONS)}, got {sheet.opinion!r}")
    if not isinstance(sheet.comment, str):
        errors.append(f"comment: must be text, got {sheet.comment!r}")
    return errors


def _score_errors(sheet: Sheet, template: Template) -> list[str]:
    if not hasattr(sheet.scores, "items"):
        return [f"scores: must be an object mapping criterion ids to points, got {sheet.scores!r}"]
    errors = []
    known = {criterion.id for criterion in template.criteria}
    for criterion in template.criteria:
        if criterion.id not in sheet.scores:
            errors.append(f"scores.{criterion.id}: missing")
            continue
        value = sheet.scores[criterion.id]
        problem = score_error(value, criterion.max, criterion.step)
        if problem:
            errors.append(f"scores.{criterion.id}: {problem}")
    errors += [f"scores.{key}: unknown criterion (the template has {', '.join(sorted(known))})"
               for key in sheet.scores if key not in known]
    needs_comment = [criterion.id for criterion in template.criteria if criterion.comment_required]
    if needs_comment and isinstance(sheet.comment, str) and not sheet.comment.strip():
        errors.append(f"comment: required by criterion {', '.join(needs_comment)}")
    return errors


def score_error(value: object, maximum: float, step: float) -> str | None:
    """Why ``value`` is not a valid score on a criterion with this maximum and step, or None if it is."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{value!r} is not a number"
    if math.isnan(value) or math.isinf(value):
        return f"{value!r} is not a finite number"
    if value < 0:
        return f"{value:g} is below 0"
    if value > maximum:
        return f"{value:g} is above the maximum {maximum:g}"
    if not is_multiple(value, step):
        return f"{value:g} is not a multiple of the step {step:g}"
    return None


def validate_settings(settings: Settings) -> list[str]:
    """Errors of the settings: each value's type and range, and combinations that make no sense."""
    errors = []

    def require(ok: bool, key: str, rule: str) -> None:
        if not ok:
            errors.append(f"settings.{key}: {rule}, got {getattr(settings, key)!r}")

    require(is_whole(settings.min_panel) and settings.min_panel >= 3, "min_panel", "must be a whole number ≥ 3")
    require(is_whole(settings.insufficient_below) and settings.insufficient_below >= 1, "insufficient_below",
            "must be a whole number ≥ 1")
    if is_whole(settings.min_panel) and is_whole(settings.insufficient_below):
        require(settings.insufficient_below <= settings.min_panel, "insufficient_below", "must not exceed min_panel")
    require(settings.trim in TRIMS, "trim", f"must be one of {', '.join(TRIMS)}")
    require(is_number(settings.robust_z) and settings.robust_z > 0, "robust_z", "must be a positive number")
    require(settings.deviation is None or (is_number(settings.deviation) and 0 < settings.deviation <= 1),
            "deviation", "must be a fraction of the range in (0, 1] or null")
    require(is_number(settings.scale_floor) and 0 < settings.scale_floor <= 1, "scale_floor",
            "must be a fraction of the range in (0, 1]")
    require(is_number(settings.diagnostics_alpha) and 0 < settings.diagnostics_alpha < 1, "diagnostics_alpha",
            "must be in (0, 1)")
    require(not settings.rank_on_calibrated or settings.calibrate, "rank_on_calibrated",
            "needs calibrate: true")
    require(is_whole(settings.min_support) and settings.min_support >= 1, "min_support", "must be a whole number ≥ 1")
    require(is_number(settings.confidence_level) and 0 < settings.confidence_level < 1, "confidence_level",
            "must be in (0, 1)")
    require(is_whole(settings.bootstrap) and 0 <= settings.bootstrap <= MAX_BOOTSTRAP, "bootstrap",
            f"must be a whole number from 0 to {MAX_BOOTSTRAP}")
    require(is_whole(settings.seed) and settings.seed >= 0, "seed", "must be a whole number ≥ 0")
    require(is_number(settings.threshold), "threshold", "must be a number")
    require(settings.gate is None or (is_number(settings.gate) and 0 < settings.gate <= 1), "gate",
            "must be a fraction in (0, 1] or null")
    require(is_number(settings.veto_fraction) and 0 < settings.veto_fraction <= 1, "veto_fraction",
            "must be a fraction in (0, 1]")
    require(settings.capacity is None or (is_whole(settings.capacity) and settings.capacity >= 1), "capacity",
            "must be a whole number ≥ 1 or null")
    require(settings.capacity is None or not is_whole(settings.bootstrap) or settings.bootstrap > 0, "capacity",
            "needs the bootstrap (bootstrap > 0) for P(top-k) and rank intervals")
    require(is_number(settings.top_k_probability) and 0 <= settings.top_k_probability <= 1, "top_k_probability",
            "must be in [0, 1]")
    for key in ("outliers", "criterion_flags", "diagnostics", "calibrate", "rank_on_calibrated", "shrink",
                "interval", "recommend"):
        require(isinstance(getattr(settings, key), bool), key, "must be true or false")
    require(settings.grades is None or isinstance(settings.grades, bool), "grades", "must be true, false or null")
    return errors


def is_whole(value: object) -> bool:
    """An int, not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)
