"""catalog: products, packages, ad-server ids of ad units, archived targeting values

Revision ID: 5cb687fbee96
Revises: c06012d9bdf3
Create Date: 2026-11-22 03:01:17

"""
from alembic import op
import sqlalchemy as sa

import app.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '5cb687fbee96'
down_revision = 'c06012d9bdf3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('packages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('discount_pct', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_packages')),
    sa.UniqueConstraint('name', name=op.f('uq_packages_name'))
    )

    op.create_table('products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=80), nullable=False),
    sa.Column('line_item_type', sa.String(length=20), nullable=False),
    sa.Column('pricing_models', sa.JSON(), nullable=False),
    sa.Column('sizes', sa.JSON(), nullable=False),
    sa.Column('min_quantity', sa.BigInteger(), nullable=True),
    sa.Column('max_quantity', sa.BigInteger(), nullable=True),
    sa.Column('customisable', sa.JSON(), nullable=False),
    sa.Column('targeting_defaults', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('name', name=op.f('uq_products_name'))
    )

    op.create_table('package_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('package_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('mandatory', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['packages.id'], name=op.f('fk_package_members_package_id_packages')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_package_members_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_package_members')),
    sa.UniqueConstraint('package_id', 'product_id', name=op.f('uq_package_members_package_id_product_id'))
    )

    with op.batch_alter_table('package_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_members_package_id'), ['package_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_package_members_product_id'), ['product_id'], unique=False)

    op.create_table('product_ad_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('ad_unit_id', sa.Integer(), nullable=False),
    sa.Column('include_descendants', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['ad_unit_id'], ['ad_units.id'], name=op.f('fk_product_ad_units_ad_unit_id_ad_units')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_ad_units_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_ad_units')),
    sa.UniqueConstraint('product_id', 'ad_unit_id', name=op.f('uq_product_ad_units_product_id_ad_unit_id'))
    )

    with op.batch_alter_table('product_ad_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_ad_units_ad_unit_id'), ['ad_unit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_product_ad_units_product_id'), ['product_id'], unique=False)

    with op.batch_alter_table('ad_units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('external_ids', sa.JSON(), server_default='{}', nullable=False))

    with op.batch_alter_table('targeting_values', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), server_default='active', nullable=False))


def downgrade():
    with op.batch_alter_table('targeting_values', schema=None) as batch_op:
        batch_op.drop_column('status')

    with op.batch_alter_table('ad_units', schema=None) as batch_op:
        batch_op.drop_column('external_ids')

    with op.batch_alter_table('product_ad_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_ad_units_product_id'))
        batch_op.drop_index(batch_op.f('ix_product_ad_units_ad_unit_id'))

    op.drop_table('product_ad_units')

    with op.batch_alter_table('package_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_members_product_id'))
        batch_op.drop_index(batch_op.f('ix_package_members_package_id'))

    op.drop_table('package_members')

    op.drop_table('products')

    op.drop_table('packages')
