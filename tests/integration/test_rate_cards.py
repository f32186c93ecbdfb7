"""Rate cards: validation of every row kind, copying, removing, who may use a card, and CSV round trips."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.catalog.models import Product
from app.csvio import ImportFailed
from app.errors import Conflict, DomainError, ValidationFailed
from app.extensions import db
from app.ratecards import csvio, queries, service
from app.ratecards.models import RateCard
from app.ratecards.service import CardData
from tests.conftest import DEMO_USERS, now, user

HEADER = ",".join(csvio.COLUMNS)
SEASON_RANGE = "A season adjusts the rate by -90 % to +500 %, and not by 0."


def admin():
    return user(DEMO_USERS["admin"])


def product(name: str) -> Product:
    found = db.session.scalar(sa.select(Product).where(Product.name == name))
    assert found is not None, name
    return found


def card_named(name: str) -> RateCard:
    found = db.session.scalar(sa.select(RateCard).where(RateCard.name == name))
    assert found is not None, name
    return found


def standard() -> RateCard:
    """The demo's "Standard <year>" card: the earliest of the two standard cards."""
    return db.session.scalars(
        sa.select(RateCard).where(RateCard.name.like("Standard %")).order_by(RateCard.valid_from)
    ).first()


def card_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(RateCard.id)))


def card_events(card: RateCard) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == "rate_card", AuditEvent.entity_id == card.id)
            .order_by(AuditEvent.id)
        )
    )


def new_card(**changes) -> RateCard:
    values = dict(name="Euro 2031", currency="EUR", valid_from=date(2031, 1, 1), valid_to=date(2031, 12, 31))
    values.update(changes)
    return service.create_card(CardData(**values), actor=admin(), now=now())


def card_data(card: RateCard, **changes) -> CardData:
    values = dict(
        name=card.name,
        currency=card.currency,
        valid_from=card.valid_from,
        valid_to=card.valid_to,
        description=card.description,
        allowed_roles=list(card.allowed_roles),
        combine_rules=dict(card.combine_rules),
        status=card.status,
    )
    values.update(changes)
    return CardData(**values)


def csv_file(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def reloaded_export(card_id: int) -> str:
    db.session.commit()
    db.session.expire_all()
    return csvio.export_card(db.session.get(RateCard, card_id))


# -- Cards ---------------------------------------------------------------------------------------


def test_every_problem_with_a_card_is_reported_at_once_and_nothing_is_saved(ctx):
    before = card_count()
    with pytest.raises(ValidationFailed) as failure:
        new_card(
            name=" ",
            currency="XYZ",
            valid_from=date(2031, 12, 31),
            valid_to=date(2031, 1, 1),
            allowed_roles=["boss"],
            combine_rules={"geo": "average"},
        )
    errors = failure.value.errors
    assert errors["name"] == ["Enter the name."]
    assert errors["currency"] == ["“XYZ” is not a currency in use (use an ISO 4217 code such as GBP, EUR or USD)."]
    assert errors["valid_to"] == ["The card's validity ends (2031-01-01) before it starts (2031-12-31)."]
    assert errors["allowed_roles"] == ["Unknown role boss."]
    assert errors["combine_rules"] == ["“geo: average” is not a feature and SUM or HIGHEST."]
    db.session.rollback()
    assert card_count() == before


def test_a_card_name_is_unique_whatever_its_case_and_accents(ctx):
    new_card(name="ÉTÉ 2031")
    for taken in ("ÉTÉ 2031", standard().name.upper()):
        with pytest.raises(ValidationFailed) as failure:
            new_card(name=taken)
        assert failure.value.errors == {"name": [f"There is already a rate card called “{taken}”."]}


def test_money_on_a_card_is_decimal_and_exact_after_a_trip_through_the_database(ctx):
    card = new_card()
    ron = product("Run of Network Display")
    service.set_base_rate(card, ron, "cpm", Decimal("987654321.1234"), actor=admin(), now=now())
    service.set_floor(card, ron, "cpm", Decimal("0.0001"), actor=admin(), now=now())
    service.set_premium(card, "key_value", None, "absolute", Decimal("0.0001"), actor=admin(), now=now())
    service.set_premium(card, "device", "mobile", "percent", Decimal("999.9999"), actor=admin(), now=now())
    service.add_season(card, "Spring", date(2031, 3, 1), date(2031, 5, 31), Decimal("-12.75"), actor=None, now=now())
    service.set_volume_tier(card, 10**12, Decimal("99.99"), actor=admin(), now=now())
    card_id = card.id
    db.session.commit()
    db.session.expire_all()
    card = db.session.get(RateCard, card_id)
    values = {
        "base rate": card.base_rate(ron.id, "cpm"),
        "floor": card.floors[0].rate,
        "premiums": sorted(p.amount for p in card.premiums),
        "season": card.seasons[0].adjustment_pct,
        "tier": card.volume_tiers[0].discount_pct,
    }
    assert values == {
        "base rate": Decimal("987654321.1234"),
        "floor": Decimal("0.0001"),
        "premiums": [Decimal("0.0001"), Decimal("999.9999")],
        "season": Decimal("-12.75"),
        "tier": Decimal("99.99"),
    }
    assert all(isinstance(v, Decimal) for v in [*values.pop("premiums"), *values.values()])
    assert card.volume_tiers[0].min_quantity == 10**12


def test_a_stale_card_edit_is_a_conflict(ctx):
    card = standard()
    stale = card.version
    service.update_card(card, card_data(card, description="Updated."), expected_version=stale, actor=admin(), now=now())
    db.session.commit()
    with pytest.raises(Conflict):
        service.update_card(
            card, card_data(card, description="Again."), expected_version=stale, actor=admin(), now=now()
        )


def test_the_currency_changes_only_while_no_rate_is_in_it(ctx):
    card = new_card()
    service.update_card(card, card_data(card, currency="USD"), expected_version=card.version, actor=admin(), now=now())
    service.set_premium(card, "geo", None, "percent", Decimal("10"), actor=admin(), now=now())
    service.update_card(card, card_data(card, currency="CHF"), expected_version=card.version, actor=admin(), now=now())
    assert card.currency == "CHF"
    service.set_premium(card, "key_value", None, "absolute", Decimal("1"), actor=admin(), now=now())
    with pytest.raises(ValidationFailed) as failure:
        service.update_card(
            card, card_data(card, currency="GBP"), expected_version=card.version, actor=admin(), now=now()
        )
    assert "already has rates in its currency" in failure.value.errors["currency"][0]
    db.session.rollback()

    card = standard()
    with pytest.raises(ValidationFailed):
        service.update_card(
            card, card_data(card, currency="EUR"), expected_version=card.version, actor=admin(), now=now()
        )
    db.session.rollback()
    card = standard()
    # The same currency typed in lower case is no change.
    service.update_card(
        card,
        card_data(card, currency="gbp", description="Lower case."),
        expected_version=card.version,
        actor=admin(),
        now=now(),
    )
    assert (card.currency, card.description) == ("GBP", "Lower case.")


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("sales_rep", ["Standard {y}", "Agency {y}"]),
        ("sales_manager", ["Standard {y}", "Agency {y}"]),
        ("admin", ["Standard {y}", "Agency {y}"]),
        ("finance", ["Standard {y}"]),
    ],
)
def test_cards_for_offers_the_cards_a_role_may_use_on_a_day(ctx, role, expected):
    year = standard().valid_from.year
    person = user(DEMO_USERS[role])
    assert [c.name for c in queries.cards_for(person, on=date(year, 6, 1))] == [e.format(y=year) for e in expected]
    assert [c.name for c in queries.cards_for(person, on=date(year + 1, 1, 1))] == [f"Standard {year + 1}"]
    assert queries.cards_for(person, on=date(year - 1, 12, 31)) == []


