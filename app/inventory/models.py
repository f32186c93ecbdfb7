"""Inventory: traffic history, the forecast made from it, and the holds and bookings that use it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import UTCDateTime
from app.extensions import db


class TrafficDay(db.Model):
    """Impressions of one ad unit on one day (in the publisher's time zone).

    The breakdowns map a targeting value's code to its impressions; each adds up to `impressions`.
    """

    __tablename__ = "traffic_days"
    __table_args__ = (sa.UniqueConstraint("ad_unit_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ad_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("ad_units.id"))
    day: Mapped[date]
    impressions: Mapped[int] = mapped_column(sa.BigInteger)
    by_geo: Mapped[dict[str, int]] = mapped_column(sa.JSON, default=dict)
    by_device: Mapped[dict[str, int]] = mapped_column(sa.JSON, default=dict)


class ForecastRun(db.Model):
    """One refresh of the forecast (`flask inventory forecast`)."""

    __tablename__ = "forecast_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: The last day of history the forecast was made from.
    history_end: Mapped[date]
    first_day: Mapped[date]
    last_day: Mapped[date]
    #: A short description of the model and its settings.
    method: Mapped[str] = mapped_column(sa.String(200))


class ForecastDay(db.Model):
    """Expected impressions of one slot on one future day."""

    __tablename__ = "forecast_days"
    __table_args__ = (sa.UniqueConstraint("ad_unit_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ad_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("ad_units.id"))
    day: Mapped[date] = mapped_column(index=True)
    impressions: Mapped[int] = mapped_column(sa.BigInteger)


class TrafficShare(db.Model):
    """The share of a slot's traffic that carries a targeting value, in parts per million.

    Parts per million keep atom arithmetic in integers: impressions x geo x device // 10^12.
    """

    __tablename__ = "traffic_shares"
    __table_args__ = (sa.UniqueConstraint("ad_unit_id", "dimension", "value_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ad_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("ad_units.id"), index=True)
    dimension: Mapped[str] = mapped_column(sa.String(40))
    value_code: Mapped[str] = mapped_column(sa.String(80))
    ppm: Mapped[int]


class ReservationKind(StrEnum):
    HOLD = "hold"
    BOOKING = "booking"


class Reservation(db.Model):
    """A hold (expires by itself) or a booking (an order line's committed inventory).

    What it covers is a box: slots x geo values x device values x days, in the publisher's time
    zone. Empty geo or device lists mean every value. A sponsorship has a share of voice instead
    of a quantity.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        sa.Index("ix_reservations_live", "released_at", "end_day", "start_day"),
        sa.CheckConstraint("(quantity IS NULL) <> (share IS NULL)", name="quantity_or_share"),
        # One live hold per proposal line: a second click on Hold extends the first, never adds one.
        # (Expiry is a moment, not a row change, so "live" here is "not released"; a line held again
        # after its hold expired releases the expired one first.)
        sa.Index(
            "uq_reservations_live_hold_per_line",
            "proposal_line_id",
            unique=True,
            sqlite_where=sa.text("kind = 'hold' AND released_at IS NULL AND proposal_line_id IS NOT NULL"),
            postgresql_where=sa.text("kind = 'hold' AND released_at IS NULL AND proposal_line_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    #: What it is for, in words ("Proposal 12, line 3 · Corvane Motors").
    label: Mapped[str] = mapped_column(sa.String(200))
    product_id: Mapped[int | None] = mapped_column(sa.ForeignKey("products.id"))
    ad_unit_ids: Mapped[list[int]] = mapped_column(sa.JSON)
    geo: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    device: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    start_day: Mapped[date]
    end_day: Mapped[date]
    quantity: Mapped[int | None] = mapped_column(sa.BigInteger)
    share: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 6))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Holds only: after this moment the hold simply stops counting.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    release_reason: Mapped[str] = mapped_column(sa.String(200), default="")
    #: The proposal line a hold is for. A plain id, not a foreign key: inventory does not depend on
    #: proposals, and a line releases its hold before it goes.
    proposal_line_id: Mapped[int | None]

    created_by: Mapped[User | None] = relationship(lazy="joined")

    def is_live(self, now: datetime) -> bool:
        if self.released_at is not None:
            return False
        return self.kind == ReservationKind.BOOKING or (self.expires_at is not None and self.expires_at > now)


class InventoryLock(db.Model):
    """One row per site: creating a hold or booking locks its sites' rows (SELECT ... FOR UPDATE on
    PostgreSQL), so availability is re-checked and written by one transaction at a time."""

    __tablename__ = "inventory_locks"

    site_id: Mapped[int] = mapped_column(sa.ForeignKey("ad_units.id"), primary_key=True)
    #: Bumped by every hold and booking on the site.
    version: Mapped[int] = mapped_column(default=0)


class InventoryChange(db.Model):
    """A hold or booking made, released or extended, under the version it gave each of its sites.

    A process keeps the live set as of some versions; when they move, it reads back only the
    reservations changed since (`live.live_held`), not every live row. A site's versions are
    given out under its row lock, so a version that a process reads is committed with every
    change below it."""

    __tablename__ = "inventory_changes"
    __table_args__ = (sa.Index("ix_inventory_changes_site_version", "site_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(sa.ForeignKey("ad_units.id"))
    version: Mapped[int]
    reservation_id: Mapped[int] = mapped_column(sa.ForeignKey("reservations.id"))
