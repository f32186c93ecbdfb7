"""Statements that every request, or every availability answer and quote, pays: the signed-in user is
loaded with their roles in one; the slots under a product's units cost its links and one recursive query;
users listed with their roles cost no statement each (users loaded as owners or actors do not load
roles they never show)."""

from __future__ import annotations

from datetime import date

import flask
import sqlalchemy as sa

from app.accounts.models import Account, AccountKind
from app.accounts.queries import account_choices
from app.auth.models import User
from app.auth.service import create_user
from app.auth.views import SESSION_KEY, load_user
from app.catalog.ad_units import descendants
from app.catalog.models import AdUnit, Product
from app.catalog.products import product_slots
from app.db import utcnow
from app.extensions import current_clock, db
from app.pricing.service import LineInput, price_line
from app.ratecards.models import RateCard
from app.roles import Role


def test_the_signed_in_user_loads_with_their_roles_in_one_statement(app, client, auth, queries):
    auth.login_as("sales_manager")
    with client.session_transaction() as cookie:
        token, user_id = cookie[SESSION_KEY], cookie["_user_id"]
    with app.test_request_context():
        flask.session[SESSION_KEY] = token
        with queries.counting():
            user = load_user(user_id)
            roles = user.roles
        assert roles == [Role.SALES_MANAGER]
        assert queries.count == 1
        flask.session[SESSION_KEY] = "not-a-live-session"
        assert load_user(user_id) is None


def _depth_first(unit: AdUnit) -> list[AdUnit]:
    """Descendants as they were found before: children loaded one unit at a time, depth first."""
    found, stack = [], list(unit.children)
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(child.children)
    return found


def test_descendants_are_read_one_level_at_a_time_in_the_same_order(app, queries):
    with app.app_context():
        sites = db.session.scalars(sa.select(AdUnit.id).where(AdUnit.parent_id.is_(None))).all()
        expected = {site: [u.id for u in _depth_first(db.session.get(AdUnit, site))] for site in sites}
        db.session.expunge_all()
        for site in sites:
            unit = db.session.get(AdUnit, site)
            with queries.counting():
                found = [u.id for u in descendants(unit)]
            assert found == expected[site]
            assert queries.count <= 3, f"site {site}: {queries.count} statements for three levels"
        assert any(expected.values())


def test_the_users_lists_cost_the_same_statements_with_more_users(app, client, auth, queries):
    auth.login_as("admin")
    before = {}
    for url in ("/", "/admin/users"):
        with queries.counting():
            assert client.get(url).status_code == 200
        before[url] = queries.count
    with app.app_context():
        for n in range(4):
            create_user(
                email=f"extra{n}@harbour.example",
                name=f"Extra {n}",
                password="a long enough password",
                roles=[Role.SALES_REP, Role.FINANCE],
                actor=None,
                now=utcnow(),
                hash_method="pbkdf2:sha256:1000",
            )
        db.session.commit()
    for url in ("/", "/admin/users"):
        with queries.counting():
            page = client.get(url)
        assert page.status_code == 200
        assert "Extra 3" in page.get_data(as_text=True)
        assert queries.count == before[url], f"{url}: {before[url]} statements before, {queries.count} after"


def test_users_loaded_for_their_names_do_not_load_their_roles(app, queries):
    with app.app_context():
        with queries.counting():
            users = db.session.scalars(sa.select(User)).all()
        assert len(users) > 1 and queries.count == 1


def test_a_products_slots_cost_its_links_and_one_recursive_statement(app, queries):
    with app.app_context():
        products = db.session.scalars(sa.select(Product).where(Product.status == "active")).all()
        expected = {}
        for product in products:
            units = [(link.ad_unit, link.include_descendants) for link in product.ad_unit_links]
            found = [u for unit, below in units for u in [unit, *(_depth_first(unit) if below else [])]]
            expected[product.id] = sorted({u.code for u in found if u.is_active and u.level == "slot"})
        db.session.expunge_all()
        for product_id, codes in expected.items():
            product = db.session.get(Product, product_id)
            with queries.counting():
                slots = product_slots(product)
            assert [u.code for u in slots] == codes
            assert queries.count <= 4, f"{product.name}: {queries.count} statements"
        assert any(len(codes) > 3 for codes in expected.values())


def test_the_advertisers_to_filter_by_are_names_not_loaded_accounts(app):
    with app.app_context():
        expected = [
            (a.id, a.name)
            for a in db.session.scalars(sa.select(Account).where(Account.kind == "advertiser").order_by(Account.name))
        ]
        db.session.expunge_all()
        choices = account_choices(AccountKind.ADVERTISER)
        assert [(a.id, a.name) for a in choices] == expected and expected
        assert not [o for o in db.session.identity_map.values() if isinstance(o, Account)]


def test_pricing_a_line_loads_its_card_without_the_product_of_every_rate(app):
    with app.app_context():
        year = current_clock().today().year + 1
        card = db.session.scalar(sa.select(RateCard.id).where(RateCard.name == f"Standard {year}"))
        sport = db.session.scalar(sa.select(Product.id).where(Product.name == "Sport Display"))
        rep = db.session.scalar(sa.select(User).where(User.email == "rep@harbour.example"))
        line = LineInput(
            card_id=card,
            product_id=sport,
            pricing_model="cpm",
            start=date(year, 2, 1),
            end=date(year, 2, 14),
            time_zone="Europe/London",
            quantity=500_000,
        )
        db.session.expunge_all()
        priced = price_line(line, actor=rep, today=current_clock().today(), now=utcnow(), margin_pct=10)
        assert priced.price.gross > 0
        loaded = {o.id for o in db.session.identity_map.values() if isinstance(o, Product)}
        assert loaded == {sport}
