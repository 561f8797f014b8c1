"""Opening review rounds: each gets its own copy of its kind's default score template."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from web.extensions import db
from web.models import ROUND_KINDS, Application, Round, RoundApplication, ScoreTemplate, User
from web.services import audit
from web.services.reference_data import copy_template


class RoundError(ValueError):
    """A refused round operation, with a message naming the value at fault."""


def create_round(name: str, kind: str, *, as_of: date, application_refs: list[str] | None = None,
                 deadline: date | None = None, actor: User | None) -> Round:
    """Open a draft round of ``kind`` with a copy of the default template and the given applications."""
    name = name.strip()
    if not name:
        raise RoundError("name: must not be empty")
    if kind not in ROUND_KINDS:
        raise RoundError(f"kind: must be one of {', '.join(ROUND_KINDS)}, got {kind!r}")
    if db.session.scalar(select(Round.id).where(Round.name == name)) is not None:
        raise RoundError(f"name: a round called {name!r} exists already")
    template = db.session.scalar(select(ScoreTemplate).where(ScoreTemplate.kind == kind, ScoreTemplate.is_default))
    if template is None:
        raise RoundError(f"kind: no default template for {kind!r} (run `panel init`)")
    applications = _applications(application_refs or [])
    round_ = Round(name=name, kind=kind, as_of=as_of, deadline=deadline, state="draft",
                   template=copy_template(template))
    round_.round_applications = [RoundApplication(application=application) for application in applications]
    db.session.add(round_)
    db.session.flush()
    audit.record("round.create", "round", round_.id, actor=actor, after={
        "name": name, "kind": kind, "as_of": as_of, "deadline": deadline, "template": template.id,
        "applications": [application.ref for application in applications]})
    db.session.commit()
    return round_


def _applications(refs: list[str]) -> list[Application]:
    """The applications with ``refs``, in that order; every unknown ref is named in one error."""
    found = {application.ref: application
             for application in db.session.scalars(select(Application).where(Application.ref.in_(refs)))}
    missing = [ref for ref in refs if ref not in found]
    if missing:
        raise RoundError("applications: no application with ref " + ", ".join(repr(ref) for ref in missing))
    return [found[ref] for ref in dict.fromkeys(refs)]
