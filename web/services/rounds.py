"""Review rounds: opening one (with its own copy of the default template), its settings, applications, template
criteria and state moves (draft → assigning → scoring → closed, and closed → scoring to reopen), each audited;
closing and reopening happen only when confirmed."""

from __future__ import annotations

import math
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select

from scoring.templates import template_issues
from scoring.types import Criterion, Template
from web.extensions import db
from web.labels import label, setting_error, template_issue
from web.models import (
    LARGEST_INTEGER,
    OBJECTIVES,
    PANEL_MODES,
    POOLS,
    ROUND_KINDS,
    Application,
    Field,
    PoolQuota,
    Round,
    RoundApplication,
    ScoreTemplate,
    TemplateCriterion,
    User,
)
from web.services import audit
from web.services.jobs import unfinished_jobs
from web.services.reference_data import copy_template


class RoundError(ValueError):
    """A refused round operation, with a message naming the value at fault."""


def create_round(name: str, kind: str, *, as_of: date, application_refs: list[str] | None = None,
                 deadline: date | None = None, settings: dict | None = None, actor: User | None) -> Round:
    """Open a draft round of ``kind`` with a copy of the default template, the given applications and panel
    ``settings`` (keys of :func:`settings_of`); a bad setting refuses the whole round."""
    name = name.strip()
    if not name:
        raise RoundError(setting_error("name", _("must not be empty")))
    if kind not in ROUND_KINDS:
        raise RoundError(setting_error("kind", _("unknown kind “%(value)s”", value=kind)))
    if db.session.scalar(select(Round.id).where(Round.name == name)) is not None:
        raise RoundError(setting_error("name", _("a round called “%(name)s” exists already", name=name)))
    template = db.session.scalar(select(ScoreTemplate).where(ScoreTemplate.kind == kind, ScoreTemplate.is_default))
    if template is None:
        raise RoundError(setting_error("kind", _("no default score template for this kind (run “panel init”)")))
    applications = _applications(application_refs or [])
    round_ = Round(name=name, kind=kind, as_of=as_of, deadline=deadline, state="draft",
                   template=copy_template(template))
    round_.round_applications = [RoundApplication(application=application) for application in applications]
    if settings:
        _apply_settings(round_, settings)
    db.session.add(round_)
    db.session.flush()
    audit.record("round.create", "round", round_.id, actor=actor, after={
        "name": name, "kind": kind, "as_of": as_of, "deadline": deadline, "template": template.id,
        "applications": [application.ref for application in applications], "settings": settings_of(round_)})
    db.session.flush()
    return round_


def _applications(refs: list[str]) -> list[Application]:
    """The applications with ``refs``, in that order; every unknown ref is named in one error."""
    found = {application.ref: application
             for application in db.session.scalars(select(Application).where(Application.ref.in_(refs)))}
    missing = [ref for ref in refs if ref not in found]
    if missing:
        raise RoundError(_("No application has the ref %(refs)s.", refs="、".join(missing)))
    return [found[ref] for ref in dict.fromkeys(refs)]


# ---------------------------------------------------------------- state, settings, applications, template

NEXT_STATE = {"draft": "assigning", "assigning": "scoring", "scoring": "closed"}
"""The only moves a round makes (DESIGN §5): draft → assigning → scoring → closed."""

EDITABLE_STATES = ("draft", "assigning")
"""Settings, applications and the template change only before scoring starts."""

INTEGER_SETTINGS = {"panel_size": 1, "max_per_organization": 1, "max_load": 1, "reserves": 0, "window_years": 0}
"""Whole-number settings and their smallest value."""

OPTIONAL_INTEGER_SETTINGS = {"seed": 0, "repeat_review_years": 1, "meeting_max_applications": 1, "time_limit": 1}
"""Whole-number settings that may be left empty, with their smallest value."""


CONFIRMED_STATES = ("closed",)
"""Moves that end something people are doing (experts stop scoring) and so need a confirmation."""


def transition(round_: Round, state: str, *, actor: User | None, confirmed: bool = False) -> Round:
    """Move ``round_`` one step forward to ``state``; any other move, or closing unconfirmed, is refused with
    RoundError."""
    if NEXT_STATE.get(round_.state) != state:
        allowed = NEXT_STATE.get(round_.state)
        now, wanted = label(round_.state, "round_state"), label(state, "round_state")
        raise RoundError(_("A round that is %(state)s cannot become %(wanted)s (only %(allowed)s).", state=now,
                           wanted=wanted, allowed=label(allowed, "round_state")) if allowed else
                         _("A round that is %(state)s cannot become %(wanted)s: it is closed.", state=now,
                           wanted=wanted))
    if state in CONFIRMED_STATES and not confirmed:
        raise RoundError(_("Nothing was changed: closing the round needs your confirmation on its confirmation "
                           "page."))
    if state == "assigning" and not round_.round_applications:
        raise RoundError(_("Attach at least one application before assigning panels."))
    if state == "scoring" and _active_version_id(round_) is None:
        raise RoundError(_("Run matching (an active assignment version is needed) before scoring starts."))
    if round_.state == "assigning" and unfinished_jobs("matching", round_):
        raise RoundError(_("Nothing was changed: a matching run of this round is still queued or running; wait "
                           "for it to end before the round leaves assigning."))
    before = round_.state
    round_.state = state
    audit.record("round.transition", "round", round_.id, actor=actor, before={"state": before},
                 after={"state": state})
    db.session.flush()
    return round_


