"""Advertiser and agency pages: list, create, edit, contacts, bad input."""

from __future__ import annotations

import re
from decimal import Decimal

import sqlalchemy as sa

from app.accounts.models import Account
from app.extensions import db
from tests.conftest import DEMO_USERS, reconfigure, user
from tests.functional.test_sign_in import field_error


def form_for(app, **changes) -> dict[str, str]:
    with app.app_context():
        owner = user(DEMO_USERS["sales_rep"]).id
    values = {
        "kind": "agency",
        "name": "Lighthouse Media",
        "billing_address": "2 Pier Road\nBristol BS1 4AA",
        "billing_country": "GB",
        "currency": "GBP",
        "agency_commission_pct": "12.5",
        "credit_status": "ok",
        "owner_id": str(owner),
        "notes": "",
    }
    values.update(changes)
    return values


def account_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Account.id)))


def test_a_rep_creates_an_agency_and_lands_on_its_page(app, client, auth):
    auth.login_as("sales_rep")
    response = client.post("/accounts/new", data=form_for(app))
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Lighthouse Media" in page and "12.5 %" in page and "Created agency" in page


def test_bad_input_gets_a_message_on_each_field_and_nothing_is_saved(app, client, auth):
    auth.login_as("sales_rep")
    before = account_count(app)
    response = client.post(
        "/accounts/new", data=form_for(app, name="x" * 10_000, currency="XYZ", agency_commission_pct="150")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "at most 200 characters" in field_error(html, "name")
    assert "is not a currency in use" in field_error(html, "currency")
    assert "between 0 % and 100 %" in field_error(html, "agency_commission_pct")
    assert account_count(app) == before


def test_a_commission_that_is_not_a_number_is_explained(app, client, auth):
    auth.login_as("sales_rep")
    for bad in ("twelve", "NaN", "-Infinity", "12 %", "12,5"):
        html = client.post("/accounts/new", data=form_for(app, agency_commission_pct=bad)).get_data(as_text=True)
        assert field_error(html, "agency_commission_pct") == "Enter a number, such as 12.5 (with a dot for decimals)."


def test_a_rep_cannot_edit_someone_elses_account(app, client, auth):
    with app.app_context():
        other = db.session.scalars(
            sa.select(Account).where(Account.owner_id == user("rep2@harbour.example").id)
        ).first()
    auth.login_as("sales_rep")
    response = client.get(f"/accounts/{other.id}/edit")
    assert response.status_code == 403
    assert "only the accounts you own" in response.get_data(as_text=True)


def test_an_edit_from_a_stale_page_is_refused_with_a_reload(app, client, auth):
    auth.login_as("sales_manager")
    with app.app_context():
        account = db.session.scalars(sa.select(Account).where(Account.kind == "advertiser")).first()
        fields = form_for(
            app,
            kind=account.kind,
            name=account.name,
            currency=account.currency,
            agency_commission_pct="0",
            owner_id=str(account.owner_id),
            billing_country=account.billing_country,
            billing_address=account.billing_address,
            credit_status=account.credit_status,
        )
        stale = str(account.version)
    first = client.post(f"/accounts/{account.id}/edit", data={**fields, "notes": "one", "version": stale})
    assert first.status_code == 302
    second = client.post(f"/accounts/{account.id}/edit", data={**fields, "notes": "two", "version": stale})
    assert second.status_code == 409
    assert "changed by someone else" in second.get_data(as_text=True)
    assert "Reload this page" in second.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Account, account.id).notes == "one"


def test_the_list_searches_contacts_sorts_and_pages(app, client, auth):
    reconfigure(app, PAGE_SIZE=10)
    auth.login_as("finance")
    first = client.get("/accounts/?sort=-name").get_data(as_text=True)
    names = re.findall(r'<a href="/accounts/\d+">([^<]+)</a>', first)
    assert len(names) == 10 and names == sorted(names, key=str.lower, reverse=True)
    assert "page 1 of 3" in first
    third = client.get("/accounts/?sort=-name&page=3").get_data(as_text=True)
    assert len(re.findall(r'<a href="/accounts/\d+">', third)) == 5
    with app.app_context():
        account = db.session.scalars(sa.select(Account).where(Account.kind == "agency")).first()
        email = account.contacts[0].email
    found = client.get(f"/accounts/?q={email}").get_data(as_text=True)
    assert re.findall(r'<a href="/accounts/\d+">([^<]+)</a>', found) == [account.name]


def test_malformed_list_parameters_fall_back_instead_of_failing(client, auth):
    auth.login_as("sales_rep")
    response = client.get("/accounts/?page=-3&sort=drop+table&owner=abc&kind=planet")
    assert response.status_code == 200


