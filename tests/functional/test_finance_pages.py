"""Finance in the browser's pages and on the command line: months, drill-down, exports, close, counts."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import sqlalchemy as sa

from app.adserver.models import DeliveryDay
from app.extensions import current_clock, db
from app.finance import revenue
from app.finance.models import ClosedPeriod, FinanceExport
from app.orders.models import Order
from tests.functional.test_list_query_counts import _copy_deals


def next_month_label(app) -> str:
    with app.app_context():
        return revenue.month_label(revenue.next_month(revenue.month_of(current_clock().today())))


def too_far_label(app) -> str:
    """The first month after the furthest finance looks ahead."""
    with app.app_context():
        return revenue.month_label(revenue.next_month(revenue.horizon(current_clock().today())))


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


def booked_ahead(app, months: int) -> tuple[date, date]:
    """The demo order's lines run from last month to the end of the month `months` ahead (a new
    order booking the coming months). Last month, line 1 delivered 6,000 impressions a day (ahead
    of its straight line, about 4,400) and line 2 1,000 a day (behind, about 3,300); nothing since.
    Returns (last month, the last booked month)."""
    with app.app_context():
        this = revenue.month_of(current_clock().today())
        last = revenue.months_after(this, -1)
        until = revenue.months_after(this, months)
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
        lines = sorted(order.lines, key=lambda line: line.position)
        db.session.execute(sa.delete(DeliveryDay).where(DeliveryDay.order_line_id.in_([li.id for li in lines])))
        for line, daily in zip(lines, (6_000, 1_000), strict=True):
            line.start_day, line.end_day = last, revenue.month_end(until)
            for offset in range((this - last).days):
                db.session.add(DeliveryDay(order_line_id=line.id, day=last + timedelta(days=offset), impressions=daily))
        db.session.commit()
        return last, until


def month_names(html: str) -> list[str]:
    """The months in the page's table, in order."""
    table = html[html.index('data-testid="months"') :]
    return re.findall(r">([A-Z][a-z]+ 20[0-9]{2})</a>", table[: table.index("</table>")])


