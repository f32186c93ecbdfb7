"""Finance: closed months, what was frozen when they closed, adjustments, third-party counts, exports."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Money, UTCDateTime, utcnow
from app.extensions import db
from app.orders.models import OrderLine


class BillingSource(StrEnum):
    #: bill the line's cost as booked, month by month
    CONTRACTED = "contracted"
    #: bill what the ad server delivered
    AD_SERVER = "ad_server"
    #: bill counts from a third party (uploaded as CSV)
    THIRD_PARTY = "third_party"

    @property
    def label(self) -> str:
        return {"contracted": "Contracted", "ad_server": "Ad server", "third_party": "Third party"}[self.value]


class BillingCap(StrEnum):
    NONE = "none"
    #: never bill more than the line's contracted cost
    CONTRACT = "contract"

    @property
    def label(self) -> str:
        return {"none": "No cap", "contract": "Capped at the contract"}[self.value]


class ClosedPeriod(db.Model):
    """A month finance closed: its figures are frozen in revenue_entries and never change."""

    __tablename__ = "closed_periods"
    __table_args__ = (sa.UniqueConstraint("period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the first day of the month
    period: Mapped[date]
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    rows: Mapped[int] = mapped_column(default=0)
    #: currency -> {"booked_net": ..., "recognised": ...} as strings
    totals: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    #: lines changed before this were compared with the month already (adjustments posted)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EntryKind(StrEnum):
    #: a line's figures for a month, frozen when the month closed
    LINE = "line"
    #: a later change to a closed month, posted into the first open month
    ADJUSTMENT = "adjustment"


class RevenueEntry(db.Model):
    __tablename__ = "revenue_entries"
    __table_args__ = (sa.Index("ix_revenue_entries_period_line", "period", "order_line_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: the month the entry counts in (for an adjustment, the month it was posted into)
    period: Mapped[date]
    #: an adjustment's closed month that it corrects
    for_period: Mapped[date | None]
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id"), index=True)
    currency: Mapped[str] = mapped_column(sa.String(3))
    gross: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    commission: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    net: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    delivered: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    recognised: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    reason: Mapped[str] = mapped_column(sa.String(300), default="")
    #: how the line was billed when the entry was made
    billing_source: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ThirdPartyCount(db.Model):
    """Units a third party counted for a line on a day, uploaded by finance."""

    __tablename__ = "third_party_counts"
    __table_args__ = (sa.UniqueConstraint("order_line_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id", ondelete="CASCADE"))
    day: Mapped[date]
    units: Mapped[int] = mapped_column(sa.BigInteger)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))


class FinanceExport(db.Model):
    """An export finance made, with its control summary."""

    __tablename__ = "finance_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: who ran it from the command line, when not a user
    created_by_label: Mapped[str] = mapped_column(sa.String(120), default="")
    format: Mapped[str] = mapped_column(sa.String(10))
    filters: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    rows: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: currency -> {column: total} as strings
    totals: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    filename: Mapped[str] = mapped_column(sa.String(200), default="")
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger, default=0)

    created_by: Mapped[User | None] = relationship(lazy="joined")


class RevenueLine(db.Model):
    """One row of the finance page, kept as orders change (app.finance.maintained): a line's figures
    in a month of a calendar (calendar or broadcast), or an adjustment posted into the month. Money
    in the currency's minor units, so sums are exact in SQL. Nothing here depends on the day it is
    read: how much of the month has gone by is applied when the page reads it (`span_start`,
    `span_end`: the flight's time in the month, epoch seconds of local midnights)."""

    __tablename__ = "revenue_lines"
    __table_args__ = (
        sa.Index("ix_revenue_lines_page", "calendar", "period", "order_number", "rank", "order_line_id", "seq"),
        sa.Index("ix_revenue_lines_story", "calendar", "period", "story", "zone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar: Mapped[str] = mapped_column(sa.String(10))
    period: Mapped[date]
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id", ondelete="CASCADE"), index=True)
    order_number: Mapped[str] = mapped_column(sa.String(20))
    #: 0 for the line's own row, 1 for an adjustment (they follow the order's lines)
    rank: Mapped[int] = mapped_column(default=0)
    #: an adjustment's revenue entry id (0 for the line's row)
    seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: why recognised may differ from booked (app.finance.variance): paced lines follow the days gone by
    story: Mapped[str] = mapped_column(sa.String(12))
    currency: Mapped[str] = mapped_column(sa.String(3))
    gross: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    commission: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    net: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    recognised: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: billed from third-party counts and none counted in the month
    awaiting: Mapped[bool] = mapped_column(default=False)
    span_start: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    span_end: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    zone: Mapped[str] = mapped_column(sa.String(64), default="")


class RevenueMonth(db.Model):
    """The finance page's months: RevenueLine summed by calendar, month, currency and story, kept in
    the same transaction. The variance of paced lines is kept as a month over (every booked day
    gone by), as a month not started, and for the month under way as of a day (`as_of`, moved on
    daily by `flask finance roll-day`; on another day the page sums that month from RevenueLine)."""

    __tablename__ = "revenue_months"
    __table_args__ = (sa.UniqueConstraint("calendar", "period", "currency", "story"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar: Mapped[str] = mapped_column(sa.String(10))
    period: Mapped[date]
    currency: Mapped[str] = mapped_column(sa.String(3))
    story: Mapped[str] = mapped_column(sa.String(12))
    rows: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    gross: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    commission: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    net: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    recognised: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: rows whose recognised differs from gross
    changed: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    past_ahead: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    past_ahead_n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    past_behind: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    past_behind_n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    past_no_counts: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    past_no_counts_n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    future_to_come: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    future_to_come_n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    future_ahead: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    future_ahead_n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    future_behind: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    future_behind_n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: the month under way as of this day (`flask finance roll-day`, daily): its paced lines' variance
    as_of: Mapped[date | None]
    now_to_come: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    now_to_come_n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    now_ahead: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    now_ahead_n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    now_behind: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    now_behind_n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    now_no_counts: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    now_no_counts_n: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class RevenueUnderWay(db.Model):
    """Per calendar, the month under way and the day its month sums' paced variance is as of."""

    __tablename__ = "revenue_under_way"

    calendar: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    period: Mapped[date]
    as_of: Mapped[date]


#: What the finance page asks of every order line at once: the first month with a line, and the
#: last with booked revenue (app.finance.queries), answered from an index instead of a scan.
sa.Index("ix_order_lines_start_day", OrderLine.start_day)
sa.Index("ix_order_lines_end_day", OrderLine.end_day)
sa.Index("ix_order_lines_status", OrderLine.status)
