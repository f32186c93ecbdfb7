"""audit log is append-only

Revision ID: 67c8e7a33869
Revises: c566dd0548a1
Create Date: 2026-11-22 02:50:23.555260

"""
from alembic import op
import sqlalchemy as sa

import app.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '67c8e7a33869'
down_revision = 'c566dd0548a1'
branch_labels = None
depends_on = None


MESSAGE = "audit_events is append-only"


def upgrade():
    """Refuse UPDATE and DELETE on audit_events in the database itself, not only in the ORM."""
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}';
            END $$;
            """
        )
        for verb in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb} BEFORE {verb.upper()} ON audit_events "
                "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change()"
            )
    else:
        for verb in ("update", "delete"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb} BEFORE {verb.upper()} ON audit_events "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            )


def downgrade():
    for verb in ("update", "delete"):
        op.execute(f"DROP TRIGGER audit_events_no_{verb}" + (
            " ON audit_events" if op.get_context().dialect.name == "postgresql" else ""
        ))
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_events_refuse_change()")