def test_an_archived_card_is_offered_to_nobody(ctx):
    card = standard()
    day = card.valid_from
    service.update_card(
        card, card_data(card, status="archived"), expected_version=card.version, actor=admin(), now=now()
    )
    assert [c.name for c in queries.cards_for(user(DEMO_USERS["sales_rep"]), on=day)] == [f"Agency {day.year}"]
    assert queries.cards_for(user(DEMO_USERS["finance"]), on=day) == []


# -- Rows ----------------------------------------------------------------------------------------


def test_a_negative_base_rate_is_refused_on_its_field_and_nothing_changes(ctx):
    card = standard()
    ron = product("Run of Network Display")
    audited = len(card_events(card))
    with pytest.raises(ValidationFailed) as failure:
        service.set_base_rate(card, ron, "cpm", Decimal("-6.50"), actor=admin(), now=now())
    assert failure.value.errors == {"rate": ["The base rate cannot be negative (-6.50)."]}
    db.session.rollback()
    assert standard().base_rate(ron.id, "cpm") == Decimal("6.50")
    assert len(card_events(standard())) == audited


@pytest.mark.parametrize(
    ("name", "model", "rate", "field", "message"),
    [
        ("Sport Display", "cpd", "100", "pricing_model", "Sport Display is not sold by CPD (allowed: CPM)."),
        ("Sport Display", "cpm", "8.12345", "rate", "The base rate has at most 4 decimals."),
        ("Sport Display", "cpm", "100000000001", "rate", "The base rate must be at most 100,000,000,000."),
        ("Sport Display", "cpm", None, "rate", "Enter the base rate."),
        (None, "cpm", "8", "product_id", "Choose a product."),
    ],
)
def test_a_bad_base_rate_is_refused_on_its_field(ctx, name, model, rate, field, message):
    with pytest.raises(ValidationFailed) as failure:
        service.set_base_rate(
            standard(),
            product(name) if name else None,
            model,
            Decimal(rate) if rate else None,
            actor=admin(),
            now=now(),
        )
    assert failure.value.errors == {field: [message]}


def test_a_base_rate_replaces_the_one_before_and_is_audited(ctx):
    card = standard()
    ron = product("Run of Network Display")
    service.set_base_rate(card, ron, "cpm", Decimal("6.80"), actor=admin(), now=now())
    assert [r.rate for r in card.base_rates if r.product_id == ron.id] == [Decimal("6.80")]
    event = card_events(card)[-1]
    assert event.action == "base rate set" and event.summary == "Run of Network Display CPM: 6.80 GBP."
    assert (event.before, event.after["rate"]) == ({"rate": "6.5000"}, "6.80")


def test_a_base_rate_cannot_drop_below_its_floor(ctx):
    card = standard()
    ron = product("Run of Network Display")
    with pytest.raises(ValidationFailed) as failure:
        service.set_base_rate(card, ron, "cpm", Decimal("4.00"), actor=admin(), now=now())
    assert "floor" in failure.value.errors["rate"][0] and "4.55" in failure.value.errors["rate"][0]
    db.session.rollback()
    assert standard().base_rate(ron.id, "cpm") == Decimal("6.50")


