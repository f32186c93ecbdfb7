"""Proposals on the demo publisher: lines priced with live availability, holds, versions, the diff."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from app.accounts.models import Account
from app.catalog.models import Product
from app.errors import Conflict, DomainError, ValidationFailed
from app.extensions import current_clock, db
from app.inventory.models import Reservation
from app.proposals import access, bulk, holds, lines, service, versions
from app.proposals.models import Proposal
from app.ratecards.models import RateCard
from tests.conftest import DEMO_USERS, now, user

MARGIN = 10


def rep():
    return user(DEMO_USERS["sales_rep"])


def settings() -> dict:
    return {"today": current_clock().today(), "now": now(), "margin_pct": MARGIN}


def new_proposal(**kw) -> Proposal:
    year = current_clock().today().year + 1
    data = service.ProposalData(
        advertiser_id=db.session.scalar(sa.select(Account.id).where(Account.name == "Halden Auto Group")),
        campaign_name="Spring launch",
        rate_card_id=db.session.scalar(sa.select(RateCard.id).where(RateCard.name == f"Standard {year}")),
        owner_id=rep().id,
        start_day=date(year, 2, 1),
        end_day=date(year, 2, 14),
        time_zone="Europe/London",
    )
    for key, value in kw.items():
        setattr(data, key, value)
    return service.create_proposal(data, actor=rep(), now=now(), today=current_clock().today())


def line_data(proposal, product: str = "Sport Display", **kw) -> lines.LineData:
    base = dict(
        product_id=db.session.scalar(sa.select(Product.id).where(Product.name == product)),
        pricing_model="cpm",
        start_day=proposal.start_day,
        end_day=proposal.end_day,
        time_zone=proposal.time_zone,
        quantity=500_000,
    )
    base.update(kw)
    return lines.LineData(**base)


def test_a_proposal_gets_a_number_and_its_lines_are_priced_with_the_total_to_the_cent(ctx):
    proposal = new_proposal()
    assert proposal.number.startswith(f"P-{current_clock().today().year}-") and proposal.currency == "GBP"
    lines.add_line(proposal, line_data(proposal, targeting={"geo": ("london",)}), actor=rep(), **settings())
    lines.add_line(proposal, line_data(proposal, "News Display", quantity=333_333), actor=rep(), **settings())
    first, second = proposal.lines
    assert first.net_rate == D("10.5000") and first.gross == D("5250.00")  # 8.40 + 25 % London
    assert first.price["price"]["steps"][1]["label"] == "Premium: geography"
    assert second.available and second.available > 333_333
    totals = lines.totals(proposal)
    assert totals.gross == first.gross + second.gross and totals.impressions == 833_333


def test_bad_lines_are_refused_on_their_field_and_nothing_is_added(ctx):
    proposal = new_proposal()
    with pytest.raises(ValidationFailed) as failure:
        lines.add_line(proposal, line_data(proposal, quantity=10, discount_pct=D("150")), actor=rep(), **settings())
    assert set(failure.value.errors) == {"quantity", "line_discount_pct"}
    assert proposal.lines == []


def test_an_advertiser_on_credit_hold_may_get_a_proposal(ctx):
    advertiser = db.session.scalar(sa.select(Account).where(Account.name == "Halden Auto Group"))
    advertiser.credit_status = "on_hold"
    assert new_proposal().advertiser.on_credit_hold


def test_lines_copy_move_and_remove_and_each_change_is_audited(ctx):
    from app.audit.models import AuditEvent

    proposal = new_proposal()
    a = lines.add_line(proposal, line_data(proposal), actor=rep(), **settings())
    b = lines.add_line(proposal, line_data(proposal, "News Display"), actor=rep(), **settings())
    twin = lines.copy_line(a, actor=rep(), **settings())
    assert [line.position for line in proposal.lines] == [1, 2, 3] and proposal.lines[1] is twin
    lines.move_line(b, -2, actor=rep(), now=now())
    assert proposal.lines[0] is b
    lines.remove_line(twin, actor=rep(), now=now())
    assert [line.product.name for line in proposal.lines] == ["News Display", "Sport Display"]
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.entity_type == "proposal", AuditEvent.entity_id == proposal.id)
    ).all()
    assert {"created", "line added", "line 1 copied", "line moved", "line 3 removed"} <= set(actions)


def test_a_held_line_takes_its_inventory_until_the_proposal_is_deleted(ctx):
    from app.inventory.availability import availability_for
    from app.inventory.supply import Box

    proposal = new_proposal()
    line = lines.add_line(
        proposal, line_data(proposal, "Football Pre-roll", quantity=20_000), actor=rep(), **settings()
    )
    hold = holds.hold_line(line, actor=rep(), hold_days=7, **settings())
    assert hold.quantity == 20_000 and hold.expires_at > now() and holds.hold_of(line, now()) is hold
    # Extending keeps the same hold.
    assert holds.hold_line(line, actor=rep(), hold_days=7, **settings()) is hold
    box = Box(tuple(hold.ad_unit_ids), max(hold.start_day, current_clock().today()), hold.end_day)
    with_hold = availability_for(box, now=now(), today=current_clock().today(), margin_pct=MARGIN).available
    service.delete_proposal(proposal, actor=rep(), now=now())
    assert db.session.get(Reservation, hold.id).released_at is not None
    after = availability_for(box, now=now(), today=current_clock().today(), margin_pct=MARGIN).available
    assert after == with_hold + 20_000


def test_a_stale_edit_is_refused_with_a_conflict(ctx):
    proposal = new_proposal()
    data = service.ProposalData(
        advertiser_id=proposal.advertiser_id,
        campaign_name="Renamed",
        rate_card_id=proposal.rate_card_id,
        owner_id=proposal.owner_id,
        start_day=proposal.start_day,
        end_day=proposal.end_day,
        time_zone=proposal.time_zone,
    )
    with pytest.raises(Conflict):
        service.update_proposal(proposal, data, expected_version=proposal.version - 1 or 99, actor=rep(), **settings())


def test_a_proposal_discount_reprices_every_line(ctx):
    proposal = new_proposal()
    line = lines.add_line(proposal, line_data(proposal), actor=rep(), **settings())
    before = line.net_rate
    data = service.ProposalData(
        advertiser_id=proposal.advertiser_id,
        campaign_name=proposal.campaign_name,
        rate_card_id=proposal.rate_card_id,
        owner_id=proposal.owner_id,
        start_day=proposal.start_day,
        end_day=proposal.end_day,
        time_zone=proposal.time_zone,
        discount_pct=D("10"),
    )
    service.update_proposal(proposal, data, expected_version=proposal.version, actor=rep(), **settings())
    assert line.net_rate == (before * D("0.9")).quantize(D("0.0001"))


def test_a_version_is_a_snapshot_that_later_changes_never_touch_and_the_diff_says_what_changed(ctx):
    proposal = new_proposal()
    line = lines.add_line(proposal, line_data(proposal), actor=rep(), **settings())
    first = versions.freeze_version(proposal, actor=rep(), now=now())
    frozen = first.snapshot["lines"][0]["net_rate"]
    card = db.session.get(RateCard, proposal.rate_card_id)
    for rate in card.base_rates:
        rate.rate = rate.rate * 2
    lines.update_line(line, line_data(proposal, quantity=750_000), actor=rep(), **settings())
    lines.add_line(proposal, line_data(proposal, "News Display"), actor=rep(), **settings())
    second = versions.freeze_version(proposal, actor=rep(), now=now())
    db.session.flush()
    assert db.session.get(type(first), first.id).snapshot["lines"][0]["net_rate"] == frozen
    changes = versions.diff(first.snapshot, second.snapshot)
    assert [a["product"]["name"] for a in changes["added"]] == ["News Display"]
    ((_line, line_changes),) = changes["changed"]
    labels = {label for label, _, _ in line_changes}
    assert {"Quantity", "Net rate", "Cost"} <= labels
    assert any(label == "Gross" for label, _, _ in changes["totals"])


def test_an_empty_proposal_makes_no_version_and_a_rep_cannot_edit_anothers(ctx):
    proposal = new_proposal()
    with pytest.raises(DomainError, match="at least one line"):
        versions.freeze_version(proposal, actor=rep(), now=now())
    other = user("rep2@harbour.example")
    assert not access.can_edit(other, proposal) and not access.can_read(other, proposal)
    assert access.can_read(user(DEMO_USERS["finance"]), proposal)


def test_the_campaign_and_flight_are_checked_on_their_fields(ctx):
    year = current_clock().today().year + 1
    with pytest.raises(ValidationFailed) as failure:
        new_proposal(campaign_name=" ", start_day=date(year, 3, 1), end_day=date(year, 2, 1), time_zone="Nowhere")
    assert set(failure.value.errors) == {"campaign_name", "end_day", "time_zone"}


def test_a_package_adds_its_mandatory_products_with_its_discount(ctx):
    from app.catalog.models import Package

    proposal = new_proposal()
    bundle = db.session.scalar(sa.select(Package).where(Package.name == "Sport Fan Bundle"))
    lines = bulk.add_package(proposal, bundle, impressions=200_000, actor=rep(), **settings())
    assert [line.product.name for line in lines] == ["Sport Display", "Football Pre-roll"]
    assert all(line.discount_pct == D("10") for line in lines)
    assert lines[0].net_rate == D("7.5600")  # 8.40 less 10 %


def test_a_package_that_cannot_be_priced_adds_nothing_and_names_the_product(ctx):
    from app.catalog.models import Package

    proposal = new_proposal()
    bundle = db.session.scalar(sa.select(Package).where(Package.name == "Sport Fan Bundle"))
    with pytest.raises(ValidationFailed) as failure:
        bulk.add_package(proposal, bundle, impressions=20, actor=rep(), **settings())  # under the minimums
    assert failure.value.errors["package"][0].startswith("Sport Display:")
    db.session.flush()
    assert proposal.lines == []


def test_pasted_rows_become_lines_all_or_nothing_with_each_problem_on_its_row(ctx):
    proposal = new_proposal()
    year = proposal.start_day.year
    lines = bulk.paste_lines(
        proposal,
        f"product\timpressions\tstart\tend\nSport Display\t500,000\t{year}-02-01\t{year}-02-07\nnews display\t300000\n",
        actor=rep(),
        **settings(),
    )
    assert [(line.product.name, line.quantity, line.end_day) for line in lines] == [
        ("Sport Display", 500_000, date(year, 2, 7)),
        ("News Display", 300_000, proposal.end_day),
    ]
    with pytest.raises(ValidationFailed) as failure:
        bulk.paste_lines(proposal, "Sport Display,lots\nNo Such Product,100\n", actor=rep(), **settings())
    assert failure.value.errors["paste"] == [
        "Row 1: “lots” is not a whole number of impressions.",
        "Row 2: no active product is called “No Such Product”.",
    ]
    assert len(proposal.lines) == 2


def test_a_2000_line_paste_is_refused_with_a_clear_message(ctx):
    proposal = new_proposal()
    with pytest.raises(ValidationFailed) as failure:
        bulk.paste_lines(proposal, "Sport Display,100000\n" * 2000, actor=rep(), **settings())
    assert "You pasted 2,000 rows; a proposal has at most 500 lines" in failure.value.errors["paste"][0]
    assert proposal.lines == []


def test_a_recommendation_fits_the_budget_and_the_inventory_and_says_why(ctx):
    proposal = new_proposal()
    goals = bulk.Goals(
        budget=D("30000"), start_day=proposal.start_day, end_day=proposal.end_day, geo=("london",), sizes=("300x250",)
    )
    picks = bulk.recommend(proposal, goals, actor=rep(), **settings())
    assert 1 <= len(picks) <= 3
    assert sum(p.cost for p in picks) <= D("30000")
    assert all(p.impressions <= p.available for p in picks)
    assert all("geo targeting" in p.why and "300x250" in p.why for p in picks)
    products = {p.id: p for p in db.session.scalars(sa.select(Product))}
    assert all(
        "300x250" in products[p.product_id].sizes and "geo" in products[p.product_id].customisable for p in picks
    )
    assert picks == sorted(picks, key=lambda p: p.net_rate)


def test_the_largest_total_a_proposal_can_reach_fits_its_money_columns(ctx):
    """A line costs at most MAX_MONEY and a proposal has at most MAX_LINES lines, so no total (a
    proposal's, an order's gross and net) can pass MAX_LINES x MAX_MONEY: the money columns hold it."""
    from app.db import Money
    from app.validation import MAX_MONEY

    largest = MAX_MONEY * lines.MAX_LINES
    assert largest < D(10) ** (Money.precision - Money.scale)
    assert db.session.scalar(sa.select(sa.cast(sa.literal(largest, Money), Money))) == largest
