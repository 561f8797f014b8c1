"""Reading the rounds area's posted forms into the values the services take (errors named by field)."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from web.labels import setting_error
from web.models import POOLS
from web.services.panels import seed_error

INTEGER_FIELDS = ("panel_size", "max_per_organization", "max_load", "reserves", "window_years")
OPTIONAL_INTEGER_FIELDS = ("seed", "repeat_review_years", "meeting_max_applications", "time_limit")
NUMBER_FIELDS = ("weight_field", "weight_text")
CHOICE_FIELDS = ("mode", "objective")


class FormError(ValueError):
    """Values that could not be read; ``errors`` names each field."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def _text(form: MultiDict, key: str) -> str:
    return (form.get(key) or "").strip()


def read_date(form: MultiDict, key: str, errors: list[str], *, required: bool = False) -> date | None:
    """An ISO date field (empty → None, or an error when required)."""
    value = _text(form, key)
    if not value:
        if required:
            errors.append(setting_error(key, _("required")))
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(setting_error(key, _("not a date (YYYY-MM-DD): “%(value)s”", value=value)))
        return None


def read_integer(form: MultiDict, key: str, errors: list[str]) -> int | None:
    """A whole-number field (empty → None)."""
    value = _text(form, key)
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        errors.append(setting_error(key, _("not a whole number: “%(value)s”", value=value)))
        return None


def read_seed(form: MultiDict, errors: list[str]) -> int | None:
    """The seed of one matching run (empty → None); one no run can take is named in ``errors``."""
    seed = read_integer(form, "seed", errors)
    refused = seed_error(seed)
    if refused:
        errors.append(refused)
        return None
    return seed


def read_number(form: MultiDict, key: str, errors: list[str]) -> float | None:
    """A decimal field (empty → None)."""
    value = _text(form, key)
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        errors.append(setting_error(key, _("not a number: “%(value)s”", value=value)))
        return None


def settings_values(form: MultiDict) -> dict:
    """The settings form as ``rounds.update_settings`` values; raises FormError naming every unreadable field."""
    errors: list[str] = []
    values: dict = {"name": _text(form, "name"), "as_of": read_date(form, "as_of", errors, required=True),
                    "deadline": read_date(form, "deadline", errors)}
    for key in CHOICE_FIELDS:
        values[key] = _text(form, key)
    for key in INTEGER_FIELDS:
        number = read_integer(form, key, errors)
        values[key] = number if number is not None else _text(form, key)
        if number is None and not _text(form, key):
            errors.append(setting_error(key, _("required")))
    for key in OPTIONAL_INTEGER_FIELDS:
        values[key] = read_integer(form, key, errors)
    for key in NUMBER_FIELDS:
        values[key] = read_number(form, key, errors)
        if values[key] is None and not _text(form, key):
            errors.append(setting_error(key, _("required")))
    values["max_probability"] = read_number(form, "max_probability", errors)
    values["auto_replace"] = form.get("auto_replace") == "on"
    values["pool_quotas"] = pool_quotas(form, errors)
    if errors:
        raise FormError(errors)
    return values


def pool_quotas(form: MultiDict, errors: list[str]) -> dict[str, list[int]]:
    """``quota_<pool>_min`` / ``quota_<pool>_max`` pairs; a pool with both empty has no quota."""
    quotas = {}
    for pool in POOLS:
        low = read_integer(form, f"quota_{pool}_min", errors)
        high = read_integer(form, f"quota_{pool}_max", errors)
        if low is None and high is None:
            continue
        if low is None or high is None:
            errors.append(setting_error(f"pool_quotas.{pool}", _("give both the minimum and the maximum")))
            continue
        quotas[pool] = [low, high]
    return quotas


def criteria_changes(form: MultiDict, criterion_ids: list[int]) -> dict[int, dict]:
    """The template form as ``rounds.update_criteria`` changes, one dict per criterion id."""
    errors: list[str] = []
    changes = {}
    for criterion_id in criterion_ids:
        prefix = f"c{criterion_id}_"
        values = {"name": _text(form, prefix + "name"),
                  "max": read_number(form, prefix + "max", errors),
                  "step": read_number(form, prefix + "step", errors),
                  "priority": read_integer(form, prefix + "priority", errors) or 0,
                  "veto": form.get(prefix + "veto") == "on",
                  "comment_required": form.get(prefix + "comment_required") == "on"}
        for key in ("max", "step"):
            if values[key] is None:
                errors.append(_("%(criterion)s, %(what)s: required", criterion=values["name"] or criterion_id,
                                what=_("maximum") if key == "max" else _("step")))
        changes[criterion_id] = values
    if errors:
        raise FormError(errors)
    return changes


def refs_list(value: str) -> list[str]:
    """Application refs typed by hand, separated by commas, spaces or new lines."""
    return [ref for ref in value.replace(",", " ").replace("，", " ").split() if ref]
