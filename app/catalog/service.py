"""Catalog writes: ad units, targeting values, products and packages. Flushes, never commits."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.service import record, record_change
from app.auth.models import User
from app.catalog.models import (
    EDITABLE_DIMENSIONS,
    AdUnit,
    AdUnitLevel,
    DimensionKey,
    LineItemType,
    Package,
    PackageMember,
    PricingModel,
    Product,
    ProductAdUnit,
    Status,
    TargetingDimension,
    TargetingValue,
)
from app.csvio import decimal_text
from app.db import Unchecked, name_taken, stale
from app.errors import Conflict, DomainError, Errors, NotFound
from app.extensions import db
from app.validation import clean_line, length_problem, line_problem, percent_problem

#: "300x250", or a named format.
NAMED_SIZES = ("video", "audio", "native", "fluid", "interstitial", "out-of-page")
_SIZE = re.compile(r"^(\d{1,4})x(\d{1,4})$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")
_KEY_VALUE = re.compile(r"^[a-z0-9_-]{1,40}=[a-z0-9_.-]{1,80}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
MAX_QUANTITY = 10**12


def size_problem(size: str) -> str | None:
    if _SIZE.match(size) or size in NAMED_SIZES:
        return None
    return f"“{size}” is not a creative size: use WIDTHxHEIGHT such as 300x250, or one of {', '.join(NAMED_SIZES)}."


def parse_sizes(raw: str | Iterable[str]) -> list[str]:
    """Sizes from text such as "300x250, 728x90 video", de-duplicated, in the order given."""
    items = re.split(r"[\s,|;]+", raw) if isinstance(raw, str) else list(raw)
    seen: dict[str, None] = {}
    for item in items:
        item = item.strip().lower().replace("×", "x")
        if item:
            seen.setdefault(item, None)
    return list(seen)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "unit"


# -- Ad units ------------------------------------------------------------------------------------


def ad_unit_path(unit: AdUnit) -> str:
    names = []
    while unit is not None:
        names.append(unit.name)
        unit = unit.parent
    return " › ".join(reversed(names))


def descendants(unit: AdUnit) -> list[AdUnit]:
    found: list[AdUnit] = []
    stack = list(unit.children)
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(child.children)
    return found


def _unit_snapshot(unit: AdUnit) -> dict:
    return {
        "name": unit.name,
        "code": unit.code,
        "sizes": unit.sizes,
        "parent_id": unit.parent_id,
        "status": unit.status,
    }


def _check_unit(
    errors: Errors, *, name: str, code: str, sizes: list[str], parent: AdUnit | None, unit_id: int | None
) -> None:
    if problem := line_problem(name, label="name", max_length=200):
        errors.add("name", problem)
    if not _CODE.match(code) or len(code) > 200:
        errors.add("code", "Use lower-case letters, digits, - and _, with / between levels (news/sport/mpu).")
    elif db.session.scalar(sa.select(AdUnit.id).where(AdUnit.code == code, AdUnit.id != (unit_id or 0))):
        errors.add("code", f"Another ad unit already has the code {code}.")
    for size in sizes:
        if problem := size_problem(size):
            errors.add("sizes", problem)
    if parent is not None and not parent.is_active:
        errors.add("parent_id", f"{parent.name} is archived; restore it first or choose another parent.")


def create_ad_unit(
    *, name: str, sizes: list[str], parent: AdUnit | None, code: str = "", actor: User | None, now: datetime
) -> AdUnit:
    errors = Errors()
    if parent is not None and AdUnitLevel(parent.level).child is None:
        errors.add("parent_id", "Slots are the lowest level: choose a site or a section as the parent.")
        errors.raise_if_any()
    level = AdUnitLevel.SITE if parent is None else AdUnitLevel(parent.level).child
    name = clean_line(name)
    code = (code or "").strip().lower() or ((parent.code + "/") if parent else "") + slugify(name)
    _check_unit(errors, name=name, code=code, sizes=sizes, parent=parent, unit_id=None)
    errors.raise_if_any()
    unit = AdUnit(name=name, code=code, sizes=sizes, level=level.value, status=Status.ACTIVE.value, parent=parent)
    db.session.add(unit)
    db.session.flush()
    record(
        actor=actor,
        entity_type="ad_unit",
        entity_id=unit.id,
        action="created",
        at=now,
        summary=f"Created {level.value} {ad_unit_path(unit)}.",
        after=_unit_snapshot(unit),
    )
    return unit


def update_ad_unit(
    unit: AdUnit,
    *,
    name: str,
    sizes: list[str],
    parent: AdUnit | None,
    actor: User,
    now: datetime,
    safety_margin_pct: Decimal | None = None,
) -> AdUnit:
    """Rename, resize or move a unit. A unit moves only under a parent of the level above it."""
    errors = Errors()
    expected_parent = AdUnitLevel(unit.level).parent
    if expected_parent is None and parent is not None:
        errors.add("parent_id", "A site is the top of the tree: it has no parent.")
    elif expected_parent is not None and (parent is None or parent.level != expected_parent):
        errors.add("parent_id", f"A {unit.level} goes under a {expected_parent.value}.")
    name = clean_line(name)
    _check_unit(errors, name=name, code=unit.code, sizes=sizes, parent=parent, unit_id=unit.id)
    if safety_margin_pct is not None:
        if unit.level != AdUnitLevel.SITE:
            errors.add("safety_margin_pct", "The safety margin is set per site.")
        elif not Decimal("0") <= safety_margin_pct <= Decimal("90"):
            errors.add("safety_margin_pct", "The safety margin is between 0 % and 90 % of the forecast.")
        elif safety_margin_pct != safety_margin_pct.quantize(Decimal("1")):
            errors.add("safety_margin_pct", "Use a whole percentage, such as 10.")
    errors.raise_if_any()
    before = _unit_snapshot(unit)
    unit.name, unit.sizes, unit.parent = name, sizes, parent
    if unit.level == AdUnitLevel.SITE:
        unit.safety_margin_pct = safety_margin_pct
    db.session.flush()
    record_change(
        actor=actor, entity_type="ad_unit", entity_id=unit.id, at=now, before=before, after=_unit_snapshot(unit)
    )
    return unit


def set_ad_unit_status(unit: AdUnit, status: Status, *, actor: User, now: datetime) -> list[AdUnit]:
    """Archive a unit with everything below it, or restore it (its parent must be active)."""
    if status == Status.ACTIVE and unit.parent is not None and not unit.parent.is_active:
        raise DomainError(f"Restore {unit.parent.name} first: {unit.name} sits under it.")
    changed = [u for u in [unit, *descendants(unit)] if u.status != status]
    if status == Status.ACTIVE:
        changed = [unit] if unit.status != status else []
    for u in changed:
        u.status = status.value
    db.session.flush()
    if changed:
        verb = "archived" if status == Status.ARCHIVED else "restored"
        extra = f" with {len(changed) - 1} units below it" if len(changed) > 1 else ""
        record(
            actor=actor,
            entity_type="ad_unit",
            entity_id=unit.id,
            action=verb,
            at=now,
            summary=f"{verb.capitalize()} {ad_unit_path(unit)}{extra}.",
            before={"status": "active" if status == Status.ARCHIVED else "archived"},
            after={"status": status.value},
        )
    return changed


def ad_unit_tree() -> list[AdUnit]:
    """Every site, with its children loaded (three levels, three queries)."""
    units = db.session.scalars(sa.select(AdUnit).order_by(AdUnit.name)).all()
    by_parent: dict[int | None, list[AdUnit]] = {}
    for unit in units:
        by_parent.setdefault(unit.parent_id, []).append(unit)
    for unit in units:
        set_committed_value(unit, "children", by_parent.get(unit.id, []))
    return by_parent.get(None, [])


# -- Targeting -----------------------------------------------------------------------------------


def dimension(key: str) -> TargetingDimension:
    found = db.session.scalar(sa.select(TargetingDimension).where(TargetingDimension.key == key))
    if found is None:
        raise NotFound(f"There is no targeting dimension “{key}”.")
    return found


def add_targeting_value(
    dim: TargetingDimension, *, code: str, name: str, actor: User | None, now: datetime
) -> TargetingValue:
    errors = Errors()
    if dim.key not in EDITABLE_DIMENSIONS:
        raise DomainError(f"{dim.name} values come with the publisher's set-up and cannot be added here.")
    code = (code or "").strip().lower()
    if dim.key == DimensionKey.KEY_VALUE and not _KEY_VALUE.match(code):
        errors.add("code", "Write a key-value as key=value, in lower case (section=motoring).")
    elif dim.key != DimensionKey.KEY_VALUE and not _SLUG.match(code):
        errors.add("code", "Use lower-case letters, digits, - and _ (auto-intenders).")
    elif len(code) > 80:  # a key=value may be longer than the column holds
        errors.add("code", f"The code has at most 80 characters (this one has {len(code)}).")
    elif any(v.code == code for v in dim.values):
        errors.add("code", f"{dim.name} already has the value {code}.")
    name = clean_line(name)
    if problem := line_problem(name, label="name", max_length=200):
        errors.add("name", problem)
    errors.raise_if_any()
    value = TargetingValue(code=code, name=name, status=Status.ACTIVE.value)
    dim.values.append(value)
    db.session.flush()
    record(
        actor=actor,
        entity_type="targeting_value",
        entity_id=value.id,
        action="created",
        at=now,
        summary=f"Added {dim.name} value {value.name} ({value.code}).",
        after={"code": value.code, "name": value.name},
    )
    return value


def set_targeting_value_status(value: TargetingValue, status: Status, *, actor: User, now: datetime) -> None:
    if value.status == status:
        return
    before = value.status
    value.status = status.value
    db.session.flush()
    record(
        actor=actor,
        entity_type="targeting_value",
        entity_id=value.id,
        action="archived" if status == Status.ARCHIVED else "restored",
        at=now,
        summary=f"{value.dimension.name} value {value.name} is {status.value}.",
        before={"status": before},
        after={"status": status.value},
    )


def targeting_values_by_dimension() -> dict[str, dict[str, TargetingValue]]:
    """Every value, active or not, by dimension key and code."""
    rows = db.session.execute(sa.select(TargetingDimension.key, TargetingValue).join(TargetingValue.dimension)).all()
    found: dict[str, dict[str, TargetingValue]] = {}
    for key, value in rows:
        found.setdefault(key, {})[value.code] = value
    return found


def value_names(values: dict[str, dict[str, TargetingValue]] | None = None) -> dict[tuple[str, str], str]:
    """(dimension key, code) -> the value's name, for targeting in words."""
    values = values if values is not None else targeting_values_by_dimension()
    return {(key, code): value.name for key, by_code in values.items() for code, value in by_code.items()}


