"""CSV reading and writing shared by the imports and exports of every domain."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from app.errors import DomainError
from app.formats import ngettext, plural
from app.validation import parse_number

#: Imports refuse files with more data rows than this: such a file is a mistake, not a catalog.
MAX_ROWS = 20_000


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


class ImportFailed(DomainError):
    """Some rows are bad; nothing was imported. `problems` lists every one with its line."""

    status_code = 400

    def __init__(self, problems: Sequence[RowProblem]):
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__(
            "Nothing was imported: "
            + ngettext("%(num)s problem in the file.", "%(num)s problems in the file.", len(self.problems))
        )


def read_rows(
    data: bytes | str, columns: Sequence[str], *, required: Sequence[str], max_rows: int = MAX_ROWS
) -> list[tuple[int, dict]]:
    """(line number, row) for every data row; the header must name every required column."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFailed([RowProblem(1, "The file is not UTF-8 text; save it as CSV (UTF-8).")]) from None
    reader = csv.reader(io.StringIO(data, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ImportFailed([RowProblem(1, "The file is empty.")]) from None
    except csv.Error as exc:
        raise ImportFailed([RowProblem(1, f"Not a CSV file: {exc}.")]) from None
    missing = [c for c in required if c not in header]
    unknown = [h for h in header if h and h not in columns]
    problems = []
    if missing:
        problems.append(RowProblem(1, f"The header lacks the column(s) {', '.join(missing)}."))
    if unknown:
        problems.append(RowProblem(1, f"Unknown column(s) {', '.join(unknown)}; expected {', '.join(columns)}."))
    if problems:
        raise ImportFailed(problems)
    rows = []
    try:
        for raw in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in raw):
                continue
            if len(raw) > len(header):
                problems.append(
                    RowProblem(
                        line, f"{plural(len(raw), 'cell', 'cells')} for {plural(len(header), 'column', 'columns')}."
                    )
                )
                continue
            cells = {h: (unquote_cell(raw[i].strip()) if i < len(raw) else "") for i, h in enumerate(header) if h}
            rows.append((line, cells))
            if len(rows) > max_rows:
                raise ImportFailed([RowProblem(line, f"More than {max_rows:,} rows; split the file.")])
    except csv.Error as exc:
        problems.append(RowProblem(reader.line_num, f"Broken CSV: {exc}."))
    if problems:
        raise ImportFailed(problems)
    return rows


#: What makes a spreadsheet run a cell as a formula (tab and carriage return too, in some of them).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A plain number, which a spreadsheet reads as one: "-10" in an amount column stays a number.
#: First characters that send a text through `spreadsheet_safe` (formula starts, and the apostrophe).
_RISKY_FIRST = frozenset((*FORMULA_STARTS, "'"))
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")


def spreadsheet_safe(value: object) -> object:
    """A cell as a spreadsheet should take it: a text it would run as a formula goes behind an
    apostrophe, the spreadsheet's own mark for "this is text", which it does not show.

    A text that already starts with an apostrophe gets a second one, so that reading a file back
    (`read_rows` drops the apostrophe it added, see `unquote_cell`) always gives what was written.
    Numbers, and texts that are plain numbers, go out as they are.
    """
    if not isinstance(value, str) or not value:
        return value
    if value[0] == "'" or (value.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def unquote_cell(text: str) -> str:
    """A cell as it was before `spreadsheet_safe`: the apostrophe goes only where the writer (or a
    spreadsheet) would have put one, before a formula character or a second apostrophe, so
    "'Tis the season" stays as it is."""
    if text[:1] == "'" and text[1:2] and text[1:].startswith((*FORMULA_STARTS, "'")):
        return text[1:]
    return text


class SafeWriter:
    """The one writer of every CSV a user downloads (products, rate cards, finance exports): a
    csv.writer whose every cell goes through `spreadsheet_safe`."""

    def __init__(self, handle, **fmt):
        self._writer = csv.writer(handle, **fmt)

    def writerow(self, cells: Iterable) -> None:
        # Most cells are numbers, days or texts that start harmlessly: only a text whose first
        # character could start a formula (or an apostrophe) pays for the full check; an export of
        # a million rows calls this for every cell.
        self._writer.writerow(
            [spreadsheet_safe(cell) if type(cell) is str and cell[:1] in _RISKY_FIRST else cell for cell in cells]
        )


def write_rows(columns: Sequence[str], rows: Iterable[dict]) -> str:
    """A whole CSV file of `rows` (dicts by column) under a header of `columns`."""
    out = io.StringIO()
    writer = SafeWriter(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow("" if row.get(column) is None else row[column] for column in columns)
    return out.getvalue()


def decimal_text(value: Decimal | None) -> str:
    """A Decimal without trailing zeros or exponent: 12.5000 -> "12.5", 100 -> "100"."""
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class Cells:
    """Typed reading of one row's cells, collecting a message per bad cell."""

    def __init__(self, line: int, row: dict, problems: list[RowProblem]):
        self.line, self.row, self.problems = line, row, problems

    def problem(self, message: str) -> None:
        self.problems.append(RowProblem(self.line, message))

    def text(self, column: str) -> str:
        return self.row.get(column, "")

    def decimal(self, column: str, *, required: bool = True) -> Decimal | None:
        raw = self.text(column).removesuffix("%").strip()
        if not raw:
            if required:
                self.problem(f"{column} is empty.")
            return None
        value = parse_number(raw)
        if value is None:
            self.problem(f"{column} “{self.text(column)}” is not a number (use a dot for decimals, such as 6.5).")
        return value

    def integer(self, column: str, *, required: bool = True) -> int | None:
        raw = self.text(column).replace(",", "").replace("_", "")
        if not raw:
            if required:
                self.problem(f"{column} is empty.")
            return None
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 15:  # "²" is a digit to isdigit(), not to int()
            self.problem(f"{column} “{self.text(column)}” is not a whole number.")
            return None
        return int(raw)

    def date(self, column: str) -> date | None:
        raw = self.text(column)
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.problem(f"{column} “{raw}” is not a date (use YYYY-MM-DD)." if raw else f"{column} is empty.")
            return None

    def items(self, column: str) -> list[str]:
        return [item.strip() for item in self.text(column).split("|") if item.strip()]
