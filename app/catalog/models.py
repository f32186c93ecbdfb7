"""What the publisher sells: ad units, targeting, products and packages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Percent, UTCDateTime, utcnow
from app.extensions import db


class Status(StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class AdUnitLevel(StrEnum):
    SITE = "site"
    SECTION = "section"
    SLOT = "slot"

    @property
    def child(self) -> AdUnitLevel | None:
        return {AdUnitLevel.SITE: AdUnitLevel.SECTION, AdUnitLevel.SECTION: AdUnitLevel.SLOT}.get(self)

    @property
    def parent(self) -> AdUnitLevel | None:
        return {AdUnitLevel.SECTION: AdUnitLevel.SITE, AdUnitLevel.SLOT: AdUnitLevel.SECTION}.get(self)


class DimensionKey(StrEnum):
    GEO = "geo"
    DEVICE = "device"
    KEY_VALUE = "key_value"
    AUDIENCE = "audience"
    DAYPART = "daypart"
    FREQUENCY_CAP = "frequency_cap"

    @property
    def label(self) -> str:
        return DIMENSION_LABELS[self]


DIMENSION_LABELS = {
    DimensionKey.GEO: "Geography",
    DimensionKey.DEVICE: "Device",
    DimensionKey.KEY_VALUE: "Key-values",
    DimensionKey.AUDIENCE: "Audience segments",
    DimensionKey.DAYPART: "Day-part",
    DimensionKey.FREQUENCY_CAP: "Frequency cap",
}
#: Dimensions whose values admins may add in the browser.
EDITABLE_DIMENSIONS = (DimensionKey.KEY_VALUE, DimensionKey.AUDIENCE)


class LineItemType(StrEnum):
    SPONSORSHIP = "sponsorship"
    STANDARD = "standard"
    PRICE_PRIORITY = "price_priority"
    HOUSE = "house"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class PricingModel(StrEnum):
    CPM = "cpm"
    CPD = "cpd"
    FLAT = "flat"

    @property
    def label(self) -> str:
        return {"cpm": "CPM", "cpd": "CPD", "flat": "Flat fee"}[self.value]

    @property
    def unit(self) -> str:
        return {"cpm": "per 1,000 impressions", "cpd": "per day", "flat": "in all"}[self.value]


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
    #: The unit's id in each ad-server connection, by connection name; ad ops fill these in.
    external_ids: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict, server_default="{}")
    #: Sites only: percent of the forecast never sold; None means the configured default.
    safety_margin_pct: Mapped[Decimal | None] = mapped_column(Percent)

    parent: Mapped[AdUnit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[AdUnit]] = relationship(back_populates="parent", order_by="AdUnit.name")

    @property
    def is_active(self) -> bool:
        return self.status == Status.ACTIVE

    def __repr__(self) -> str:
        return f"<AdUnit {self.code}>"


class TargetingDimension(db.Model):
    """A kind of targeting: geo, device, key-values, audience segments, day-part, frequency cap."""

    __tablename__ = "targeting_dimensions"
    __table_args__ = (sa.UniqueConstraint("key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(120))

    values: Mapped[list[TargetingValue]] = relationship(back_populates="dimension", order_by="TargetingValue.name")

    @property
    def active_values(self) -> list[TargetingValue]:
        return [v for v in self.values if v.status == Status.ACTIVE]


class TargetingValue(db.Model):
    __tablename__ = "targeting_values"
    __table_args__ = (sa.UniqueConstraint("dimension_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dimension_id: Mapped[int] = mapped_column(sa.ForeignKey("targeting_dimensions.id"), index=True)
    #: Stable code ("LON", "mobile", "section=sport"); products and rate cards refer to values by it.
    code: Mapped[str] = mapped_column(sa.String(80))
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Share of the publisher's traffic that carries this value, in percent (geo and device).
    traffic_share_pct: Mapped[Decimal | None] = mapped_column(Percent)
    status: Mapped[str] = mapped_column(sa.String(20), default="active", server_default="active")

    dimension: Mapped[TargetingDimension] = relationship(back_populates="values")


class Product(db.Model):
    """What a rep sells: ad units, sizes, a line item type, pricing models, customisable targeting."""

    __tablename__ = "products"
    __table_args__ = (sa.UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: Free text shared by products ("Display", "Video", "Sponsorship"); reports and approval rules use it.
    category: Mapped[str] = mapped_column(sa.String(80))
    line_item_type: Mapped[str] = mapped_column(sa.String(20))
    #: PricingModel values the rep may choose from.
    pricing_models: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    sizes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    min_quantity: Mapped[int | None] = mapped_column(sa.BigInteger)
    max_quantity: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: DimensionKey values a rep may customise on a line of this product.
    customisable: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: Default targeting, by dimension key: value codes a new line starts with.
    targeting_defaults: Mapped[dict[str, list[str]]] = mapped_column(sa.JSON, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    ad_unit_links: Mapped[list[ProductAdUnit]] = relationship(
        back_populates="product", cascade="all, delete-orphan", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_active(self) -> bool:
        return self.status == Status.ACTIVE

    @property
    def line_item_type_enum(self) -> LineItemType:
        return LineItemType(self.line_item_type)

    @property
    def pricing_model_enums(self) -> list[PricingModel]:
        return [PricingModel(m) for m in self.pricing_models]


class ProductAdUnit(db.Model):
    __tablename__ = "product_ad_units"
    __table_args__ = (sa.UniqueConstraint("product_id", "ad_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    ad_unit_id: Mapped[int] = mapped_column(sa.ForeignKey("ad_units.id"), index=True)
    #: Also every unit below this one in the tree, including ones added later.
    include_descendants: Mapped[bool] = mapped_column(default=True)

    product: Mapped[Product] = relationship(back_populates="ad_unit_links")
    ad_unit: Mapped[AdUnit] = relationship(lazy="joined")


class Package(db.Model):
    """Products sold together, with a package discount."""

    __tablename__ = "packages"
    __table_args__ = (sa.UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    discount_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal("0"))
    status: Mapped[str] = mapped_column(sa.String(20), default="active")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members: Mapped[list[PackageMember]] = relationship(
        back_populates="package", cascade="all, delete-orphan", lazy="selectin"
    )


class PackageMember(db.Model):
    __tablename__ = "package_members"
    __table_args__ = (sa.UniqueConstraint("package_id", "product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    package_id: Mapped[int] = mapped_column(sa.ForeignKey("packages.id"), index=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("products.id"), index=True)
    #: A mandatory member is always in the package; an optional one the rep may drop.
    mandatory: Mapped[bool] = mapped_column(default=True)

    package: Mapped[Package] = relationship(back_populates="members")
    product: Mapped[Product] = relationship(lazy="joined")
