"""Make-goods cannot become free inventory: a make-good line keeps the original line's product,
pricing model and targeting, runs inside the order's make-good window and gives no more than is
owed; a copy of it is an ordinary priced line; a shortfall under the product's minimum is still
made good."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.accounts.models import Account
from app.adserver import outbox
from app.adserver.models import DeliveryDay
from app.catalog.models import Product
from app.errors import DomainError, ValidationFailed
from app.extensions import current_clock, current_settings, db
from app.orders import changes, make_goods
from app.orders.models import OrderLine
from app.proposals import lines
from app.proposals import service as proposals
from app.proposals.models import ProposalLine
from app.workflow import service as workflow
from app.workflow.authors import authors_so_far
from tests.conftest import DEMO_USERS, now, user
from tests.integration.test_adserver import FAST, _delivered, sandbox, signed_order
from tests.integration.test_proposals import rep
from tests.support.concurrency import at_once

WINDOW_DAYS = make_goods.MAKE_GOOD_WINDOW_DAYS


def short_line(quantity: int = 300_000, delivered_per_day: int = 20_000) -> OrderLine:
    """An ended order line that delivered ten days of `delivered_per_day` of its `quantity`."""
    order = signed_order(quantity=quantity)
    outbox.drain(worker="w1", settings=FAST)
    line = order.lines[0]
    today = current_clock().today()
    line.start_day, line.end_day = today - timedelta(days=10), today - timedelta(days=1)
    _delivered(line, delivered_per_day, 10)
    sandbox().delivered_through = today - timedelta(days=1)
    db.session.commit()
    return line


def make_good_of(line: OrderLine):
    proposal = changes.create_make_good(
        line, actor=user(DEMO_USERS["ad_ops"]), now=now(), today=current_clock().today(), margin_pct=10
    )
    db.session.commit()
    return proposal


def update(free, **changes_) -> None:
    data = lines.data_of(free)
    for key, value in changes_.items():
        setattr(data, key, value)
    lines.update_line(free, data, actor=rep(), today=current_clock().today(), now=now(), margin_pct=10)


def product_id(name: str) -> int:
    return db.session.scalar(sa.select(Product.id).where(Product.name == name))


def refused(free, **changes_) -> dict[str, list[str]]:
    before = lines._line_facts(free)
    with pytest.raises(ValidationFailed) as failed:
        update(free, **changes_)
    db.session.rollback()
    assert lines._line_facts(free) == before
    return failed.value.errors


def test_a_make_good_line_keeps_the_original_lines_product_pricing_model_and_targeting(ctx):
    line = short_line()
    (free,) = make_good_of(line).lines
    assert "the line it makes good" in refused(free, product_id=product_id("Football Pre-roll"))["product"][0]
    assert "pricing_model" in refused(free, pricing_model="cpd")
    assert "geo" in refused(free, targeting={"geo": ("london",)})
    assert free.product_id == line.product_id and free.net_rate == 0 and free.gross == 0


def test_a_make_good_flight_moves_only_inside_the_orders_make_good_window(ctx):
    line = short_line()
    (free,) = make_good_of(line).lines
    last = line.end_day + timedelta(days=WINDOW_DAYS)
    assert free.start_day > line.end_day and free.end_day <= last
    assert "make-good window" in refused(free, start_day=line.end_day)["start"][0]
    assert "make-good window" in refused(free, end_day=last + timedelta(days=1))["end"][0]
    update(free, end_day=last)
    assert free.end_day == last and free.gross == 0


def test_a_make_good_is_worth_at_most_what_is_owed_and_gives_impressions_not_a_budget(ctx):
    line = short_line()
    (free,) = make_good_of(line).lines
    assert "at most the 100,000 impressions" in refused(free, quantity=100_001)["quantity"][0]
    assert "budget" in refused(free, quantity=None, budget=Decimal("500"))
    update(free, quantity=60_000)
    assert free.quantity == 60_000


def test_a_copy_of_a_make_good_line_is_an_ordinary_priced_line(ctx):
    line = short_line()
    proposal = make_good_of(line)
    (free,) = proposal.lines
    copy = lines.copy_line(free, actor=rep(), now=now(), today=current_clock().today(), margin_pct=10)
    assert copy.make_good_of_id is None
    assert copy.net_rate > 0 and copy.gross > 0
    assert "make_good" not in [s["key"] for s in copy.price["price"]["steps"]]
    assert free.make_good_of_id == line.id and free.gross == 0


def test_other_lines_on_a_make_good_proposal_are_priced_normally(ctx):
    proposal = make_good_of(short_line())
    (free,) = proposal.lines
    data = lines.data_of(free)
    data.make_good_of_id = None
    paid = lines.add_line(proposal, data, actor=rep(), today=current_clock().today(), now=now(), margin_pct=10)
    assert paid.make_good_of_id is None and paid.gross > 0


def test_a_line_is_not_made_free_by_linking_it_to_an_order_line(ctx):
    line = short_line()
    proposal = make_good_of(line)
    (free,) = proposal.lines
    data = lines.data_of(free)
    data.product_id = product_id("Football Pre-roll")
    with pytest.raises(ValidationFailed) as failed:
        lines.add_line(proposal, data, actor=rep(), today=current_clock().today(), now=now(), margin_pct=10)
    assert "product" in failed.value.errors
    db.session.rollback()
    twin = lines.data_of(free)  # the same shortfall made good twice
    with pytest.raises(ValidationFailed) as failed:
        lines.add_line(proposal, twin, actor=rep(), today=current_clock().today(), now=now(), margin_pct=10)
    assert "already made good" in failed.value.errors["quantity"][0]


def test_a_shortfall_below_the_products_minimum_quantity_can_still_be_made_good(ctx):
    line = short_line(delivered_per_day=29_000)  # 290,000 of 300,000: 10,000 short, Sport Display sells 50,000 at least
    assert line.product.min_quantity > 10_000
    (free,) = make_good_of(line).lines
    assert free.quantity == 10_000 and free.gross == 0 and free.make_good_of_id == line.id


def test_a_make_good_proposal_keeps_the_orders_advertiser(ctx):
    line = short_line()
    proposal = make_good_of(line)
    data = proposals.ProposalData(
        **{name: getattr(proposal, name) for name in proposals.FIELD_LABELS},
    )
    data.buyer_contact_id = None
    data.advertiser_id = db.session.scalar(
        sa.select(Account.id).where(Account.kind == "advertiser", Account.id != proposal.advertiser_id)
    )
    with pytest.raises(ValidationFailed) as failed:
        proposals.update_proposal(
            proposal,
            data,
            expected_version=proposal.version,
            actor=user(DEMO_USERS["sales_manager"]),
            now=now(),
            today=current_clock().today(),
            margin_pct=10,
        )
    assert "advertiser_id" in failed.value.errors


def test_submission_checks_a_make_good_against_what_is_owed_now(ctx):
    line = short_line()
    proposal = make_good_of(line)
    # Late numbers from the ad server: the shortfall shrinks from 100,000 to 40,000.
    db.session.execute(sa.update(DeliveryDay).where(DeliveryDay.order_line_id == line.id).values(impressions=26_000))
    with pytest.raises(ValidationFailed) as failed:
        workflow.submit(proposal, actor=rep(), now=now(), acknowledged=True, render={}, settings=current_settings())
    assert "at most the 40,000 impressions" in failed.value.errors["submit"][0]


def test_a_make_good_cannot_be_drafted_after_its_window_closed(ctx):
    line = short_line()
    late = current_clock().today() + timedelta(days=WINDOW_DAYS + 1)
    with pytest.raises(DomainError, match="make-good window"):
        changes.create_make_good(line, actor=user(DEMO_USERS["ad_ops"]), now=now(), today=late, margin_pct=10)


def test_two_simultaneous_clicks_on_make_good_draft_one_make_good_and_tell_the_second(app, backend, monkeypatch):
    with app.app_context():
        line_id = short_line().id
    checked, both_checking = make_goods.live_make_good, threading.Barrier(2, timeout=1)

    def check_side_by_side(*args, **kwargs):
        """Each click's check waits (a moment) for the other's: unlocked, both find no make-good yet."""
        found = checked(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):  # the other is waiting for the line: carry on
            both_checking.wait()
        return found

    monkeypatch.setattr(make_goods, "live_make_good", check_side_by_side)

    def click() -> str:
        with app.app_context():
            try:
                return make_good_of(db.session.get(OrderLine, line_id)).number
            finally:
                db.session.rollback()
                db.session.remove()

    outcomes = at_once(2, click)
    drafted = [o for o in outcomes if isinstance(o, str)]
    refused = [o for o in outcomes if isinstance(o, DomainError)]
    assert len(drafted) == 1 and len(refused) == 1, outcomes
    assert "already has a make-good in " + drafted[0] in refused[0].message
    with app.app_context():
        made_good = db.session.scalars(sa.select(ProposalLine).where(ProposalLine.make_good_of_id == line_id)).all()
        assert [line.proposal.number for line in made_good] == drafted


def test_whoever_drafts_a_make_good_is_one_of_its_authors_and_so_never_decides_it(ctx):
    line = short_line()
    manager = user(DEMO_USERS["sales_manager"])
    proposal = changes.create_make_good(line, actor=manager, now=now(), today=current_clock().today(), margin_pct=10)
    db.session.commit()
    assert proposal.owner_id != manager.id
    assert manager.id in authors_so_far(proposal)
