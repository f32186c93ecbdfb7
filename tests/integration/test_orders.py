"""Orders: a signed version made an order and booked (flagged for ad ops when it cannot be), ad ops
pausing and cancelling lines, change orders applied to the order, and make-goods drafted for what
a line did not deliver."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.adserver import delivery, outbox
from app.adserver.models import SandboxLineItem
from app.errors import DomainError, ValidationFailed
from app.extensions import current_clock, current_settings, db
from app.inventory.availability import availability_for
from app.inventory.models import Reservation, ReservationKind
from app.inventory.reservations import reserve
from app.inventory.supply import Box
from app.orders import changes
from app.orders import service as orders
from app.orders.models import Order
from app.proposals import lines, registry, versions
from app.proposals import service as proposals
from app.workflow import service
from tests.conftest import DEMO_USERS, now, user
from tests.integration.test_adserver import FAST, _delivered, approve_all, sandbox, signed_order
from tests.integration.test_signing import accept, approved, sent
from tests.integration.test_workflow import rep


def test_inventory_gone_by_signature_flags_the_order_instead_of_overselling(ctx):

    proposal = approved(quantity=500_000)
    line = proposal.lines[0]
    # The hold expires and someone books everything in between.
    hold = db.session.get(Reservation, line.hold_id)
    hold.expires_at = now() - timedelta(minutes=1)
    token = sent(proposal)
    box = Box(tuple(hold.ad_unit_ids), max(hold.start_day, current_clock().today()), hold.end_day)
    left = availability_for(box, now=now(), today=current_clock().today(), margin_pct=10).available
    reserve(
        ReservationKind.BOOKING,
        box,
        label="Someone else",
        quantity=left - 100_000,
        actor=None,
        now=now(),
        today=current_clock().today(),
        margin_pct=10,
        hold_days=0,
    )
    accept(token)
    order = db.session.scalar(sa.select(Order).where(Order.proposal_id == proposal.id))
    assert order.status == "needs_attention"
    assert order.lines[0].shortfall == 400_000
    assert db.session.get(Reservation, order.lines[0].booking_id).quantity == 100_000


def test_a_line_with_nothing_to_check_flags_the_order_for_ad_ops(ctx):
    from datetime import date

    from app.catalog.models import Product

    proposal = approved()
    takeover = db.session.scalar(sa.select(Product).where(Product.name == "Homepage Takeover — The Daily Harbour"))
    year = proposal.start_day.year
    service.withdraw(proposal, actor=rep(), now=now())
    lines.add_line(
        proposal,
        lines.LineData(takeover.id, "cpd", date(year, 2, 1), date(year, 2, 7), "Europe/London"),
        actor=rep(),
        today=current_clock().today(),
        now=now(),
        margin_pct=10,
    )
    service.submit(proposal, actor=rep(), now=now(), acknowledged=True, render={}, settings=current_settings())
    for request in service.requests_of(proposal, proposal.versions[-1].id):
        if request.status == "pending":
            service.decide(
                request,
                approve=True,
                comment="",
                actor=user(DEMO_USERS[request.approver_role]),
                now=now(),
                settings=current_settings(),
            )
    accept(sent(proposal))
    order = db.session.scalar(sa.select(Order).where(Order.proposal_id == proposal.id))
    assert order.status == "needs_attention"
    assert order.lines[1].booking_id is None and order.lines[0].booking_id is not None


def test_an_under_delivered_line_owes_its_value_and_gets_a_free_make_good_line(ctx):
    order = signed_order(quantity=300_000)
    outbox.drain(worker="w1", settings=FAST)
    line = order.lines[0]
    today = current_clock().today()
    line.start_day, line.end_day = today - timedelta(days=10), today - timedelta(days=1)
    _delivered(line, 20_000, 10)  # 200,000 of 300,000
    sandbox().delivered_through = today - timedelta(days=1)
    db.session.commit()
    (pacing,) = delivery.pacing_of([line], today=today)
    assert pacing.state == "under_delivered" and pacing.undelivered == 100_000
    assert pacing.owed == (Decimal(100_000) * line.net_rate / 1000).quantize(Decimal("0.01"))
    proposal = changes.create_make_good(line, actor=user(DEMO_USERS["ad_ops"]), now=now(), today=today, margin_pct=10)
    db.session.commit()
    (free,) = proposal.lines
    assert proposal.status == "draft" and proposal.owner_id == order.proposal.owner_id
    assert free.make_good_of_id == line.id and free.quantity == 100_000
    assert free.net_rate == 0 and free.gross == 0 and free.net == 0
    assert [s["key"] for s in free.price["price"]["steps"]][-2:] == ["make_good", "net"]
    assert not any("floor" in p for p in free.problems)
    with pytest.raises(DomainError, match="already has a make-good"):
        changes.create_make_good(line, actor=user(DEMO_USERS["ad_ops"]), now=now(), today=today, margin_pct=10)
    assert delivery.at_risk_lines(today=today) == []  # offered: off the ad-ops list


def test_a_line_on_pace_has_no_make_good_to_offer(ctx):
    order = signed_order()
    outbox.drain(worker="w1", settings=FAST)
    with pytest.raises(DomainError, match="nothing to make good"):
        changes.create_make_good(
            order.lines[0], actor=user(DEMO_USERS["ad_ops"]), now=now(), today=current_clock().today(), margin_pct=10
        )


def test_ad_ops_pause_and_cancel_a_line_and_the_ad_server_follows(ctx):
    order = signed_order()
    outbox.drain(worker="w1", settings=FAST)
    line = order.lines[0]
    ops = user(DEMO_USERS["ad_ops"])
    orders.set_line_status(line, orders.LineStatus.PAUSED, actor=ops, now=now())
    db.session.commit()
    outbox.drain(worker="w1", settings=FAST)
    assert db.session.get(SandboxLineItem, int(line.remote_line_id)).status == "paused"
    booking_id = line.booking_id
    orders.set_line_status(line, orders.LineStatus.CANCELLED, actor=ops, now=now())
    db.session.commit()
    outbox.drain(worker="w1", settings=FAST)
    assert db.session.get(SandboxLineItem, int(line.remote_line_id)).status == "cancelled"
    assert db.session.get(Reservation, booking_id).released_at is not None
    with pytest.raises(DomainError, match="cancelled"):
        orders.set_line_status(line, orders.LineStatus.ACTIVE, actor=ops, now=now())
    with pytest.raises(DomainError):
        orders.set_line_status(line, orders.LineStatus.PAUSED, actor=rep(), now=now())


def test_a_change_order_goes_through_approval_and_updates_the_ad_server(ctx):
    order = signed_order()
    outbox.drain(worker="w1", settings=FAST)
    proposal = changes.start_change_order(order, actor=rep(), now=now())
    assert proposal.status == "draft"
    line = proposal.lines[0]
    data = lines.data_of(line)
    data.quantity = 650_000
    lines.update_line(line, data, actor=rep(), today=current_clock().today(), now=now(), margin_pct=10)
    service.submit(proposal, actor=rep(), now=now(), acknowledged=True, render={}, settings=current_settings())
    approve_all(proposal)
    db.session.commit()
    order = db.session.get(Order, order.id)
    assert proposal.status == "signed" and order.revision == 2 and order.version_id == proposal.versions[-1].id
    assert order.lines[0].quantity == 650_000 and order.push_state == "queued"
    assert db.session.get(Reservation, order.lines[0].booking_id).quantity == 650_000
    outbox.drain(worker="w1", settings=FAST)
    item = db.session.get(SandboxLineItem, int(order.lines[0].remote_line_id))
    assert item.spec["impressions"] == 650_000 and db.session.get(Order, order.id).pushed_revision == 2


def test_a_change_order_cannot_take_a_line_under_what_it_delivered(ctx):
    order = signed_order()
    outbox.drain(worker="w1", settings=FAST)
    _delivered(order.lines[0], 100_000, 3)
    db.session.commit()
    proposal = changes.start_change_order(order, actor=rep(), now=now())
    line = proposal.lines[0]
    data = lines.data_of(line)
    data.quantity = 250_000
    lines.update_line(line, data, actor=rep(), today=current_clock().today(), now=now(), margin_pct=10)
    with pytest.raises(ValidationFailed) as failed:
        service.submit(proposal, actor=rep(), now=now(), acknowledged=True, render={}, settings=current_settings())
    assert "already delivered 300,000" in failed.value.errors["submit"][0]


def test_a_change_order_that_removes_a_line_cancels_it_in_the_ad_server(ctx):
    order = signed_order()
    outbox.drain(worker="w1", settings=FAST)
    proposal = changes.start_change_order(order, actor=rep(), now=now())
    extra = lines.add_line(
        proposal,
        lines.data_of(proposal.lines[0]),
        actor=rep(),
        today=current_clock().today(),
        now=now(),
        margin_pct=10,
    )
    lines.remove_line(proposal.lines[0], actor=rep(), now=now())
    service.submit(proposal, actor=rep(), now=now(), acknowledged=True, render={}, settings=current_settings())
    approve_all(proposal)
    db.session.commit()
    order = db.session.get(Order, order.id)
    statuses = sorted((line.status, line.id == extra.order_line_id) for line in order.lines)
    assert statuses == [("active", True), ("cancelled", False)]
    outbox.drain(worker="w1", settings=FAST)
    remote = {i.external_id: i.status for i in db.session.scalars(sa.select(SandboxLineItem))}
    assert [remote[str(line.id)] for line in order.lines] == [line.status for line in order.lines]


def test_a_line_ad_ops_cancelled_stays_cancelled_through_a_later_change_order(ctx):
    order = signed_order()
    outbox.drain(worker="w1", settings=FAST)
    proposal = changes.start_change_order(order, actor=rep(), now=now())
    extra = lines.add_line(
        proposal, lines.data_of(proposal.lines[0]), actor=rep(), today=current_clock().today(), now=now(),
        margin_pct=10,
    )  # fmt: skip
    service.submit(proposal, actor=rep(), now=now(), acknowledged=True, render={}, settings=current_settings())
    approve_all(proposal)
    db.session.commit()
    order = db.session.get(Order, order.id)
    cancelled = next(line for line in order.lines if line.id != extra.order_line_id)
    orders.set_line_status(cancelled, orders.LineStatus.CANCELLED, actor=user(DEMO_USERS["ad_ops"]), now=now())
    db.session.commit()
    proposal = changes.start_change_order(order, actor=rep(), now=now())
    service.submit(proposal, actor=rep(), now=now(), acknowledged=True, render={}, settings=current_settings())
    approve_all(proposal)
    db.session.commit()
    line = db.session.get(type(cancelled), cancelled.id)
    assert line.status == "cancelled" and line.booking_id is None


def test_a_change_order_cannot_be_deleted_nor_end_a_line_in_the_past(ctx):
    order = signed_order()
    proposal = changes.start_change_order(order, actor=rep(), now=now())
    with pytest.raises(DomainError, match="has an order"):
        proposals.delete_proposal(proposal, actor=rep(), now=now())
    line = proposal.lines[0]
    data = lines.data_of(line)
    data.start_day = data.end_day = current_clock().today() - timedelta(days=2)
    line.start_day = line.end_day = data.end_day  # as the builder would have saved it
    with pytest.raises(ValidationFailed) as failed:
        service.submit(proposal, actor=rep(), now=now(), acknowledged=True, render={}, settings=current_settings())
    assert "in the past" in failed.value.errors["submit"][0]


def test_ad_ops_cannot_open_a_change_order_they_could_not_edit(ctx):
    order = signed_order()
    with pytest.raises(DomainError, match="open a change order"):
        changes.start_change_order(order, actor=user(DEMO_USERS["ad_ops"]), now=now())


def test_a_make_good_is_no_discount_to_the_rules_and_gives_no_more_than_was_owed(ctx):
    from app.workflow.conditions import facts_of

    order = signed_order(quantity=300_000)
    outbox.drain(worker="w1", settings=FAST)
    line = order.lines[0]
    today = current_clock().today()
    line.start_day, line.end_day = today - timedelta(days=10), today - timedelta(days=1)
    _delivered(line, 20_000, 10)
    sandbox().delivered_through = today - timedelta(days=1)
    db.session.commit()
    proposal = changes.create_make_good(line, actor=user(DEMO_USERS["ad_ops"]), now=now(), today=today, margin_pct=10)
    (free,) = proposal.lines
    snapshot = versions.snapshot(proposal, number=1, now=now())
    facts = facts_of(snapshot, new_advertiser=False, standard_terms="", products={})
    assert facts["max_discount_pct"] < 40 and facts["make_good"] is True
    copy = lines.copy_line(free, actor=rep(), now=now(), today=today, margin_pct=10)
    assert copy.make_good_of_id is None and copy.gross > 0  # a copy is a paid line, priced as one
    data = lines.data_of(free)
    data.quantity = 5_000_000
    with pytest.raises(ValidationFailed) as failed:
        lines.update_line(free, data, actor=rep(), today=today, now=now(), margin_pct=10)
    assert "at most the 100,000 impressions" in failed.value.errors["quantity"][0]


def test_a_discarded_change_order_puts_the_proposal_back_as_signed_and_leaves_the_order(ctx):
    order = signed_order()
    signed_lines = [(line.quantity, line.net) for line in order.lines]
    proposal = changes.start_change_order(order, actor=rep(), now=now())
    line = proposal.lines[0]
    data = lines.data_of(line)
    data.quantity = 777_000
    lines.update_line(line, data, actor=rep(), today=current_clock().today(), now=now(), margin_pct=10)
    proposal.notes = "a change nobody wanted"
    db.session.commit()
    changes.discard_change_order(order, actor=rep(), now=now())
    db.session.commit()
    proposal = db.session.get(type(proposal), proposal.id)
    assert proposal.status == "signed" and proposal.notes == order.version.snapshot["notes"]
    assert [(p.quantity, p.order_line_id) for p in proposal.lines] == [(500_000, order.lines[0].id)]
    assert [(line.quantity, line.net) for line in db.session.get(Order, order.id).lines] == signed_lines
    with pytest.raises(DomainError, match="is signed"):
        changes.discard_change_order(order, actor=rep(), now=now())
    assert changes.start_change_order(order, actor=rep(), now=now()).status == "draft"  # a new one may open


def test_the_app_refuses_to_start_while_an_event_of_workflow_or_orders_has_no_handler(monkeypatch):
    from app.orders import events as order_events
    from app.workflow import events as workflow_events

    monkeypatch.setattr(workflow_events, "_handlers", {})
    with pytest.raises(RuntimeError, match="order_signed, change_approved"):
        workflow_events.check_registered()
    monkeypatch.setattr(order_events, "_handlers", {"order_changed": print})
    with pytest.raises(RuntimeError, match="delivery_totals, pacing_of"):
        order_events.check_registered()
    monkeypatch.setattr(registry, "providers", {})
    with pytest.raises(RuntimeError, match="has_order"):
        registry.check_registered()


def test_every_frozen_version_reads_as_a_typed_snapshot_and_writes_back_the_same_json(ctx):
    from app.proposals.models import ProposalVersion
    from app.proposals.snapshot import VersionSnapshot

    signed_order()  # one version more, frozen, signed and booked in this test
    versions = [v for v in db.session.scalars(sa.select(ProposalVersion)) if v.snapshot]
    assert versions
    for version in versions:
        typed = VersionSnapshot.of(version)
        assert typed.to_json() == version.snapshot
        assert all(isinstance(line.net, Decimal) for line in typed.lines)
