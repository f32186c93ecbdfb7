"""Writes the demo publisher (`app.demo.publisher`) into the database.

Users and accounts go through their services, so they are validated and audited like any other;
the catalog and the traffic are plain inserts, the traffic in bulk. Flushes only: the caller commits.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from app.accounts.models import Account
from app.accounts.service import AccountData, add_contact, create_account
from app.auth.models import User
from app.auth.service import create_user
from app.catalog.models import AdUnit, AdUnitLevel, Product, TargetingDimension, TargetingValue
from app.catalog.packages import PackageData, save_package
from app.catalog.products import ProductData, create_product, product_slots
from app.demo import catalog as demo_catalog
from app.demo import deals, publisher
from app.demo.publisher import Section, Site, Slot
from app.extensions import db
from app.inventory.availability import availability_for
from app.inventory.forecast_runs import forecast_day_count, refresh_forecast
from app.inventory.models import ReservationKind, TrafficDay
from app.inventory.reservations import reserve
from app.inventory.supply import Box
from app.ratecards.models import RateCard
from app.ratecards.service import (
    CardData,
    add_season,
    create_card,
    set_base_rate,
    set_demand_band,
    set_floor,
    set_premium,
    set_volume_tier,
)

#: Days of traffic history, ending yesterday.
HISTORY_DAYS = 365
#: Rows per bulk insert: large enough to be quick, small enough for every driver's parameter limits.
_TRAFFIC_CHUNK = 2_000


def database_is_empty() -> bool:
    """True when there are no users yet: the only state in which the demo may be loaded."""
    return db.session.scalar(sa.select(User.id).limit(1)) is None


def load_demo(*, today: date, now: datetime, hash_method: str) -> dict[str, int]:
    """Load users, accounts, targeting, ad units, a year of traffic and its forecast; return how many of each.

    Expects an empty database (see `database_is_empty`); the traffic covers the HISTORY_DAYS days
    that end the day before `today`.
    """
    users = _load_users(now=now, hash_method=hash_method)
    accounts, contacts = _load_accounts(users, now=now)
    targeting_values = _load_targeting()
    ad_units = _load_ad_units()
    slot_ids = {unit.code: unit.id for unit in ad_units if unit.level == AdUnitLevel.SLOT}
    traffic_days = _load_traffic(slot_ids, today=today)
    products = _load_products(now=now)
    cards = _load_rate_cards(products, year=today.year, now=now)
    forecast = refresh_forecast(now=now, today=today)
    reservations = _load_reservations(products, users, accounts, now=now, today=today)
    rules = deals.load_rules(users, now=now)
    proposals = deals.load_proposals(products, users, accounts, cards, now=now, today=today)
    orders = deals.load_signed_order(products, users, accounts, cards, now=now, today=today)
    return {
        "users": len(users),
        "accounts": len(accounts),
        "contacts": contacts,
        "targeting_values": targeting_values,
        "ad_units": len(ad_units),
        "traffic_days": traffic_days,
        "products": len(products),
        "rate_cards": len(cards),
        "forecast_days": forecast_day_count(forecast),
        "holds_and_bookings": reservations,
        "approval_rules": rules,
        "proposals": proposals,
        "orders": orders,
    }


def _load_users(*, now: datetime, hash_method: str) -> dict[str, User]:
    return {
        spec.email: create_user(
            email=spec.email,
            name=spec.name,
            password=publisher.DEMO_PASSWORD,
            roles=spec.roles,
            actor=None,
            now=now,
            hash_method=hash_method,
        )
        for spec in publisher.USERS
    }


def _load_accounts(users: dict[str, User], *, now: datetime) -> tuple[list[Account], int]:
    accounts: list[Account] = []
    contacts = 0
    for spec in publisher.AGENCIES + publisher.ADVERTISERS:
        data = AccountData(
            kind=spec.kind,
            name=spec.name,
            currency=spec.currency,
            owner_id=users[spec.owner_email].id,
            billing_address=spec.billing_address,
            billing_country=spec.billing_country,
            agency_commission_pct=spec.agency_commission_pct,
            credit_status=spec.credit_status,
            notes=spec.notes,
        )
        account = create_account(data, actor=None, now=now)
        for contact in spec.contacts:
            add_contact(
                account,
                name=contact.name,
                email=contact.email,
                title=contact.title,
                phone=contact.phone,
                actor=None,
                now=now,
            )
            contacts += 1
        accounts.append(account)
    return accounts, contacts


def _load_targeting() -> int:
    count = 0
    for spec in publisher.TARGETING:
        dimension = TargetingDimension(key=spec.key, name=spec.name)
        dimension.values = [
            TargetingValue(code=v.code, name=v.name, traffic_share_pct=v.share_pct) for v in spec.values
        ]
        db.session.add(dimension)
        count += len(spec.values)
    db.session.flush()
    return count


def _load_ad_units() -> list[AdUnit]:
    """The site > section > slot tree; sites and sections carry the union of their slots' sizes."""
    units: list[AdUnit] = []
    for site in publisher.SITES:
        site_unit = _ad_unit(AdUnitLevel.SITE, site, parent=None)
        units.append(site_unit)
        for section in site.sections:
            section_unit = _ad_unit(AdUnitLevel.SECTION, section, parent=site_unit)
            units.append(section_unit)
            units.extend(_ad_unit(AdUnitLevel.SLOT, slot, parent=section_unit) for slot in section.slots)
    db.session.add_all(units)
    db.session.flush()
    return units


