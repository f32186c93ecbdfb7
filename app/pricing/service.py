"""Pricing a prospective line: gather the rate card's values, the advertiser's discount, the agency's
commission and the inventory's sell-through, and run the waterfall (app.pricing.rules) on them.

The result keeps every value it was priced with (`Priced.snapshot()`), so a line stores its price
and a later edit of the rate card changes nothing already priced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import money
from app.accounts.models import Account, AccountKind
from app.auth.models import User
from app.catalog.models import DIMENSION_LABELS, DimensionKey, Product, Status
from app.catalog.products import product_slots
from app.catalog.targeting import targeting_values_by_dimension, value_names
from app.errors import Errors, ValidationFailed
from app.extensions import db
from app.formats import impression_count, plural
from app.inventory.availability import availability_for
from app.inventory.line_request import read_line_request
from app.inventory.supply import Box
from app.pricing import rules
from app.ratecards.models import BaseRate, Floor, RateCard
from app.roles import Role
from app.validation import (
    MAX_MONEY,
    MAX_QUANTITY,
    day_problem,
    money_problem,
    parse_id,
    parse_number,
    percent_problem,
    quantity_problem,
    time_zone_problem,
)

HUNDRED = Decimal(100)


@dataclass
class LineInput:
    """A prospective line as a rep describes it."""

    card_id: int | None
    product_id: int | None
    pricing_model: str
    start: date
    end: date
    time_zone: str
    #: customised targeting: dimension key -> value codes (empty: not customised)
    targeting: dict[str, tuple[str, ...]] = field(default_factory=dict)
    quantity: int | None = None
    budget: Decimal | None = None
    advertiser_id: int | None = None
    agency_id: int | None = None
    proposal_discount_pct: Decimal = Decimal(0)
    line_discount_pct: Decimal = Decimal(0)
    #: the proposal's currency, when there is one: it must be the card's
    currency: str | None = None
    make_good: bool = False


def read_line(args: Mapping, *, time_zone: str) -> tuple[LineInput | None, Errors]:
    """A prospective line from a query string: the line request, and the rate card, accounts and
    discounts it is priced with; what does not parse is reported on its field. `time_zone` is the
    flight's when the request names none (the publisher's)."""
    errors = Errors()
    request = read_line_request(args, errors)
    discounts = {}
    for name in ("proposal_discount_pct", "line_discount_pct"):
        raw = (args.get(name) or "").strip()
        value = parse_number(raw) if raw else Decimal(0)
        if value is None:
            errors.add(name, "Enter the discount as a percentage, such as 12.5.")
        discounts[name] = value if value is not None else Decimal(0)
    ids = {}
    for name in ("rate_card", "advertiser", "agency"):
        raw = (args.get(name) or "").strip()
        ids[name] = parse_id(raw) if raw else None
        if raw and ids[name] is None:
            errors.add(name, f"Choose a {name.replace('_', ' ')} from the list.")
    if errors:
        return None, errors
    line = LineInput(
        card_id=ids["rate_card"],
        product_id=request.product_id,
        pricing_model=(args.get("pricing_model") or "").strip(),
        start=request.start,
        end=request.end,
        time_zone=(args.get("time_zone") or time_zone).strip(),
        targeting=request.targeting,
        quantity=request.quantity,
        budget=request.budget,
        advertiser_id=ids["advertiser"],
        agency_id=ids["agency"],
        proposal_discount_pct=discounts["proposal_discount_pct"],
        line_discount_pct=discounts["line_discount_pct"],
        currency=(args.get("currency") or "").strip().upper() or None,
    )
    return line, errors


@dataclass
class Priced:
    price: rules.Price
    request: rules.Request
    card: RateCard
    product: Product
    time_zone: str
    #: percent of the targeted sellable forecast already booked or held over the flight
    sell_through: Decimal | None
    #: impressions the line could still get (None when not known)
    available: int | None
    warnings: list[str]

    @property
    def currency(self) -> str:
        return self.card.currency

    def snapshot(self) -> dict:
        """Everything the price was made of, as JSON: the steps and the card values used."""
        r = self.request
        return {
            "card": {"id": self.card.id, "name": self.card.name, "currency": self.card.currency},
            "product": {"id": self.product.id, "name": self.product.name},
            "flight": {"start": r.start.isoformat(), "end": r.end.isoformat(), "time_zone": self.time_zone},
            "targeting": {k: list(v) for k, v in r.targeting.items() if v},
            "inputs": {
                "base_rate": str(r.base_rate),
                "premiums": [
                    {"feature": p.feature, "value": p.value, "kind": p.kind, "amount": str(p.amount)}
                    for p in r.premiums
                ],
                "combine": dict(r.combine),
                "seasons": [
                    {"name": s.name, "start": s.start.isoformat(), "end": s.end.isoformat(), "pct": str(s.pct)}
                    for s in r.seasons
                ],
                "volume_tiers": [{"min_quantity": t.min_quantity, "pct": str(t.pct)} for t in r.tiers],
                "demand_bands": [{"from_pct": str(b.from_pct), "pct": str(b.pct)} for b in r.bands],
                "sell_through_pct": None if r.sell_through_pct is None else str(r.sell_through_pct),
                "advertiser_discount_pct": str(r.advertiser_discount_pct),
                "proposal_discount_pct": str(r.proposal_discount_pct),
                "line_discount_pct": str(r.line_discount_pct),
                "floor": None if r.floor is None else str(r.floor),
                "commission_pct": str(r.commission_pct),
                "budget": None if r.budget is None else str(r.budget),
            },
            "price": self.price.as_json(),
            "warnings": list(self.warnings),
        }


def usable_card(card: RateCard, user: User | None) -> bool:
    if user is None or not card.allowed_roles or user.has_role(Role.ADMIN):
        return True
    return bool({r.value for r in user.role_set} & set(card.allowed_roles))


def cards_to_price_with(user: User, *, today: date, product: Product) -> list[RateCard]:
    """Active cards not yet expired that `user` may use and that rate `product`: this year's card
    first, then next year's (a flight may start after the new year)."""
    cards = db.session.scalars(
        sa.select(RateCard)
        .where(RateCard.status == Status.ACTIVE.value, RateCard.valid_to >= today)
        .order_by(RateCard.valid_from, RateCard.name)
    ).all()
    return [c for c in cards if usable_card(c, user) and any(r.product_id == product.id for r in c.base_rates)]


