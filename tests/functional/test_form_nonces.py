"""A create form sent twice (a double click, a resent POST) makes one record: the form nonce."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.accounts.models import Account, Contact
from app.adserver.models import Connection
from app.auth.models import User
from app.extensions import db
from app.proposals.models import Proposal
from tests.functional.test_account_pages import form_for
from tests.functional.test_proposal_pages import proposal_form


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
