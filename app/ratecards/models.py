"""Rate cards: list prices per product and pricing model, with premiums, seasons, tiers, demand bands and floors.

A priced line copies the values it was priced with (the pricing step stores them), so editing a
card never changes a line already priced.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Product
from app.db import Money, Percent, UTCDateTime, utcnow
from app.extensions import db

#: Rates keep 4 decimals.
Rate = Money


class PremiumKind(StrEnum):
    PERCENT = "percent"
    ABSOLUTE = "absolute"

    @property
    def label(self) -> str:
        return {"percent": "% of base rate", "absolute": "amount added to the rate"}[self.value]


class Combine(StrEnum):
    """How premiums of one feature add up when several of its values match a line."""

    SUM = "sum"
    HIGHEST = "highest"

    @property
    def label(self) -> str:
        return {"sum": "Sum of all matching", "highest": "Highest matching only"}[self.value]


class RateCard(db.Model):
    __tablename__ = "rate_cards"
    __table_args__ = (
        sa.UniqueConstraint("name"),
        sa.CheckConstraint("valid_to >= valid_from", name="validity_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: ISO 4217; every rate on the card is in it.
    currency: Mapped[str] = mapped_column(sa.String(3))
    valid_from: Mapped[date]
    valid_to: Mapped[date]
    #: Roles that may price with this card; empty: everyone who sells.
    allowed_roles: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: By dimension key: Combine value for when several premiums of that feature match.
    combine_rules: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    base_rates: Mapped[list[BaseRate]] = relationship(
        back_populates="card", cascade="all, delete-orphan", lazy="selectin"
    )
    premiums: Mapped[list[Premium]] = relationship(back_populates="card", cascade="all, delete-orphan", lazy="selectin")
    seasons: Mapped[list[Season]] = relationship(
        back_populates="card", cascade="all, delete-orphan", lazy="selectin", order_by="Season.starts_on"
    )
    volume_tiers: Mapped[list[VolumeTier]] = relationship(
        back_populates="card", cascade="all, delete-orphan", lazy="selectin", order_by="VolumeTier.min_quantity"
    )
    demand_bands: Mapped[list[DemandBand]] = relationship(
        back_populates="card", cascade="all, delete-orphan", lazy="selectin", order_by="DemandBand.from_pct"
    )
    floors: Mapped[list[Floor]] = relationship(back_populates="card", cascade="all, delete-orphan", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}

    def combine_for(self, dimension: str) -> Combine:
        return Combine(self.combine_rules.get(dimension, Combine.HIGHEST.value))

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to

    def base_rate(self, product_id: int, pricing_model: str) -> Decimal | None:
        for rate in self.base_rates:
            if rate.product_id == product_id and rate.pricing_model == pricing_model:
                return rate.rate
        return None


class BaseRate(db.Model):
    __tablename__ = "rate_card_base_rates"
    __table_args__ = (sa.UniqueConstraint("card_id", "product_id", "pricing_model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(sa.ForeignKey("rate_cards.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    pricing_model: Mapped[str] = mapped_column(sa.String(10))
    #: In the card's currency: per 1,000 impressions (CPM), per day (CPD) or the whole fee (flat).
    rate: Mapped[Decimal] = mapped_column(Rate)

    card: Mapped[RateCard] = relationship(back_populates="base_rates")
    product: Mapped[Product] = relationship(lazy="joined")


class Premium(db.Model):
    """A surcharge for customised targeting of one feature, optionally for specific values only."""

    __tablename__ = "rate_card_premiums"
    __table_args__ = (sa.UniqueConstraint("card_id", "dimension", "value_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(sa.ForeignKey("rate_cards.id"), index=True)
    #: DimensionKey value.
    dimension: Mapped[str] = mapped_column(sa.String(40))
    #: The targeting value it applies to; None: any value of the dimension.
    value_code: Mapped[str | None] = mapped_column(sa.String(80))
    kind: Mapped[str] = mapped_column(sa.String(10))
    #: A percentage of the base rate (25 for +25 %) or an amount in the card's currency.
    amount: Mapped[Decimal] = mapped_column(Rate)

    card: Mapped[RateCard] = relationship(back_populates="premiums")


class Season(db.Model):
    """A date range whose flight days are priced up (or down) by a percentage."""

    __tablename__ = "rate_card_seasons"

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(sa.ForeignKey("rate_cards.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    adjustment_pct: Mapped[Decimal] = mapped_column(Percent)

    card: Mapped[RateCard] = relationship(back_populates="seasons")


class VolumeTier(db.Model):
    """From `min_quantity` units up, the rate drops by `discount_pct`."""

    __tablename__ = "rate_card_volume_tiers"
    __table_args__ = (sa.UniqueConstraint("card_id", "min_quantity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(sa.ForeignKey("rate_cards.id"), index=True)
    min_quantity: Mapped[int] = mapped_column(sa.BigInteger)
    discount_pct: Mapped[Decimal] = mapped_column(Percent)

    card: Mapped[RateCard] = relationship(back_populates="volume_tiers")


class DemandBand(db.Model):
    """From `from_pct` sell-through up to the next band's, the rate goes up (or down) by `adjustment_pct`.

    Sell-through is the share of the targeted inventory's sellable forecast over the flight that is
    already booked or held. Below the lowest band the rate is not adjusted.
    """

    __tablename__ = "rate_card_demand_bands"
    __table_args__ = (sa.UniqueConstraint("card_id", "from_pct"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(sa.ForeignKey("rate_cards.id"), index=True)
    #: Sell-through in percent (0 to 100) from which the band applies.
    from_pct: Mapped[Decimal] = mapped_column(Percent)
    #: 25 for +25 %; negative lowers the rate.
    adjustment_pct: Mapped[Decimal] = mapped_column(Percent)

    card: Mapped[RateCard] = relationship(back_populates="demand_bands")


class Floor(db.Model):
    """The lowest net rate allowed for a product and pricing model on this card."""

    __tablename__ = "rate_card_floors"
    __table_args__ = (sa.UniqueConstraint("card_id", "product_id", "pricing_model"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    card_id: Mapped[int] = mapped_column(sa.ForeignKey("rate_cards.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    pricing_model: Mapped[str] = mapped_column(sa.String(10))
    rate: Mapped[Decimal] = mapped_column(Rate)

    card: Mapped[RateCard] = relationship(back_populates="floors")
    product: Mapped[Product] = relationship(lazy="joined")
