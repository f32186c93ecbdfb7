"""The home page shows a section for each role the user holds."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.accounts.service import AccountData, create_account
from app.adserver.models import PushJob
from app.extensions import current_clock, current_settings, db
from app.finance import figures as finance_figures
from app.finance import revenue
from app.formats import money
from app.orders.models import Order, OrderStatus
from app.proposals.holds import hold_line
from app.proposals.models import Proposal
from app.workflow import service as workflow
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


# -- Each role's work ---------------------------------------------------------------------------

REJECTION = "Sport Display in London is sold out that week: move it a week later."


def rep_work_in_the_demo(app) -> dict[str, int]:
    """The demo rep's Summer drive submitted and rejected with a comment; Autumn savings submitted,
    its first line held for two more days. Returns the proposals' ids by campaign."""
    with app.app_context():
        rep = user(DEMO_USERS["sales_rep"])
        found = {p.campaign_name: p for p in db.session.scalars(sa.select(Proposal).where(Proposal.owner_id == rep.id))}
        summer, autumn = found["Summer drive"], found["Autumn savings"]
        hold_line(
            autumn.lines[0],
            actor=rep,
            today=current_clock().today(),
            now=now(),
            margin_pct=current_settings().safety_margin_pct,
            hold_days=2,
        )
        for proposal in (summer, autumn):
            workflow.submit(proposal, actor=rep, now=now(), acknowledged=True, settings=current_settings())
        first = next(r for r in workflow.requests_of(summer) if r.status == "pending")
        workflow.decide(
            first,
            approve=False,
            comment=REJECTION,
            actor=user(DEMO_USERS[first.approver_role or "admin"]),
            now=now(),
            settings=current_settings(),
        )
        db.session.commit()
        return {"Summer drive": summer.id, "Autumn savings": autumn.id}


def test_a_rep_sees_their_open_proposals_with_the_next_step_and_the_rejection_first(app, client, auth):
    proposals = rep_work_in_the_demo(app)
    auth.login_as("sales_rep")
    html = client.get("/").get_data(as_text=True)
    assert "Proposals will appear here" not in html
    rows = html.split('data-testid="open-proposal"')[1:]
    assert "Summer drive" in rows[0] and "Rejected" in rows[0] and REJECTION in rows[0]  # the most pressing first
    assert "change it and submit it again" in rows[0]
    assert f'href="/proposals/{proposals["Summer drive"]}"' in rows[0]
    autumn = next(r for r in rows if "Autumn savings" in r)
    assert "Awaiting approval" in autumn and "Waiting for" in autumn


def test_a_rep_sees_the_holds_that_expire_soon_with_their_proposal(app, client, auth):
    proposals = rep_work_in_the_demo(app)
    auth.login_as("sales_rep")
    html = client.get("/").get_data(as_text=True)
    holds = html.split('data-testid="expiring-holds"')[1].split("</ul>")[0]
    assert holds.count('data-testid="expiring-hold"') == 1  # the demo's own holds last a week
    assert f'href="/proposals/{proposals["Autumn savings"]}"' in holds and "line 1" in holds


def test_an_approver_finds_the_request_on_their_home_page(app, client, auth):
    rep_work_in_the_demo(app)
    with app.app_context():
        autumn = db.session.scalar(sa.select(Proposal).where(Proposal.campaign_name == "Autumn savings"))
        role = next(r.approver_role for r in workflow.requests_of(autumn) if r.status == "pending")
    auth.login_as(role)
    section = client.get("/").get_data(as_text=True).split('data-testid="home-approvals"')[1].split("</section>")[0]
    assert "Autumn savings" in section and 'href="/workflow/queue"' in section
    assert "Your approval queue will appear here" not in section


def test_ad_ops_see_orders_to_set_up_failed_pushes_and_lines_at_risk(app, client, auth):
    with app.app_context():
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
        order.status = OrderStatus.NEEDS_ATTENTION.value
        db.session.add(
            PushJob(
                order_id=order.id,
                connection_id=order.connection_id,
                status="dead",
                attempts=1,
                last_error="Map these first on the connection's mapping page: ad unit Sport MPU (sport-mpu).",
                reason="signed",
            )
        )
        db.session.commit()
        order_id, number, connection_id = order.id, order.number, order.connection_id
    auth.login_as("ad_ops")
    html = client.get("/").get_data(as_text=True)
    assert "will appear here" not in html
    to_set_up = html.split('data-testid="orders-to-set-up"')[1].split("</table>")[0]
    assert f'href="/orders/{order_id}"' in to_set_up and "book them by hand" in to_set_up
    failed = html.split('data-testid="failed-pushes"')[1].split("</ul>")[0]
    assert number in failed and "1 try:" in failed and "Sport MPU" in failed
    assert f'href="/adserver/connections/{connection_id}/mappings"' in failed
    assert 'data-testid="lines-at-risk"' in html


def test_finance_sees_this_months_booked_and_recognised_revenue_in_the_currency(app, client, auth):
    with app.app_context():
        month = revenue.month_of(current_clock().today())
        sums = finance_figures.month_totals(month).by_currency["GBP"]
    assert sums["gross"] > 0 and sums["recognised"] > 0  # the demo's order runs this month
    auth.login_as("finance")
    html = client.get("/").get_data(as_text=True)
    figures = html.split('data-testid="month-revenue"')[1].split("</table>")[0]
    assert money(sums["gross"], "GBP") in figures and money(sums["recognised"], "GBP") in figures
    assert f'href="/finance/months/{month:%Y-%m}"' in html
    assert "will appear here" not in html
