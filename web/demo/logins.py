"""The demo's logins: every seated expert of the selection round gets an account with the demo password, except
one who is left to try the personal link; :func:`login_table` says who is who and what to try.

The invitations already created the experts' accounts (web.services.invitations); here they get a password. All
demo accounts share one hash of the demo password, computed once: hashing is deliberately slow, and the demo must
load in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from web.extensions import db
from web.models import Expert, Round, ScoreSheet, User
from web.services import accounts, invitations

LINK_ONLY = "(none yet)"


@dataclass(frozen=True)
class DemoLogin:
    """One row of the table ``panel demo`` prints."""

    username: str
    password: str
    role: str
    what_to_try: str


def give_passwords(round_: Round, password: str, featured: list[str]) -> list[DemoLogin]:
    """Set ``password`` on the staff accounts and on every invited expert's account but one (flushed); return the
    table: staff, the ``featured`` experts (refs) with what to try, the link-only expert, then a line for the rest.

    The link-only expert is the first invited expert by ref who is neither featured nor done, so opening their
    link leads to seats with work on them.
    """
    experts = invitations.invited_experts(round_)
    users = {expert.ref: accounts.ensure_expert_account(expert, actor=None)[0] for expert in experts}
    open_counts = _open_sheets(round_, experts)
    link_only = next((ref for ref in sorted(users) if ref not in featured and open_counts.get(ref)), None)
    hashed = generate_password_hash(password)
    with_password = [user.id for ref, user in users.items() if ref != link_only]
    staff = list(db.session.scalars(select(User).where(User.role != "expert").order_by(User.id)))
    db.session.execute(update(User).where(User.id.in_(with_password + [user.id for user in staff]))
                       .values(password_hash=hashed).execution_options(synchronize_session="fetch"))
    db.session.flush()
    rows = [DemoLogin(user.username, password, user.role, STAFF_TRIES.get(user.role, "")) for user in staff]
    for ref in featured:
        rows.append(DemoLogin(users[ref].username, password, "expert",
                              f"sheets to score: {open_counts.get(ref, 0)}; accept, declare, score, submit"))
    if link_only is not None:
        rows.append(DemoLogin(users[link_only].username, LINK_ONLY, "expert",
                              "as organizer open the outbox (发件箱), open this expert's invitation link, set a "
                              "password: you land on their seats"))
    rest = [users[ref].username for ref in sorted(users) if ref not in featured and ref != link_only]
    if rest:
        rows.append(DemoLogin(f"{rest[0]} … {rest[-1]}", password, "expert",
                              f"{len(rest)} more seated experts: username = expert ref in lower case"))
    return rows


STAFF_TRIES = {
    "admin": "accounts (force a new password), audit log, API tokens",
    "organizer": "applications, rounds, invitations (create accounts, resend a link), ranking",
}


def _open_sheets(round_: Round, experts: list[Expert]) -> dict[str, int]:
    """Per expert ref, how many of their invited or accepted seats have no submitted sheet."""
    submitted = set(db.session.execute(
        select(ScoreSheet.application_id, ScoreSheet.expert_id)
        .where(ScoreSheet.round_id == round_.id, ScoreSheet.state == "submitted")).all())
    counts: dict[str, int] = {}
    for seat in invitations.round_seats(round_, invitations.INVITED_STATES):
        if (seat.application_id, seat.expert_id) not in submitted:
            counts[seat.expert.ref] = counts.get(seat.expert.ref, 0) + 1
    return counts


def login_table(rows: list[DemoLogin]) -> str:
    """The rows as a plain-text table with a header, columns padded to their widest cell."""
    header = DemoLogin("username", "password", "role", "what to try")
    table = [header, *rows]
    widths = [max(len(getattr(row, name)) for row in table) for name in ("username", "password", "role")]
    lines = []
    for row in table:
        cells = (row.username, row.password, row.role)
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
                     + "  " + row.what_to_try)
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)