def _ad_unit(level: AdUnitLevel, node: Site | Section | Slot, *, parent: AdUnit | None) -> AdUnit:
    # `.value`, not the enum: some drivers (psycopg) would send an Enum member's name.
    return AdUnit(level=level.value, code=node.code, name=node.name, sizes=list(node.sizes), parent=parent)


def _load_traffic(slot_ids: dict[str, int], *, today: date) -> int:
    """Bulk-insert the traffic history of every slot; returns the number of rows."""
    end = today - timedelta(days=1)
    start = end - timedelta(days=HISTORY_DAYS - 1)
    rows: list[dict[str, Any]] = []
    count = 0
    for slot in publisher.all_slots():
        ad_unit_id = slot_ids[slot.code]
        history = publisher.traffic_history(slot.code, slot.base_daily, start, end)
        for day, impressions, by_geo, by_device in history:
            rows.append(
                {
                    "ad_unit_id": ad_unit_id,
                    "day": day,
                    "impressions": impressions,
                    "by_geo": by_geo,
                    "by_device": by_device,
                }
            )
            if len(rows) >= _TRAFFIC_CHUNK:
                count += _insert_traffic(rows)
                rows = []
    if rows:
        count += _insert_traffic(rows)
    return count


def _insert_traffic(rows: list[dict[str, Any]]) -> int:
    db.session.execute(sa.insert(TrafficDay), rows)
    return len(rows)


def _load_products(*, now: datetime) -> dict[str, Product]:
    units = {u.code: u.id for u in db.session.scalars(sa.select(AdUnit))}
    products = {}
    for spec in demo_catalog.PRODUCTS:
        data = ProductData(
            name=spec.name,
            category=spec.category,
            line_item_type=spec.line_item_type,
            pricing_models=list(spec.rates),
            ad_units=[(units[code.removesuffix("/*")], code.endswith("/*")) for code in spec.ad_units],
            sizes=list(spec.sizes),
            description=spec.description,
            min_quantity=spec.min_quantity,
            max_quantity=spec.max_quantity,
            customisable=list(spec.customisable),
            targeting_defaults={k: list(v) for k, v in spec.defaults.items() if v},
        )
        products[spec.name] = create_product(data, actor=None, now=now)
    _load_packages(products, now=now)
    return products


def _load_packages(products: dict[str, Product], *, now: datetime) -> None:
    packages = (
        (
            "Sport Fan Bundle",
            "10",
            (("Sport Display", True), ("Football Pre-roll", True), ("Mobile Banner Network", False)),
        ),
        ("Front Page Impact", "7.5", (("Homepage Takeover — The Daily Harbour", True), ("News Display", True))),
        ("Lifestyle Native", "12", (("Living Display", True), ("Native In-Feed", True), ("Half Page Premium", False))),
    )
    for name, discount, members in packages:
        save_package(
            None,
            PackageData(
                name=name,
                discount_pct=Decimal(discount),
                members=[(products[p].id, m) for p, m in members],
                description=f"{', '.join(p for p, _ in members)}, sold together.",
            ),
            actor=None,
            now=now,
        )