#: A price reads the card's rates by product id: the products its rates and floors name are not loaded.
CARD_FOR_PRICING = (
    selectinload(RateCard.base_rates).lazyload(BaseRate.product),
    selectinload(RateCard.floors).lazyload(Floor.product),
)


def price_line(line: LineInput, *, actor: User | None, today: date, now: datetime, margin_pct: int) -> Priced:
    """The line's price with every step, or ValidationFailed naming each field at fault."""
    errors = Errors()
    card = db.session.get(RateCard, line.card_id, options=CARD_FOR_PRICING) if line.card_id else None
    if card is None or card.status != Status.ACTIVE.value:
        errors.add("rate_card", "Choose an active rate card.")
    elif not usable_card(card, actor):
        errors.add("rate_card", f"{card.name} is not a card you may price with.")
    product = db.session.get(Product, line.product_id) if line.product_id else None
    if product is None or product.status != Status.ACTIVE.value:
        errors.add("product", "Choose an active product.")
    errors.raise_if_any()

    base_rate = card.base_rate(product.id, line.pricing_model)
    if line.pricing_model not in product.pricing_models:
        allowed = ", ".join(m.label for m in product.pricing_model_enums) or "none"
        errors.add("pricing_model", f"{product.name} is sold by {allowed}, not {line.pricing_model[:20] or 'nothing'}.")
    elif base_rate is None:
        errors.add("pricing_model", f"{card.name} has no {line.pricing_model.upper()} rate for {product.name}.")
    if line.currency and line.currency != card.currency:
        errors.add("currency", f"{card.name} prices in {card.currency}, not {line.currency[:10]}.")
    if problem := time_zone_problem(line.time_zone):
        errors.add("time_zone", problem)
    _check_flight(line, card, errors)
    values = targeting_values_by_dimension()
    _check_targeting(line.targeting, product, values, errors)
    for name, value, label in (
        ("proposal_discount_pct", line.proposal_discount_pct, "proposal discount"),
        ("line_discount_pct", line.line_discount_pct, "line discount"),
    ):
        if problem := percent_problem(value, label=label):
            errors.add(name, problem)
    advertiser = _account(line.advertiser_id, AccountKind.ADVERTISER, "advertiser", errors)
    agency = _account(line.agency_id, AccountKind.AGENCY, "agency", errors)
    _check_quantity(line, product, errors)
    if (
        "budget" not in errors.errors
        and line.budget is not None
        and (problem := money.decimals_problem(line.budget, card.currency, label="budget"))
    ):
        errors.add("budget", problem)
    errors.raise_if_any()

    names = value_names(values)
    sell_through, available, warnings = _sell_through(line, product, today=today, now=now, margin_pct=margin_pct)
    floor = next(
        (f.rate for f in card.floors if f.product_id == product.id and f.pricing_model == line.pricing_model), None
    )
    request = rules.Request(
        pricing_model=line.pricing_model,
        base_rate=base_rate,
        start=line.start,
        end=line.end,
        currency=card.currency,
        targeting={k: v for k, v in line.targeting.items() if v},
        premiums=tuple(
            rules.Premium(
                p.dimension,
                p.value_code,
                p.kind,
                p.amount,
                feature_label=DIMENSION_LABELS[DimensionKey(p.dimension)].lower(),
                value_label=names.get((p.dimension, p.value_code)),
            )
            for p in card.premiums
            if line.targeting.get(p.dimension)
        ),
        combine={k: card.combine_for(k).value for k, v in line.targeting.items() if v},
        seasons=tuple(rules.Season(s.name, s.starts_on, s.ends_on, s.adjustment_pct) for s in card.seasons),
        tiers=tuple(rules.Tier(t.min_quantity, t.discount_pct) for t in card.volume_tiers),
        bands=tuple(rules.DemandBand(b.from_pct, b.adjustment_pct) for b in card.demand_bands),
        sell_through_pct=sell_through,
        advertiser_discount_pct=advertiser.discount_pct if advertiser else Decimal(0),
        proposal_discount_pct=line.proposal_discount_pct,
        line_discount_pct=line.line_discount_pct,
        make_good=line.make_good,
        floor=floor,
        quantity=line.quantity,
        budget=line.budget,
        commission_pct=agency.agency_commission_pct if agency else Decimal(0),
    )
    price = rules.price(request)
    if line.budget is not None:
        _check_budget(line, price, product, errors)
    elif price.gross > MAX_MONEY:
        errors.add(
            "quantity" if line.pricing_model == rules.CPM else "end",
            f"This line would cost {price.gross:,} {card.currency}, more than the {MAX_MONEY:,} any line may.",
        )
    errors.raise_if_any()
    if price.below_floor:
        warnings.append(
            f"The net rate {price.net_rate} is {price.below_floor_by} under the floor of {price.floor} "
            f"{card.currency}: it needs approval."
        )
    wanted = price.units if line.pricing_model == rules.CPM else line.quantity
    if available is not None and wanted and wanted > available:
        warnings.append(f"Not enough inventory: {impression_count(wanted)} asked for, {available:,} available.")
    shown = None if sell_through is None else sell_through.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Priced(price, request, card, product, line.time_zone, shown, available, warnings)


