"""The home page shows a section for each role the user holds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.accounts.service import AccountData, create_account
from app.extensions import db
from tests.conftest import DEMO_USERS, now, user

SECTIONS = {
    "sales_rep": "home-rep",
    "sales_manager": "home-manager",
    "ad_ops": "home-ad-ops",
    "finance": "home-finance",
    "admin": "home-admin",
}


@pytest.mark.parametrize("role", SECTIONS)
def test_each_role_sees_its_own_section_only(client, auth, role):
    auth.login_as(role)
    html = client.get("/").get_data(as_text=True)
    shown = {r for r, testid in SECTIONS.items() if f'data-testid="{testid}"' in html}
    assert shown == {role}


def test_ad_ops_see_the_inventory_and_finance_the_credit_holds(client, auth):
    auth.login_as("ad_ops")
    assert "3 sites" in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login_as("finance")
    html = client.get("/").get_data(as_text=True)
    assert "Fernleigh Gadgets" in html and "Halden Auto Group" in html  # the two demo accounts on hold


def test_a_rep_with_many_accounts_sees_the_recent_ones_and_a_link_to_all(app, client, auth):
    with app.app_context():
        rep = user(DEMO_USERS["sales_rep"])
        for n in range(10):
            create_account(
                AccountData(
                    kind="advertiser",
                    name=f"Extra {n}",
                    currency="GBP",
                    owner_id=rep.id,
                    agency_commission_pct=Decimal(0),
                ),
                actor=rep,
                now=now(),
            )
        db.session.commit()
    auth.login_as("sales_rep")
    html = client.get("/").get_data(as_text=True)
    assert html.count('<tr><td><a href="/accounts/') == 15
    assert "All 21 of your accounts" in html and "Extra 9" in html
