"""Traffic history: what each ad unit served per day, with its geo and device breakdown."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

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
