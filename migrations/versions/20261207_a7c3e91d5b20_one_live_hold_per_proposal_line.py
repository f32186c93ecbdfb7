"""one live hold per proposal line: holds name their line; a partial unique index; strays released

Revision ID: a7c3e91d5b20
Revises: f3a0cfa87c80
Create Date: 2026-12-07 03:30:00.000000

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91d5b20'
down_revision = 'f3a0cfa87c80'
branch_labels = None
depends_on = None

LIVE = "kind = 'hold' AND released_at IS NULL AND proposal_line_id IS NOT NULL"
REASON = "a second hold of one line (two clicks at once): released when one live hold per line became the rule"


def upgrade():
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proposal_line_id', sa.Integer(), nullable=True))

    bind = op.get_bind()
    # Data fix. A hold belongs to the line that points at it...
    bind.execute(sa.text(
        "UPDATE reservations SET proposal_line_id = "
        "(SELECT proposal_lines.id FROM proposal_lines WHERE proposal_lines.hold_id = reservations.id) "
        "WHERE kind = 'hold' AND EXISTS "
        "(SELECT 1 FROM proposal_lines WHERE proposal_lines.hold_id = reservations.id)"
    ))
    # ...and a proposal line's hold ("P-2026-0001 line 2: Advertiser") that no line points at is one
    # that simultaneous clicks left behind: it hid inventory from everyone until it expired. Release it
    # (holds made on the inventory pages carry the label their author typed and no line: left alone).
    now = datetime.now(timezone.utc)
    strays = bind.execute(sa.text(
        "SELECT id FROM reservations WHERE kind = 'hold' AND released_at IS NULL AND proposal_line_id IS NULL "
        "AND label LIKE 'P-%line %:%' "
        "AND NOT EXISTS (SELECT 1 FROM proposal_lines WHERE proposal_lines.hold_id = reservations.id)"
    )).scalars().all()
    reservations = sa.table(
        'reservations', sa.column('id'), sa.column('released_at', sa.DateTime(timezone=True)),
        sa.column('release_reason'),
    )
    audit = sa.table(
        'audit_events', sa.column('at', sa.DateTime(timezone=True)), sa.column('actor_id'),
        sa.column('actor_label'), sa.column('entity_type'), sa.column('entity_id'), sa.column('action'),
        sa.column('summary'), sa.column('before', sa.JSON), sa.column('after', sa.JSON),
    )
    for stray in strays:
        bind.execute(reservations.update().where(reservations.c.id == stray).values(
            released_at=now, release_reason=REASON
        ))
        bind.execute(audit.insert().values(
            at=now, actor_id=None, actor_label='system', entity_type='reservation', entity_id=stray,
            action='released', summary=f'Released hold: {REASON}.', before=None, after=None,
        ))
    if strays:  # cached availability is per inventory version: every site's moves on
        bind.execute(sa.text("UPDATE inventory_locks SET version = version + 1"))

    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index(
            'uq_reservations_live_hold_per_line', ['proposal_line_id'], unique=True,
            sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE),
        )


def downgrade():
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.drop_index('uq_reservations_live_hold_per_line')
        batch_op.drop_column('proposal_line_id')
