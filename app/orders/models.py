"""Orders: what a signed proposal version becomes, with its lines' bookings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Account
from app.db import Money, UTCDateTime, utcnow
from app.extensions import db
from app.proposals.models import LineTerms, Proposal, ProposalVersion


class OrderStatus(StrEnum):
    BOOKED = "booked"
    #: some inventory vanished between the hold and the signature: ad ops decide
    NEEDS_ATTENTION = "needs_attention"

    @property
    def label(self) -> str:
        return {"booked": "Booked", "needs_attention": "Needs ad ops"}[self.value]


class PushState(StrEnum):
    """Where the order stands with its ad server."""

    #: no ad-server connection yet: ad ops push it once one exists
    NOT_PUSHED = "not_pushed"
    QUEUED = "queued"
    PUSHED = "pushed"
    #: the last push failed for good: in the ad-ops queue
    FAILED = "failed"

    @property
    def label(self) -> str:
        return {"not_pushed": "Not pushed", "queued": "Queued", "pushed": "In the ad server", "failed": "Push failed"}[
            self.value
        ]


class LineStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (sa.UniqueConstraint("number"), sa.UniqueConstraint("version_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(20))
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("proposal_versions.id"))
    advertiser_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[str] = mapped_column(sa.String(20))
    gross: Mapped[Decimal] = mapped_column(Money)
    net: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: 1 when signed; each applied change order adds one
    revision: Mapped[int] = mapped_column(default=1, server_default="1")
    connection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("adserver_connections.id"))
    push_state: Mapped[str] = mapped_column(
        sa.String(20), default=PushState.NOT_PUSHED.value, server_default="not_pushed"
    )
    remote_order_id: Mapped[str | None] = mapped_column(sa.String(120))
    #: the revision the ad server has, and when it got it
    pushed_revision: Mapped[int | None]
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship()
    version: Mapped[ProposalVersion] = relationship()
    advertiser: Mapped[Account] = relationship(foreign_keys=[advertiser_id], lazy="joined")
    agency: Mapped[Account | None] = relationship(foreign_keys=[agency_id])
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderLine.position"
    )

    @property
    def status_enum(self) -> OrderStatus:
        return OrderStatus(self.status)

    @property
    def name(self) -> str:
        return f"{self.number} {self.proposal.campaign_name}"

    @property
    def push_state_enum(self) -> PushState:
        return PushState(self.push_state)


class OrderLine(LineTerms, db.Model):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    position: Mapped[int]
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reservations.id"))
    #: impressions the final availability check could not book
    shortfall: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    status: Mapped[str] = mapped_column(sa.String(20), default=LineStatus.ACTIVE.value, server_default="active")
    remote_line_id: Mapped[str | None] = mapped_column(sa.String(120))
    #: the original line this free line makes good for (it bills nothing)
    make_good_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id"))
    #: where the ad server's line differs from the signed version, as of the last delivery sync
    drift: Mapped[list[str]] = mapped_column(sa.JSON, default=list, server_default="[]")
    drift_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: how finance bills the line (finance.models.BillingSource) and whether the contract caps it
    billing_source: Mapped[str] = mapped_column(sa.String(20), default="ad_server", server_default="ad_server")
    billing_cap: Mapped[str] = mapped_column(sa.String(20), default="contract", server_default="contract")
    #: when something a month's revenue depends on last changed (terms, status, delivery, counts)
    revenue_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: the first day a cancelled line no longer ran: it books nothing from then on
    cancelled_on: Mapped[date | None]

    order: Mapped[Order] = relationship(back_populates="lines")

    @property
    def status_enum(self) -> LineStatus:
        return LineStatus(self.status)
