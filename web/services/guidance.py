"""Guidance per criterion (评分说明): the organizer's note under each criterion of a round's score sheet.

Guidance is text for the expert, never arithmetic: unlike the rest of the template it may change while the round
is scoring (experts see the newest note on their next page load), until the round is closed. Every change is
audited with the text before and after.
"""

from __future__ import annotations

from flask_babel import gettext as _

from web.extensions import db
from web.input_guard import control_character_error
from web.models import Round, User

from . import audit

# About a page of Chinese: enough to say what earns full marks and what loses them, short enough to read.
MAX_LENGTH = 1000
EDITABLE_STATES = ("draft", "assigning", "scoring")


class GuidanceError(ValueError):
    """Refused guidance; ``errors`` lists every reason, each naming its criterion."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))


def update_guidance(round_: Round, texts: dict[int, str], *, actor: User | None) -> int:
    """Set the guidance of the round's criteria from ``texts`` (criterion id → text; ids left out keep theirs);
    returns how many changed. Refused whole, with every reason, when one text is refused."""
    if round_.state not in EDITABLE_STATES:
        raise GuidanceError([_("The round is closed: its guidance can no longer change.")])
    criteria = {criterion.id: criterion for criterion in round_.template.criteria}
    errors = [_("Criterion %(id)s is not in this round's template.", id=key) for key in texts if key not in criteria]
    cleaned = {key: (text or "").strip() for key, text in texts.items() if key in criteria}
    for key, text in cleaned.items():
        name = criteria[key].name
        if len(text) > MAX_LENGTH:
            errors.append(_("%(criterion)s: the guidance has %(length)s characters; at most %(max)s are allowed.",
                            criterion=name, length=len(text), max=MAX_LENGTH))
        elif error := control_character_error(name, text):
            errors.append(error)
    if errors:
        raise GuidanceError(errors)
    changed = 0
    for key, text in cleaned.items():
        criterion = criteria[key]
        if criterion.guidance != text:
            audit.record("round.criterion_guidance", "template_criterion", criterion.id, actor=actor,
                         before={"guidance": criterion.guidance}, after={"guidance": text})
            criterion.guidance = text
            changed += 1
    db.session.flush()
    return changed