@pytest.mark.parametrize(
    ("dimension", "value", "kind", "amount", "field", "message"),
    [
        ("geo", "london", "percent", "-150", "amount", "A premium raises the rate: enter more than 0 (not -150)."),
        ("geo", None, "percent", "0", "amount", "A premium raises the rate: enter more than 0 (not 0)."),
        ("geo", None, "percent", "1000.01", "amount", "A premium is at most 1000 % of the base rate."),
        ("geo", None, "absolute", "1.00001", "amount", "The premium has at most 4 decimals."),
        ("geo", "atlantis", "percent", "10", "value_code", "Geography has no value “atlantis”."),
        ("weather", None, "percent", "10", "dimension", "Choose a targeting feature."),
        ("geo", None, "bonus", "10", "kind", "Choose a percentage or an amount."),
    ],
)
def test_a_bad_premium_is_refused_on_its_field(ctx, dimension, value, kind, amount, field, message):
    card = standard()
    premiums = len(card.premiums)
    with pytest.raises(ValidationFailed) as failure:
        service.set_premium(card, dimension, value, kind, Decimal(amount), actor=admin(), now=now())
    assert failure.value.errors == {field: [message]}
    db.session.rollback()
    assert len(standard().premiums) == premiums


def test_seasons_on_one_card_may_not_overlap_but_may_touch(ctx):
    card = standard()
    year = card.valid_from.year
    with pytest.raises(ValidationFailed) as failure:
        service.add_season(
            card, "Black Friday", date(year, 11, 25), date(year, 11, 30), Decimal("15"), actor=admin(), now=now()
        )
    assert failure.value.errors == {
        "starts_on": [
            f"Season “Black Friday” ({year}-11-25 to {year}-11-30) overlaps “Q4 peak” ({year}-10-01 to {year}-12-31); "
            "a day may be in one season only."
        ]
    }
    db.session.rollback()
    card = standard()
    added = service.add_season(
        card, "Late summer", date(year, 8, 1), date(year, 9, 30), Decimal("5"), actor=admin(), now=now()
    )
    assert added in card.seasons and card_events(card)[-1].action == "season added"


@pytest.mark.parametrize(
    ("starts", "ends", "pct", "field", "message"),
    [
        ((2031, 5, 10), (2031, 5, 1), "10", "ends_on", "The season ends (2031-05-01) before it starts (2031-05-10)."),
        ((2031, 5, 1), (2031, 5, 10), "0", "adjustment_pct", SEASON_RANGE),
        ((2031, 5, 1), (2031, 5, 10), "-95", "adjustment_pct", SEASON_RANGE),
        ((2031, 5, 1), (2031, 5, 10), "10.125", "adjustment_pct", "Use at most 2 decimals."),
        (None, (2031, 5, 10), "10", "starts_on", "Enter the first day of the season."),
    ],
)
def test_a_bad_season_is_refused_on_its_field(ctx, starts, ends, pct, field, message):
    with pytest.raises(ValidationFailed) as failure:
        service.add_season(
            new_card(),
            "May",
            date(*starts) if starts else None,
            date(*ends),
            Decimal(pct),
            actor=admin(),
            now=now(),
        )
    assert failure.value.errors == {field: [message]}


@pytest.mark.parametrize(
    ("minimum", "pct", "field"),
    [(0, "5", "min_quantity"), (None, "5", "min_quantity"), (1000, "100", "discount_pct"), (1000, "0", "discount_pct")],
)
def test_a_bad_volume_tier_is_refused_on_its_field(ctx, minimum, pct, field):
    with pytest.raises(ValidationFailed) as failure:
        service.set_volume_tier(standard(), minimum, Decimal(pct), actor=admin(), now=now())
    assert set(failure.value.errors) == {field}


def test_a_floor_above_its_base_rate_is_refused(ctx):
    card = standard()
    ron = product("Run of Network Display")
    with pytest.raises(ValidationFailed) as failure:
        service.set_floor(card, ron, "cpm", Decimal("6.51"), actor=admin(), now=now())
    [message] = failure.value.errors["rate"]
    assert message.startswith("The floor 6.51 is above the base rate of Run of Network Display (6.5")
    assert message.endswith("CPM): nothing could ever be sold at list price.")
    service.set_floor(card, ron, "cpm", Decimal("6.50"), actor=admin(), now=now())
    assert [f.rate for f in card.floors if f.product_id == ron.id] == [Decimal("6.50")]


def test_a_floor_needs_a_base_rate_of_its_pricing_model(ctx):
    card = new_card()
    takeover = product("Homepage Takeover — The Daily Harbour")
    service.set_base_rate(card, takeover, "cpd", Decimal("12000"), actor=admin(), now=now())
    with pytest.raises(ValidationFailed) as failure:
        service.set_floor(card, takeover, "flat", Decimal("9000"), actor=admin(), now=now())
    assert failure.value.errors == {
        "product_id": [
            "Set a Flat fee base rate for Homepage Takeover — The Daily Harbour first: a floor sits below it."
        ]
    }
    with pytest.raises(ValidationFailed) as failure:
        service.set_floor(card, takeover, "cpm", Decimal("9"), actor=admin(), now=now())
    assert set(failure.value.errors) == {"pricing_model"}


