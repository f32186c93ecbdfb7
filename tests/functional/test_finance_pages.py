"""Finance in the browser's pages and on the command line: months, drill-down, exports, close, counts."""

from __future__ import annotations

import io
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import current_clock, db
from app.finance import revenue
from app.finance.models import ClosedPeriod, FinanceExport
from app.orders.models import Order


def next_month_label(app) -> str:
    with app.app_context():
        return revenue.month_label(revenue.next_month(revenue.month_of(current_clock().today())))


def moved_back(app) -> tuple[str, str]:
    """The demo order's flight from two months ago; returns (that month, last month) as YYYY-MM."""
    with app.app_context():
        this = revenue.month_of(current_clock().today())
        last = (this - timedelta(days=1)).replace(day=1)
        first = (last - timedelta(days=1)).replace(day=1)
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
        for line in order.lines:
            line.start_day, line.end_day = first, current_clock().today() + timedelta(days=10)
        db.session.commit()
        return revenue.month_label(first), revenue.month_label(last)


def test_finance_sees_months_with_a_chart_and_drills_into_one(app, client, auth):
    first, _ = moved_back(app)
    auth.login_as("finance")
    page = client.get(f"/finance/?from={first}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="revenue-chart"' in html and "Net booked" in html
    month = client.get(f"/finance/months/{first}").get_data(as_text=True)
    assert "O-2026-0001" in month or "O-20" in month
    other = client.get(f"/finance/?from={first}&currency=EUR").get_data(as_text=True)
    assert "No revenue in these months for these filters" in other  # the demo sells in GBP only
    broadcast = client.get(f"/finance/?from={first}&calendar=broadcast")
    assert broadcast.status_code == 200 and "Broadcast months run Monday" in broadcast.get_data(as_text=True)


def test_bad_periods_are_named_on_their_field(app, client, auth):
    auth.login_as("finance")
    bad = client.get("/finance/?from=2026-13&to=banana")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400 and 'data-field-error="from"' in html and 'data-field-error="to"' in html
    future = next_month_label(app)
    refused = client.post("/finance/export", data={"from": future, "to": future, "format": "csv"})
    assert refused.status_code == 400 and "has not started yet" in refused.get_data(as_text=True)
    assert client.post("/finance/close", data={"period": "2026/10"}).status_code == 400


def test_an_export_from_the_page_comes_with_its_control_summary_and_downloads(app, client, auth):
    first, last = moved_back(app)
    auth.login_as("finance")
    response = client.post("/finance/export", data={"from": first, "to": last, "format": "xlsx"})
    assert response.status_code == 302
    summary = client.get(response.location).get_data(as_text=True)
    with app.app_context():
        made = db.session.scalars(sa.select(FinanceExport).order_by(FinanceExport.id.desc())).first()
    assert made.rows == 4 and made.sha256 in summary and "Control summary" in summary
    download = client.get(f"/finance/exports/{made.id}/download")
    assert download.status_code == 200 and download.data[:2] == b"PK"  # a zip: XLSX
    assert download.headers["Cache-Control"] == "private, no-store"


def test_finance_closes_the_first_open_month_from_the_page_and_not_twice(app, client, auth):
    first, last = moved_back(app)
    auth.login_as("finance")
    assert client.post("/finance/close", data={"period": last}).status_code == 400  # out of order
    assert client.post("/finance/close", data={"period": first}).status_code == 302
    again = client.post("/finance/close", data={"period": first})
    assert again.status_code == 409 and "already closed" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ClosedPeriod.id))) == 1


def test_third_party_counts_with_problems_are_refused_with_each_row_named(app, client, auth):
    auth.login_as("finance")
    upload = client.post(
        "/finance/counts",
        data={"counts": (io.BytesIO(b"line,day,units\n999999,2026-11-01,5\n1,2026-11-01,-3\n"), "counts.csv")},
        content_type="multipart/form-data",
    )
    html = upload.get_data(as_text=True)
    assert upload.status_code == 400 and "Unknown line ids: 999999" in html and "cannot be negative" in html


def test_flask_finance_export_prints_the_control_summary(app, runner):
    first, last = moved_back(app)
    result = runner.invoke(args=["finance", "export", "--period", first, "--to", last, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert "rows: 4" in result.output and "sha256: " in result.output and "GBP: gross" in result.output
    future = next_month_label(app)
    refused = runner.invoke(args=["finance", "export", "--period", future])
    assert refused.exit_code == 2 and "has not started yet" in refused.output
    malformed = runner.invoke(args=["finance", "export", "--period", "11-2026"])
    assert malformed.exit_code == 2 and "YYYY-MM" in malformed.output


def test_finance_sets_how_a_line_bills_on_the_order_page(app, client, auth):
    auth.login_as("finance")
    with app.app_context():
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
        line_id, order_id = order.lines[0].id, order.id
    assert "Billed from" in client.get(f"/orders/{order_id}").get_data(as_text=True)
    response = client.post(
        f"/finance/lines/{line_id}/billing", data={"billing_source": "third_party", "billing_cap": "none"}
    )
    assert response.status_code == 302
    bad = client.post(f"/finance/lines/{line_id}/billing", data={"billing_source": "magic", "billing_cap": "none"})
    assert bad.status_code == 400