def export_form(html: str) -> dict[str, str]:
    """The hidden fields the page's export button posts."""
    form = html[html.index('data-testid="export-form"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))


def test_the_default_range_runs_from_three_months_back_to_the_last_booked_month_and_says_so(app, client, auth):
    _last, until = booked_ahead(app, months=2)
    auth.login_as("finance")
    html = client.get("/finance/").get_data(as_text=True)
    with app.app_context():
        this = revenue.month_of(current_clock().today())
    shown = [revenue.months_after(this, n) for n in range(-3, 3)]
    assert month_names(html) == [f"{m:%B %Y}" for m in shown]
    assert (
        f"Showing {shown[0]:%B %Y} to {until:%B %Y}: three months back through {until:%B %Y}, "
        "the last month with booked revenue."
    ) in html


def test_the_default_range_stops_six_months_ahead_and_says_booked_revenue_runs_further(app, client, auth):
    _last, until = booked_ahead(app, months=9)
    auth.login_as("finance")
    html = client.get("/finance/").get_data(as_text=True)
    assert len(month_names(html)) == 10  # three back, this month, six ahead
    assert f"Booked revenue runs to {until:%B %Y}: choose To to see further." in html
    chosen = client.get(f"/finance/?to={revenue.month_label(until)}").get_data(as_text=True)
    assert month_names(chosen)[-1] == f"{until:%B %Y}" and "the months you chose" in chosen
    assert "Show the default range" in chosen
    later = client.get(f"/finance/?from={revenue.month_label(until)}")
    assert later.status_code == 200 and month_names(later.get_data(as_text=True)) == [f"{until:%B %Y}"]


def test_the_export_button_exports_the_months_and_filters_the_page_shows(app, client, auth):
    _last, until = booked_ahead(app, months=2)
    auth.login_as("finance")
    with app.app_context():
        advertiser_id = db.session.scalars(sa.select(Order.advertiser_id).order_by(Order.id)).first()
    page = client.get(f"/finance/?advertiser_id={advertiser_id}").get_data(as_text=True)
    fields = export_form(page)
    shown = month_names(page)
    assert fields["from"] == f"{revenue.months_after(until, -5):%Y-%m}" and fields["to"] == f"{until:%Y-%m}"
    assert fields["advertiser_id"] == str(advertiser_id)
    assert f"Export {revenue.months_after(until, -5):%b %Y} to {until:%b %Y}" in page
    assert f"to {until:%B %Y}, only advertiser Skyweave Broadband;" in page
    assert client.post("/finance/export", data={**fields, "format": "csv"}).status_code == 302
    with app.app_context():
        made = db.session.scalars(sa.select(FinanceExport).order_by(FinanceExport.id.desc())).first()
        path = app.instance_path + "/exports/" + made.filename
    assert made.filters["from"] == fields["from"] and made.filters["to"] == fields["to"]
    assert made.filters["advertiser_id"] == str(advertiser_id)
    with open(path, encoding="utf-8") as handle:
        periods = {line.split(",")[0] for line in handle.read().splitlines()[1:]}
    # every month that has rows, the booked months ahead included; the page's totals are the file's
    assert periods == {f"{revenue.months_after(until, n):%Y-%m}" for n in (-3, -2, -1, 0)}
    assert len(shown) == 6
    net = re.search(r'data-testid="total-net">([^<]+)<', page).group(1)
    assert net.replace(",", "") == f"£{made.totals['GBP']['net']}"


def test_an_export_reaches_as_far_ahead_as_the_page_and_no_further(app, client, auth):
    auth.login_as("finance")
    with app.app_context():
        this = revenue.month_of(current_clock().today())
    ahead, beyond = revenue.months_after(this, 12), revenue.months_after(this, 13)
    fine = client.post("/finance/export", data={"from": f"{this:%Y-%m}", "to": f"{ahead:%Y-%m}", "format": "csv"})
    assert fine.status_code == 302
    refused = client.post("/finance/export", data={"from": f"{this:%Y-%m}", "to": f"{beyond:%Y-%m}", "format": "csv"})
    assert refused.status_code == 400 and "too far ahead" in refused.get_data(as_text=True)


def test_the_page_and_the_drill_down_say_why_recognised_differs_from_booked(app, client, auth):
    last, _until = booked_ahead(app, months=2)
    auth.login_as("finance")
    html = client.get("/finance/").get_data(as_text=True)
    cells = re.findall(r'data-testid="month-variance">(.*?)</td>', html, re.S)
    said = " ".join(re.sub(r"<[^>]+>", "", cell) for cell in cells)
    assert "delivery ran ahead of the straight line on 1 line (+£" in said
    assert "delivery ran behind the straight line on 1 line (-£" in said
    assert "falls on days still to come" in said  # this month and the months ahead
    month = client.get(f"/finance/months/{last:%Y-%m}").get_data(as_text=True)
    whys = re.findall(r'data-testid="line-why">([^<]*)<', month)
    assert whys[0].startswith("Ahead of the straight line") and whys[1].startswith("Behind the straight line")
    differences = re.findall(r'data-testid="line-difference">([^<]*)<', month)
    assert differences[0].startswith("+£") and differences[1].startswith("-£")


def test_the_finance_page_and_a_month_cost_the_same_queries_with_many_more_lines(app, client, auth, queries):
    first, _ = moved_back(app)
    auth.login_as("finance")
    urls = ("/finance/", f"/finance/months/{first}")
    before = {}
    for url in urls:
        with queries.counting():
            assert client.get(url).status_code == 200
        before[url] = queries.count
    with app.app_context():
        _copy_deals(times=3)
    for url in urls:
        with queries.counting():
            assert client.get(url).status_code == 200
        assert queries.count == before[url], f"{url}: {before[url]} queries before, {queries.count} after"


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
    future = too_far_label(app)
    refused = client.post("/finance/export", data={"from": future, "to": future, "format": "csv"})
    assert refused.status_code == 400 and "too far ahead" in refused.get_data(as_text=True)
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
    ahead = runner.invoke(args=["finance", "export", "--period", next_month_label(app)])
    assert ahead.exit_code == 0 and "rows: " in ahead.output  # a month ahead exports what it books
    refused = runner.invoke(args=["finance", "export", "--period", too_far_label(app)])
    assert refused.exit_code == 2 and "too far ahead" in refused.output
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


def test_a_months_second_page_shows_the_rows_after_the_first_and_pages_back(app, client, auth, monkeypatch):
    from app.finance import figures

    first, _ = moved_back(app)
    monkeypatch.setattr(figures, "PER_PAGE", 1)
    auth.login_as("finance")
    pages = [client.get(f"/finance/months/{first}?page={n}") for n in (1, 2)]
    assert [p.status_code for p in pages] == [200, 200]
    one, two = (p.get_data(as_text=True) for p in pages)
    rows = [re.findall(r'<tr data-testid="month-line"><td>(\d+)</td>', html) for html in (one, two)]
    assert len(rows[0]) == len(rows[1]) == 1 and rows[0] != rows[1]
    assert "page 2 of 2" in two and f'href="/finance/months/{first}?page=1"' in two
    assert 'data-testid="month-rows">2 rows this month' in two  # the month's figures cover every page
    past = client.get(f"/finance/months/{first}?page=9")  # past the last page: the last page
    assert past.status_code == 200 and "page 2 of 2" in past.get_data(as_text=True)


def test_flask_finance_roll_day_moves_the_month_under_way_on_to_today(app, runner):
    from app.finance import maintained
    from app.finance.models import RevenueMonth

    with app.app_context():
        today = current_clock().today()
        maintained.roll_day(today - timedelta(days=1))  # the publisher's midnight passed since
        db.session.commit()
    result = runner.invoke(args=["finance", "roll-day"])
    assert result.exit_code == 0, result.output
    assert f"as of {today:%d %B %Y}" in result.output
    with app.app_context():
        under_way = revenue.month_of(today)
        kept = set(db.session.scalars(sa.select(RevenueMonth.as_of).where(RevenueMonth.period == under_way)))
        assert kept == {today}
        assert maintained.check() == []