def test_removing_a_row_takes_it_off_the_card_and_is_audited(ctx):
    card = standard()
    peak = next(s for s in card.seasons if s.name == "Q4 peak")
    service.remove_row(card, "seasons", peak.id, actor=admin(), now=now())
    db.session.commit()
    assert "Q4 peak" not in [s.name for s in standard().seasons]
    event = card_events(card)[-1]
    assert event.action == "season removed" and event.summary.startswith("Removed season: Q4 peak ")
    with pytest.raises(DomainError, match="no longer on the card"):
        service.remove_row(card, "seasons", peak.id, actor=admin(), now=now())
    with pytest.raises(DomainError, match="A rate card has no “discounts”"):
        service.remove_row(card, "discounts", peak.id, actor=admin(), now=now())


def test_a_base_rate_under_a_floor_is_removed_only_after_its_floor(ctx):
    card = standard()
    ron = product("Run of Network Display")
    rate = next(r for r in card.base_rates if r.product_id == ron.id)
    floor = next(f for f in card.floors if f.product_id == ron.id)
    with pytest.raises(DomainError, match="Remove the floor of Run of Network Display first"):
        service.remove_row(card, "base_rates", rate.id, actor=admin(), now=now())
    assert card.base_rate(ron.id, "cpm") == Decimal("6.50")
    service.remove_row(card, "floors", floor.id, actor=admin(), now=now())
    service.remove_row(card, "base_rates", rate.id, actor=admin(), now=now())
    db.session.commit()
    db.session.expire_all()
    assert standard().base_rate(ron.id, "cpm") is None
    assert [e.action for e in card_events(standard())[-2:]] == ["floor removed", "base rate removed"]


def test_every_change_to_a_card_is_audited_against_it(ctx):
    card = new_card()
    ron = product("Run of Network Display")
    service.set_base_rate(card, ron, "cpm", Decimal("7"), actor=admin(), now=now())
    service.set_floor(card, ron, "cpm", Decimal("5"), actor=admin(), now=now())
    service.set_premium(card, "geo", None, "percent", Decimal("10"), actor=admin(), now=now())
    service.add_season(card, "May", date(2031, 5, 1), date(2031, 5, 31), Decimal("10"), actor=admin(), now=now())
    service.set_volume_tier(card, 1000, Decimal("5"), actor=admin(), now=now())
    service.set_demand_band(card, Decimal("80"), Decimal("25"), actor=admin(), now=now())
    service.update_card(
        card, card_data(card, description="Euro list prices."), expected_version=card.version, actor=admin(), now=now()
    )
    service.remove_row(card, "volume_tiers", card.volume_tiers[0].id, actor=admin(), now=now())
    csvio.import_card(card, csvio.export_card(card), actor=admin(), now=now())
    assert [e.action for e in card_events(card)] == [
        "created",
        "base rate set",
        "floor set",
        "premium set",
        "season added",
        "volume tier set",
        "demand band set",
        "updated",
        "volume tier removed",
        "imported",
    ]
    assert {e.actor_id for e in card_events(card)} == {admin().id}


# -- Demand bands --------------------------------------------------------------------------------


def bands_of(card: RateCard) -> list[tuple[Decimal, Decimal]]:
    return [(b.from_pct, b.adjustment_pct) for b in card.demand_bands]


def test_the_demo_standard_cards_raise_the_rate_from_50_and_80_percent_sell_through(ctx):
    year = standard().valid_from.year
    expected = [(Decimal("50"), Decimal("10")), (Decimal("80"), Decimal("25"))]
    assert bands_of(card_named(f"Standard {year}")) == expected
    assert bands_of(card_named(f"Standard {year + 1}")) == expected
    assert bands_of(card_named(f"Agency {year}")) == []


def test_a_demand_band_is_set_replaced_and_removed_and_each_change_is_audited(ctx):
    card = new_card()
    service.set_demand_band(card, Decimal("80"), Decimal("25"), actor=admin(), now=now())
    service.set_demand_band(card, Decimal("50"), Decimal("-5.5"), actor=admin(), now=now())
    card_id = card.id
    db.session.commit()
    db.session.expire_all()
    card = db.session.get(RateCard, card_id)
    assert bands_of(card) == [(Decimal("50"), Decimal("-5.5")), (Decimal("80"), Decimal("25"))]
    first = card_events(card)[1]
    assert (first.action, first.summary) == ("demand band set", "From 80 % sell-through: +25 %.")
    assert (first.before, first.after) == (None, {"from_pct": "80", "adjustment_pct": "25"})

    # 80.00 is the band from 80: its adjustment is replaced, no second band appears.
    service.set_demand_band(card, Decimal("80.00"), Decimal("30"), actor=admin(), now=now())
    db.session.commit()
    db.session.expire_all()
    card = db.session.get(RateCard, card_id)
    assert bands_of(card) == [(Decimal("50"), Decimal("-5.5")), (Decimal("80"), Decimal("30"))]
    replaced = card_events(card)[-1]
    assert replaced.summary == "From 80 % sell-through: +30 %."
    assert (replaced.before, replaced.after) == (
        {"adjustment_pct": "25.0000"},
        {"from_pct": "80.00", "adjustment_pct": "30"},
    )

    service.remove_row(card, "demand_bands", card.demand_bands[0].id, actor=admin(), now=now())
    db.session.commit()
    db.session.expire_all()
    card = db.session.get(RateCard, card_id)
    assert bands_of(card) == [(Decimal("80"), Decimal("30"))]
    removed = card_events(card)[-1]
    assert removed.action == "demand band removed"
    assert removed.summary == "Removed demand band: from 50 % sell-through: -5.5 %."


