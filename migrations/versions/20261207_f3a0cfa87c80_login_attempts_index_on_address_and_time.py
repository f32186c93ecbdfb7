"""login attempts: an index on (remote_addr, at) for the per-address sign-in throttle

Revision ID: f3a0cfa87c80
Revises: a7c3e9d1f2b8
Create Date: 2026-12-07 03:20:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f3a0cfa87c80'
down_revision = 'a7c3e9d1f2b8'
branch_labels = None
depends_on = None


def upgrade():
    # The per-address check reads one address's failures in the window at every sign-in.
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_remote_addr_at', ['remote_addr', 'at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_remote_addr_at')
