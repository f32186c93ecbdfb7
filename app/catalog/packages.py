"""Packages: products sold together at a discount. Flushes, never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from app.audit.service import record, record_change
from app.auth.models import User
from app.catalog.models import (
    Package,
    PackageMember,
    Product,
    Status,
)
from app.csvio import decimal_text
from app.db import name_taken
from app.errors import Errors
from app.extensions import db
from app.validation import clean_line, line_problem, percent_problem

#: "300x250", or a named format.


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
