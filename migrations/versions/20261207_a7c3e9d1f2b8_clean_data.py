"""number counters per kind and year; one contact per account and e-mail; form nonces

Revision ID: a7c3e9d1f2b8
Revises: f3b9d2e7a1c4
Create Date: 2026-12-07 03:10:00

"""
import re
from collections import defaultdict

from alembic import op
import sqlalchemy as sa

import app.db  # noqa: F401  (custom column types)


# revision identifiers, used by Alembic.
revision = 'a7c3e9d1f2b8'
down_revision = 'f3b9d2e7a1c4'
branch_labels = None
depends_on = None

_NUMBER = re.compile(r"([A-Z]+)-(\d{4})-(\d+)")


def _seed_counters(connection) -> None:
    """Each (kind, year) starts from the highest number in use, read as an integer, not as text."""
    highest: dict[tuple[str, int], int] = defaultdict(int)
    for table in ("proposals", "orders"):
        for (number,) in connection.execute(sa.text(f"SELECT number FROM {table}")):
            if match := _NUMBER.fullmatch(number or ""):
                key = (match.group(1), int(match.group(2)))
                highest[key] = max(highest[key], int(match.group(3)))
    if highest:
        counters = sa.table("number_counters", sa.column("kind"), sa.column("year"), sa.column("last"))
        op.bulk_insert(counters, [{"kind": k, "year": y, "last": n} for (k, y), n in sorted(highest.items())])


def _merge_duplicate_contacts(connection) -> None:
    """Contacts of one account with the same e-mail (in any case) become the oldest of them."""
    rows = connection.execute(sa.text("SELECT id, account_id, email FROM contacts ORDER BY id")).all()
    keep: dict[tuple[int, str], int] = {}
    for contact_id, account_id, email in rows:
        folded = (email or "").strip().lower()
        first = keep.setdefault((account_id, folded), contact_id)
        if first != contact_id:
            connection.execute(
                sa.text("UPDATE proposals SET buyer_contact_id = :first WHERE buyer_contact_id = :dup"),
                {"first": first, "dup": contact_id},
            )
            connection.execute(sa.text("DELETE FROM contacts WHERE id = :dup"), {"dup": contact_id})
        elif folded != email:
            connection.execute(sa.text("UPDATE contacts SET email = :e WHERE id = :id"), {"e": folded, "id": contact_id})


def upgrade():
    op.create_table(
        'number_counters',
        sa.Column('kind', sa.String(length=4), nullable=False),
        sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('last', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'year', name=op.f('pk_number_counters')),
    )
    connection = op.get_bind()
    _seed_counters(connection)

    _merge_duplicate_contacts(connection)
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_contacts_account_id_email'), ['account_id', 'email'])

    op.create_table(
        'form_nonces',
        sa.Column('nonce', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_form_nonces_user_id_users')),
        sa.PrimaryKeyConstraint('nonce', name=op.f('pk_form_nonces')),
    )
    with op.batch_alter_table('form_nonces', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_nonces_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('form_nonces', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_nonces_created_at'))

    op.drop_table('form_nonces')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_contacts_account_id_email'), type_='unique')

    op.drop_table('number_counters')
