"""Ad-server connections, id mappings, the push outbox and delivery that comes back."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.orders.models import Order


class MappingKind(StrEnum):
    AD_UNIT = "ad_unit"
    TARGETING_VALUE = "targeting_value"
    ACCOUNT = "account"

    @property
    def label(self) -> str:
        return {"ad_unit": "Ad units", "targeting_value": "Targeting values", "account": "Advertisers"}[self.value]


class Connection(db.Model):
    """One ad server Flightdeck pushes orders to. New orders go to the default connection."""

    __tablename__ = "adserver_connections"
    __table_args__ = (sa.UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    #: the adapter: sandbox, gam or revive
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: the adapter's settings (network code, URL, credentials), by SettingField name
    settings: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    is_default: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    #: the last delivery sync that finished, and the claim of a sync under way
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the last day whose delivery the ad server reported (its yesterday at the last sync)
    delivered_through: Mapped[date | None]
    sync_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdMapping(db.Model):
    """A Flightdeck ad unit, targeting value or account as one connection's ad server knows it."""

    __tablename__ = "adserver_mappings"
    __table_args__ = (sa.UniqueConstraint("connection_id", "kind", "local_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("adserver_connections.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    local_id: Mapped[int]
    remote_id: Mapped[str] = mapped_column(sa.String(120))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    #: out of attempts, or refused for a reason a retry cannot fix: waits for ad ops
    DEAD = "dead"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {
            "pending": "Waiting",
            "running": "Sending",
            "done": "Sent",
            "dead": "Needs ad ops",
            "cancelled": "Cancelled",
        }[self.value]


class PushJob(db.Model):
    """A row of the outbox: send an order's current revision to its ad server."""

    __tablename__ = "push_jobs"
    __table_args__ = (sa.Index("ix_push_jobs_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("orders.id"), index=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("adserver_connections.id"))
    #: the order's revision this job was written for
    revision: Mapped[int] = mapped_column(default=1)
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    status: Mapped[str] = mapped_column(sa.String(20), default=JobStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(sa.String(120))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    connection: Mapped[Connection] = relationship(lazy="joined")
    order: Mapped[Order] = relationship(lazy="joined")
    attempts_made: Mapped[list[PushAttempt]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="PushAttempt.id"
    )

    @property
    def status_enum(self) -> JobStatus:
        return JobStatus(self.status)


class PushAttempt(db.Model):
    """One try at a job: the push history ad ops read."""

    __tablename__ = "push_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("push_jobs.id", ondelete="CASCADE"), index=True)
    worker: Mapped[str] = mapped_column(sa.String(120), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: sent, retry (a transient error) or failed
    outcome: Mapped[str] = mapped_column(sa.String(20))
    message: Mapped[str] = mapped_column(sa.Text, default="")

    job: Mapped[PushJob] = relationship(back_populates="attempts_made")


class DeliveryDay(db.Model):
    """What the ad server delivered for one order line on one day of the line's time zone."""

    __tablename__ = "delivery_days"
    __table_args__ = (sa.UniqueConstraint("order_line_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_lines.id", ondelete="CASCADE"))
    day: Mapped[date]
    impressions: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    clicks: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The sandbox ad server's own tables: what a real ad server would keep on its side.


class SandboxAdvertiser(db.Model):
    __tablename__ = "sandbox_advertisers"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("adserver_connections.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20), default="advertiser")


class SandboxOrder(db.Model):
    __tablename__ = "sandbox_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("adserver_connections.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(300))
    external_id: Mapped[str] = mapped_column(sa.String(40))
    advertiser_id: Mapped[int] = mapped_column(sa.ForeignKey("sandbox_advertisers.id"))
    approved: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SandboxLineItem(db.Model):
    __tablename__ = "sandbox_line_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("sandbox_orders.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(300))
    #: the line as pushed: type, pricing model, rate, impressions, flight, ad units, targeting
    spec: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
