"""A streamed XLSX (SpreadsheetML) writer: rows go straight into the zip, one string per row.

Exports of a million rows spend most of their time per cell in a general-purpose writer; this one
knows its columns in advance (text, money, rate, whole number, day), writes inline strings (no
shared-strings table to hold in memory) and deflates as it goes, so memory stays flat and a
million rows take well under a minute. It writes only what the exports need: sheets of rows with
a bold heading, frozen first row and an autofilter, and number formats for money, rates, whole
numbers and days.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

#: the day Excel counts serial dates from (its 1900 system, past the phantom 29 February 1900)
EPOCH = date(1899, 12, 30)
#: Excel's limit on the characters in a cell
MAX_CELL = 32_767
#: column kinds -> the style index in STYLES' cellXfs
STYLE = {"text": 0, "heading": 1, "money": 2, "rate": 3, "whole": 4, "day": 5}
#: money shows its currency's decimals, which the amount carries (app.money quantizes it): yen none, dinars 3
MONEY_STYLE = {0: 4, 2: 2, 3: 6}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
STYLES = (
    _HEAD + f'<styleSheet xmlns="{_MAIN}"><numFmts count="3"><numFmt numFmtId="164" formatCode="#,##0.0000"/>'
    '<numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd"/><numFmt numFmtId="166" formatCode="#,##0.000"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/>'
    '<name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2">'
    '<fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="7"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="3" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def column_name(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


@lru_cache(maxsize=8192)
def _inline(text: str) -> str:
    text = _NOT_XML.sub("", text)[:MAX_CELL]
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<is><t xml:space="preserve">{text}</t></is>'


def _attribute(text: str) -> str:
    text = _NOT_XML.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


class Sheet:
    """One worksheet being written: headings first, then rows, in the kinds given per column."""

    def __init__(self, raw, name: str, headings: Sequence[str], kinds: Sequence[str], *, freeze: bool) -> None:
        self.raw, self.name, self.kinds = raw, name, list(kinds)
        self.columns = [column_name(c) for c in range(len(headings))]
        self.rows = 0
        self._buffer: list[str] = []
        pane = (
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/></sheetView></sheetViews>'
            if freeze
            else ""
        )
        self._buffer.append(f'{_HEAD}<worksheet xmlns="{_MAIN}">{pane}<sheetData>')
        self._write_row(list(headings), ["heading"] * len(headings))

    def _write_row(self, values: Sequence, kinds: Sequence[str]) -> None:
        self.rows += 1
        r = self.rows
        cells = []
        for column, value, kind in zip(self.columns, values, kinds, strict=False):
            if value is None or value == "":
                continue
            if kind in ("text", "heading") or isinstance(value, str):
                style = ' s="1"' if kind == "heading" else ""
                cells.append(f'<c r="{column}{r}"{style} t="inlineStr">{_inline(str(value))}</c>')
            elif kind == "day":
                cells.append(f'<c r="{column}{r}" s="5"><v>{(value - EPOCH).days}</v></c>')
            elif kind == "money" and isinstance(value, Decimal):
                style = MONEY_STYLE.get(-value.as_tuple().exponent, 2)
                cells.append(f'<c r="{column}{r}" s="{style}"><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{column}{r}" s="{STYLE[kind]}"><v>{value}</v></c>')
        self._buffer.append(f'<row r="{r}">{"".join(cells)}</row>')
        if len(self._buffer) >= 2000:
            self.flush()

    def add(self, values: Sequence) -> None:
        self._write_row(values, self.kinds)

    def flush(self) -> None:
        self.raw.write("".join(self._buffer).encode("utf-8"))
        self._buffer.clear()

    def close(self, *, autofilter: bool) -> str | None:
        last = f"{self.columns[-1]}{self.rows}"
        tail = f'<autoFilter ref="A1:{last}"/>' if autofilter and self.rows > 1 else ""
        self._buffer.append(f"</sheetData>{tail}</worksheet>")
        self.flush()
        return f"'{self.name}'!$A$1:${self.columns[-1]}${self.rows}" if tail else None


class Workbook:
    """Sheets written one after the other into a zip (`with Workbook(path) as book: ...`)."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.names: list[str] = []
        self.filters: dict[int, str] = {}

    def sheet(self, name: str, headings: Sequence[str], kinds: Sequence[str], rows: Iterable[Sequence],
              *, freeze: bool = True, autofilter: bool = True, each=None) -> int:  # fmt: skip
        """Write a whole sheet from `rows`; `each(row)` is called for every row written. Returns the
        number of rows (headings aside)."""
        index = len(self.names)
        self.names.append(name)
        with self.zip.open(f"xl/worksheets/sheet{index + 1}.xml", "w", force_zip64=True) as raw:
            sheet = Sheet(raw, name, headings, kinds, freeze=freeze)
            for row in rows:
                sheet.add(row)
                if each is not None:
                    each(row)
            ref = sheet.close(autofilter=autofilter)
        if ref:
            self.filters[index] = ref
        return sheet.rows - 1

    def close(self) -> None:
        count = len(self.names)
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_CT}.worksheet+xml"/>'
            for n in range(1, count + 1)
        )
        self.zip.writestr(
            "[Content_Types].xml",
            f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>{overrides}</Types>',
        )
        self.zip.writestr(
            "_rels/.rels",
            f'{_HEAD}<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        sheets = "".join(
            f'<sheet name="{_attribute(name)}" sheetId="{n}" r:id="rId{n}"/>'
            for n, name in enumerate(self.names, start=1)
        )
        names = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" hidden="1">{ref}</definedName>'
            for index, ref in sorted(self.filters.items())
        )
        defined = f"<definedNames>{names}</definedNames>" if names else ""
        self.zip.writestr(
            "xl/workbook.xml",
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheets}</sheets>{defined}</workbook>',
        )
        rels = "".join(
            f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, count + 1)
        )
        self.zip.writestr(
            "xl/_rels/workbook.xml.rels",
            f'{_HEAD}<Relationships xmlns="{_PKG}">{rels}<Relationship Id="rId{count + 1}" '
            f'Type="{_REL}/styles" Target="styles.xml"/></Relationships>',
        )
        self.zip.writestr("xl/styles.xml", STYLES)
        self.zip.close()

    def __enter__(self) -> Workbook:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
