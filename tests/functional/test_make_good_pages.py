"""Make-goods through the pages: the builder refuses to turn a make-good line into other inventory,
and a shortfall under the product's minimum is drafted, not answered with a 400."""

from __future__ import annotations

import sqlalchemy as sa

from app.catalog.models import Product
from app.extensions import db
from app.orders.models import OrderLine
from app.proposals.models import ProposalLine
from tests.conftest import reconfigure
from tests.functional.test_sign_in import field_error
from tests.integration.test_make_goods import make_good_of, short_line


def test_the_builder_refuses_another_product_on_a_make_good_line_and_keeps_it_free(app, client, auth):
    with app.app_context():
        proposal = make_good_of(short_line())
        (free,) = proposal.lines
        video = db.session.scalar(sa.select(Product.id).where(Product.name == "Football Pre-roll"))
        pid, lid, seen = proposal.id, free.id, free.updated_at.isoformat()
        form = {
            "product": str(video),
            "pricing_model": "cpm",
            "start": free.start_day.isoformat(),
            "end": free.end_day.isoformat(),
            "time_zone": free.time_zone,
            "quantity": str(free.quantity),
            "seen": seen,
        }
    auth.login_as("sales_rep")
    response = client.post(f"/proposals/{pid}/lines/{lid}", data=form, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "the line it makes good" in field_error(response.get_data(as_text=True), "product")
    with app.app_context():
        line = db.session.get(ProposalLine, lid)
        assert line.product.name == "Sport Display" and line.gross == 0


def test_a_shortfall_under_the_products_minimum_is_drafted_as_a_make_good(app, client, auth):
    with app.app_context():
        line = short_line(delivered_per_day=29_000)  # 10,000 short of 300,000; the product sells 50,000 at least
        order_id, line_id = line.order_id, line.id
    auth.login_as("ad_ops")
    page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert 'data-testid="make-good"' in page
    response = client.post(f"/orders/{order_id}/lines/{line_id}/make-good")
    assert response.status_code == 302
    with app.app_context():
        free = db.session.scalar(sa.select(ProposalLine).where(ProposalLine.make_good_of_id == line_id))
        assert free.quantity == 10_000 and free.gross == 0
        assert db.session.get(OrderLine, line_id).product_id == free.product_id


def test_the_order_page_offers_no_make_good_once_the_window_closed(app, client, auth):
    reconfigure(app, MAKE_GOOD_WINDOW_DAYS=0)  # the window ends with the order, which ended yesterday
    with app.app_context():
        line = short_line()
        order_id, line_id = line.order_id, line.id
    auth.login_as("ad_ops")
    page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    assert 'data-testid="make-good"' not in page and "The make-good window closed on" in page
    refused = client.post(f"/orders/{order_id}/lines/{line_id}/make-good")
    assert refused.status_code == 400 and "make-good window" in refused.get_data(as_text=True)
