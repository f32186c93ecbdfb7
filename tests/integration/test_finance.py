"""Booked and recognised revenue, month close with adjustments, exports with a control summary."""

from __future__ import annotations

import csv
import hashlib
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.adserver.models import DeliveryDay
from app.errors import Conflict, ValidationFailed
from app.extensions import current_clock, db
from app.finance import queries, revenue, service
from app.finance.models import EntryKind, FinanceExport, RevenueEntry, ThirdPartyCount
from app.money import quantize
from app.orders import service as orders
from app.orders.models import Order, OrderLine
from tests.conftest import DEMO_USERS, now, user

ALL = queries.Filters()


def finance():
    return user(DEMO_USERS["finance"])


def months_ago(n: int) -> date:
    month = revenue.month_of(current_clock().today())
    for _ in range(n):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


def demo_order() -> Order:
    """The demo's signed order, its flight moved to start two months ago (whatever today is)."""
    order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
    for line in order.lines:
        line.start_day, line.end_day = months_ago(2), current_clock().today() + timedelta(days=10)
    db.session.commit()
    return order


def totals(month: date, *, closed: bool) -> dict[str, Decimal]:
    sums = {k: Decimal(0) for k in ("gross", "commission", "net", "recognised")}
    for row in queries.month_rows(month, ALL, closed=closed):
        for key in sums:
            sums[key] += getattr(row, key)
    return sums


def test_a_lines_booked_months_add_up_to_its_cost_and_follow_its_flight_days(ctx):
    order = demo_order()
    line = order.lines[0]
    months = queries.months_between(months_ago(2), revenue.month_of(line.end_day))
    rows = [r for m in months for r in queries.live_rows(m, ALL) if r.line_id == line.id]
    assert sum(r.gross for r in rows) == line.gross and sum(r.net for r in rows) == line.net
    zone, start, end = line.time_zone, line.start_day, line.end_day
    first = revenue.flight_seconds(start, end, zone, months_ago(2), revenue.month_end(months_ago(2)))
    whole = revenue.flight_seconds(start, end, zone, start, end)
    assert abs(rows[0].gross - line.gross * first / whole) <= Decimal("0.01")  # by the hour: DST days count true


def test_recognised_revenue_is_delivery_at_the_net_rate_by_billing_source(ctx):
    order = demo_order()
    line = order.lines[0]
    month = revenue.month_of(current_clock().today() - timedelta(days=1))
    lo, hi = month, revenue.month_end(month)
    delivered = db.session.scalar(
        sa.select(sa.func.sum(DeliveryDay.impressions)).where(
            DeliveryDay.order_line_id == line.id, DeliveryDay.day.between(lo, hi)
        )
    )
    (row,) = [r for r in queries.live_rows(month, ALL) if r.line_id == line.id]
    assert row.delivered == delivered and row.recognised == quantize(Decimal(delivered) * line.net_rate / 1000, "GBP")
    service.set_billing(line, source="contracted", cap="contract", actor=finance(), now=now())
    (row,) = [r for r in queries.live_rows(month, ALL) if r.line_id == line.id]
    assert row.recognised == row.gross and row.billing_source == "contracted"
    service.set_billing(line, source="third_party", cap="none", actor=finance(), now=now())
    service.upload_counts(
        f"line,day,units\n{line.id},{line.start_day.isoformat()},250000\n", actor=finance(), now=now()
    )
    in_first = next(r for r in queries.live_rows(revenue.month_of(line.start_day), ALL) if r.line_id == line.id)
    assert in_first.delivered == 250_000 and in_first.recognised == quantize(250 * line.net_rate, "GBP")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("999999,2026-11-01,10", "Unknown line ids: 999999"),
        ("{line},2026-11-01,-5", "cannot be negative"),
        ("{line},2026-13-01,5", "is not a day"),
        ("{line},{day},lots", "is not a whole number"),
        ("", "no rows"),
        ("{line},{day},²", "is not a whole number"),
        ("²,{day},5", "is not a line id"),
        ("{line},20261101,5", "is not a day"),
        ("{line},{day},7", "already in the file"),
    ],
    ids=[
        "unknown line",
        "negative",
        "bad day",
        "not a number",
        "empty",
        "superscript units",
        "superscript line",
        "day without dashes",
        "twice",
    ],
)
def test_third_party_counts_with_a_bad_row_are_refused_whole(ctx, text, message):
    order = demo_order()
    line = order.lines[0]
    good = f"{line.id},{line.start_day.isoformat()},100\n" if text else ""
    with pytest.raises(ValidationFailed) as failed:
        service.upload_counts(
            good + text.format(line=line.id, day=line.start_day.isoformat()), actor=finance(), now=now()
        )
    assert any(message in m for m in failed.value.errors["counts"])
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(ThirdPartyCount.id))) == 0


