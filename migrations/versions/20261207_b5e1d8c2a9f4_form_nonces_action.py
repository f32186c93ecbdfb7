"""form nonces: the address the form was posted to, so a nonce sent by another form is refused

Revision ID: b5e1d8c2a9f4
Revises: a7c3e91d5b20
Create Date: 2026-12-07 04:10:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b5e1d8c2a9f4'
down_revision = 'a7c3e91d5b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('form_nonces', schema=None) as batch_op:
        batch_op.add_column(sa.Column('action', sa.String(length=500), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('form_nonces', schema=None) as batch_op:
        batch_op.drop_column('action')
