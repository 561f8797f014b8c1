"""Engine settings per database: stale PostgreSQL connections are replaced, SQLite runs in WAL with a busy timeout.

PostgreSQL: ``pool_pre_ping`` checks a pooled connection before each checkout, so after a server restart (or a
connection the server ended) the next request gets a fresh connection instead of a 500.
SQLite: WAL lets readers run while one writer writes; ``busy_timeout`` makes a second writer wait for the lock
(``SQLITE_BUSY_TIMEOUT_MS``) instead of failing at once with "database is locked".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from flask import Flask
from sqlalchemy import Engine, event, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 15_000


def engine_options(app: Flask) -> dict:
    """The configured engine options with the database's own defaults underneath."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "postgresql":
        options.setdefault("pool_pre_ping", True)
    return options


def on_connect(app: Flask, engine: Engine) -> None:
    """Set SQLite's journal mode and busy timeout on every new connection of ``engine``."""
    if engine.dialect.name != "sqlite":
        return
    timeout = int(app.config.get("SQLITE_BUSY_TIMEOUT_MS", DEFAULT_SQLITE_BUSY_TIMEOUT_MS))

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(connection: sqlite3.Connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {timeout}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()


def lock_row(model: type, row_id: int, *, fresh: Iterable[object] | None = None) -> None:
    """Hold one row of ``model``'s table until the unit of work ends, then read afresh what may have changed.

    PostgreSQL: ``SELECT … FOR UPDATE``. SQLite locks the whole file for writing; a no-op UPDATE takes that lock as
    the transaction's first write, so every read after it is current. Then the objects in ``fresh`` (by default
    everything loaded) are expired, so what the caller reads of them next is read under the lock.
    """
    from web.extensions import db

    table = model.__table__
    session = db.session()
    if (table.name, row_id) in _rows_held(session):
        return          # held since earlier in this transaction: nobody else can have changed it meanwhile
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(table.c.id).where(table.c.id == row_id).with_for_update())
    else:
        session.execute(update(table).where(table.c.id == row_id).values(id=table.c.id))
    _rows_held(session).add((table.name, row_id))
    if fresh is None:
        session.expire_all()
    else:
        for instance in fresh:
            session.expire(instance)


def _rows_held(session: Session) -> set[tuple[str, int]]:
    """The rows :func:`lock_row` locked in the session's current transaction (a savepoint counts as its own: rolling
    back to it releases the locks taken after it). A submit locks its sheet for the draft it saves first and again
    to lock it; the second lock would only reload everything the first one read."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    owner, held = session.info.get("rows_held", (None, set()))
    if transaction is None:
        return set()
    if owner is not transaction:
        held = set()
        session.info["rows_held"] = (transaction, held)
    return held