# -- Products ------------------------------------------------------------------------------------


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
    found: dict[int, AdUnit] = {}
    for link in product.ad_unit_links:
        units = [link.ad_unit, *(descendants(link.ad_unit) if link.include_descendants else [])]
        for unit in units:
            if unit.is_active and unit.level == AdUnitLevel.SLOT:
                found[unit.id] = unit
    return sorted(found.values(), key=lambda u: u.code)


def categories() -> list[str]:
    return list(db.session.scalars(sa.select(Product.category).distinct().order_by(Product.category)))


# -- Packages ------------------------------------------------------------------------------------


@dataclass
class PackageData:
    name: str
    #: (product id, mandatory)
    members: list[tuple[int, bool]]
    discount_pct: Decimal | None = Decimal("0")
    description: str = ""
    status: str = Status.ACTIVE.value


def _package_snapshot(package: Package) -> dict:
    return {
        "name": package.name,
        "description": package.description,
        # 12.3500 read back and 12.35 typed are the same discount: compare them as the same text.
        "discount_pct": decimal_text(package.discount_pct),
        "members": sorted(f"{m.product.name}{'' if m.mandatory else ' (optional)'}" for m in package.members),
        "status": package.status,
    }


def _validate_package(data: PackageData, package_id: int | None) -> None:
    errors = Errors()
    data.name = clean_line(data.name)
    if problem := line_problem(data.name, label="name", max_length=200):
        errors.add("name", problem)
    elif name_taken(Package, data.name, other_than=package_id):
        errors.add("name", f"There is already a package called “{data.name}”.")
    if problem := percent_problem(data.discount_pct, label="package discount"):
        errors.add("discount_pct", problem)
    members = dict(data.members)
    products = {p.id: p for p in db.session.scalars(sa.select(Product).where(Product.id.in_(members)))}
    if len(members) < 2:
        errors.add("members", "A package sells at least two products together.")
    elif not any(members.values()):
        errors.add("members", "Make at least one product mandatory.")
    for product_id in members:
        product = products.get(product_id)
        if product is None:
            errors.add("members", f"Product {product_id} does not exist.")
        elif not product.is_active:
            errors.add("members", f"{product.name} is archived.")
    if data.status not in {s.value for s in Status}:
        errors.add("status", "Choose active or archived.")
    errors.raise_if_any()
    data.members = list(members.items())


def save_package(package: Package | None, data: PackageData, *, actor: User | None, now: datetime) -> Package:
    _validate_package(data, package.id if package else None)
    created = package is None
    package = package or Package()
    before = {} if created else _package_snapshot(package)
    package.name, package.description = data.name, data.description.strip()
    package.discount_pct, package.status, package.updated_at = data.discount_pct, data.status, now
    current = {m.product_id: m for m in package.members}
    package.members = [
        _member(current.get(product_id), product_id, mandatory) for product_id, mandatory in data.members
    ]
    db.session.add(package)
    db.session.flush()
    for member in package.members:  # load products for the snapshot
        member.product = db.session.get(Product, member.product_id)
    if created:
        record(
            actor=actor,
            entity_type="package",
            entity_id=package.id,
            action="created",
            at=now,
            summary=f"Created package {package.name}.",
            after=_package_snapshot(package),
        )
    else:
        record_change(
            actor=actor,
            entity_type="package",
            entity_id=package.id,
            at=now,
            before=before,
            after=_package_snapshot(package),
        )
    return package


def _member(existing: PackageMember | None, product_id: int, mandatory: bool) -> PackageMember:
    member = existing or PackageMember(product_id=product_id)
    member.mandatory = mandatory
    return member
