"""Availability through the pages and the JSON endpoint; holds; the sell-through heatmap."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.catalog.models import Product
from app.extensions import current_clock, db
from app.inventory.models import Reservation


def product_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Product.id).where(Product.name == name))


def flight(app) -> tuple[str, str]:
    with app.app_context():
        today = current_clock().today()
    start = today + timedelta(days=7 - today.weekday(), weeks=16)  # after the demo's own reservations
    return start.isoformat(), (start + timedelta(days=6)).isoformat()


def test_availability_is_json_for_any_signed_in_user(app, client, auth):
    start, end = flight(app)
    url = f"/inventory/availability?product={product_id(app, 'Sport Display')}&start={start}&end={end}&quantity=1000"
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    auth.login_as("finance")
    body = client.get(url).json
    assert body["fits"] is True and body["available"] > 1000
    assert body["matched"] - body["safety_margin"] == body["available"]
    assert body["forecast_date"] is not None and body["contending"] == []


def test_bad_requests_get_a_message_per_field(app, client, auth):
    auth.login_as("sales_rep")
    sport = product_id(app, "Sport Display")
    body = client.get(f"/inventory/availability?product={sport}&start=tomorrow&end=2026-13-01&quantity=lots").json
    assert set(body["errors"]) == {"start", "end", "quantity"}
    body = client.get(f"/inventory/availability?product={sport}&start=2030-02-10&end=2030-02-01").json
    assert "before it starts" in body["errors"]["end"][0]
    takeover = product_id(app, "Homepage Takeover — The Daily Harbour")
    start, end = flight(app)
    body = client.get(f"/inventory/availability?product={takeover}&geo=london&start={start}&end={end}").json
    assert "does not let a rep choose the geo" in body["errors"]["geo"][0]


def test_a_rep_checks_availability_on_the_product_page_and_holds_it(app, client, auth):
    auth.login_as("sales_rep")
    sport = product_id(app, "Sport Display")
    start, end = flight(app)
    page = client.get(f"/catalog/products/{sport}?product={sport}&start={start}&end={end}&quantity=50000&geo=london")
    html = page.get_data(as_text=True)
    assert 'data-testid="available"' in html and "Fits." in html
    response = client.post(
        "/inventory/holds",
        data={
            "product": sport,
            "start": start,
            "end": end,
            "quantity": "50000",
            "geo": "london",
            "label": "Corvane Motors spring launch",
            "back": f"/catalog/products/{sport}",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        hold = db.session.scalar(sa.select(Reservation).where(Reservation.label == "Corvane Motors spring launch"))
        assert hold.kind == "hold" and hold.quantity == 50000 and hold.geo == ["london"]
    listing = client.get("/inventory/holds").get_data(as_text=True)
    assert "Corvane Motors spring launch" in listing
    assert client.post(f"/inventory/holds/{hold.id}/release").status_code == 302
    with app.app_context():
        assert db.session.get(Reservation, hold.id).released_at is not None


def test_another_rep_cannot_release_my_hold(app, client, auth):
    auth.login_as("sales_rep")
    sport = product_id(app, "Sport Display")
    start, end = flight(app)
    client.post(
        "/inventory/holds", data={"product": sport, "start": start, "end": end, "quantity": "1000", "label": "Mine"}
    )
    with app.app_context():
        hold_id = db.session.scalar(sa.select(Reservation.id).where(Reservation.label == "Mine"))
    auth.logout()
    auth.login("rep2@harbour.example")
    assert client.post(f"/inventory/holds/{hold_id}/release").status_code == 403


def test_the_sell_through_heatmap_is_an_svg_with_a_drill_down(app, client, auth):
    auth.login_as("sales_manager")
    html = client.get("/inventory/sell-through?weeks=8").get_data(as_text=True)
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'data-testid="heatmap"' in html
    assert html.count("<rect") == 33 * 8  # every active slot, every week
    assert "/inventory/sell-through/" in html


def test_hostile_inventory_requests_get_messages_not_errors(app, client, auth):
    auth.login_as("sales_rep")
    start, end = flight(app)
    for slots in ("999999", "1", "15,abc"):  # unknown, a site, garbage
        body = client.get(f"/inventory/availability?slots={slots}&start={start}&end={end}").json
        assert "active ad slots" in body["errors"]["slots"][0]
    body = client.get("/inventory/availability?slots=15&start=9999-12-01&end=9999-12-31&quantity=10").json
    assert "is after 2099-12-31" in body["errors"]["end"][0]
    body = client.get(f"/inventory/availability?slots=15&start={start}&end={end}&quantity=١٢").json
    assert "whole number" in body["errors"]["quantity"][0]
    assert client.get("/inventory/sell-through/15/9999-12-31").status_code == 404


def test_an_expired_hold_cannot_be_extended(app, client, auth):
    from app.db import utcnow

    auth.login_as("sales_rep")
    start, end = flight(app)
    sport = product_id(app, "Sport Display")
    client.post(
        "/inventory/holds", data={"product": sport, "start": start, "end": end, "quantity": "1000", "label": "Lapsing"}
    )
    with app.app_context():
        hold = db.session.scalar(sa.select(Reservation).where(Reservation.label == "Lapsing"))
        hold.expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        hold_id = hold.id
    response = client.post(f"/inventory/holds/{hold_id}/extend", follow_redirects=True)
    assert "This hold has expired" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Reservation, hold_id).expires_at < utcnow()


def test_no_heatmap_cell_shows_more_sold_than_it_can_carry(client, auth):
    """The demo's sponsorships, bookings and holds fill some weeks to the brim, never beyond."""
    import re

    auth.login_as("sales_manager")
    html = client.get("/inventory/sell-through?weeks=12").get_data(as_text=True)
    shown = [int(p) for p in re.findall(r">(\d+)%</text>", html)]
    assert shown and max(shown) <= 100
    assert 100 in shown  # the football sponsorship weeks are sold out