def test_months_close_in_order_once_each_and_only_after_they_end(ctx):
    demo_order()
    with pytest.raises(ValidationFailed, match="has not ended"):
        service.close_month(
            revenue.month_of(current_clock().today()), actor=finance(), today=current_clock().today(), now=now()
        )
    with pytest.raises(ValidationFailed, match="months close in order"):
        service.close_month(months_ago(1), actor=finance(), today=current_clock().today(), now=now())
    closed = service.close_month(months_ago(2), actor=finance(), today=current_clock().today(), now=now())
    db.session.commit()
    assert closed.rows == 2 and Decimal(closed.totals["GBP"]["net"]) == totals(months_ago(2), closed=True)["net"]
    with pytest.raises(Conflict, match="already closed"):
        service.close_month(months_ago(2), actor=finance(), today=current_clock().today(), now=now())


CHANGES = ["cancel", "late_delivery", "billing", "change_order"]


def apply_change(kind: str, order: Order, month: date) -> None:
    line = order.lines[0]
    if kind == "cancel":
        orders.set_line_status(line, orders.LineStatus.CANCELLED, actor=user(DEMO_USERS["ad_ops"]), now=now())
    elif kind == "late_delivery":
        late = month + timedelta(days=3)  # a day of the closed month whose numbers arrive now
        day = db.session.scalar(
            sa.select(DeliveryDay).where(DeliveryDay.order_line_id == line.id, DeliveryDay.day == late)
        ) or DeliveryDay(order_line_id=line.id, day=late, impressions=0, clicks=0)
        day.impressions += 12_345
        db.session.add(day)
        service.touch([line], now=now())
    elif kind == "billing":
        service.set_billing(line, source="contracted", cap="none", actor=finance(), now=now())
    else:
        line.quantity, line.gross, line.commission, line.net = (
            650_000,
            line.gross * 2,
            line.commission * 2,
            line.net * 2,
        )
        order.revision += 1
        service.touch(order.lines, now=now())
    db.session.flush()


@pytest.mark.parametrize("kind", ["late_delivery", "billing", "change_order"])
def test_a_change_after_the_close_posts_an_adjustment_and_the_closed_month_never_moves(ctx, kind):
    order = demo_order()
    month = months_ago(2)
    service.close_month(month, actor=finance(), today=current_clock().today(), now=now())
    db.session.commit()
    frozen = totals(month, closed=True)
    apply_change(kind, order, month)
    posted = service.post_adjustments(today=current_clock().today(), now=now() + timedelta(seconds=1))
    assert posted >= 1
    assert totals(month, closed=True) == frozen
    adjustments = db.session.scalars(
        sa.select(RevenueEntry).where(RevenueEntry.kind == EntryKind.ADJUSTMENT.value)
    ).all()
    assert {a.period for a in adjustments} == {months_ago(1)} and {a.for_period for a in adjustments} == {month}
    # What the closed month holds plus its adjustments is what it would hold now.
    live = {k: Decimal(0) for k in frozen}
    for row in queries.live_rows(month, ALL):
        for key in live:
            live[key] += getattr(row, key)
    for key in live:
        assert frozen[key] + sum(getattr(a, key) for a in adjustments) == live[key]
    rows = [r for r in queries.month_rows(months_ago(1), ALL, closed=False) if r.adjustment_for]
    assert rows and all(r.adjustment_for == revenue.month_label(month) and r.adjustment_reason for r in rows)
    assert service.post_adjustments(today=current_clock().today(), now=now() + timedelta(seconds=2)) == 0  # once only


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(st.sampled_from(CHANGES), min_size=1, max_size=4))
def test_a_closed_months_totals_do_not_change_after_any_later_changes(ctx, sequence):
    order = demo_order()
    month = months_ago(2)
    service.close_month(month, actor=finance(), today=current_clock().today(), now=now())
    frozen = totals(month, closed=True)
    for n, kind in enumerate(sequence, start=1):
        if kind == "cancel" and order.lines[0].status == "cancelled":
            continue
        apply_change(kind, order, month)
        service.post_adjustments(today=current_clock().today(), now=now() + timedelta(seconds=n))
        assert totals(month, closed=True) == frozen
    db.session.rollback()  # the next example starts from the committed demo


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_streams_the_rows_with_a_control_summary_that_matches_the_file(ctx, tmp_path, fmt):
    import openpyxl

    demo_order()
    first, last = months_ago(2), revenue.month_of(current_clock().today())
    made = service.run_export(
        fmt, first, last, ALL, directory=tmp_path, actor=finance(), today=current_clock().today(), now=now()
    )
    db.session.commit()
    path = Path(tmp_path) / made.filename
    assert made.sha256 == hashlib.sha256(path.read_bytes()).hexdigest() and made.size_bytes == path.stat().st_size
    expected = queries.Totals()
    for row in queries.rows(first, last, ALL):
        expected.add(row)
    assert made.rows == expected.rows == 6 and made.totals == expected.as_json()
    if fmt == "csv":
        with path.open(newline="") as handle:
            table = list(csv.DictReader(handle))
        assert sum(Decimal(r["Net booked"]) for r in table) == Decimal(made.totals["GBP"]["net"])
        assert table[0]["Period"] == revenue.month_label(first) and table[0]["Currency"] == "GBP"
    else:
        book = openpyxl.load_workbook(path, read_only=True)
        sheet = book["Revenue"]
        headings = [c.value for c in next(sheet.iter_rows(max_row=1))]
        net = headings.index("Net booked")
        values = [r[net] for r in sheet.iter_rows(min_row=2, values_only=True)]
        assert len(values) == 6 and round(sum(values), 2) == float(made.totals["GBP"]["net"])
        assert book["Control"]["B2"].value == 6 and book["Control"]["E3"].value == float(made.totals["GBP"]["net"])
    assert db.session.get(FinanceExport, made.id).filters["from"] == revenue.month_label(first)


