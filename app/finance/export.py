"""Revenue exports, CSV and XLSX with the same columns, written row by row in flat memory.

The file goes to disk as it is written (XLSX through our streamed writer, app/finance/xlsx.py), then its
SHA-256 is read back in blocks: nothing holds more than one row. The control summary (rows,
totals per currency, checksum) is recorded with who asked and with which filters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from app.csvio import SafeWriter
from app.finance import xlsx
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


def write_csv(rows: Iterable[Row], path: Path, *, progress: Callable[[int], None] | None = None) -> Totals:
    totals = Totals()
    width = len(KEYS)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = SafeWriter(handle)
        writer.writerow(HEADINGS)
        for row in rows:
            writer.writerow(row[:width])
            totals.add(row)
            if progress is not None and totals.rows % 10_000 == 0:
                progress(10_000)
    if progress is not None:
        progress(totals.rows % 10_000)
    return totals


#: each column's kind in the XLSX: text, money, rate, whole (number) or day
XLSX_KINDS = [
    "rate" if k == "net_rate" else "money" if k in MONEY_KEYS else "whole" if k in NUMBER_KEYS
    else "day" if k in ("flight_start", "flight_end") else "text"
    for k in KEYS
]  # fmt: skip


def write_xlsx(
    rows: Iterable[Row], path: Path, *, filters: dict, progress: Callable[[int], None] | None = None
) -> Totals:
    """A Revenue sheet of rows (numbers as numbers, days as dates) and a Control sheet with the summary."""
    totals = Totals()
    width = len(KEYS)

    def counted(row: Row) -> None:
        totals.add(row)
        if progress is not None and totals.rows % 10_000 == 0:
            progress(10_000)

    with xlsx.Workbook(path) as book:
        book.sheet("Revenue", HEADINGS, XLSX_KINDS, (row[:width] for row in _counting(rows, counted)))
        if progress is not None:
            progress(totals.rows % 10_000)
        summary: list[list] = [["All currencies", totals.rows]]
        summary += [[c, "", *(sums[key] for key in MONEY)] for c, sums in sorted(totals.by_currency.items())]
        summary.append(["Filters: " + (", ".join(f"{k}={v}" for k, v in filters.items()) or "none")])
        book.sheet(
            "Control",
            ["Currency", "Rows", *[heading for key, heading in COLUMNS if key in MONEY]],
            ["text", "whole", "money", "money", "money", "money"],
            summary,
            freeze=False,
            autofilter=False,
        )
    return totals


def _counting(rows: Iterable[Row], each: Callable[[Row], None]):
    for row in rows:
        each(row)
        yield row


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
