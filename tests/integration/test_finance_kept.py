"""Revenue kept by line and month as orders change: every writer keeps it equal to the revenue
computed from the orders, and the finance page reads from it the figures it computed before."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.adserver.models import DeliveryDay
from app.extensions import current_clock, db
from app.finance import figures, maintained, queries, revenue, service
from app.finance.models import RevenueLine, RevenueMonth
from app.finance.variance import MonthVariance, explain_line
from app.orders import service as orders
from app.orders.models import Order, OrderLine
from tests.conftest import DEMO_USERS, now, user
from tests.integration.test_finance import apply_change, demo_order, finance, months_ago

ALL = queries.Filters()


def today() -> date:
    return current_clock().today()


def computed(first: date, last: date, filters: queries.Filters, calendar: str) -> dict:
    """What the finance page showed before it read kept revenue: its rows summed line by line."""
    shown: dict = defaultdict(dict)
    for month in queries.months_between(first, last):
        sums: dict = {}
        why: dict[str, MonthVariance] = {}
        rows = queries.month_rows(month, filters, closed=month in queries.closed_periods(), calendar=calendar)
        for row in rows:
            s = sums.setdefault(row.currency, defaultdict(Decimal))
            for key in ("gross", "commission", "net", "recognised"):
                s[key] += getattr(row, key)
            s["adjustments"] += row.net if row.adjustment_for else 0
            why.setdefault(row.currency, MonthVariance(row.currency)).add(
                explain_line(row, month, today=today(), calendar=calendar)
            )
        shown[month] = (
            {c: dict(s) for c, s in sums.items()},
            {c: (v.booked, v.recognised, v.sentence(), sorted(v.by_why.items())) for c, v in why.items()},
        )
    return dict(shown)


def read(first: date, last: date, filters: queries.Filters, calendar: str) -> dict:
    found = figures.months(first, last, filters, calendar=calendar, today=today())
    return {
        m: (
            {c: {k: v for k, v in s.items()} for c, s in f.by_currency.items()},
            {c: (v.booked, v.recognised, v.sentence(), sorted(v.by_why.items())) for c, v in f.explained.items()},
        )
        for m, f in found.items()
    }


def assert_kept() -> None:
    """The tables equal the computed rows, and the page's figures equal what it computed before."""
    assert maintained.check() == []
    first, last = months_ago(3), revenue.months_after(revenue.month_of(today()), 3)
    order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
    for calendar in ("calendar", "broadcast"):
        for filters in (ALL, queries.Filters(advertiser_id=order.advertiser_id), queries.Filters(currency="EUR")):
            assert read(first, last, filters, calendar) == computed(first, last, filters, calendar)


def test_the_back_filled_tables_equal_the_computed_revenue(ctx):
    assert db.session.scalar(sa.select(sa.func.count(RevenueLine.id))) > 0
    assert_kept()
    db.session.execute(sa.update(RevenueMonth).values(gross=RevenueMonth.gross + 1))
    assert any("month sums" in problem for problem in maintained.check())
    maintained.rebuild(today=today())
    assert_kept()


def test_the_month_under_way_reads_right_whether_or_not_the_day_was_rolled_on(ctx):
    demo_order()
    under_way = revenue.month_of(today())
    maintained.roll_day(today() - timedelta(days=1))  # the day moved on; roll-day has not run yet
    db.session.commit()
    assert maintained.check() == []
    stale = db.session.scalars(sa.select(RevenueMonth.as_of).where(RevenueMonth.period == under_way)).all()
    assert stale and set(stale) == {today() - timedelta(days=1)}
    assert_kept()  # summed from the rows
    maintained.roll_day(today())
    db.session.commit()
    assert set(db.session.scalars(sa.select(RevenueMonth.as_of).where(RevenueMonth.period == under_way))) == {today()}
    assert_kept()  # read from the month sums


def test_the_kept_revenue_stays_equal_through_a_realistic_series_of_changes(ctx):
    order = demo_order()  # flights moved: a change to every line
    assert_kept()
    month = months_ago(2)
    for kind in ("late_delivery", "billing", "change_order"):
        apply_change(kind, order, month)
        db.session.commit()
        assert_kept()
    service.close_month(month, actor=finance(), today=today(), now=now())
    db.session.commit()
    assert_kept()
    apply_change("change_order", order, month)  # after the close: an adjustment is posted
    db.session.commit()
    service.post_adjustments(today=today(), now=now() + timedelta(seconds=1))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).where(RevenueLine.story == "adjustment")) > 0
    assert_kept()
    apply_change("cancel", order, month)
    db.session.commit()
    service.post_adjustments(today=today(), now=now() + timedelta(seconds=2))
    db.session.commit()
    assert_kept()


def _pause(line: OrderLine) -> None:
    orders.set_line_status(line, orders.LineStatus.PAUSED, actor=user(DEMO_USERS["ad_ops"]), now=now())


def _cancel(line: OrderLine) -> None:
    orders.set_line_status(line, orders.LineStatus.CANCELLED, actor=user(DEMO_USERS["ad_ops"]), now=now())


def _billing(line: OrderLine) -> None:
    service.set_billing(line, source="third_party", cap="contract", actor=finance(), now=now())


def _counts(line: OrderLine) -> None:
    service.set_billing(line, source="third_party", cap="none", actor=finance(), now=now())
    db.session.commit()
    day = max(line.start_day, today() - timedelta(days=2))
    service.upload_counts(f"{line.id},{day},77000\n", actor=finance(), now=now())


def _delivery(line: OrderLine) -> None:
    db.session.add(DeliveryDay(order_line_id=line.id, day=today(), impressions=9_999, clicks=3))


