"""Proposal and order numbers: one counter per kind and year, taken under a lock, on both databases."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import current_clock, db
from app.numbering import NumberCounter, next_number
from app.orders.models import Order
from app.proposals.models import Proposal
from tests.integration.test_proposals import new_proposal
from tests.support.concurrency import at_once


def _renumber_this_years_proposals(*suffixes: int) -> None:
    """Give the demo's proposals of this year the numbers P-<year>-<suffix>, as if the year ran long,
    and forget the counters, which start again from the numbers in use (as the migration seeds them)."""
    year = current_clock().today().year
    ids = db.session.scalars(sa.select(Proposal.id).where(Proposal.number.like(f"P-{year}-%")).order_by(Proposal.id))
    for proposal_id, suffix in zip(ids, suffixes, strict=False):
        db.session.execute(
            sa.update(Proposal).where(Proposal.id == proposal_id).values(number=f"P-{year}-{suffix:04d}")
        )
    db.session.execute(sa.delete(NumberCounter))
    db.session.flush()


def test_the_proposal_after_p_9999_and_p_10000_is_p_10001(ctx):
    _renumber_this_years_proposals(9999, 10000)
    year = current_clock().today().year
    first, second = new_proposal(), new_proposal()
    assert (first.number, second.number) == (f"P-{year}-10001", f"P-{year}-10002")


def test_order_numbers_count_on_from_the_highest_in_use_read_as_a_number(ctx):
    year = current_clock().today().year
    db.session.execute(sa.update(Order).where(Order.number.like(f"O-{year}-%")).values(number=f"O-{year}-10000"))
    db.session.execute(sa.delete(NumberCounter))
    assert next_number("O", year, numbers=Order.number) == f"O-{year}-10001"
    assert next_number("O", year + 1, numbers=Order.number) == f"O-{year + 1}-0001"


def test_twenty_proposals_created_at_once_all_succeed_with_distinct_numbers(app, backend):
    def create() -> str:
        with app.app_context():
            try:
                number = new_proposal().number
                db.session.commit()
                return number
            finally:
                db.session.remove()

    numbers = at_once(20, create)
    assert all(isinstance(n, str) for n in numbers), numbers
    assert len(set(numbers)) == 20
    with app.app_context():
        stored = db.session.scalars(sa.select(Proposal.number).where(Proposal.number.in_(numbers))).all()
    assert sorted(stored) == sorted(numbers)