def _check_flight(line: LineInput, card: RateCard, errors: Errors) -> None:
    """Both days within the shared bounds, in order, and within the card's validity (its horizon)."""
    unbounded = False
    for name, day, label in (("start", line.start, "flight's first day"), ("end", line.end, "flight's last day")):
        if problem := day_problem(day, label=label):
            errors.add(name, problem)
            unbounded = True
    if unbounded:
        return
    if line.end < line.start:
        errors.add("end", f"The flight ends ({line.end}) before it starts ({line.start}).")
        return
    if not card.valid_from <= line.start <= card.valid_to:
        errors.add(
            "start", f"{card.name} is valid from {card.valid_from} to {card.valid_to}: the flight starts outside it."
        )
    if not card.valid_from <= line.end <= card.valid_to:
        errors.add(
            "end", f"{card.name} is valid from {card.valid_from} to {card.valid_to}: the flight ends outside it."
        )


def _check_targeting(targeting: dict[str, tuple[str, ...]], product: Product, values, errors: Errors) -> None:
    known = {
        (key, code) for key, by_code in values.items() for code, v in by_code.items() if v.status == Status.ACTIVE.value
    }
    for key, values in targeting.items():
        if not values:
            continue
        if key not in product.customisable:
            errors.add(key, f"{product.name} does not let a rep choose the {key.replace('_', ' ')}.")
        elif unknown := [v for v in values if (key, v) not in known]:
            errors.add(key, f"Unknown {key.replace('_', ' ')} value {', '.join(sorted(unknown))[:120]}.")


