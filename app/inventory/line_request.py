"""A prospective line as a query string or form states it: product, targeting, flight, quantity or budget.

The one reader of that request, for every entry point that asks about a line (the availability and
pricing panels, the proposal builder, later the API). What does not parse is reported on its field;
what a domain adds (slots and their checks for availability, the rate card and discounts for a price)
is read on top of it by that domain.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.catalog.models import AdUnit, AdUnitLevel, DimensionKey, Product, Status
from app.catalog.products import product_slots
from app.errors import Errors
from app.extensions import db
from app.inventory.availability import SUPPLY_DIMENSIONS
from app.inventory.supply import Box
from app.validation import money_problem, parse_id, parse_number, quantity_problem


@dataclass(frozen=True)
class LineRequest:
    """What a request says about a line, every value parsed."""

    product_id: int | None
    start: date
    end: date
    #: dimension key -> the value codes asked for (empty: not customised)
    targeting: dict[str, tuple[str, ...]] = field(default_factory=dict)
    quantity: int | None = None
    budget: Decimal | None = None


def default_flight(today: date) -> tuple[date, date]:
    """Next Monday for four weeks: a sensible first question."""
    start = today + timedelta(days=7 - today.weekday())
    return start, start + timedelta(days=27)


def read_line_request(args: Mapping, errors: Errors, *, with_budget: bool = True) -> LineRequest | None:
    """The line `args` asks about, or None with each of its problems added to `errors` under its field.

    `args` is a werkzeug MultiDict (a query string or a form): a dimension may be given several times.
    `errors` may hold what the caller found already; only this request's own problems make it None.
    """
    found_before = sum(len(messages) for messages in errors.errors.values())
    product_id = None
    if raw := (args.get("product") or "").strip():
        product_id = parse_id(raw)
        if product_id is None:
            errors.add("product", "Choose a product from the list.")
    dates = {}
    for name in ("start", "end"):
        try:
            dates[name] = date.fromisoformat((args.get(name) or "").strip())
        except ValueError:
            errors.add(name, "Enter a date as YYYY-MM-DD.")
    quantity = None
    if raw := (args.get("quantity") or "").strip():
        value = parse_number(raw)
        if value is None:
            errors.add("quantity", "Enter the impressions as a whole number above 0, such as 250000.")
        elif problem := quantity_problem(value, label="quantity"):
            errors.add("quantity", problem)
        else:
            quantity = int(value)
    budget = None
    if with_budget and (raw := (args.get("budget") or "").strip()):
        value = parse_number(raw)
        if value is None:
            errors.add("budget", "Enter the budget as an amount above 0, such as 25000 or 25,000.00.")
        elif problem := money_problem(value, label="budget", positive=True):
            errors.add("budget", problem)
        else:
            budget = value
    if sum(len(messages) for messages in errors.errors.values()) > found_before:
        return None
    return LineRequest(
        product_id=product_id,
        start=dates["start"],
        end=dates["end"],
        targeting={d.value: tuple(sorted({v for v in args.getlist(d.value) if v})) for d in DimensionKey},
        quantity=quantity,
        budget=budget,
    )


def read_availability_request(args: Mapping) -> tuple[Box | None, int | None, Product | None, Errors]:
    """What availability is asked for: the line's product (or ad slots), supply targeting, flight, quantity."""
    errors = Errors()
    product = None
    slot_ids: list[int] = []
    if product_id := parse_id(args.get("product")):
        product = db.session.get(Product, product_id)
        if product is None or product.status != Status.ACTIVE:
            errors.add("product", "Choose an active product.")
        else:
            slot_ids = [u.id for u in product_slots(product)]
    if raw_slots := args.get("slots"):
        chosen = list(dict.fromkeys(parse_id(s) for s in raw_slots.split(",")))
        sellable = set(
            db.session.scalars(
                sa.select(AdUnit.id).where(
                    AdUnit.id.in_([s for s in chosen if s]),
                    AdUnit.level == AdUnitLevel.SLOT.value,
                    AdUnit.status == Status.ACTIVE.value,
                )
            )
        )
        if None in chosen or not set(chosen) <= sellable:
            errors.add("slots", "Slots are the ids of active ad slots, separated by commas.")
        else:
            slot_ids = [s for s in chosen if s in slot_ids] if product else chosen
    if not product and not args.get("slots"):
        errors.add("product", "Choose a product or ad units.")
    for dim in SUPPLY_DIMENSIONS:
        if any(args.getlist(dim)) and product is not None and dim not in product.customisable:
            errors.add(dim, f"{product.name} does not let a rep choose the {dim}.")
    line = read_line_request(args, errors, with_budget=False)
    if errors:
        return None, line.quantity if line else None, product, errors
    box = Box(tuple(slot_ids), line.start, line.end, line.targeting["geo"], line.targeting["device"])
    return box, line.quantity, product, errors