def reopen(round_: Round, *, actor: User | None, confirmed: bool) -> Round:
    """Undo closing: a closed round goes back to scoring, so experts can fill and submit sheets again."""
    if not confirmed:
        raise RoundError(_("Nothing was changed: reopening the round needs your confirmation on its confirmation "
                           "page."))
    if round_.state != "closed":
        raise RoundError(_("Only a closed round can be reopened; nothing was changed."))
    round_.state = "scoring"
    audit.record("round.reopen", "round", round_.id, actor=actor, before={"state": "closed"},
                 after={"state": "scoring"})
    db.session.flush()
    return round_


def _active_version_id(round_: Round) -> int | None:
    """The id of the round's active assignment version, if any."""
    from web.models import AssignmentVersion

    return db.session.scalar(select(AssignmentVersion.id).where(
        AssignmentVersion.round_id == round_.id, AssignmentVersion.active))


def _require_editable(round_: Round, what: str) -> None:
    if round_.state not in EDITABLE_STATES:
        raise RoundError(setting_error(what, _("the round is %(state)s; it can change only before scoring starts "
                                               "(draft or assigning)", state=label(round_.state, "round_state"))))


SETTING_DEFAULTS = {
    "name": "", "as_of": None, "deadline": None, "mode": "individual", "panel_size": 7, "max_per_organization": 1,
    "max_load": 5, "objective": "total", "max_probability": None, "seed": None, "reserves": 3, "weight_field": 0.6,
    "weight_text": 0.4, "window_years": 3, "repeat_review_years": None, "meeting_max_applications": None,
    "time_limit": None, "auto_replace": False, "pool_quotas": {},
}
"""Every setting with the model's default (a new round's values before its first save)."""

OPTIONAL_SETTINGS = ("deadline", "max_probability", "seed", "repeat_review_years", "meeting_max_applications",
                     "time_limit")
"""Settings that may be left empty."""


def settings_of(round_: Round) -> dict:
    """The round's editable settings as one dict (the shape ``update_settings`` takes)."""
    return {
        "name": round_.name, "as_of": round_.as_of, "deadline": round_.deadline, "mode": round_.mode,
        "panel_size": round_.panel_size, "max_per_organization": round_.max_per_organization,
        "max_load": round_.max_load, "objective": round_.objective, "max_probability": round_.max_probability,
        "seed": round_.seed, "reserves": round_.reserves, "weight_field": round_.weight_field,
        "weight_text": round_.weight_text, "window_years": round_.window_years,
        "repeat_review_years": round_.repeat_review_years,
        "meeting_max_applications": round_.meeting_max_applications, "time_limit": round_.time_limit,
        "auto_replace": round_.auto_replace,
        "pool_quotas": {quota.pool: [quota.minimum, quota.maximum] for quota in round_.pool_quotas},
    }


def update_settings(round_: Round, values: dict, *, actor: User | None) -> Round:
    """Change any of the settings in ``values`` (keys of :func:`settings_of`); every bad value is named at once
    in one RoundError and then nothing changes."""
    _require_editable(round_, "settings")
    before = settings_of(round_)
    _apply_settings(round_, values)
    after = settings_of(round_)
    changed = {key for key in after if after[key] != before[key]}
    if changed:
        audit.record("round.settings", "round", round_.id, actor=actor,
                     before={key: before[key] for key in sorted(changed)},
                     after={key: after[key] for key in sorted(changed)})
    db.session.flush()
    return round_


def _apply_settings(round_: Round, values: dict) -> None:
    """Check ``values`` merged into the round's settings as a whole (RoundError naming every bad one), then set
    them."""
    unknown = sorted(set(values) - set(SETTING_DEFAULTS))
    if unknown:
        raise RoundError("; ".join(_("Unknown setting “%(key)s”.", key=key) for key in unknown))
    current = dict(SETTING_DEFAULTS)
    current.update({key: value for key, value in settings_of(round_).items()
                    if value is not None or key in OPTIONAL_SETTINGS})
    merged = {**current, **values}
    errors = _settings_errors(round_, merged)
    if errors:
        raise RoundError("; ".join(errors))
    for key, value in merged.items():
        if key == "pool_quotas":
            _set_quotas(round_, value)
        elif key == "name":
            round_.name = value.strip()
        else:
            setattr(round_, key, value)