def test_the_widest_demand_bands_are_accepted(ctx):
    card = new_card()
    service.set_demand_band(card, Decimal("0"), Decimal("-100"), actor=admin(), now=now())
    service.set_demand_band(card, Decimal("100"), Decimal("500"), actor=admin(), now=now())
    assert bands_of(card) == [(Decimal("0"), Decimal("-100")), (Decimal("100"), Decimal("500"))]


@pytest.mark.parametrize(
    ("from_pct", "pct", "errors"),
    [
        ("120", "10", {"from_pct": ["Sell-through runs from 0 % to 100 % (not 120 %)."]}),
        ("-1", "10", {"from_pct": ["Sell-through runs from 0 % to 100 % (not -1 %)."]}),
        ("90.125", "10", {"from_pct": ["Use at most 2 decimals."]}),
        ("90", "-150", {"adjustment_pct": ["A demand band adjusts the rate by -100 % to +500 % (not -150 %)."]}),
        ("90", "500.01", {"adjustment_pct": ["A demand band adjusts the rate by -100 % to +500 % (not 500.01 %)."]}),
        ("90", "12.345", {"adjustment_pct": ["Use at most 2 decimals."]}),
        (
            None,
            None,
            {
                "from_pct": ["Enter the sell-through from which the band applies, such as 80 (for 80 %)."],
                "adjustment_pct": ["Enter the adjustment in percent, such as 25 or -10."],
            },
        ),
    ],
)
def test_a_bad_demand_band_is_refused_on_its_field_and_nothing_is_written(ctx, from_pct, pct, errors):
    card = standard()
    bands, audited, version = bands_of(card), len(card_events(card)), card.version
    with pytest.raises(ValidationFailed) as failure:
        service.set_demand_band(
            card,
            Decimal(from_pct) if from_pct else None,
            Decimal(pct) if pct else None,
            actor=admin(),
            now=now(),
        )
    assert failure.value.errors == errors
    db.session.rollback()
    card = standard()
    assert (bands_of(card), len(card_events(card)), card.version) == (bands, audited, version)


# -- Copying -------------------------------------------------------------------------------------


def test_a_copy_moves_validity_and_seasons_and_keeps_every_rate_and_rule(ctx):
    original = standard()
    year = original.valid_from.year
    copy = service.copy_card(original, name="Standard, two years on", years=2, actor=admin(), now=now())
    assert (copy.valid_from, copy.valid_to) == (date(year + 2, 1, 1), date(year + 2, 12, 31))
    assert (copy.currency, copy.allowed_roles, copy.combine_rules) == (
        original.currency,
        original.allowed_roles,
        original.combine_rules,
    )
    copied, source = reloaded_export(copy.id), reloaded_export(original.id)
    assert copied == source.replace(f"{year}-", f"{year + 2}-") and copied != source
    assert [(b.from_pct, b.adjustment_pct) for b in db.session.get(RateCard, copy.id).demand_bands] == [
        (Decimal("50"), Decimal("10")),
        (Decimal("80"), Decimal("25")),
    ]
    [event] = card_events(copy)
    assert event.summary == f"Copied from Standard {year}, dates moved by 2 years."


def test_a_copy_from_29_february_lands_on_28_february_unless_the_year_is_a_leap_year(ctx):
    card = new_card(name="Leap 2024", valid_from=date(2024, 2, 29), valid_to=date(2024, 12, 31))
    service.add_season(card, "Leap week", date(2024, 2, 29), date(2024, 3, 6), Decimal("10"), actor=None, now=now())
    next_year = service.copy_card(card, name="Leap 2025", years=1, actor=admin(), now=now())
    assert (next_year.valid_from, next_year.valid_to) == (date(2025, 2, 28), date(2025, 12, 31))
    assert [(s.starts_on, s.ends_on) for s in next_year.seasons] == [(date(2025, 2, 28), date(2025, 3, 6))]
    leap_again = service.copy_card(card, name="Leap 2028", years=4, actor=admin(), now=now())
    assert leap_again.valid_from == date(2028, 2, 29)
    assert [(s.starts_on, s.ends_on) for s in leap_again.seasons] == [(date(2028, 2, 29), date(2028, 3, 6))]


def test_a_season_outside_the_cards_validity_is_refused(ctx):
    card = new_card(name="Short 2024", valid_from=date(2024, 3, 1), valid_to=date(2024, 3, 31))
    with pytest.raises(ValidationFailed) as failure:
        service.add_season(card, "Early", date(2024, 2, 20), date(2024, 3, 5), Decimal("10"), actor=None, now=now())
    assert "within the card's validity" in failure.value.errors["starts_on"][0]
    with pytest.raises(ValidationFailed) as failure:
        service.copy_card(card, name="Too far", years=7980, actor=admin(), now=now())
    assert failure.value.errors["years"] == ["Move the dates by -5 to 5 years."]


