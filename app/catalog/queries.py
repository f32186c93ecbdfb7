"""Read-side queries for the catalog screens."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from app.catalog.models import AdUnit, AdUnitLevel, Package, PackageMember, PricingModel, Product, Status
from app.extensions import db
from app.validation import parse_id


@dataclass
class CatalogFilters:
    search: str = ""
    category: str = ""
    site_id: int | None = None
    size: str = ""
    pricing_model: str = ""
    card_id: int | None = None
    include_archived: bool = False

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> CatalogFilters:
        model = args.get("model", "")
        return cls(
            search=args.get("q", "").strip()[:100],
            category=args.get("category", "").strip()[:80],
            site_id=parse_id(args.get("site")),
            size=args.get("size", "").strip()[:40],
            pricing_model=model if model in {m.value for m in PricingModel} else "",
            card_id=parse_id(args.get("card")),
            include_archived=args.get("archived") == "1",
        )


def all_units() -> dict[int, AdUnit]:
    return {u.id: u for u in db.session.scalars(sa.select(AdUnit))}


def site_of(unit: AdUnit, units: dict[int, AdUnit]) -> AdUnit:
    while unit.parent_id is not None:
        unit = units[unit.parent_id]
    return unit


def sites() -> list[AdUnit]:
    return list(
        db.session.scalars(
            sa.select(AdUnit)
            .where(AdUnit.level == AdUnitLevel.SITE.value, AdUnit.status == Status.ACTIVE.value)
            .order_by(AdUnit.name)
        )
    )


def product_sites(product: Product, units: dict[int, AdUnit]) -> set[int]:
    return {site_of(units[link.ad_unit_id], units).id for link in product.ad_unit_links}


def catalog_products(filters: CatalogFilters) -> list[Product]:
    """Products matching the filters, by category and name. Catalogs are small: filters run here."""
    query = sa.select(Product).order_by(Product.category, Product.name)
    if not filters.include_archived:
        query = query.where(Product.status == Status.ACTIVE.value)
    if filters.search:
        # autoescape: a % or _ the rep types is searched for, not a wildcard that matches everything.
        text = filters.search.lower()
        query = query.where(
            sa.or_(
                sa.func.lower(Product.name).contains(text, autoescape=True),
                sa.func.lower(Product.description).contains(text, autoescape=True),
            )
        )
    if filters.category:
        query = query.where(Product.category == filters.category)
    products = list(db.session.scalars(query))
    if filters.size:
        products = [p for p in products if filters.size in p.sizes]
    if filters.pricing_model:
        products = [p for p in products if filters.pricing_model in p.pricing_models]
    if filters.site_id:
        units = all_units()
        products = [p for p in products if filters.site_id in product_sites(p, units)]
    return products


def active_products() -> list[Product]:
    """Products a rep may sell today, by name."""
    return list(
        db.session.scalars(sa.select(Product).where(Product.status == Status.ACTIVE.value).order_by(Product.name))
    )


def known_sizes() -> list[str]:
    sizes = {size for unit_sizes in db.session.scalars(sa.select(AdUnit.sizes)) for size in unit_sizes}
    return sorted(sizes, key=lambda s: (not s[0].isdigit(), s))


def packages_with(product_id: int) -> list[Package]:
    return list(
        db.session.scalars(
            sa.select(Package)
            .join(PackageMember)
            .where(PackageMember.product_id == product_id, Package.status == Status.ACTIVE.value)
            .order_by(Package.name)
        )
    )