def _settings_errors(round_: Round, values: dict) -> list[str]:
    """Every rule the merged settings break, each naming the setting."""
    errors = []
    name = (values["name"] or "").strip()
    if not name:
        errors.append(setting_error("name", _("must not be empty")))
    elif db.session.scalar(select(Round.id).where(Round.name == name, Round.id != round_.id)) is not None:
        errors.append(setting_error("name", _("a round called “%(name)s” exists already", name=name)))
    if not isinstance(values["as_of"], date):
        errors.append(setting_error("as_of", _("required")))
    if values["deadline"] is not None and not isinstance(values["deadline"], date):
        errors.append(setting_error("deadline", _("must be a date")))
    for key, choices in (("mode", PANEL_MODES), ("objective", OBJECTIVES)):
        if values[key] not in choices:
            errors.append(setting_error(key, _("unknown choice “%(value)s”", value=values[key])))
    for key, low in INTEGER_SETTINGS.items():
        if not _whole(values[key]) or values[key] < low:
            errors.append(setting_error(key, _("must be a whole number of at least %(low)s, not “%(value)s”",
                                               low=low, value=values[key])))
    for key, low in OPTIONAL_INTEGER_SETTINGS.items():
        if values[key] is not None and (not _whole(values[key]) or values[key] < low):
            errors.append(setting_error(key, _("must be empty or a whole number of at least %(low)s, not "
                                               "“%(value)s”", low=low, value=values[key])))
    for key in (*INTEGER_SETTINGS, *OPTIONAL_INTEGER_SETTINGS):
        if _whole(values[key]) and values[key] > LARGEST_INTEGER:
            errors.append(setting_error(key, _("must be at most %(high)s, not “%(value)s”", high=LARGEST_INTEGER,
                                               value=values[key])))
    probability = values["max_probability"]
    if probability is not None and (not _number(probability) or not 0 < probability <= 1):
        errors.append(setting_error("max_probability", _("must be empty or above 0 and at most 1, not “%(value)s”",
                                                         value=probability)))
    for key in ("weight_field", "weight_text"):
        if not _number(values[key]) or values[key] < 0:
            errors.append(setting_error(key, _("must be a number of at least 0, not “%(value)s”", value=values[key])))
    if _number(values["weight_field"]) and _number(values["weight_text"]) \
            and values["weight_field"] + values["weight_text"] <= 0:
        errors.append(setting_error("weight_field", _("the fit weights must not both be 0")))
    if not isinstance(values["auto_replace"], bool):
        errors.append(setting_error("auto_replace", _("must be on or off")))
    errors.extend(_quota_errors(values["pool_quotas"], values["panel_size"]))
    return errors


def _quota_errors(quotas: object, panel_size: object) -> list[str]:
    """The rules pool quotas break: known pools, 0 ≤ min ≤ max ≤ panel size, the minima fit in one panel."""
    if not isinstance(quotas, dict):
        return [setting_error("pool_quotas", _("must give each pool a minimum and a maximum"))]
    errors = []
    for pool, bounds in quotas.items():
        field = f"pool_quotas.{pool}"
        if pool not in POOLS:
            errors.append(setting_error(field, _("unknown pool")))
            continue
        if not isinstance(bounds, list | tuple) or len(bounds) != 2 or not all(_whole(b) for b in bounds):
            errors.append(setting_error(field, _("give the minimum and the maximum as whole numbers")))
            continue
        low, high = bounds
        if low < 0 or high < low:
            errors.append(setting_error(field, _("need 0 ≤ minimum ≤ maximum, not %(low)s and %(high)s", low=low,
                                                 high=high)))
        elif _whole(panel_size) and high > panel_size:
            errors.append(setting_error(field, _("the maximum %(high)s is above the panel size %(size)s", high=high,
                                                 size=panel_size)))
    if not errors and _whole(panel_size):
        minima = sum(bounds[0] for bounds in quotas.values())
        if minima > panel_size:
            errors.append(setting_error("pool_quotas", _("the minima sum to %(sum)s, above the panel size %(size)s",
                                                         sum=minima, size=panel_size)))
        maxima = sum(quotas.get(pool, (0, panel_size))[1] for pool in POOLS)
        if maxima < panel_size:
            errors.append(setting_error("pool_quotas", _("the maxima sum to %(sum)s, below the panel size %(size)s",
                                                         sum=maxima, size=panel_size)))
    return errors