def test_a_copy_that_would_make_seasons_overlap_is_refused(ctx):
    card = new_card(name="Leap seasons 2024", valid_from=date(2024, 1, 1), valid_to=date(2024, 12, 31))
    service.add_season(card, "Winter", date(2024, 1, 1), date(2024, 2, 28), Decimal("-10"), actor=None, now=now())
    service.add_season(card, "Leap day", date(2024, 2, 29), date(2024, 2, 29), Decimal("50"), actor=None, now=now())
    db.session.commit()
    before = card_count()
    with pytest.raises(ValidationFailed) as failure:
        service.copy_card(card, name="Leap seasons 2025", years=1, actor=admin(), now=now())
    [message] = failure.value.errors["years"]
    assert "“Leap day” (2025-02-28 to 2025-02-28) overlaps “Winter”" in message
    db.session.rollback()
    assert card_count() == before


def test_a_copy_needs_a_name_of_its_own(ctx):
    original = standard()
    with pytest.raises(ValidationFailed) as failure:
        service.copy_card(original, name=original.name, years=1, actor=admin(), now=now())
    assert failure.value.errors == {"name": [f"There is already a rate card called “{original.name}”."]}


# -- CSV -----------------------------------------------------------------------------------------


def test_exporting_importing_and_exporting_the_standard_card_gives_back_the_same_bytes(ctx):
    card = standard()
    exported = csvio.export_card(card)
    assert exported.startswith(HEADER + "\nfeature_rule,,,audience,,highest,")
    assert "base_rate,Run of Network Display,cpm,,,,6.5,,,,,\n" in exported
    assert "demand_band,,,,,,10,,,,,50\ndemand_band,,,,,,25,,,,,80\n" in exported
    counts = csvio.import_card(card, exported.encode("utf-8"), actor=admin(), now=now())
    assert counts == {
        "base rates": 18,
        "premiums": 9,
        "seasons": 3,
        "volume tiers": 3,
        "demand bands": 2,
        "floors": 17,  # every product but the free house promotions
        "feature rules": 4,
    }
    assert reloaded_export(card.id).encode("utf-8") == exported.encode("utf-8")
    assert card_events(standard())[-1].action == "imported"


def test_a_season_named_like_a_formula_is_exported_as_text_and_its_negative_amount_as_a_number(ctx):
    import csv
    import io

    card = standard()
    season = card.seasons[0]
    season.name, season.adjustment_pct = "=1+1", Decimal("-10")
    db.session.flush()
    exported = csvio.export_card(card)
    rows = list(csv.DictReader(io.StringIO(exported)))
    row = next(r for r in rows if r["record"] == "season" and r["name"].endswith("=1+1"))
    assert row["name"] == "'=1+1" and row["amount"] == "-10"
    csvio.import_card(card, exported.encode("utf-8"), actor=admin(), now=now())
    assert reloaded_export(card.id) == exported
    assert {s.name: s.adjustment_pct for s in standard().seasons}["=1+1"] == Decimal("-10")


def test_an_edited_card_file_round_trips_with_its_new_values(ctx):
    card = standard()
    year = card.valid_from.year
    exported = csvio.export_card(card)
    edited = (
        exported.replace(
            "base_rate,Run of Network Display,cpm,,,,6.5,", "base_rate,Run of Network Display,cpm,,,,6.75,"
        )
        .replace("premium,,,geo,london,percent,25,", "premium,,,geo,london,percent,27.5,")
        .replace(f"season,,,,,,20,Q4 peak,{year}-10-01,", f"season,,,,,,22.5,Q4 peak,{year}-11-01,")
    )
    assert edited.count("\n") == exported.count("\n") and edited != exported
    csvio.import_card(card, edited, actor=admin(), now=now())
    assert reloaded_export(card.id) == edited
    card = standard()
    ron = product("Run of Network Display")
    assert card.base_rate(ron.id, "cpm") == Decimal("6.75")
    peak = next(s for s in card.seasons if s.name == "Q4 peak")
    assert (peak.starts_on, peak.adjustment_pct) == (date(year, 11, 1), Decimal("22.5"))