def test_a_heatmap_cell_opens_the_reservations_behind_it(app, client, auth):
    with app.app_context():
        sponsorship = db.session.scalar(sa.select(Reservation).where(Reservation.share.is_not(None)))
        slot_id, start = sponsorship.ad_unit_ids[0], sponsorship.start_day
    monday = start - timedelta(days=start.weekday())
    auth.login_as("sales_manager")
    html = client.get(f"/inventory/sell-through/{slot_id}/{monday.isoformat()}").get_data(as_text=True)
    assert sponsorship.label in html and "% SOV" in html


def test_a_rep_sees_the_bookings_of_their_own_orders_linked_to_the_order_and_no_one_elses(app, client, auth):
    from app.orders.models import Order

    with app.app_context():
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()  # the demo rep's Winter launch
        booking_ids = [line.booking_id for line in order.lines if line.booking_id]
        labels = [db.session.get(Reservation, i).label for i in booking_ids]
        order_id, number = order.id, order.number
        assert booking_ids
    auth.login_as("sales_rep")
    listing = client.get("/inventory/holds").get_data(as_text=True)
    assert "Your holds and bookings" in listing
    for label in labels:
        row = next(r for r in listing.split("<tr") if label in r)
        assert "booking" in row and f'href="/orders/{order_id}"' in row and number in row
    auth.logout()
    auth.login_as("sales_manager")  # overseers see every booking, each linked to its order too
    listing = client.get("/inventory/holds").get_data(as_text=True)
    assert f'href="/orders/{order_id}"' in listing
    auth.logout()
    client.post("/login", data={"email": "rep2@harbour.example", "password": "flightdeck-demo"})
    assert all(label not in client.get("/inventory/holds").get_data(as_text=True) for label in labels)


def test_the_heatmap_has_a_table_with_the_same_figures_and_links_for_screen_readers(client, auth):
    import re

    auth.login_as("sales_manager")
    html = client.get("/inventory/sell-through?weeks=8").get_data(as_text=True)
    svg, table = html.split("</svg>", 1)
    assert 'aria-hidden="true"' in svg.rsplit("<svg", 1)[1].split(">", 1)[0] and 'role="img"' not in svg
    links = r'href="(/inventory/sell-through/\d+/[\d-]+)"'
    assert re.findall(links, svg) == re.findall(links, table) and len(re.findall(links, table)) == 33 * 8
    # the heatmap writes a percentage in every cell that shows one; the table in every cell
    in_svg = [int(p) for p in re.findall(r">(\d+)%</text>", svg)]
    assert in_svg and in_svg == [int(p) for p in re.findall(r">(\d+) %</a>", table) if int(p) > 0]
    assert "<caption>" in table and 'scope="row"' in table