def _more_delivery(line: OrderLine) -> None:
    found = db.session.scalars(sa.select(DeliveryDay).where(DeliveryDay.order_line_id == line.id)).first()
    found.impressions += 5_000


def _make_good(line: OrderLine) -> None:
    line.make_good_of_id = next(other.id for other in line.order.lines if other.id != line.id)


def _change_order(line: OrderLine) -> None:
    line.gross, line.net, line.end_day = line.gross * 3, line.net * 3, line.end_day + timedelta(days=40)


def _contract_cap(line: OrderLine) -> None:
    line.net_rate = line.net_rate * 50  # delivery now bills past the line's cost: the cap holds


def _new_line(line: OrderLine) -> None:
    copy = OrderLine(**{c.name: getattr(line, c.name) for c in OrderLine.__table__.columns if c.name != "id"})
    copy.position = max(other.position for other in line.order.lines) + 1
    db.session.add(copy)


def _close(line: OrderLine) -> None:
    service.close_month(months_ago(2), actor=finance(), today=today(), now=now())


WRITERS = {
    "pause": _pause,
    "cancel": _cancel,
    "billing": _billing,
    "third_party_counts": _counts,
    "delivery_synced": _delivery,
    "delivery_corrected": _more_delivery,
    "make_good": _make_good,
    "change_order": _change_order,
    "contract_cap": _contract_cap,
    "new_line": _new_line,
    "month_close": _close,
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_each_writer_keeps_the_revenue_equal_in_its_own_commit(ctx, writer):
    order = demo_order()
    WRITERS[writer](order.lines[0])
    db.session.commit()
    assert_kept()


def test_a_rolled_back_change_leaves_the_kept_revenue_as_it_was(ctx):
    order = demo_order()
    before = db.session.scalar(sa.select(sa.func.sum(RevenueLine.gross)))
    _change_order(order.lines[0])
    db.session.flush()
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.sum(RevenueLine.gross))) == before
    assert_kept()


def test_check_revenue_says_whether_the_kept_revenue_is_right(app, runner):
    ok = runner.invoke(args=["finance", "check-revenue"])
    assert ok.exit_code == 0 and "equals" in ok.output
    with app.app_context():
        db.session.execute(
            sa.delete(RevenueLine).where(RevenueLine.id == sa.select(sa.func.min(RevenueLine.id)).scalar_subquery())
        )
        db.session.commit()
    wrong = runner.invoke(args=["finance", "check-revenue"])
    assert wrong.exit_code == 1 and "missing or wrong" in wrong.output
    assert "1 difference:" in wrong.output and "rebuild-revenue" in wrong.output  # what to do about it
    assert runner.invoke(args=["finance", "rebuild-revenue"]).exit_code == 0
    assert runner.invoke(args=["finance", "check-revenue"]).exit_code == 0


def test_the_drill_down_pages_its_rows_with_totals_over_every_page(ctx, app, monkeypatch):
    order = demo_order()
    for _ in range(3):
        _new_line(order.lines[0])
    db.session.commit()
    monkeypatch.setattr(figures, "PER_PAGE", 2)
    month = revenue.month_of(today())
    found = figures.months(month, month, ALL, calendar="calendar", today=today())[month]
    pages = [
        figures.page_rows(month, ALL, calendar="calendar", closed=False, total=found.rows, number=n) for n in (1, 2, 3)
    ]
    shown = [r for page in pages for r in page.rows]
    every = list(queries.month_rows(month, ALL, closed=False))
    assert found.rows == len(every) == 5 and [p.pages for p in pages] == [3, 3, 3]
    assert [len(p.rows) for p in pages] == [2, 2, 1] and sorted(shown) == sorted(every)
    assert found.by_currency["GBP"]["gross"] == sum(r.gross for r in every)


def test_a_change_no_revenue_figure_reads_recomputes_nothing(ctx, monkeypatch):
    """The delivery sync checks every line's drift and a push stores the ad server's id: neither
    moves revenue, so neither may recompute the line's rows (a sync touches every line)."""
    line = demo_order().lines[0]
    db.session.commit()
    refreshed: list[set] = []
    refresh = maintained.refresh_lines
    monkeypatch.setattr(maintained, "refresh_lines", lambda ids: refreshed.append(set(ids)) or refresh(ids))
    line.drift, line.drift_checked_at, line.remote_line_id = ["flight"], now(), "remote-1"
    db.session.commit()
    assert refreshed == []
    line.billing_source = "third_party"  # a term revenue reads
    db.session.commit()
    assert refreshed == [{line.id}]
    assert_kept()


def test_every_filter_reads_the_same_from_the_kept_rows_as_computed_from_the_orders(ctx):
    """The page filters kept rows and the export filters order lines: both by `Filters.conditions`."""
    order = demo_order()
    db.session.commit()
    line = order.lines[0]
    first, last = months_ago(3), revenue.months_after(revenue.month_of(today()), 3)
    every = {
        "advertiser_id": order.advertiser_id,
        "agency_id": order.agency_id,
        "rep_id": order.proposal.owner_id,
        "product_id": line.product_id,
        "order_status": order.status,
        "currency": order.currency,
        "order_id": order.id,
    }
    for name, value in every.items():
        if value is None:
            continue
        for wanted in (value, -1 if isinstance(value, int) else "none"):
            filters = queries.Filters(**{name: wanted})
            assert read(first, last, filters, "calendar") == computed(first, last, filters, "calendar"), filters
    together = read(first, last, queries.Filters(**{k: v for k, v in every.items() if v}), "calendar")
    assert any(sums for sums, _ in together.values())  # every filter at once still selects the order
