"""The query-count guard on the busiest lists: the orders list, the proposals list and the ad-ops
queue cost the same number of statements whether they show a few rows or many (no N+1)."""

from __future__ import annotations

import sqlalchemy as sa

from app.adserver.models import PushJob
from app.extensions import db
from app.orders.models import Order
from app.proposals.models import Proposal, ProposalVersion

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