def test_a_contact_is_added_and_removed_from_the_account_page(app, client, auth):
    auth.login_as("sales_rep")
    with app.app_context():
        account = db.session.scalars(
            sa.select(Account).where(Account.owner_id == user(DEMO_USERS["sales_rep"]).id)
        ).first()
        count = len(account.contacts)
    bad = client.post(f"/accounts/{account.id}/contacts", data={"name": "Jo", "email": "not-an-address"})
    assert bad.status_code == 400 and "Not a valid e-mail address" in field_error(bad.get_data(as_text=True), "email")
    added = client.post(f"/accounts/{account.id}/contacts", data={"name": "Jo Buyer", "email": "jo@buyer.example"})
    assert added.status_code == 302
    with app.app_context():
        account = db.session.get(Account, account.id)
        assert len(account.contacts) == count + 1
        contact = next(c for c in account.contacts if c.email == "jo@buyer.example")
    assert client.post(f"/accounts/{account.id}/contacts/{contact.id}/remove").status_code == 302
    history = client.get(f"/audit/account/{account.id}").get_data(as_text=True)
    assert "Added contact Jo Buyer" in history and "Removed contact Jo Buyer" in history


def test_list_pages_cost_the_same_queries_however_many_rows_they_show(app, client, auth, queries):
    from decimal import Decimal

    from app.accounts.service import AccountData, create_account
    from tests.conftest import now

    auth.login_as("sales_rep")
    pages = ("/accounts/", "/", f"/accounts/{_first_account_id(app)}", "/audit/account/1")
    before = {}
    for url in pages:
        with queries.counting():
            client.get(url)
        before[url] = queries.count
    with app.app_context():
        rep = user(DEMO_USERS["sales_rep"])
        for n in range(30):
            account = create_account(
                AccountData(
                    kind="advertiser",
                    name=f"More {n}",
                    currency="GBP",
                    owner_id=rep.id,
                    agency_commission_pct=Decimal(0),
                ),
                actor=rep,
                now=now(),
            )
            from app.accounts.service import add_contact

            add_contact(account, name=f"Buyer {n}", email=f"b{n}@more.example", actor=rep, now=now())
        db.session.commit()
    for url in pages:
        with queries.counting():
            client.get(url)
        assert queries.count == before[url], f"{url}: {before[url]} queries before, {queries.count} after"


def _first_account_id(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.min(Account.id)))


# -- Advertiser discount ---------------------------------------------------------------------------


def advertiser_form(app, **changes) -> tuple[int, dict[str, str]]:
    """The rep's first advertiser, and its edit form filled in with what it holds."""
    with app.app_context():
        account = db.session.scalars(
            sa.select(Account)
            .where(Account.owner_id == user(DEMO_USERS["sales_rep"]).id, Account.kind == "advertiser")
            .order_by(Account.id)
        ).first()
        fields = form_for(
            app,
            kind="advertiser",
            name=account.name,
            currency=account.currency,
            agency_commission_pct="0",
            discount_pct=format(account.discount_pct.normalize(), "f"),
            owner_id=str(account.owner_id),
            billing_country=account.billing_country,
            billing_address=account.billing_address,
            credit_status=account.credit_status,
            notes=account.notes,
            version=str(account.version),
        )
        return account.id, {**fields, **changes}


def discount_of(app, account_id: int):
    with app.app_context():
        return db.session.get(Account, account_id).discount_pct


def test_a_manager_sets_an_advertisers_discount_and_it_shows_on_its_page(app, client, auth):
    account_id, fields = advertiser_form(app, discount_pct="12.5")
    auth.login_as("sales_manager")
    form = client.get(f"/accounts/{account_id}/edit").get_data(as_text=True)
    assert 'name="discount_pct" type="text"' in form and "Advertiser discount (%)" in form
    response = client.post(f"/accounts/{account_id}/edit", data=fields)
    assert response.status_code == 302
    assert discount_of(app, account_id) == Decimal("12.5")
    page = client.get(f"/accounts/{account_id}").get_data(as_text=True)
    assert re.search(r"<dt[^>]*>Advertiser discount</dt><dd[^>]*>12.5 %</dd>", page)
    assert "Changed advertiser discount." in page


def test_a_rep_sees_their_advertisers_discount_but_a_change_is_refused_on_its_field(app, client, auth):
    account_id, fields = advertiser_form(app)
    auth.login_as("sales_rep")
    form = client.get(f"/accounts/{account_id}/edit").get_data(as_text=True)
    assert '<input type="hidden" name="discount_pct" value="0">' in form
    assert 'name="discount_pct" type="text"' not in form
    refused = client.post(f"/accounts/{account_id}/edit", data={**fields, "discount_pct": "20", "notes": "Sneaky"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert field_error(html, "discount_pct") == "Only sales managers and admins set an advertiser&#39;s discount."
    with app.app_context():
        account = db.session.get(Account, account_id)
        assert (account.discount_pct, account.notes) == (0, fields["notes"])
    # The unchanged discount goes back with the rest of the form, and the save goes through.
    saved = client.post(f"/accounts/{account_id}/edit", data={**fields, "notes": "Prefers e-mail."})
    assert saved.status_code == 302 and discount_of(app, account_id) == 0


def test_a_discount_over_100_percent_is_refused_on_its_field(app, client, auth):
    account_id, fields = advertiser_form(app, discount_pct="150")
    auth.login_as("sales_manager")
    response = client.post(f"/accounts/{account_id}/edit", data=fields)
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "discount_pct") == (
        "The advertiser discount must be between 0 % and 100 % (not 150 %)."
    )
    assert discount_of(app, account_id) == 0
