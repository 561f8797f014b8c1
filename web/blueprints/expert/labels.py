"""Display labels of sheet statuses, seat states and opinions, translatable and offered to every template."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

SHEET_STATUSES = {"not_started": _l("Not started"), "draft": _l("Draft"), "submitted": _l("Submitted"),
                  "reopened": _l("Reopened")}
SEAT_STATES = {"proposed": _l("Proposed"), "invited": _l("Invited"), "accepted": _l("Accepted"),
               "declined": _l("Declined"), "recused": _l("Recused"), "replaced": _l("Replaced")}
OPINIONS = {"recommend": _l("Recommend"), "conditional": _l("Recommend with conditions"),
            "reject": _l("Do not recommend")}
LABELS = {"sheet_status": SHEET_STATUSES, "seat_state": SEAT_STATES, "opinion": OPINIONS}


def register(blueprint) -> None:
    """Offer ``{{ code | sheet_status }}``, ``| seat_state`` and ``| opinion`` in every template."""
    for name, labels in LABELS.items():
        blueprint.add_app_template_filter(lambda code, labels=labels: str(labels.get(code, code or "")), name)
