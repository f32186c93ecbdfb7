"""The pricing panel on the product page, and the same price as JSON."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.catalog.models import Product
from app.extensions import current_clock, db
from app.ratecards.models import RateCard


def ids(app) -> tuple[int, int, int]:
    """Sport Display, next year's standard card, and next year."""
    with app.app_context():
        year = current_clock().today().year + 1
        product = db.session.scalar(sa.select(Product.id).where(Product.name == "Sport Display"))
        card = db.session.scalar(sa.select(RateCard.id).where(RateCard.name == f"Standard {year}"))
        return product, card, year


def query(app, **extra) -> str:
    product, card, year = ids(app)
    args = {
        "product": product,
        "rate_card": card,
        "pricing_model": "cpm",
        "start": f"{year}-02-01",
        "end": f"{year}-02-14",
        "quantity": "500,000",
    } | extra
    return "&".join(f"{k}={v}" for k, v in args.items())


def test_the_quote_is_json_with_every_step(app, client, auth):
    auth.login_as("sales_rep")
    body = client.get(f"/pricing/quote?{query(app, geo='london')}").json
    steps = [(s["key"], s["amount"]) for s in body["price"]["steps"]]
    assert steps == [("base", "8.4000"), ("premium", "2.1000"), ("list", "10.5000"), ("net", "10.5000")]
    assert body["price"]["gross"] == "5250.00" and body["card"]["currency"] == "GBP"


def test_the_panel_shows_the_waterfall_and_its_chart(app, client, auth):
    auth.login_as("sales_rep")
    html = client.get(f"/pricing/panel?{query(app, geo='london', line_discount_pct='10')}").get_data(as_text=True)
    assert 'data-testid="waterfall"' in html and "Premium: geography" in html and "Line discount" in html
    assert re.search(r'data-testid="net-rate">£9\.45<', html)
    assert "<svg" in html and "<title>Price waterfall</title>" in html


def test_bad_input_is_reported_on_its_field_never_a_500(app, client, auth):
    auth.login_as("sales_rep")
    response = client.get(f"/pricing/quote?{query(app, quantity='0', line_discount_pct='abc', start='soon')}")
    assert response.status_code == 400
    assert set(response.json["errors"]) == {"quantity", "line_discount_pct", "start"}
    response = client.get(f"/pricing/panel?{query(app, line_discount_pct='150', pricing_model='flat')}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-field-error="line_discount_pct"' in html and 'data-field-error="pricing_model"' in html


def test_the_product_page_prices_a_line_without_javascript(app, client, auth):
    auth.login_as("sales_rep")
    product, _, _ = ids(app)
    html = client.get(f"/catalog/products/{product}?{query(app, geo='london')}").get_data(as_text=True)
    assert 'data-testid="pricing-form"' in html and 'data-testid="waterfall"' in html
    assert "£10.50" in html


def test_the_quote_reads_the_products_slots_and_the_availability_once(app, client, auth, queries):
    """Not one statement per ad unit with children, nor availability's tables more than once."""
    auth.login_as("sales_rep")
    url = f"/pricing/quote?{query(app, geo='london')}"
    assert client.get(url).status_code == 200
    statements = []

    def seen(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    with queries.counting():
        sa.event.listen(engine, "before_cursor_execute", seen)
        try:
            assert client.get(url).status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", seen)
    units = [s for s in statements if s.lstrip().startswith("SELECT ad_units.id") or "ancestry" in s]
    inventory = [s for s in statements if "inventory_locks" in s or "forecast_" in s]
    assert len(units) <= 1, units
    assert len(inventory) <= 2, inventory
    assert queries.count <= 16, statements
