"""audit_event is append-only in the database: a trigger refuses UPDATE and DELETE (PostgreSQL and SQLite)

The ORM already refuses to change an audit row; these triggers refuse it to plain SQL too (psql, sqlite3, a
script with the application's credentials). TRUNCATE is not a row operation and stays possible for the table's
owner (the test fixture empties PostgreSQL with it); production gives the application a role without TRUNCATE.
On SQLite, a later batch-mode rebuild of audit_event drops these triggers: such a migration must create them again.

Revision ID: 8393dbb4f97e
Revises: 5e55a1f0b7d2
Create Date: 2026-12-06 13:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '8393dbb4f97e'
down_revision = '5e55a1f0b7d2'
branch_labels = None
depends_on = None

MESSAGE = "audit_event is append-only"


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
            END
            $$""")
        op.execute("CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
                   "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()")
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_event_no_{operation.lower()} BEFORE {operation} ON audit_event "
                       f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: {operation} refused'); END")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION audit_event_append_only()")
    else:
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER audit_event_no_{operation}")
