"""inventory changes: each hold or booking made, released or extended, under its sites' new version

Revision ID: c8f1e2a4b6d9
Revises: e5a2c8d1b4f7
Create Date: 2026-12-07 21:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "c8f1e2a4b6d9"
down_revision = "e5a2c8d1b4f7"
branch_labels = None
depends_on = None


def upgrade():
    # A process that kept the live set reads back only what changed since the versions it read.
    op.create_table(
        "inventory_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["ad_units.id"], name=op.f("fk_inventory_changes_site_id_ad_units")),
        sa.ForeignKeyConstraint(
            ["reservation_id"], ["reservations.id"], name=op.f("fk_inventory_changes_reservation_id_reservations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_changes")),
    )
    op.create_index("ix_inventory_changes_site_version", "inventory_changes", ["site_id", "version"], unique=False)


def downgrade():
    op.drop_index("ix_inventory_changes_site_version", table_name="inventory_changes")
    op.drop_table("inventory_changes")
