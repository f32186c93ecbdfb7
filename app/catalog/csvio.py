"""Products as CSV: export, edit in a spreadsheet, import back (matched by name)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.auth.models import User
from app.catalog import products as catalog_products
from app.catalog.models import AdUnit, Product
from app.csvio import Cells, ImportFailed, RowProblem, read_rows, write_rows
from app.db import ANY_VERSION
from app.errors import ValidationFailed
from app.extensions import db
from app.validation import clean_line

COLUMNS = (
    "name",
    "category",
    "line_item_type",
    "pricing_models",
    "ad_units",
    "sizes",
    "min_quantity",
    "max_quantity",
    "customisable",
    "targeting_defaults",
    "status",
    "description",
)
#: A unit code followed by this includes everything below the unit.
DESCENDANTS = "/*"


def _defaults_text(defaults: dict[str, list[str]]) -> str:
    return "; ".join(f"{key}: {'|'.join(codes)}" for key, codes in sorted(defaults.items()))


def _defaults_from(cells: Cells) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for part in cells.text("targeting_defaults").split(";"):
        if not part.strip():
            continue
        key, sep, codes = part.partition(":")
        if not sep:
            cells.problem(f"targeting_defaults “{part.strip()}” should read dimension: code|code.")
            continue
        found[key.strip()] = [c.strip() for c in codes.split("|") if c.strip()]
    return found


def export_products() -> str:
    products = db.session.scalars(sa.select(Product).order_by(Product.category, Product.name))
    rows = []
    for product in products:
        units = sorted(
            link.ad_unit.code + (DESCENDANTS if link.include_descendants else "") for link in product.ad_unit_links
        )
        rows.append(
            {
                "name": product.name,
                "category": product.category,
                "line_item_type": product.line_item_type,
                "pricing_models": "|".join(product.pricing_models),
                "ad_units": "|".join(units),
                "sizes": "|".join(product.sizes),
                "min_quantity": product.min_quantity,
                "max_quantity": product.max_quantity,
                "customisable": "|".join(product.customisable),
                "targeting_defaults": _defaults_text(product.targeting_defaults),
                "status": product.status,
                "description": product.description,
            }
        )
    return write_rows(COLUMNS, rows)


def import_products(data: bytes | str, *, actor: User | None, now: datetime) -> dict[str, int]:
    """Create or update (by name) every product in the file; nothing changes when any row is bad."""
    rows = read_rows(data, COLUMNS, required=("name", "category", "line_item_type", "pricing_models", "ad_units"))
    problems: list[RowProblem] = []
    units = {u.code: u.id for u in db.session.scalars(sa.select(AdUnit))}
    existing = {p.name.lower(): p for p in db.session.scalars(sa.select(Product))}
    seen: dict[str, int] = {}
    plan: list[tuple[Product | None, catalog_products.ProductData]] = []
    for line, row in rows:
        cells = Cells(line, row, problems)
        name = clean_line(cells.text("name"))  # matched as the service will store it
        if name.lower() in seen:
            cells.problem(f"“{name}” is already on line {seen[name.lower()]}.")
            continue
        seen[name.lower()] = line
        ad_units = []
        for item in cells.items("ad_units"):
            code = item.removesuffix(DESCENDANTS)
            if code not in units:
                cells.problem(f"There is no ad unit with the code {code}.")
            else:
                ad_units.append((units[code], item.endswith(DESCENDANTS)))
        data = catalog_products.ProductData(
            name=name,
            category=cells.text("category"),
            line_item_type=cells.text("line_item_type").lower(),
            pricing_models=[m.lower() for m in cells.items("pricing_models")],
            ad_units=ad_units,
            sizes=cells.items("sizes"),
            description=cells.text("description"),
            min_quantity=cells.integer("min_quantity", required=False),
            max_quantity=cells.integer("max_quantity", required=False),
            customisable=cells.items("customisable"),
            targeting_defaults=_defaults_from(cells),
            status=cells.text("status").lower() or "active",
        )
        product = existing.get(name.lower())
        for field, messages in catalog_products.validate_product(
            data, product_id=product.id if product else None
        ).errors.items():
            if field == "ad_units" and not ad_units and any(p.line == line for p in problems):
                continue  # the unknown codes are reported already
            for message in messages:
                cells.problem(f"{field.replace('_', ' ')}: {message}")
        plan.append((product, data))
    if problems:
        raise ImportFailed(problems)
    counts = {"created": 0, "updated": 0}
    try:
        for product, data in plan:
            if product is None:
                catalog_products.create_product(data, actor=actor, now=now)
                counts["created"] += 1
            else:
                # A spreadsheet was not opened at a version: the import is the newest word on the product.
                catalog_products.update_product(product, data, expected_version=ANY_VERSION, actor=actor, now=now)
                counts["updated"] += 1
    except ValidationFailed as exc:  # checked above; kept so a surprise never half-imports
        raise ImportFailed([RowProblem(0, exc.message)]) from exc
    return counts
