"""A create form sent twice (a double click, a resent POST) makes one record: the form nonce."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.accounts.models import Account, Contact
from app.adserver.models import Connection
from app.auth.models import User
from app.catalog.models import Package
from app.extensions import db
from app.proposals.models import Proposal
from tests.functional.test_account_pages import form_for
from tests.functional.test_proposal_pages import create, ids, proposal_form


def nonce_of(page: str) -> str:
    found = re.search(r'name="form_nonce" value="([^"]+)"', page)
    assert found, "the form carries no nonce"
    return found.group(1)


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def hearthly(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Account.id).where(Account.name == "Hearthly Home Stores"))


#: Create forms: who fills them in, the page that shows the form, where it posts, what it sends.
FORMS = {
    "proposal": ("sales_rep", lambda app: "/proposals/new", None, proposal_form, Proposal),
    "account": ("sales_rep", lambda app: "/accounts/new", None, form_for, Account),
    "contact": (
        "admin",
        lambda app: f"/accounts/{hearthly(app)}",
        lambda app: f"/accounts/{hearthly(app)}/contacts",
        lambda app: {"name": "Jo Buyer", "email": "jo@buyer.example"},
        Contact,
    ),
    "user": (
        "admin",
        lambda app: "/admin/users/new",
        None,
        lambda app: {
            "name": "Nia Reed",
            "email": "nia@harbour.example",
            "password": "long-enough-pw",
            "roles": "finance",
        },
        User,
    ),
    "ad-server connection": (
        "admin",
        lambda app: "/adserver/connections/new?kind=sandbox",
        None,
        lambda app: {"kind": "sandbox", "name": "Second sandbox", "time_zone": "Europe/London"},
        Connection,
    ),
}


@pytest.mark.parametrize("kind", FORMS)
def test_a_create_form_sent_twice_makes_one_record_and_the_second_goes_to_it(app, client, auth, kind):
    role, page, action, data, model = FORMS[kind]
    auth.login_as(role)
    url = page(app)
    form = {**data(app), "form_nonce": nonce_of(client.get(url).get_data(as_text=True))}
    before = count(app, model)
    first = client.post(action(app) if action else url, data=form)
    second = client.post(action(app) if action else url, data=form)
    assert first.status_code == 302, first.get_data(as_text=True)[:1000]
    assert second.status_code == 302 and second.location == first.location
    assert count(app, model) == before + 1
    assert "sent twice: it was saved once" in client.get(second.location).get_data(as_text=True)


def test_a_form_shown_again_with_errors_keeps_its_nonce_and_then_creates(app, client, auth):
    auth.login_as("sales_rep")
    nonce = nonce_of(client.get("/proposals/new").get_data(as_text=True))
    refused = client.post("/proposals/new", data={**proposal_form(app), "campaign_name": "", "form_nonce": nonce})
    assert refused.status_code == 400 and nonce_of(refused.get_data(as_text=True)) == nonce
    before = count(app, Proposal)
    assert client.post("/proposals/new", data={**proposal_form(app), "form_nonce": nonce}).status_code == 302
    assert count(app, Proposal) == before + 1


def test_each_showing_of_a_create_form_gets_its_own_nonce(client, auth):
    auth.login_as("sales_rep")
    assert nonce_of(client.get("/proposals/new").get_data(as_text=True)) != nonce_of(
        client.get("/proposals/new").get_data(as_text=True)
    )


def test_someone_elses_nonce_creates_nothing(app, client, auth):
    auth.login_as("sales_rep")
    form = {**proposal_form(app), "form_nonce": nonce_of(client.get("/proposals/new").get_data(as_text=True))}
    assert client.post("/proposals/new", data=form).status_code == 302
    auth.logout()
    auth.login_as("sales_manager")
    before = count(app, Proposal)
    assert client.post("/proposals/new", data=form).status_code == 409
    assert count(app, Proposal) == before


# -- Double clicks in the builder, on orders and on holds ----------------------------------------


def nonce_in(page: str, action: str) -> str:
    """The nonce of the form that posts to `action` on `page`."""
    found = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>.*?name="form_nonce" value="([^"]+)"', page, re.S)
    assert found, f"the form posting to {action} carries no nonce"
    return found.group(1)


def lines_of(app, proposal_id: int) -> int:
    with app.app_context():
        return len(db.session.get(Proposal, proposal_id).lines)


def builder_forms(app, client, proposal_id: int) -> dict:
    """What each builder form sends: where it posts, its fields, and the page whose form carries its nonce."""
    v = ids(app)
    flight = {"start": f"{v['year']}-02-01", "end": f"{v['year']}-02-14"}
    recommendation = client.get(f"/proposals/{proposal_id}/recommend", query_string={"budget": "20000", **flight})
    html = recommendation.get_data(as_text=True)
    with app.app_context():
        package = db.session.scalar(sa.select(Package.id).where(Package.status == "active").limit(1))
    return {
        "line": ("lines", {"product": v["sport"], "quantity": "500000"}, None),
        "package": ("package", {"package": package, "impressions": "200000"}, None),
        "paste": ("paste", {"paste": f"Sport Display\t500000\t{flight['start']}\t{flight['end']}"}, None),
        "recommended mix": (
            "recommended-lines",
            {
                "budget": "20000",
                **flight,
                "product": re.findall(r'name="product" value="(\d+)"', html),
                "impressions": re.findall(r'name="impressions" value="(\d+)"', html),
            },
            html,
        ),
    }


@pytest.mark.parametrize("kind", ["line", "package", "paste", "recommended mix"])
def test_a_builder_form_sent_twice_adds_its_lines_once_and_shows_the_builder_saying_so(app, client, auth, kind):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    path, data, page = builder_forms(app, client, proposal_id)[kind]
    action = f"/proposals/{proposal_id}/{path}"
    nonce = nonce_in(page or client.get(f"/proposals/{proposal_id}").get_data(as_text=True), action)
    htmx = {"HX-Request": "true"}
    first = client.post(action, data={**data, "form_nonce": nonce}, headers=htmx)
    assert first.status_code == 200, first.get_data(as_text=True)[:2000]
    added = lines_of(app, proposal_id)
    assert added >= 1
    second = client.post(action, data={**data, "form_nonce": nonce}, headers=htmx)
    body = second.get_data(as_text=True)
    assert second.status_code == 200 and 'id="builder"' in body and "sent twice: it was saved once" in body
    assert lines_of(app, proposal_id) == added
    # The builder both answers show offers new nonces: the next line the rep adds is added.
    for answer in (first, second):
        if page is None:
            assert nonce_in(answer.get_data(as_text=True), action) != nonce


def test_a_builder_form_refused_keeps_its_nonce_and_the_other_forms_get_their_own(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    action = f"/proposals/{proposal_id}/lines"
    nonce = nonce_in(client.get(f"/proposals/{proposal_id}").get_data(as_text=True), action)
    refused = client.post(action, data={"quantity": "500000", "form_nonce": nonce}, headers={"HX-Request": "true"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and nonce_in(page, action) == nonce
    assert nonce_in(page, f"/proposals/{proposal_id}/paste") != nonce


def test_make_good_and_change_order_sent_twice_draft_once_and_the_second_goes_to_the_first(app, client, auth):
    from app.orders.models import OrderLine
    from app.proposals.models import ProposalLine
    from tests.integration.test_make_goods import short_line

    with app.app_context():
        line = short_line()
        order_id, line_id = line.order_id, line.id
    auth.login_as("sales_manager")
    page = client.get(f"/orders/{order_id}").get_data(as_text=True)
    for action in (f"/orders/{order_id}/lines/{line_id}/make-good", f"/orders/{order_id}/change"):
        nonce = nonce_in(page, action)
        first = client.post(action, data={"form_nonce": nonce})
        second = client.post(action, data={"form_nonce": nonce})
        assert first.status_code == 302, first.get_data(as_text=True)[:2000]
        assert second.status_code == 302 and second.location == first.location
        assert "sent twice: it was saved once" in client.get(second.location).get_data(as_text=True)
    with app.app_context():
        assert (
            len(db.session.scalars(sa.select(ProposalLine).where(ProposalLine.make_good_of_id == line_id)).all()) == 1
        )
        assert db.session.get(OrderLine, line_id).order.proposal.status == "draft"


@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_simultaneous_make_good_requests_with_one_nonce_draft_one(app, auth):
    from app.proposals.models import ProposalLine
    from tests.conftest import Auth
    from tests.integration.test_make_goods import short_line
    from tests.support.concurrency import at_once

    with app.app_context():
        line = short_line()
        order_id, line_id = line.order_id, line.id
    clients = [app.test_client() for _ in range(2)]
    for each in clients:
        Auth(each).login_as("ad_ops")
    action = f"/orders/{order_id}/lines/{line_id}/make-good"
    nonce = nonce_in(clients[0].get(f"/orders/{order_id}").get_data(as_text=True), action)
    pending = list(clients)
    outcomes = at_once(2, lambda: pending.pop().post(action, data={"form_nonce": nonce}))
    assert [o.status_code for o in outcomes] == [302, 302], outcomes
    assert outcomes[0].location == outcomes[1].location
    with app.app_context():
        assert (
            len(db.session.scalars(sa.select(ProposalLine).where(ProposalLine.make_good_of_id == line_id)).all()) == 1
        )


def test_the_hold_form_sent_twice_holds_once_and_the_second_goes_where_the_first_went(app, client, auth):
    from app.inventory.models import Reservation

    auth.login_as("sales_rep")
    v = ids(app)
    ask = {"product": v["sport"], "start": f"{v['year']}-02-01", "end": f"{v['year']}-02-14", "quantity": "1000"}
    panel = client.get("/inventory/panel", query_string=ask).get_data(as_text=True)
    form = {
        **ask,
        "label": "Twice clicked",
        "back": "/inventory/holds",
        "form_nonce": nonce_in(panel, "/inventory/holds"),
    }
    first = client.post("/inventory/holds", data=form)
    second = client.post("/inventory/holds", data=form)
    assert first.status_code == 302 and second.status_code == 302 and second.location == first.location
    assert "sent twice: it was saved once" in client.get(second.location).get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(sa.select(Reservation).where(Reservation.label == "Twice clicked")).all()) == 1


def nonces_of(page: str) -> list[str]:
    return re.findall(r'name="form_nonce" value="([^"]+)"', page)


def targeting_values(app, dimension: str) -> list[str]:
    from app.catalog.models import TargetingDimension, TargetingValue

    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(TargetingValue.code).join(TargetingDimension).where(TargetingDimension.key == dimension)
            )
        )


def test_a_page_shown_again_with_errors_gives_the_posted_nonce_to_the_form_that_sent_it_only(app, client, auth):
    auth.login_as("admin")
    page = client.get("/catalog/targeting").get_data(as_text=True)
    nonce = nonce_of(page)
    refused = client.post(
        "/catalog/targeting/key_value/values", data={"form_nonce": nonce, "form_nonce_key": "key_value"}
    )
    assert refused.status_code == 400
    shown = nonces_of(refused.get_data(as_text=True))
    assert shown.count(nonce) == 1 and len(set(shown)) == len(shown)


def test_a_nonce_sent_by_another_form_is_a_conflict_and_never_a_silent_redirect(app, client, auth):
    auth.login_as("admin")
    nonce = nonce_of(client.get("/catalog/targeting").get_data(as_text=True))
    refused = client.post("/catalog/targeting/key_value/values", data={"form_nonce": nonce})
    assert refused.status_code == 400
    created = client.post(
        "/catalog/targeting/key_value/values",
        data={"form_nonce": nonce, "key_value-code": "section=gardening", "key_value-name": "Gardening"},
    )
    assert created.status_code == 302
    other = client.post(
        "/catalog/targeting/audience/values",
        data={"form_nonce": nonce, "audience-code": "garden-lovers", "audience-name": "Garden lovers"},
    )
    assert other.status_code == 409
    assert "section=gardening" in targeting_values(app, "key_value")
    assert "garden-lovers" not in targeting_values(app, "audience")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_a_hold_whose_way_back_is_too_long_to_remember_is_still_held_and_goes_to_the_holds(app, client, auth):
    from app.inventory.models import Reservation

    auth.login_as("sales_rep")
    v = ids(app)
    ask = {"product": v["sport"], "start": f"{v['year']}-02-01", "end": f"{v['year']}-02-14", "quantity": "1000"}
    panel = client.get("/inventory/panel", query_string=ask).get_data(as_text=True)
    form = {**ask, "label": "Long way back", "back": "/inventory/holds?x=" + "a" * 600}
    answer = client.post("/inventory/holds", data={**form, "form_nonce": nonce_in(panel, "/inventory/holds")})
    assert answer.status_code == 302 and answer.location == "/inventory/holds"
    with app.app_context():
        assert db.session.scalars(sa.select(Reservation).where(Reservation.label == "Long way back")).one()
