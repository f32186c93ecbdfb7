"""What the publisher sells from: ad units and targeting.

This step keeps only what the demo publisher and the traffic history need; products, packages and
rate cards come with the catalog issue.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Percent
from app.extensions import db


class AdUnitLevel(StrEnum):
    SITE = "site"
    SECTION = "section"
    SLOT = "slot"


class AdUnit(db.Model):
    """A place where ads show, in a tree site > section > slot."""

    __tablename__ = "ad_units"
    __table_args__ = (sa.UniqueConstraint("code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ad_units.id"), index=True)
    level: Mapped[str] = mapped_column(sa.String(10))
    #: Stable identifier, unique across the publisher ("sport/football/top-leaderboard").
    code: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Creative sizes such as "300x250", "728x90" or "video".
    sizes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: "active" or "archived".
    status: Mapped[str] = mapped_column(sa.String(20), default="active")

    parent: Mapped[AdUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[AdUnit]] = relationship(back_populates="parent", order_by="AdUnit.name")


class TargetingDimension(db.Model):
    """A kind of targeting: geo, device, key-values, audience segments, day-part, frequency cap."""

    __tablename__ = "targeting_dimensions"
    __table_args__ = (sa.UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(120))

    values: Mapped[list[TargetingValue]] = relationship(back_populates="dimension", order_by="TargetingValue.name")


class TargetingValue(db.Model):
    __tablename__ = "targeting_values"
    __table_args__ = (sa.UniqueConstraint("dimension_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dimension_id: Mapped[int] = mapped_column(sa.ForeignKey("targeting_dimensions.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(80))
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Share of the publisher's traffic that carries this value, in percent (geo and device).
    traffic_share_pct: Mapped[Decimal | None] = mapped_column(Percent)

    dimension: Mapped[TargetingDimension] = relationship(back_populates="values")
