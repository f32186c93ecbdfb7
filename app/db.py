"""Column types, name and time helpers shared by every domain (the model base is in `app.extensions`)."""

from __future__ import annotations

import enum
import sqlite3
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import MappedAsDataclass  # noqa: F401  (re-exported)
from sqlalchemy.sql.functions import FunctionElement

from app.extensions import db
from app.validation import clean_line, folded, folds


class Unchecked(enum.Enum):
    """An update's explicit opt-out of optimistic locking (see `stale`)."""

    ANY_VERSION = "any version"


#: What a caller that genuinely has no version passes (a CSV import, the demo load): said by name,
#: so no update skips the check by forgetting it.
ANY_VERSION = Unchecked.ANY_VERSION


def stale(current: int, expected_version: int | Unchecked) -> bool:
    """Whether an update made from `expected_version` would overwrite a change made since.
    A missing (None) or malformed version is as stale as an old one; only ANY_VERSION skips the check."""
    if expected_version is ANY_VERSION:
        return False
    return not isinstance(expected_version, int) or expected_version != current


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones; PostgreSQL's `timestamptz` does. Either way the application only
    ever sees aware UTC datetimes, and naive ones are refused rather than guessed at.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC timestamp column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


#: Money amounts: 2 decimals are shown, 4 kept so rates and sums never lose a cent.
Money = sa.Numeric(18, 4, asdecimal=True)
#: Percentages such as 15.00 for 15 %.
Percent = sa.Numeric(7, 4, asdecimal=True)

ZERO = Decimal("0")


def name_taken(model: type, name: str, *, other_than: int | None, **same: object) -> bool:
    """Whether another row of `model` already has `name`, ignoring case, invisible characters and
    kinds of space (and matching `same`).

    lower() runs on both sides in SQL: SQLite folds ASCII only, so comparing with Python's
    lower() would let “ÉTÉ” past an existing “ÉTÉ”. The stored names go through the cleaner's own
    table (`folds`: invisible characters removed, other spaces made plain, runs of spaces made
    one), so a row saved before names were cleaned still counts, on SQLite as on PostgreSQL.
    """
    query = sa.select(model.id).where(
        sa.func.lower(FoldedName(model.name)) == sa.func.lower(clean_line(name)), model.id != (other_than or 0)
    )
    for column, value in same.items():
        query = query.where(getattr(model, column) == value)
    return db.session.scalar(query.limit(1)) is not None


class FoldedName(FunctionElement):
    """A stored name as the cleaner would leave it (`app.validation.folded`), in SQL: PostgreSQL
    translates and collapses it itself; SQLite, whose parser cannot nest ninety replace() calls,
    calls the Python function that every SQLite connection is given."""

    type = sa.String()
    inherit_cache = True


@compiles(FoldedName, "postgresql")
def _folded_name_on_postgresql(element: FoldedName, compiler, **kw) -> str:
    spaces = "".join(chr(code) for code, into in folds().items() if into == " ")
    removed = "".join(chr(code) for code, into in folds().items() if into == "")
    name = compiler.process(element.clauses, **kw)
    translated = f"translate({name}, {compiler.process(sa.literal(spaces + removed), **kw)}, "
    translated += f"{compiler.process(sa.literal(' ' * len(spaces)), **kw)})"
    return f"btrim(regexp_replace({translated}, ' {{2,}}', ' ', 'g'), ' ')"


@compiles(FoldedName)
def _folded_name_elsewhere(element: FoldedName, compiler, **kw) -> str:
    return f"flightdeck_folded_name({compiler.process(element.clauses, **kw)})"


@sa.event.listens_for(sa.engine.Engine, "connect")
def _give_sqlite_the_name_folding(dbapi_connection, _record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("flightdeck_folded_name", 1, folded, deterministic=True)
