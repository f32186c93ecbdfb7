"""rate cards: base rates, premiums, seasons, volume tiers, floors

Revision ID: 8d2e41c07a3b
Revises: 5cb687fbee96
Create Date: 2026-11-22 03:01:17

"""
from alembic import op
import sqlalchemy as sa

import app.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = '8d2e41c07a3b'
down_revision = '5cb687fbee96'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('rate_cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_to', sa.Date(), nullable=False),
    sa.Column('allowed_roles', sa.JSON(), nullable=False),
    sa.Column('combine_rules', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('valid_to >= valid_from', name=op.f('ck_rate_cards_validity_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_cards')),
    sa.UniqueConstraint('name', name=op.f('uq_rate_cards_name'))
    )

    op.create_table('rate_card_base_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('pricing_model', sa.String(length=10), nullable=False),
    sa.Column('rate', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['rate_cards.id'], name=op.f('fk_rate_card_base_rates_card_id_rate_cards')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_rate_card_base_rates_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_card_base_rates')),
    sa.UniqueConstraint('card_id', 'product_id', 'pricing_model', name=op.f('uq_rate_card_base_rates_card_id_product_id_pricing_model'))
    )

    with op.batch_alter_table('rate_card_base_rates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_card_base_rates_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rate_card_base_rates_product_id'), ['product_id'], unique=False)

    op.create_table('rate_card_floors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('pricing_model', sa.String(length=10), nullable=False),
    sa.Column('rate', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['rate_cards.id'], name=op.f('fk_rate_card_floors_card_id_rate_cards')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_rate_card_floors_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_card_floors')),
    sa.UniqueConstraint('card_id', 'product_id', 'pricing_model', name=op.f('uq_rate_card_floors_card_id_product_id_pricing_model'))
    )

    with op.batch_alter_table('rate_card_floors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_card_floors_card_id'), ['card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rate_card_floors_product_id'), ['product_id'], unique=False)

    op.create_table('rate_card_premiums',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.String(length=40), nullable=False),
    sa.Column('value_code', sa.String(length=80), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['rate_cards.id'], name=op.f('fk_rate_card_premiums_card_id_rate_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_card_premiums')),
    sa.UniqueConstraint('card_id', 'dimension', 'value_code', name=op.f('uq_rate_card_premiums_card_id_dimension_value_code'))
    )

    with op.batch_alter_table('rate_card_premiums', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_card_premiums_card_id'), ['card_id'], unique=False)

    op.create_table('rate_card_seasons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('adjustment_pct', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['rate_cards.id'], name=op.f('fk_rate_card_seasons_card_id_rate_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_card_seasons'))
    )

    with op.batch_alter_table('rate_card_seasons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_card_seasons_card_id'), ['card_id'], unique=False)

    op.create_table('rate_card_volume_tiers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('min_quantity', sa.BigInteger(), nullable=False),
    sa.Column('discount_pct', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['rate_cards.id'], name=op.f('fk_rate_card_volume_tiers_card_id_rate_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_card_volume_tiers')),
    sa.UniqueConstraint('card_id', 'min_quantity', name=op.f('uq_rate_card_volume_tiers_card_id_min_quantity'))
    )

    with op.batch_alter_table('rate_card_volume_tiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_card_volume_tiers_card_id'), ['card_id'], unique=False)


def downgrade():
    with op.batch_alter_table('rate_card_volume_tiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_card_volume_tiers_card_id'))

    op.drop_table('rate_card_volume_tiers')

    with op.batch_alter_table('rate_card_seasons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_card_seasons_card_id'))

    op.drop_table('rate_card_seasons')

    with op.batch_alter_table('rate_card_premiums', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_card_premiums_card_id'))

    op.drop_table('rate_card_premiums')

    with op.batch_alter_table('rate_card_floors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_card_floors_product_id'))
        batch_op.drop_index(batch_op.f('ix_rate_card_floors_card_id'))

    op.drop_table('rate_card_floors')

    with op.batch_alter_table('rate_card_base_rates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_card_base_rates_product_id'))
        batch_op.drop_index(batch_op.f('ix_rate_card_base_rates_card_id'))

    op.drop_table('rate_card_base_rates')

    op.drop_table('rate_cards')
