"""The numbers people say on the phone (P-2026-0001, O-2026-0001): one counter row per kind and year.

`MAX(number) + 1` collided under concurrent creates and stopped at 9999, because "P-2026-9999"
sorts above "P-2026-10000". A counter row taken by an UPDATE is serialised on both databases
(PostgreSQL locks the row until the transaction ends; SQLite takes its write lock), and an integer
never sorts as text.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class NumberCounter(db.Model):
    __tablename__ = "number_counters"

    #: "P" for proposals, "O" for orders: the number's prefix
    kind: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    #: the last number given out in that year
    last: Mapped[int] = mapped_column(default=0)


def _highest_in_use(numbers: sa.ColumnElement[str], prefix: str) -> int:
    """The highest number already given out under `prefix`, read as an integer (not as text)."""
    pattern = re.compile(rf"{re.escape(prefix)}(\d+)")
    found = (pattern.fullmatch(n) for n in db.session.scalars(sa.select(numbers).where(numbers.like(f"{prefix}%"))))
    return max((int(m.group(1)) for m in found if m), default=0)


def next_number(kind: str, year: int, *, numbers: sa.ColumnElement[str]) -> str:
    """The next number of `kind` in `year`, e.g. "P-2026-0042"; `numbers` is the column holding them.

    The counter row stays locked until the transaction ends, so two creates never get the same
    number. A year's first number starts from what is already in use (rows made before counters).
    """
    prefix = f"{kind}-{year}-"
    key = (NumberCounter.kind == kind, NumberCounter.year == year)
    if db.session.scalar(sa.select(NumberCounter.year).where(*key)) is None:
        insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
        db.session.execute(
            insert(NumberCounter)
            .values(kind=kind, year=year, last=_highest_in_use(numbers, prefix))
            .on_conflict_do_nothing()
        )
    # The UPDATE takes the lock; the SELECT after it, in the same transaction, reads our own number.
    # (No RETURNING: SQLite before 3.35, as some long-term-support systems ship, lacks it.)
    db.session.execute(
        sa.update(NumberCounter).where(*key).values(last=NumberCounter.last + 1),
        execution_options={"synchronize_session": False},
    )
    last = db.session.scalar(sa.select(NumberCounter.last).where(*key))
    return f"{prefix}{last:04d}"
