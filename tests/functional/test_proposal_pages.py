"""Proposal pages: create one, build its lines, bad input, markup in names, who sees what."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.accounts.models import Account
from app.catalog.models import Product
from app.extensions import current_clock, db
from app.proposals.models import Proposal
from app.ratecards.models import RateCard
from tests.conftest import DEMO_USERS, user


def ids(app) -> dict:
    with app.app_context():
        year = current_clock().today().year + 1
        return {
            "advertiser": db.session.scalar(sa.select(Account.id).where(Account.name == "Halden Auto Group")),
            "card": db.session.scalar(sa.select(RateCard.id).where(RateCard.name == f"Standard {year}")),
            "sport": db.session.scalar(sa.select(Product.id).where(Product.name == "Sport Display")),
            "rep": user(DEMO_USERS["sales_rep"]).id,
            "year": year,
        }


def header(v: dict, campaign="Spring launch", **changes) -> dict:
    """The new-proposal form for next February, with `changes`."""
    return {
        "advertiser_id": v["advertiser"],
        "campaign_name": campaign,
        "rate_card_id": v["card"],
        "owner_id": v["rep"],
        "start_day": f"{v['year']}-02-01",
        "end_day": f"{v['year']}-02-14",
        "time_zone": "Europe/London",
        "discount_pct": "",
        **changes,
    }


def proposal_form(app, campaign="Spring launch") -> dict:
    return header(ids(app), campaign)


def create(app, client, campaign="Spring launch") -> int:
    response = client.post("/proposals/new", data=proposal_form(app, campaign))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return int(response.location.rsplit("/", 1)[1])


def test_a_rep_creates_a_proposal_and_adds_a_priced_line(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    sport = ids(app)["sport"]
    response = client.post(f"/proposals/{proposal_id}/lines", data={"product": sport, "quantity": "500,000"})
    assert response.status_code == 200
    html = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "Sport Display" in html and "£4,200.00" in html  # 8.40 x 500
    assert re.search(r'data-testid="total-gross">£4,200\.00<', html)
    # htmx gets the builder alone.
    fragment = client.post(
        f"/proposals/{proposal_id}/lines", data={"product": sport, "quantity": "100000"}, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="builder"') and "£5,040.00" in fragment


def test_bad_input_is_shown_on_its_field_and_nothing_is_lost(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    response = client.post(f"/proposals/{proposal_id}/lines", data={"product": "", "quantity": "lots"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-field-error="quantity"' in html
    v = ids(app)
    response = client.post(
        "/proposals/new",
        data={
            "advertiser_id": v["advertiser"],
            "campaign_name": "X",
            "rate_card_id": v["card"],
            "owner_id": v["rep"],
            "start_day": "2027-03-01",
            "end_day": "2027-02-01",
            "time_zone": "Europe/London",
        },
    )
    assert response.status_code == 400 and "before it starts" in response.get_data(as_text=True)


def test_markup_in_a_campaign_name_is_shown_as_text(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client, campaign="<script>alert(1)</script>")
    html = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_another_rep_cannot_see_the_proposal_but_finance_can(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    auth.logout()
    with app.app_context():
        assert db.session.get(Proposal, proposal_id).owner_id == ids(app)["rep"]
    auth.login_as("finance")
    assert client.get(f"/proposals/{proposal_id}").status_code == 200
    assert client.post(f"/proposals/{proposal_id}/lines", data={"product": ids(app)["sport"]}).status_code == 403


def test_the_list_filters_by_status_and_search(app, client, auth):
    auth.login_as("sales_rep")
    create(app, client, campaign="Harbour summer")
    create(app, client, campaign="Winter warmers")
    html = client.get("/proposals/?q=summer").get_data(as_text=True)
    assert "Harbour summer" in html and "Winter warmers" not in html
    assert "No proposal matches" in client.get("/proposals/?status=declined").get_data(as_text=True)


def test_a_recommended_mix_is_added_in_one_click(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    html = client.get(f"/proposals/{proposal_id}/recommend?budget=20000&geo=london").get_data(as_text=True)
    assert 'data-testid="recommendation"' in html and "Add these" in html and "geo targeting" in html
    products = re.findall(r'name="product" value="(\d+)"', html)
    impressions = re.findall(r'name="impressions" value="(\d+)"', html)
    v = ids(app)
    response = client.post(
        f"/proposals/{proposal_id}/recommended-lines",
        data={
            "budget": "20000",
            "geo": "london",
            "start": f"{v['year']}-02-01",
            "end": f"{v['year']}-02-14",
            "product": products,
            "impressions": impressions,
        },
    )
    assert response.status_code == 200
    with app.app_context():
        lines = db.session.get(Proposal, proposal_id).lines
        assert len(lines) == len(products) and all(line.targeting == {"geo": ["london"]} for line in lines)
        assert sum(line.gross for line in lines) <= 20000


def test_a_bad_paste_keeps_the_text_and_says_which_row(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    text = "Sport Display\t500000\nNo Such Product\t100"
    html = client.post(f"/proposals/{proposal_id}/paste", data={"paste": text}).get_data(as_text=True)
    assert "Row 2: no active product is called “No Such Product”." in html
    assert "Sport Display\t500000\nNo Such Product\t100</textarea>" in html


def test_a_line_saved_from_a_stale_form_is_refused_with_a_conflict(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    sport = ids(app)["sport"]
    client.post(f"/proposals/{proposal_id}/lines", data={"product": sport, "quantity": "500000"})
    with app.app_context():
        line = db.session.get(Proposal, proposal_id).lines[0]
        line_id, seen = line.id, line.updated_at.isoformat()
    form = {"product": sport, "pricing_model": "cpm", "quantity": "600000", "seen": seen}
    assert client.post(f"/proposals/{proposal_id}/lines/{line_id}", data=form).status_code == 200
    form["quantity"] = "700000"  # the same, now stale, form saved a second time
    response = client.post(f"/proposals/{proposal_id}/lines/{line_id}", data=form)
    assert response.status_code == 409 and "Someone else changed line 1" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Proposal, proposal_id).lines[0].quantity == 600_000


def test_the_diff_page_shows_what_changed_between_two_versions(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    client.post(f"/proposals/{proposal_id}/lines", data={"product": ids(app)["sport"], "quantity": "500000"})
    client.post(f"/workflow/proposals/{proposal_id}/submit", data={"acknowledge": "on"})
    client.post(f"/workflow/proposals/{proposal_id}/withdraw")
    client.post(f"/proposals/{proposal_id}/lines", data={"product": ids(app)["sport"], "quantity": "200000"})
    client.post(f"/workflow/proposals/{proposal_id}/submit", data={"acknowledge": "on"})
    html = client.get(f"/proposals/{proposal_id}/diff?a=1&b=2").get_data(as_text=True)
    assert "Sport Display" in html and "Gross" in html and "£4,200.00" in html and "£5,880.00" in html
    assert client.get(f"/proposals/{proposal_id}/diff?a=1&b=9").status_code == 404


def test_the_diff_page_writes_rates_and_money_in_the_currency_not_raw_decimals(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    sport = ids(app)["sport"]
    client.post(f"/proposals/{proposal_id}/lines", data={"product": sport, "quantity": "500000"})
    client.post(f"/workflow/proposals/{proposal_id}/submit", data={"acknowledge": "on"})
    client.post(f"/workflow/proposals/{proposal_id}/withdraw")
    with app.app_context():
        line = db.session.get(Proposal, proposal_id).lines[0]
        line_id, seen = line.id, line.updated_at.isoformat()
    form = {"product": sport, "pricing_model": "cpm", "quantity": "600000", "line_discount_pct": "10", "seen": seen}
    assert client.post(f"/proposals/{proposal_id}/lines/{line_id}", data=form).status_code == 200
    client.post(f"/workflow/proposals/{proposal_id}/submit", data={"acknowledge": "on"})
    html = client.get(f"/proposals/{proposal_id}/diff?a=1&b=2").get_data(as_text=True)
    changed = html[html.index('data-testid="diff-changed"') :]
    # 8.40 less 10 % is 7.56; 600,000 at 7.56 is 4,536.00
    for shown in ("£8.40", "£7.56", "£4,200.00", "£4,536.00", "500,000", "600,000", "10 %"):
        assert f">{shown}<" in changed, shown
    assert "8.4000" not in html and "4200.00<" not in html and "7.5600" not in html