def _account(account_id: int | None, kind: AccountKind, name: str, errors: Errors) -> Account | None:
    if account_id is None:
        return None
    account = db.session.get(Account, account_id)
    if account is None or account.kind != kind.value:
        errors.add(name, f"Choose an {name} from the list." if name[0] in "aeiou" else f"Choose a {name}.")
        return None
    return account


def _check_quantity(line: LineInput, product: Product, errors: Errors) -> None:
    """A CPM line's impressions, or a CPD line's days, within the product's limits. (For CPD and
    flat-fee lines the impressions only give the effective CPM.)"""
    if line.budget is not None:
        if line.pricing_model != rules.CPM:
            errors.add(
                "budget", "A budget buys impressions at a CPM rate; CPD and flat-fee lines cost what their rate says."
            )
        elif line.quantity is not None:
            errors.add("budget", "Enter a quantity or a budget, not both.")
        elif problem := money_problem(line.budget, label="budget", positive=True):
            errors.add("budget", problem)
        return
    if line.quantity is not None and (problem := quantity_problem(line.quantity, label="quantity")):
        errors.add("quantity", problem)
        return
    if line.pricing_model == rules.CPM:
        if line.quantity is None:
            errors.add("quantity", "Enter the impressions (or a budget).")
        elif problem := _limit_problem(line.quantity, product, IMPRESSIONS, minimum=not line.make_good):
            # a make-good gives what was owed, however little: no minimum applies
            errors.add("quantity", problem)
    elif line.pricing_model == rules.CPD and (problem := _limit_problem(_days(line), product, ("day", "days"))):
        errors.add("end", problem)


def _days(line: LineInput) -> int:
    return max(0, (line.end - line.start).days + 1)


IMPRESSIONS = ("impression", "impressions")


def _limit_problem(units: int, product: Product, unit: tuple[str, str], *, minimum: bool = True) -> str | None:
    """`unit`: its singular and plural, for the limit's number."""
    if product.max_quantity and units > product.max_quantity:
        return f"{product.name} sells at most {plural(product.max_quantity, *unit)} per line (not {units:,})."
    if minimum and product.min_quantity and units < product.min_quantity:
        return f"{product.name} sells at least {plural(product.min_quantity, *unit)} per line (not {units:,})."
    return None


def _check_budget(line: LineInput, price: rules.Price, product: Product, errors: Errors) -> None:
    if price.net_rate <= 0:
        errors.add("budget", "At a net rate of 0 a budget buys no definite quantity: enter the impressions instead.")
    elif price.units == 0:
        errors.add(
            "budget",
            f"A budget of {line.budget} buys not one impression at the net rate of {price.net_rate} per 1,000.",
        )
    elif price.units > MAX_QUANTITY:
        errors.add("budget", f"That budget buys more than {MAX_QUANTITY:,} impressions: enter a smaller one.")
    elif problem := _limit_problem(price.units, product, IMPRESSIONS):
        errors.add(
            "budget",
            f"That budget buys {impression_count(price.units)}; {problem[0].lower()}{problem[1:]}",
        )


def _sell_through(line: LineInput, product: Product, *, today: date, now: datetime, margin_pct: int):
    """Percent of the targeted sellable forecast over the flight that is already booked or held."""
    slots = tuple(u.id for u in product_slots(product))
    if not slots or line.end < today:
        return None, None, ["Sell-through is unknown (no active slots or a flight in the past): no demand adjustment."]
    box = Box(slots, max(line.start, today), line.end, line.targeting.get("geo", ()), line.targeting.get("device", ()))
    try:
        answer = availability_for(box, now=now, today=today, margin_pct=margin_pct)
    except ValidationFailed as exc:
        return None, None, [f"Sell-through is unknown ({' '.join(m for ms in exc.errors.values() for m in ms)})."]
    sellable = answer.matched - answer.margin
    if sellable <= 0:
        return None, answer.available, ["There is no forecast for this targeting: no demand adjustment."]
    return Decimal(sellable - answer.available) * HUNDRED / sellable, answer.available, []
