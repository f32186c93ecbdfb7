"""proposals: notes for the buyer (printed on the PDF) beside the internal notes

Existing notes stay in `notes`, which from now on holds internal notes only (never on the PDF):
nothing a rep wrote for colleagues reaches a buyer because the column changed meaning.

Revision ID: d4b7c1e9a3f6
Revises: b5e1d8c2a9f4
Create Date: 2026-12-07 12:10:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd4b7c1e9a3f6'
down_revision = 'b5e1d8c2a9f4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('buyer_notes', sa.Text(), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_column('buyer_notes')