def test_a_make_good_line_bills_nothing(ctx):
    order = demo_order()
    line = order.lines[0]
    line.make_good_of_id = order.lines[1].id
    db.session.flush()
    month = revenue.month_of(current_clock().today() - timedelta(days=1))
    (row,) = [r for r in queries.live_rows(month, ALL) if r.line_id == line.id]
    assert row.delivered > 0 and row.recognised == 0


def test_a_cancelled_line_books_what_it_ran_and_nothing_after_and_closed_months_keep_theirs(ctx):
    order = demo_order()
    line = order.lines[0]
    closed = months_ago(2)
    service.close_month(closed, actor=finance(), today=current_clock().today(), now=now())
    db.session.commit()
    frozen = totals(closed, closed=True)
    orders.set_line_status(line, orders.LineStatus.CANCELLED, actor=user(DEMO_USERS["ad_ops"]), now=now())
    assert line.cancelled_on == current_clock().today()
    assert service.post_adjustments(today=current_clock().today(), now=now() + timedelta(seconds=1)) == 0
    assert totals(closed, closed=True) == frozen
    after = revenue.next_month(revenue.month_of(current_clock().today()))
    assert [r.gross for r in queries.live_rows(after, ALL) if r.line_id == line.id] in ([], [0])
    months = queries.months_between(closed, revenue.month_of(current_clock().today()))
    ran = sum(r.gross for m in months for r in queries.live_rows(m, ALL) if r.line_id == line.id)
    whole = revenue.flight_seconds(line.start_day, line.end_day, line.time_zone, line.start_day, line.end_day)
    part = revenue.flight_seconds(
        line.start_day, line.end_day, line.time_zone, line.start_day, current_clock().today() - timedelta(days=1)
    )
    assert abs(ran - line.gross * part / whole) <= Decimal("0.02") and ran < line.gross  # the time it ran


def test_order_line_query_ignores_nothing_it_should_count(ctx):
    demo_order()
    assert queries.estimate_rows(months_ago(2), revenue.month_of(current_clock().today()), ALL) == 6
    assert db.session.scalar(sa.select(sa.func.count(OrderLine.id))) == 2


def test_the_last_booked_month_follows_flights_filters_and_cancellations(ctx):
    """What the finance page's default range runs to."""
    order = demo_order()
    longer, shorter = sorted(order.lines, key=lambda line: line.position)
    today = current_clock().today()
    this = revenue.month_of(today)
    longer.end_day = revenue.month_end(revenue.months_after(this, 4))
    shorter.end_day = revenue.month_end(revenue.months_after(this, 2))
    db.session.flush()
    assert queries.last_booked_month(ALL) == revenue.months_after(this, 4)
    assert queries.last_booked_month(queries.Filters(product_id=shorter.product_id)) == revenue.months_after(this, 2)
    assert queries.last_booked_month(queries.Filters(currency="EUR")) is None
    longer.status, longer.cancelled_on = orders.LineStatus.CANCELLED.value, today
    db.session.flush()
    assert queries.last_booked_month(ALL) == revenue.months_after(this, 2)