def test_every_bad_row_is_reported_with_its_line_and_reason_and_nothing_is_imported(ctx):
    card = standard()
    y = card.valid_from.year
    rows = [
        "base_rate,Run of Network Display,cpm,,,,6.5,,,,",  # 2: good
        "base_rate,Nonexistent Product,cpm,,,,5,,,,",  # 3
        "base_rate,News Display,cpc,,,,9,,,,",  # 4
        "base_rate,Sport Display,cpm,,,,-8,,,,",  # 5
        "base_rate,Sport Display,cpd,,,,100,,,,",  # 6
        "base_rate,Living Display,cpm,,,,seven,,,,",  # 7
        "premium,,,geo,london,percent,-150,,,,",  # 8
        "premium,,,weather,,percent,10,,,,",  # 9
        "premium,,,geo,atlantis,percent,10,,,,",  # 10
        "premium,,,device,mobile,bonus,10,,,,",  # 11
        "feature_rule,,,geo,,average,,,,,",  # 12
        f"season,,,,,,20,Q4 peak,{y}-10-01,{y}-12-31,",  # 13: good
        f"season,,,,,,15,Christmas,{y}-12-01,{y}-12-26,",  # 14
        f"season,,,,,,10,Backwards,{y}-05-10,{y}-05-01,",  # 15
        f"season,,,,,,10,Bad date,{y}-02-30,{y}-03-01,",  # 16
        "volume_tier,,,,,,5,,,,1000000",  # 17: good
        "volume_tier,,,,,,100,,,,2000000",  # 18
        "volume_tier,,,,,,5,,,,lots",  # 19
        "floor,Run of Network Display,cpm,,,,7,,,,",  # 20
        "floor,News Display,cpm,,,,3,,,,",  # 21
        "banana,,,,,,1,,,,",  # 22
        "",  # 23: blank lines are skipped but counted
        "volume_tier,,,,,,5,,,,²",  # 24
    ]
    before, audited = csvio.export_card(card), len(card_events(card))
    with pytest.raises(ImportFailed) as failure:
        csvio.import_card(card, csv_file(*rows), actor=admin(), now=now())
    problems = [(p.line, p.message) for p in failure.value.problems]
    expected = [
        (3, "There is no product called “Nonexistent Product”."),
        (4, "pricing_model “cpc” is not CPM, CPD or flat."),
        (5, "The base rate cannot be negative (-8)."),
        (6, "Sport Display is not sold by CPD (allowed: CPM)."),
        (7, "amount “seven” is not a number (use a dot for decimals, such as 6.5)."),
        (8, "A premium raises the rate: enter more than 0 (not -150)."),
        (9, "dimension “weather” is not one of geo, device, key_value, audience, daypart, frequency_cap."),
        (10, "Geography has no value “atlantis”."),
        (11, "Choose a percentage or an amount."),
        (12, "kind “average” for a feature rule is sum or highest."),
        (
            14,
            f"Season “Christmas” ({y}-12-01 to {y}-12-26) overlaps “Q4 peak” ({y}-10-01 to {y}-12-31); "
            "a day may be in one season only.",
        ),
        (15, f"The season ends ({y}-05-01) before it starts ({y}-05-10)."),
        (16, f"starts_on “{y}-02-30” is not a date (use YYYY-MM-DD)."),
        (16, "Enter the first day of the season."),
        (18, "A tier's discount is more than 0 % and less than 100 %."),
        (19, "min_quantity “lots” is not a whole number."),
        (19, "Enter the quantity from which the tier applies (1 or more)."),
        (
            20,
            "The floor 7 is above the base rate of Run of Network Display (6.5 CPM): "
            "nothing could ever be sold at list price.",
        ),
        (21, "Set a CPM base rate for News Display first: a floor sits below it."),
        (
            22,
            "record “banana” is not one of feature_rule, base_rate, premium, season, volume_tier, demand_band, floor.",
        ),
        (24, "min_quantity “²” is not a whole number."),
        (24, "Enter the quantity from which the tier applies (1 or more)."),
    ]
    assert sorted(problems) == sorted(expected)
    assert {line for line, _ in problems} == set(range(3, 25)) - {13, 17, 23}
    db.session.rollback()
    assert csvio.export_card(standard()) == before
    assert len(card_events(standard())) == audited


def test_a_row_repeated_in_the_file_is_reported_on_its_second_line(ctx):
    y = standard().valid_from.year
    rows = [
        "base_rate,Run of Network Display,cpm,,,,6.5,,,,",  # 2
        "base_rate,run of network display,CPM,,,,6.6,,,,",  # 3
        "premium,,,geo,london,percent,25,,,,",  # 4
        "premium,,,Geography,london,percent,30,,,,",  # 5
        "feature_rule,,,geo,,highest,,,,,",  # 6
        "feature_rule,,,geo,,sum,,,,,",  # 7
        "volume_tier,,,,,,5,,,,1000000",  # 8
        'volume_tier,,,,,,6,,,,"1,000,000"',  # 9
        "floor,Run of Network Display,cpm,,,,4,,,,",  # 10
        "floor,Run of Network Display,cpm,,,,4.5,,,,",  # 11
        f"season,,,,,,20,Q4 peak,{y}-10-01,{y}-12-31,",  # 12
        f"season,,,,,,20,Q4 peak,{y}-10-01,{y}-12-31,",  # 13
    ]
    with pytest.raises(ImportFailed) as failure:
        csvio.import_card(standard(), csv_file(*rows), actor=admin(), now=now())
    problems = {(p.line, p.message) for p in failure.value.problems}
    assert {line for line, _ in problems} == {3, 5, 7, 9, 11, 13}
    assert (3, "Run of Network Display cpm already has a base rate on line 2.") in problems
    assert (5, "geo london already has a premium on line 4.") in problems
    assert (7, "geo has a feature rule already.") in problems
    assert (9, "A tier from 1,000,000 is already on line 8.") in problems
    assert (11, "Run of Network Display cpm has two floors.") in problems
    assert any(line == 13 and "overlaps “Q4 peak”" in message for line, message in problems)


def test_demand_bands_round_trip_through_a_file_with_their_edits(ctx):
    card = standard()
    exported = csvio.export_card(card)
    edited = exported.replace(
        "demand_band,,,,,,25,,,,,80\n", "demand_band,,,,,,30,,,,,80\ndemand_band,,,,,,-5,,,,,20\n"
    )
    assert edited != exported
    counts = csvio.import_card(card, edited, actor=admin(), now=now())
    assert counts["demand bands"] == 3
    reloaded = reloaded_export(card.id)
    # Read back in order of sell-through: the band from 20 % comes first.
    assert "demand_band,,,,,,-5,,,,,20\ndemand_band,,,,,,10,,,,,50\ndemand_band,,,,,,30,,,,,80\n" in reloaded
    assert bands_of(standard()) == [
        (Decimal("20"), Decimal("-5")),
        (Decimal("50"), Decimal("10")),
        (Decimal("80"), Decimal("30")),
    ]


