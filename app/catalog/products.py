"""Products: what a rep sells, the ad slots it covers and the targeting a rep may customise. Flushes, never commits."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

import sqlalchemy as sa

from app.audit.service import record, record_change
from app.auth.models import User
from app.catalog.ad_units import descendants, parse_sizes, size_problem
from app.catalog.models import (
    AdUnit,
    AdUnitLevel,
    DimensionKey,
    LineItemType,
    PricingModel,
    Product,
    ProductAdUnit,
    Status,
)
from app.catalog.targeting import targeting_values_by_dimension
from app.db import Unchecked, name_taken, stale
from app.errors import Conflict, Errors
from app.extensions import db
from app.validation import clean_line, length_problem, line_problem

#: "300x250", or a named format.

MAX_QUANTITY = 10**12


@dataclass
class ProductData:
    name: str
    category: str
    line_item_type: str
    pricing_models: list[str]
    #: (ad unit id, include descendants)
    ad_units: list[tuple[int, bool]]
    sizes: list[str] = field(default_factory=list)
    description: str = ""
    min_quantity: int | None = None
    max_quantity: int | None = None
    customisable: list[str] = field(default_factory=list)
    targeting_defaults: dict[str, list[str]] = field(default_factory=dict)
    status: str = Status.ACTIVE.value


def _product_snapshot(product: Product) -> dict:
    return {
        "name": product.name,
        "description": product.description,
        "category": product.category,
        "line_item_type": product.line_item_type,
        "pricing_models": product.pricing_models,
        "sizes": product.sizes,
        "ad_units": sorted(
            f"{link.ad_unit.code}{'/*' if link.include_descendants else ''}" for link in product.ad_unit_links
        ),
        "min_quantity": product.min_quantity,
        "max_quantity": product.max_quantity,
        "customisable": product.customisable,
        "targeting_defaults": product.targeting_defaults,
        "status": product.status,
    }


def validate_product(data: ProductData, *, product_id: int | None = None) -> Errors:
    """Every problem with `data`, by field; normalises its lists in place."""
    errors = Errors()
    data.name = clean_line(data.name)
    data.category = clean_line(data.category)
    if problem := line_problem(data.name, label="name", max_length=200):
        errors.add("name", problem)
    elif name_taken(Product, data.name, other_than=product_id):
        errors.add("name", f"There is already a product called “{data.name}”.")
    if problem := line_problem(data.category, label="category", max_length=80):
        errors.add("category", problem)
    if problem := length_problem(data.description or "", label="description", max_length=5000, required=False):
        errors.add("description", problem)
    if data.line_item_type not in {t.value for t in LineItemType}:
        errors.add("line_item_type", "Choose sponsorship, standard, price priority or house.")
    data.pricing_models = [m for m in dict.fromkeys(data.pricing_models)]
    unknown = [m for m in data.pricing_models if m not in {p.value for p in PricingModel}]
    if unknown:
        errors.add("pricing_models", f"Unknown pricing model {', '.join(unknown)}: use CPM, CPD or flat fee.")
    elif not data.pricing_models:
        errors.add("pricing_models", "Allow at least one pricing model.")

    units = {u.id: u for u in db.session.scalars(sa.select(AdUnit).where(AdUnit.id.in_([i for i, _ in data.ad_units])))}
    if not data.ad_units:
        errors.add("ad_units", "A product needs at least one ad unit.")
    for unit_id, _ in data.ad_units:
        unit = units.get(unit_id)
        if unit is None:
            errors.add("ad_units", f"Ad unit {unit_id} does not exist.")
        elif not unit.is_active and data.status == Status.ACTIVE:
            errors.add("ad_units", f"{unit.name} is archived.")
    offered: set[str] = set()
    for unit_id, include in data.ad_units:
        if unit := units.get(unit_id):
            offered.update(unit.sizes)
            if include:
                for child in descendants(unit):
                    offered.update(child.sizes)
    data.sizes = parse_sizes(data.sizes)
    for size in data.sizes:
        if problem := size_problem(size):
            errors.add("sizes", problem)
        elif units and size not in offered:
            errors.add("sizes", f"None of the product's ad units takes {size}.")
    if not data.sizes and "sizes" not in errors.errors:
        errors.add("sizes", "Choose at least one creative size.")

    for label, value in (("min_quantity", data.min_quantity), ("max_quantity", data.max_quantity)):
        if value is not None and not (1 <= value <= MAX_QUANTITY):
            errors.add(label, f"Enter a whole number from 1 to {MAX_QUANTITY:,}.")
    if (
        data.min_quantity is not None
        and data.max_quantity is not None
        and "min_quantity" not in errors.errors
        and data.max_quantity < data.min_quantity
    ):
        errors.add("max_quantity", f"The maximum ({data.max_quantity:,}) is below the minimum ({data.min_quantity:,}).")

    dims = {d.value for d in DimensionKey}
    data.customisable = list(dict.fromkeys(data.customisable))
    if bad := [d for d in data.customisable if d not in dims]:
        errors.add("customisable", f"Unknown targeting dimension {', '.join(bad)}.")
    values = targeting_values_by_dimension()
    for key, codes in data.targeting_defaults.items():
        if key not in dims:
            errors.add("targeting_defaults", f"Unknown targeting dimension {key}.")
            continue
        for code in codes:
            value = values.get(key, {}).get(code)
            if value is None:
                errors.add("targeting_defaults", f"{DimensionKey(key).label} has no value {code}.")
            elif value.status != Status.ACTIVE:
                errors.add("targeting_defaults", f"{DimensionKey(key).label} value {value.name} is archived.")
    data.targeting_defaults = {k: list(dict.fromkeys(v)) for k, v in data.targeting_defaults.items() if v}
    if data.status not in {s.value for s in Status}:
        errors.add("status", "Choose active or archived.")
    return errors


def _apply(product: Product, data: ProductData) -> None:
    values = asdict(data)
    links = values.pop("ad_units")
    for key, value in values.items():
        setattr(product, key, value)
    current = {link.ad_unit_id: link for link in product.ad_unit_links}
    product.ad_unit_links = [_link(current.get(unit_id), unit_id, include) for unit_id, include in dict(links).items()]


def _link(existing: ProductAdUnit | None, unit_id: int, include: bool) -> ProductAdUnit:
    link = existing or ProductAdUnit(ad_unit_id=unit_id)
    link.include_descendants = include
    return link


def create_product(data: ProductData, *, actor: User | None, now: datetime) -> Product:
    validate_product(data).raise_if_any()
    product = Product(created_at=now, updated_at=now)
    _apply(product, data)
    db.session.add(product)
    db.session.flush()
    record(
        actor=actor,
        entity_type="product",
        entity_id=product.id,
        action="created",
        at=now,
        summary=f"Created product {product.name}.",
        after=_product_snapshot(product),
    )
    return product


def update_product(
    product: Product, data: ProductData, *, expected_version: int | Unchecked, actor: User | None, now: datetime
) -> Product:
    if stale(product.version, expected_version):
        raise Conflict(f"{product.name} was changed by someone else meanwhile. Reload it and make your change again.")
    validate_product(data, product_id=product.id).raise_if_any()
    before = _product_snapshot(product)
    _apply(product, data)
    product.updated_at = now
    db.session.flush()
    record_change(
        actor=actor,
        entity_type="product",
        entity_id=product.id,
        at=now,
        before=before,
        after=_product_snapshot(product),
    )
    return product


def product_data(product: Product) -> ProductData:
    """The editable values of `product`, for a form or an import to start from."""
    return ProductData(
        name=product.name,
        category=product.category,
        line_item_type=product.line_item_type,
        pricing_models=list(product.pricing_models),
        ad_units=[(link.ad_unit_id, link.include_descendants) for link in product.ad_unit_links],
        sizes=list(product.sizes),
        description=product.description,
        min_quantity=product.min_quantity,
        max_quantity=product.max_quantity,
        customisable=list(product.customisable),
        targeting_defaults={k: list(v) for k, v in product.targeting_defaults.items()},
        status=product.status,
    )


def product_slots(product: Product) -> list[AdUnit]:
    """The active slots a product sells: its units, and their descendants where it says so."""
    links = product.ad_unit_links
    units = [link.ad_unit for link in links]
    if roots := [link.ad_unit_id for link in links if link.include_descendants]:
        # Every unit under them, in one statement (not one per unit with children).
        tree = sa.select(AdUnit.id).where(AdUnit.parent_id.in_(roots)).cte("below", recursive=True)
        child = sa.orm.aliased(AdUnit)
        tree = tree.union_all(sa.select(child.id).join(tree, child.parent_id == tree.c.id))
        units += db.session.scalars(sa.select(AdUnit).where(AdUnit.id.in_(sa.select(tree.c.id))))
    found = {unit.id: unit for unit in units if unit.is_active and unit.level == AdUnitLevel.SLOT}
    return sorted(found.values(), key=lambda u: u.code)


def categories() -> list[str]:
    return list(db.session.scalars(sa.select(Product.category).distinct().order_by(Product.category)))
