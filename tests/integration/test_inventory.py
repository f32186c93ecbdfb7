"""Availability, holds and bookings on the demo publisher's forecast, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.catalog.models import AdUnit, Product
from app.catalog.products import product_slots
from app.errors import ValidationFailed
from app.extensions import current_clock, db
from app.inventory import reservations
from app.inventory.availability import Availability, availability_for
from app.inventory.models import Reservation, ReservationKind
from app.inventory.reservations import NoLongerAvailable
from app.inventory.supply import Box
from tests.conftest import DEMO_USERS, now, user

MARGIN = 10


def next_monday(today: date) -> date:
    """A Monday far enough ahead that the demo's own holds and bookings are over."""
    return today + timedelta(days=7 - today.weekday(), weeks=16)


def slot(code: str) -> AdUnit:
    return db.session.scalar(sa.select(AdUnit).where(AdUnit.code == code))


def box_on(code: str, *, weeks: int = 1, **targeting) -> Box:
    start = next_monday(current_clock().today())
    return Box((slot(code).id,), start, start + timedelta(days=7 * weeks - 1), **targeting)


def available(box: Box, at=None, **kwargs) -> Availability:
    return availability_for(box, now=at or now(), today=current_clock().today(), margin_pct=MARGIN, **kwargs)


def reserve(box: Box, quantity=None, kind=ReservationKind.HOLD, share=None, label="Test hold", at=None):
    return reservations.reserve(
        kind,
        box,
        label=label,
        quantity=quantity,
        share=share,
        actor=user(DEMO_USERS["sales_rep"]),
        now=at or now(),
        today=current_clock().today(),
        margin_pct=MARGIN,
        hold_days=7,
    )


def test_an_empty_slot_offers_its_forecast_less_the_safety_margin(ctx):
    answer = available(box_on("harbour-sport/cricket/mpu"))
    assert answer.matched > 0
    assert answer.available == answer.matched - answer.margin
    assert abs(answer.margin - answer.matched * MARGIN // 100) <= answer.matched // 1000 + 50
    assert answer.contenders == [] and answer.shortfall == 0
    assert "Nothing else competes" in answer.binding


def test_a_hold_takes_its_quantity_until_it_expires_or_is_released(ctx):
    box = box_on("harbour-sport/cricket/mpu")
    before = available(box).available
    hold = reserve(box, quantity=before // 2)
    assert available(box).available == before - before // 2
    assert available(box, at=now() + timedelta(days=8)).available == before  # expired: no longer counts
    reservations.release(hold, reason="proposal rejected", actor=None, now=now())
    assert available(box).available == before


def test_a_booking_beyond_what_is_left_is_refused_and_nothing_is_written(ctx):
    box = box_on("harbour-sport/cricket/mpu")
    left = available(box).available
    reserve(box, quantity=left - 1000, kind=ReservationKind.BOOKING)
    db.session.commit()
    count = db.session.scalar(sa.select(sa.func.count(Reservation.id)))
    with pytest.raises(NoLongerAvailable, match="No longer available"):
        reserve(box, quantity=1001, kind=ReservationKind.BOOKING)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Reservation.id))) == count
    reserve(box, quantity=1000, kind=ReservationKind.BOOKING)


def test_a_sponsorship_takes_its_share_first(ctx):
    box = box_on("harbour-sport/cricket/leaderboard")
    before = available(box).available
    reserve(box, share=Decimal("0.5"), kind=ReservationKind.BOOKING, label="Cricket sponsor")
    after = available(box)
    assert before // 2 - 5 <= after.available <= before // 2 + 5
    assert after.contenders[0].sponsorship and after.contenders[0].label == "Cricket sponsor"
    assert "1 sponsorship" in after.binding