def test_every_bad_demand_band_row_is_reported_with_its_line_and_nothing_is_imported(ctx):
    rows = [
        "demand_band,,,,,,10,,,,,50",  # 2: good
        "demand_band,,,,,,10,,,,,120",  # 3
        "demand_band,,,,,,-150,,,,,60",  # 4
        "demand_band,,,,,,12,,,,,50.00",  # 5: the band from 50 again
        "demand_band,,,,,,12,,,,,",  # 6
        "demand_band,,,,,,lots,,,,,70",  # 7
    ]
    card = standard()
    before, audited = csvio.export_card(card), len(card_events(card))
    with pytest.raises(ImportFailed) as failure:
        csvio.import_card(card, csv_file(*rows), actor=admin(), now=now())
    assert [(p.line, p.message) for p in failure.value.problems] == [
        (3, "Sell-through runs from 0 % to 100 % (not 120 %)."),
        (4, "A demand band adjusts the rate by -100 % to +500 % (not -150 %)."),
        (5, "A demand band from 50.00 % is already on line 2."),
        (6, "from_pct is empty."),
        (6, "Enter the sell-through from which the band applies, such as 80 (for 80 %)."),
        (7, "amount “lots” is not a number (use a dot for decimals, such as 6.5)."),
        (7, "Enter the adjustment in percent, such as 25 or -10."),
    ]
    db.session.rollback()
    assert csvio.export_card(standard()) == before
    assert len(card_events(standard())) == audited


def test_a_file_from_before_demand_bands_still_imports_and_leaves_the_card_without_bands(ctx):
    card = standard()
    old_columns = [c for c in csvio.COLUMNS if c != "from_pct"]
    old_file = "\n".join([",".join(old_columns), "base_rate,Run of Network Display,cpm,,,,6.5,,,,", ""])
    counts = csvio.import_card(card, old_file, actor=admin(), now=now())
    assert (counts["base rates"], counts["demand bands"]) == (1, 0)
    db.session.commit()
    assert bands_of(standard()) == []


def test_overlapping_seasons_in_a_file_are_reported_on_the_later_line(ctx):
    rows = [
        "season,,,,,,-10,Sale,2031-03-01,2031-03-31,",  # 2
        "season,,,,,,15,Easter,2031-03-25,2031-04-05,",  # 3
        "season,,,,,,-10,Sale,2031-11-01,2031-11-30,",  # 4: a second sale of the same name, no overlap
        "season,,,,,,10,Summer,2031-06-01,2031-08-31,",  # 5
        "season,,,,,,5,August,2031-08-01,2031-08-15,",  # 6
    ]
    with pytest.raises(ImportFailed) as failure:
        csvio.import_card(new_card(), csv_file(*rows), actor=admin(), now=now())
    assert [(p.line, p.message.split(" (")[0]) for p in failure.value.problems] == [
        (3, "Season “Easter”"),
        (6, "Season “August”"),
    ]
    assert "overlaps “Sale” (2031-03-01 to 2031-03-31)" in failure.value.problems[0].message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", [(1, "The file is empty.")]),
        (b"\xff\xfe\x00bad", [(1, "The file is not UTF-8 text; save it as CSV (UTF-8).")]),
        ("record,product\nbase_rate,News Display\n", [(1, "The header lacks the column(s) amount.")]),
        (
            "record,amount,colour\nbase_rate,1,red\n",
            [(1, "Unknown column(s) colour; expected " + ", ".join(csvio.COLUMNS) + ".")],
        ),
        (
            csv_file(
                "base_rate,Run of Network Display,cpm,,,,6.5,,,,",
                "base_rate,Sport Display,cpm,,,,8,,,,,,",
                "base_rate,Sport Display,cpm,,,,-8,,,,",
                "base_rate,News Display,cpm,,,,9,,,,,,,",
            ),
            [(3, "13 cells for 12 columns."), (5, "14 cells for 12 columns.")],
        ),
    ],
)
def test_a_broken_file_is_reported_by_line_and_changes_nothing(ctx, data, expected):
    card = standard()
    before = csvio.export_card(card)
    with pytest.raises(ImportFailed) as failure:
        csvio.import_card(card, data, actor=admin(), now=now())
    assert [(p.line, p.message) for p in failure.value.problems] == expected
    db.session.rollback()
    assert csvio.export_card(standard()) == before


def test_an_unclosed_quote_fails_the_import_and_shows_the_text_it_swallowed(ctx):
    card = standard()
    before = csvio.export_card(card)
    data = csv_file('base_rate,"Run of Network Display,cpm,,,,6.5,,,,', "base_rate,Sport Display,cpm,,,,8,,,,")
    with pytest.raises(ImportFailed) as failure:
        csvio.import_card(card, data, actor=admin(), now=now())
    messages = [p.message for p in failure.value.problems]
    assert any(m.startswith("There is no product called “Run of Network Display,cpm,,,,6.5") for m in messages)
    assert "amount is empty." in messages
    db.session.rollback()
    assert csvio.export_card(standard()) == before


def test_a_file_with_only_the_header_does_not_empty_the_card(ctx):
    card = db.session.scalars(sa.select(RateCard).order_by(RateCard.id)).first()
    rates = len(card.base_rates)
    with pytest.raises(ImportFailed) as failure:
        csvio.import_card(card, ",".join(csvio.COLUMNS) + "\n", actor=None, now=now())
    assert "no rows" in str(failure.value.problems[0])
    db.session.rollback()
    assert len(db.session.get(RateCard, card.id).base_rates) == rates
