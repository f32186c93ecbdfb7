"""finance: revenue kept by line and month (revenue_lines) and summed by month (revenue_months),
back-filled from the orders

Revision ID: e5a2c8d1b4f7
Revises: d4b7c1e9a3f6
Create Date: 2026-12-07 15:10:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session


# revision identifiers, used by Alembic.
revision = "e5a2c8d1b4f7"
down_revision = "d4b7c1e9a3f6"
branch_labels = None
depends_on = None

SUMS = (
    "rows",
    "gross",
    "commission",
    "net",
    "recognised",
    "changed",
    "past_ahead",
    "past_ahead_n",
    "past_behind",
    "past_behind_n",
    "past_no_counts",
    "past_no_counts_n",
    "future_to_come",
    "future_to_come_n",
    "future_ahead",
    "future_ahead_n",
    "future_behind",
    "future_behind_n",
    "now_to_come",
    "now_to_come_n",
    "now_ahead",
    "now_ahead_n",
    "now_behind",
    "now_behind_n",
    "now_no_counts",
    "now_no_counts_n",
)


def upgrade():
    op.create_table(
        "revenue_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar", sa.String(length=10), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(length=20), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("story", sa.String(length=12), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("gross", sa.BigInteger(), nullable=False),
        sa.Column("commission", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("recognised", sa.BigInteger(), nullable=False),
        sa.Column("awaiting", sa.Boolean(), nullable=False),
        sa.Column("span_start", sa.BigInteger(), nullable=False),
        sa.Column("span_end", sa.BigInteger(), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_line_id"],
            ["order_lines.id"],
            name=op.f("fk_revenue_lines_order_line_id_order_lines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue_lines")),
    )
    with op.batch_alter_table("revenue_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_revenue_lines_page",
            ["calendar", "period", "order_number", "rank", "order_line_id", "seq"],
            unique=False,
        )
        batch_op.create_index("ix_revenue_lines_story", ["calendar", "period", "story", "zone"], unique=False)
        batch_op.create_index(batch_op.f("ix_revenue_lines_order_line_id"), ["order_line_id"], unique=False)
    op.create_table(
        "revenue_months",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("calendar", sa.String(length=10), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("story", sa.String(length=12), nullable=False),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in SUMS if not name.startswith("now_")],
        sa.Column("as_of", sa.Date(), nullable=True),
        *[sa.Column(name, sa.BigInteger(), nullable=False) for name in SUMS if name.startswith("now_")],
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revenue_months")),
        sa.UniqueConstraint("calendar", "period", "currency", "story", name=op.f("uq_revenue_months_calendar")),
    )
    op.create_table(
        "revenue_under_way",
        sa.Column("calendar", sa.String(length=10), nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("calendar", name=op.f("pk_revenue_under_way")),
    )
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_index("ix_order_lines_start_day", ["start_day"], unique=False)
        batch_op.create_index("ix_order_lines_end_day", ["end_day"], unique=False)
        batch_op.create_index("ix_order_lines_status", ["status"], unique=False)
    _back_fill()


def _back_fill():
    """The rows as the finance page computed them, written with the app's own code on this
    migration's connection (so they commit with the tables)."""
    from app.extensions import current_clock, db
    from app.finance import maintained

    scoped = db.session
    session = Session(bind=op.get_bind())
    db.session = session
    try:
        maintained.rebuild(today=current_clock().today())
        session.flush()
    finally:
        db.session = scoped
        session.close()


def downgrade():
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_order_lines_status")
        batch_op.drop_index("ix_order_lines_end_day")
        batch_op.drop_index("ix_order_lines_start_day")
    op.drop_table("revenue_under_way")
    op.drop_table("revenue_months")
    with op.batch_alter_table("revenue_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_revenue_lines_order_line_id"))
        batch_op.drop_index("ix_revenue_lines_story")
        batch_op.drop_index("ix_revenue_lines_page")
    op.drop_table("revenue_lines")
