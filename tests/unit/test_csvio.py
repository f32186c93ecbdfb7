"""The one CSV writer: every cell a spreadsheet would run as a formula goes out as text."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from app.csvio import SafeWriter, read_rows, spreadsheet_safe, write_rows


@pytest.mark.parametrize("text", ["=1+1", "+1+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "'quoted"])
def test_a_text_a_spreadsheet_would_run_or_unquote_is_written_behind_an_apostrophe(text):
    assert spreadsheet_safe(text) == "'" + text


@pytest.mark.parametrize("value", ["-10", "+2.5", "-0.0125", "Harbour", "", "a=b", Decimal("-12.50"), -3, None])
def test_numbers_and_ordinary_text_are_written_as_they_are(value):
    assert spreadsheet_safe(value) == value


def test_what_the_writer_defuses_the_reader_gives_back():
    columns = ["name", "amount"]
    rows = [{"name": "=HYPERLINK(1)", "amount": "-10"}, {"name": "'quoted", "amount": "5"}]
    text = write_rows(columns, rows)
    assert text == "name,amount\n'=HYPERLINK(1),-10\n''quoted,5\n"
    assert [row for _line, row in read_rows(text, columns, required=columns)] == rows


@pytest.mark.parametrize("text", ["'Tis the season", "'90s Classics", "'", "Rock 'n' roll"])
def test_an_imported_cell_keeps_an_apostrophe_the_writer_would_not_have_added(text):
    columns = ["name"]
    assert read_rows(f"name\n{text}\n", columns, required=columns) == [(2, {"name": text})]


def test_every_text_read_back_from_the_writer_is_what_was_written():
    columns = ["name"]
    texts = ["'Tis", "=1+1", "-5 Media", "@home", "''", "'", "plain"]
    text = write_rows(columns, [{"name": t} for t in texts])
    assert [row["name"] for _line, row in read_rows(text, columns, required=columns)] == texts


def test_a_streamed_csv_keeps_numbers_and_defuses_text():
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["-5 Media", Decimal("-12.50"), 3])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'-5 Media", "-12.50", "3"]


def test_the_finance_export_defuses_an_advertisers_formula_and_keeps_a_negative_adjustment_a_number(tmp_path):
    from datetime import date

    from app.finance.export import HEADINGS, write_csv
    from app.finance.queries import Row

    row = Row(
        period="2026-10", order_number="O-2026-0001", remote_order_id="", line_id=7, remote_line_id="",
        advertiser="=HYPERLINK(\"http://evil.example\")", agency="", rep="Ana Ruiz", product="Display",
        pricing_model="cpm", flight_start=date(2026, 10, 1), flight_end=date(2026, 10, 31), time_zone="UTC",
        quantity=1000, net_rate=Decimal("5.0000"), gross=Decimal("-12.50"), commission=Decimal("0.00"),
        net=Decimal("-12.50"), delivered=0, billing_source="contracted", recognised=Decimal("0.00"),
        adjustment_for="2026-09", adjustment_reason="-1+cancelled", currency="GBP",
    )  # fmt: skip
    path = tmp_path / "revenue.csv"
    write_csv([row], path)
    with path.open(newline="") as handle:
        (read,) = list(csv.DictReader(handle))
    assert list(read) == HEADINGS
    values = list(read.values())
    assert '\'=HYPERLINK("http://evil.example")' in values and "'-1+cancelled" in values
    assert values.count("-12.50") == 2  # gross and net: numbers, not text
