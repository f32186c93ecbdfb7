"""What the catalog registers with the domains beneath it, at start-up (`create_app`)."""

from __future__ import annotations

from app.audit.subjects import Subject, register_subject
from app.catalog.models import AdUnit, Package, Product, TargetingValue


def register() -> None:
    register_subject("ad_unit", Subject(AdUnit, "catalog.ad_unit", "unit_id"))
    register_subject("targeting_value", Subject(TargetingValue, "catalog.targeting", None))
    register_subject("product", Subject(Product, "catalog.product", "product_id"))
    register_subject("package", Subject(Package, "catalog.package", "package_id"))
