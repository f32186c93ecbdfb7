"""The query-count guard on the busiest lists: the orders list, the proposals list, the ad-ops
queue and each role's home page cost the same number of statements whether they show a few rows or
many (no N+1)."""

from __future__ import annotations

import sqlalchemy as sa

from app.adserver.models import PushJob
from app.extensions import db
from app.inventory.models import Reservation, ReservationKind
from app.orders.models import Order, OrderStatus
from app.proposals.models import Proposal, ProposalVersion
from app.workflow.models import ApprovalRequest
from tests.functional.test_home_pages import rep_work_in_the_demo

LISTS = {
    "ad_ops": ("/orders/", "/adserver/queue"),
    "sales_rep": ("/proposals/",),
}


def _copy(row, **changes):
    """A new row with `row`'s columns (but its id) and `changes`; its children are copied by the caller."""
    columns = {c.key: getattr(row, c.key) for c in sa.inspect(type(row)).column_attrs if c.key != "id"}
    copy = type(row)(**{**columns, **changes})
    db.session.add(copy)
    db.session.flush()
    return copy


def _copy_deals(times: int) -> None:
    """Every demo order, with its proposal, version, lines and pushes, `times` over; and as many
    proposals again without orders."""
    orders = db.session.scalars(sa.select(Order).order_by(Order.id)).all()
    proposals = db.session.scalars(sa.select(Proposal).order_by(Proposal.id)).all()
    serial = 0
    for _ in range(times):
        for order in orders:
            serial += 1
            proposal = _copy(order.proposal, number=f"QC-{serial}")
            for line in order.proposal.lines:
                _copy(line, proposal_id=proposal.id, make_good_of_id=None)
            version = _copy(order.version, proposal_id=proposal.id)
            copy = _copy(order, number=f"QO-{serial}", proposal_id=proposal.id, version_id=version.id)
            for line in order.lines:
                _copy(line, order_id=copy.id, booking_id=None, make_good_of_id=None)
            for job in db.session.scalars(sa.select(PushJob).where(PushJob.order_id == order.id)):
                _copy(job, order_id=copy.id)
        for proposal in proposals:
            serial += 1
            copy = _copy(proposal, number=f"QP-{serial}")
            for line in proposal.lines:
                _copy(line, proposal_id=copy.id, make_good_of_id=None)
            versions = sa.select(ProposalVersion).where(ProposalVersion.proposal_id == proposal.id)
            for version in db.session.scalars(versions):
                _copy(version, proposal_id=copy.id)
    db.session.commit()


def test_the_orders_proposals_and_ad_ops_lists_cost_the_same_queries_with_many_more_rows(app, client, auth, queries):
    before = {}
    for role, urls in LISTS.items():
        auth.login_as(role)
        for url in urls:
            with queries.counting():
                assert client.get(url).status_code == 200
            before[url] = queries.count
        auth.logout()
    with app.app_context():
        _copy_deals(times=3)
    for role, urls in LISTS.items():
        auth.login_as(role)
        for url in urls:
            with queries.counting():
                page = client.get(url)
            assert page.status_code == 200
            assert queries.count == before[url], f"{url}: {before[url]} queries before, {queries.count} after"
        auth.logout()


#: Each role's home page lists its work: a rep's open proposals and expiring holds, an approver's
#: queue, ad ops' orders to set up, failed pushes and lines at risk, finance's month.
HOMES = {
    "sales_rep": 'data-testid="open-proposal"',
    "sales_manager": 'data-testid="approval-request"',
    "finance": 'data-testid="approval-request"',
    "ad_ops": 'data-testid="failed-push"',
}


def _more_work() -> None:
    """Every approval request again for managers and for finance, and every hold again, so each home
    list has more rows."""
    for request in db.session.scalars(sa.select(ApprovalRequest)).all():
        for role in ("sales_manager", "finance"):
            _copy(request, approver_role=role, approver_user_id=None)
    holds = sa.select(Reservation).where(Reservation.kind == ReservationKind.HOLD.value)
    for hold in db.session.scalars(holds).all():
        for _ in range(3):
            _copy(hold, proposal_line_id=None)
    db.session.commit()


def test_each_roles_home_page_costs_the_same_queries_with_many_more_items(app, client, auth, queries):
    rep_work_in_the_demo(app)
    with app.app_context():
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
        order.status = OrderStatus.NEEDS_ATTENTION.value
        db.session.add(PushJob(order_id=order.id, connection_id=order.connection_id, status="dead", last_error="No."))
        pending = db.session.scalars(sa.select(ApprovalRequest).where(ApprovalRequest.status == "pending")).first()
        _copy(pending, approver_role="sales_manager", approver_user_id=None)  # the demo's go to finance
        db.session.commit()
    before, rows = {}, {}
    for role, row in HOMES.items():
        auth.login_as(role)
        with queries.counting():
            page = client.get("/")
        assert page.status_code == 200
        before[role], rows[role] = queries.count, page.get_data(as_text=True).count(row)
        auth.logout()
    with app.app_context():
        _copy_deals(times=3)
        _more_work()
    for role, row in HOMES.items():
        auth.login_as(role)
        with queries.counting():
            page = client.get("/")
        assert page.status_code == 200
        assert page.get_data(as_text=True).count(row) > rows[role], f"{role}'s home shows no more rows"
        assert queries.count == before[role], f"{role}'s home: {before[role]} queries before, {queries.count} after"
        auth.logout()
