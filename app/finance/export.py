"""Revenue exports, CSV and XLSX with the same columns, written row by row in flat memory.

The file goes to disk as it is written (XLSX through XlsxWriter's constant-memory mode), then its
SHA-256 is read back in blocks: nothing holds more than one row. The control summary (rows,
totals per currency, checksum) is recorded with who asked and with which filters.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import xlsxwriter

from app.finance.queries import COLUMNS, MONEY, Row, Totals

FORMATS = ("csv", "xlsx")
HEADINGS = [heading for _key, heading in COLUMNS]
KEYS = [key for key, _heading in COLUMNS]
NUMBER_KEYS = {"quantity", "delivered", "line_id"}
MONEY_KEYS = {*MONEY, "net_rate"}


@dataclass(frozen=True)
class Summary:
    rows: int
    totals: dict[str, dict[str, str]]
    sha256: str
    size_bytes: int


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(rows: Iterable[Row], path: Path, *, progress: Callable[[int], None] | None = None) -> Totals:
    totals = Totals()
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADINGS)
        for row in rows:
            writer.writerow([_csv_value(v) for v in row[: len(KEYS)]])
            totals.add(row)
            if progress is not None and totals.rows % 10_000 == 0:
                progress(10_000)
    return totals


def write_xlsx(
    rows: Iterable[Row], path: Path, *, filters: dict, progress: Callable[[int], None] | None = None
) -> Totals:
    """One sheet of rows (numbers as numbers, days as dates) and a Control sheet with the summary."""
    totals = Totals()
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    bold = workbook.add_format({"bold": True})
    money = workbook.add_format({"num_format": "#,##0.00"})
    rate = workbook.add_format({"num_format": "#,##0.0000"})
    whole = workbook.add_format({"num_format": "#,##0"})
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet = workbook.add_worksheet("Revenue")
    sheet.freeze_panes(1, 0)
    sheet.write_row(0, 0, HEADINGS, bold)
    formats = [
        rate if k == "net_rate" else money if k in MONEY_KEYS else whole if k in NUMBER_KEYS else None for k in KEYS
    ]
    r = 0
    for row in rows:
        r += 1
        for c, (value, fmt) in enumerate(zip(row[: len(KEYS)], formats, strict=True)):
            if value is None or value == "":
                continue
            if isinstance(value, Decimal):
                sheet.write_number(r, c, float(value), fmt)
            elif isinstance(value, date):
                sheet.write_datetime(r, c, datetime.combine(value, datetime.min.time()), day)
            elif isinstance(value, int):
                sheet.write_number(r, c, value, fmt)
            else:
                sheet.write_string(r, c, value)
        totals.add(row)
        if progress is not None and totals.rows % 10_000 == 0:
            progress(10_000)
    if r:
        sheet.autofilter(0, 0, r, len(KEYS) - 1)
    control = workbook.add_worksheet("Control")
    control.write_row(0, 0, ["Rows", totals.rows], bold)
    control.write_row(1, 0, ["Filters", ", ".join(f"{k}={v}" for k, v in filters.items()) or "none"])
    control.write_row(3, 0, ["Currency", *[h for k, h in COLUMNS if k in MONEY]], bold)
    for n, (currency, sums) in enumerate(sorted(totals.by_currency.items()), start=4):
        control.write_string(n, 0, currency)
        for c, key in enumerate(MONEY, start=1):
            control.write_number(n, c, float(sums[key]), money)
    workbook.close()
    return totals


def write(
    fmt: str, rows: Iterable[Row], path: Path, *, filters: dict, progress: Callable[[int], None] | None = None
) -> Summary:
    if fmt not in FORMATS:
        raise ValueError(f"format must be csv or xlsx, not {fmt!r}")
    if fmt == "csv":
        totals = write_csv(rows, path, progress=progress)
    else:
        totals = write_xlsx(rows, path, filters=filters, progress=progress)
    return Summary(totals.rows, totals.as_json(), sha256_of(path), path.stat().st_size)