def _load_rate_cards(products: dict[str, Product], *, year: int, now: datetime) -> list[RateCard]:
    cards = []
    for spec in demo_catalog.rate_cards(year):
        card = create_card(
            CardData(
                name=spec.name,
                currency=publisher.CURRENCY,
                valid_from=spec.valid_from,
                valid_to=spec.valid_to,
                description=spec.description,
                allowed_roles=list(spec.allowed_roles),
                combine_rules=dict(demo_catalog.COMBINE),
            ),
            actor=None,
            now=now,
        )
        for product_spec in demo_catalog.PRODUCTS:
            product = products[product_spec.name]
            for model, rate in product_spec.rates.items():
                base = (rate * spec.rate_factor).quantize(Decimal("0.01"))
                set_base_rate(card, product, model, base, actor=None, now=now)
                if base and product.line_item_type != "house":
                    floor = (base * demo_catalog.FLOOR_FACTOR).quantize(Decimal("0.01"))
                    set_floor(card, product, model, floor, actor=None, now=now)
        for dimension, value, kind, amount in demo_catalog.PREMIUMS:
            set_premium(card, dimension, value, kind, amount, actor=None, now=now)
        for name, start, end, pct in demo_catalog.seasons(spec.valid_from.year):
            add_season(card, name, start, end, pct, actor=None, now=now)
        for minimum, pct in demo_catalog.VOLUME_TIERS:
            set_volume_tier(card, minimum, pct, actor=None, now=now)
        for from_pct, pct in spec.demand_bands:
            set_demand_band(card, from_pct, pct, actor=None, now=now)
        cards.append(card)
    return cards


#: (product, advertiser, weeks from next Monday, weeks long, regions, share of what is free, kind)
_RESERVATIONS = (
    ("Football Pre-roll", "Halden Auto Group", 0, 3, ("london",), "0.85", "booking"),
    ("Football Pre-roll", "Roamwell Car Hire", 1, 2, (), "0.40", "booking"),
    ("Sport Display", "Skyweave Broadband", 0, 4, (), "0.45", "booking"),
    ("Sport Display", "Corvane Motors UK", 1, 3, ("north-west", "yorkshire-humber"), "0.60", "hold"),
    ("News Display", "Ferrymoor Bank", 0, 6, ("london",), "0.70", "booking"),
    ("News Display", "Glenmorrow Mutual", 2, 4, (), "0.35", "booking"),
    ("Business & Finance Display", "Ferrymoor Bank", 0, 8, (), "0.55", "booking"),
    ("High Impact Billboard", "Maison Verlaine", 3, 2, (), "0.90", "booking"),
    ("Half Page Premium", "Sandpiper Holidays", 5, 6, (), "0.50", "hold"),
    ("Native In-Feed", "Kettlewick Tea", 0, 5, (), "0.65", "booking"),
    ("Living Display", "Hearthly Home Stores", 4, 4, (), "0.50", "booking"),
    ("Outstream Video — News", "Marlow & Finch", 1, 3, (), "0.75", "hold"),
    ("Run of Network Display", "Tumblebrook Foods", 0, 12, (), "0.12", "booking"),
)
#: Sponsorships: (product, advertiser, weeks from next Monday, days, share of voice)
_SPONSORSHIPS = (
    ("Football Section Sponsorship", "Starloom Games", 2, 14, "1"),
    ("Homepage Takeover — The Daily Harbour", "Wrenfield Mobile", 1, 1, "1"),
    ("Recipes Sponsorship", "Hollowell Dairy", 6, 28, "0.5"),
)


def _load_reservations(
    products: dict[str, Product], users: dict[str, User], accounts: list[Account], *, now: datetime, today: date
) -> int:
    """Sponsorships, bookings and holds over the coming weeks, so that contention shows from the start.

    Sponsorships go first, as publishers sell them first; each other line takes a share of what is still free.
    """
    monday = today + timedelta(days=7 - today.weekday())
    rep = users["rep@harbour.example"]
    count = 0
    for name, advertiser, offset, days, share in _SPONSORSHIPS:
        start = monday + timedelta(weeks=offset)
        box = Box(tuple(u.id for u in product_slots(products[name])), start, start + timedelta(days=days - 1))
        reserve(
            ReservationKind.BOOKING,
            box,
            label=f"{advertiser} · {name}",
            share=Decimal(share),
            product_id=products[name].id,
            actor=rep,
            now=now,
            today=today,
            margin_pct=10,
            hold_days=7,
        )
        count += 1
    for name, advertiser, offset, weeks, geo, fraction, kind in _RESERVATIONS:
        start = monday + timedelta(weeks=offset)
        box = Box(tuple(u.id for u in product_slots(products[name])), start, start + timedelta(days=7 * weeks - 1), geo)
        free = availability_for(box, now=now, today=today, margin_pct=10).available
        quantity = int(free * Decimal(fraction)) // 1000 * 1000
        if quantity <= 0:
            continue
        reserve(
            ReservationKind(kind),
            box,
            label=f"{advertiser} · {name}",
            quantity=quantity,
            product_id=products[name].id,
            actor=rep,
            now=now,
            today=today,
            margin_pct=10,
            hold_days=7,
        )
        count += 1
    return count