def _set_quotas(round_: Round, quotas: dict) -> None:
    """Replace the round's quota rows with ``quotas`` (pool → [min, max]), in pool order."""
    existing = {quota.pool: quota for quota in round_.pool_quotas}
    for pool in POOLS:
        if pool in quotas:
            quota = existing.pop(pool, None) or PoolQuota(pool=pool)
            quota.minimum, quota.maximum = quotas[pool]
            if quota not in round_.pool_quotas:
                round_.pool_quotas.append(quota)
    for quota in existing.values():
        round_.pool_quotas.remove(quota)


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def attach_applications(round_: Round, *, refs: list[str] | None = None, fields: list[str] | None = None,
                        actor: User | None) -> list[Application]:
    """Add the applications with ``refs`` and those in ``fields`` (field codes, or sector codes such as
    ``EQP`` for all its fields); returns the ones newly added (those already in the round are skipped)."""
    _require_editable(round_, "applications")
    chosen = _applications(refs or [])
    if fields:
        known = set(db.session.scalars(select(Field.code)))
        sectors = {code.split("-", 1)[0] for code in known}
        unknown = [code for code in fields if code not in known and code not in sectors]
        if unknown:
            raise RoundError(_("Unknown field or sector: %(codes)s.", codes="、".join(unknown)))
        wanted = [code for code in known if code in fields or code.split("-", 1)[0] in fields]
        chosen += db.session.scalars(select(Application).join(Field).where(Field.code.in_(wanted))
                                     .order_by(Application.id)).all()
    present = {link.application_id for link in round_.round_applications}
    added = [application for application in dict.fromkeys(chosen) if application.id not in present]
    round_.round_applications.extend(RoundApplication(application=application) for application in added)
    if added:
        audit.record("round.attach", "round", round_.id, actor=actor,
                     after={"applications": [application.ref for application in added]})
    db.session.flush()
    return added


def detach_application(round_: Round, application: Application, *, actor: User | None) -> None:
    """Take ``application`` out of the round (before scoring starts)."""
    _require_editable(round_, "applications")
    link = next((link for link in round_.round_applications if link.application_id == application.id), None)
    if link is None:
        raise RoundError(_("Application %(ref)s is not in this round.", ref=application.ref))
    round_.round_applications.remove(link)
    audit.record("round.detach", "round", round_.id, actor=actor, before={"application": application.ref})
    db.session.flush()


CRITERION_KEYS = ("name", "max", "step", "veto", "comment_required", "priority")
"""What the organizer may edit on a criterion."""


def update_criterion(round_: Round, criterion_id: int, values: dict, *, actor: User | None) -> TemplateCriterion:
    """Change one criterion of the round's template (see :func:`update_criteria`)."""
    update_criteria(round_, {criterion_id: values}, actor=actor)
    return db.session.get(TemplateCriterion, criterion_id)


def update_criteria(round_: Round, changes: dict[int, dict], *, actor: User | None) -> None:
    """Change several criteria at once (keys of CRITERION_KEYS), so maxima can move while still summing to 100;
    the resulting template is checked with scoring's template validation and refused whole on any error."""
    _require_editable(round_, "template")
    criteria = {criterion.id: criterion for criterion in round_.template.criteria}
    errors = [_("Criterion %(id)s is not in this round's template.", id=key) for key in changes if key not in criteria]
    errors += [_("%(criterion)s: “%(key)s” is not a criterion setting.", criterion=criteria[key].name, key=name)
               for key, values in changes.items() if key in criteria for name in values if name not in CRITERION_KEYS]
    if errors:
        raise RoundError("; ".join(errors))
    proposed = [_criterion_definition(criterion, changes.get(criterion.id, {})) for criterion in
                round_.template.criteria]
    if any(not (definition.name or "").strip() for definition in proposed):
        errors.append(_("Every criterion needs a name."))
    names = {definition.id: (definition.name or "").strip() for definition in proposed}
    errors += [template_issue(issue, names) for issue in template_issues(
        Template(round_.template.kind, round_.template.name, round_.template.name_en, tuple(proposed)))]
    if errors:
        raise RoundError("; ".join(errors))
    for key, values in changes.items():
        criterion = criteria[key]
        before = {name: getattr(criterion, name) for name in CRITERION_KEYS}
        for name, value in values.items():
            setattr(criterion, name, value.strip() if isinstance(value, str) else value)
        after = {name: getattr(criterion, name) for name in CRITERION_KEYS}
        if after != before:
            audit.record("round.criterion", "template_criterion", criterion.id, actor=actor, before=before,
                         after=after)
    db.session.flush()


def _criterion_definition(criterion: TemplateCriterion, values: dict) -> Criterion:
    """The scoring engine's view of ``criterion`` with ``values`` applied."""
    current = {name: getattr(criterion, name) for name in CRITERION_KEYS}
    current.update(values)
    return Criterion(id=criterion.code, name=current["name"], name_en=criterion.name_en, max=current["max"],
                     step=current["step"], veto=bool(current["veto"]), comment_required=bool(current["comment_required"]),
                     priority=current["priority"])