def test_a_booking_elsewhere_in_its_flight_moves_out_of_the_way(ctx):
    """A two-week booking on one slot leaves a one-week request its full week when the other week can carry it."""
    two_weeks = box_on("harbour-sport/cricket/mpu", weeks=2)
    first_week = box_on("harbour-sport/cricket/mpu")
    week_supply = available(first_week).available
    reserve(two_weeks, quantity=week_supply // 2, kind=ReservationKind.BOOKING)
    assert available(first_week).available == week_supply


def test_an_oversold_request_says_why_and_what_would_fit(ctx):
    london = box_on("daily-harbour/business/mpu", geo=("london",))
    left = available(london).available
    reserve(london, quantity=left - 100, kind=ReservationKind.BOOKING, label="Corvane Motors launch")
    answer = available(london, requested=5000, with_suggestions=True)
    assert not answer.fits and answer.available == 100
    assert answer.binding.startswith("Limited by 1 booking on The Daily Harbour › Business › MPU in London in week ")
    assert [c.label for c in answer.contenders] == ["Corvane Motors launch"]
    by_description = {s.description: s for s in answer.suggestions}
    assert by_description["Target every region"].adds > 4900
    assert any(d.startswith("Move the flight 1 week later") for d in by_description)
    assert by_description["Add The Daily Harbour › Business › Half page"].adds > 4900  # it also takes 300x250
    assert not any("Leaderboard" in d for d in by_description)  # 728x90 only: no use to an MPU campaign


def test_bad_flights_are_refused_with_a_message_on_the_field(ctx):
    today = current_clock().today()
    mpu = slot("harbour-sport/cricket/mpu").id
    with pytest.raises(ValidationFailed) as failure:
        available(Box((mpu,), today + timedelta(days=10), today + timedelta(days=3)))
    assert "ends" in failure.value.errors["end"][0]
    with pytest.raises(ValidationFailed) as failure:
        available(Box((), today, today + timedelta(days=3)))
    assert "covers no active slot" in failure.value.errors["product_id"][0]


def test_holds_are_audited(ctx):
    from app.audit.models import AuditEvent

    hold = reserve(box_on("harbour-sport/cricket/mpu"), quantity=1000)
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "reservation", AuditEvent.entity_id == hold.id)
    )
    assert event.entity_id == hold.id and event.action == "hold created"


def test_a_products_slots_form_its_inventory(ctx):
    product = db.session.scalar(sa.select(Product).where(Product.name == "Sport Display"))
    start = next_monday(current_clock().today())
    box = Box(tuple(u.id for u in product_slots(product)), start, start + timedelta(days=6))
    answer = available(box)
    single = available(Box((product_slots(product)[0].id,), start, start + timedelta(days=6)))
    assert answer.matched > single.matched > 0


@pytest.mark.postgres_only  # SQLite serialises every writer: the race needs PostgreSQL
def test_twenty_concurrent_bookings_never_oversell(app, backend):
    with app.app_context():
        box = box_on("harbour-sport/cricket/mpu")
        left = available(box).available
    quantity = left // 8
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def book(n: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                reserve(box, quantity=quantity, kind=ReservationKind.BOOKING, label=f"Race {n}")
                db.session.commit()
                outcomes.append("booked")
            except NoLongerAvailable as exc:
                db.session.rollback()
                assert "No longer available" in exc.message
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=book, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["booked"] * 8 + ["refused"] * 12
    with app.app_context():
        booked = db.session.scalar(sa.select(sa.func.sum(Reservation.quantity)).where(Reservation.label.like("Race %")))
        assert booked == 8 * quantity <= left
        assert available(box).shortfall == 0


def set_site_margin(code: str, pct: str) -> None:
    """An admin gives the site its own safety margin."""
    from app.catalog.ad_units import update_ad_unit

    site = slot(code)
    update_ad_unit(
        site,
        name=site.name,
        sizes=site.sizes,
        parent=None,
        actor=user(DEMO_USERS["admin"]),
        now=now(),
        safety_margin_pct=Decimal(pct),
    )


def test_a_site_can_keep_a_larger_safety_margin(ctx):
    box = box_on("harbour-sport/cricket/mpu")
    default = available(box)
    set_site_margin("harbour-sport", "25")
    wider = available(box)
    assert wider.matched == default.matched
    assert abs(wider.available - default.matched * 75 // 100) <= 100
    with pytest.raises(ValidationFailed) as failure:
        set_site_margin("harbour-sport", "95")
    assert "between 0 % and 90 %" in failure.value.errors["safety_margin_pct"][0]


@pytest.mark.parametrize("label", ["\u200b", "Client\nhold", "\u2800\u3164", "Client \u202eblah", "x" * 201], ids=len)
def test_a_hold_label_must_be_one_visible_line_and_nothing_is_held_otherwise(ctx, label):
    box = box_on("harbour-sport/cricket/mpu")
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Reservation))
    with pytest.raises(ValidationFailed) as failure:
        reserve(box, quantity=1000, label=label)
    assert set(failure.value.errors) == {"label"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reservation)) == before


def test_a_hold_label_is_stored_as_the_cleaner_leaves_it(ctx):
    hold = reserve(box_on("harbour-sport/cricket/mpu"), quantity=1000, label=" Client\u00a0\u200ehold ")
    assert hold.label == "Client hold"
