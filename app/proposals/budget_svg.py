"""Budget by product as a server-side SVG: horizontal bars, the largest first, for the proposal PDF."""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from decimal import Decimal

from markupsafe import Markup, escape

from app.formats import money

WIDTH, ROW, LABEL, FIGURE = 620, 24, 210, 110
#: More products than this: the smallest are summed into one "other products" bar.
MOST_BARS = 12
BAR, OTHER = "#1f4e79", "#8fa9c4"
FONTS = "Noto Sans, Noto Sans JP, Noto Sans SC, Noto Sans KR, Noto Sans Arabic, Noto Sans Hebrew"


def _clip(text: str, width: int = 30) -> str:
    """Cut a label to about `width` Latin characters; CJK characters count double (they are wide)."""
    used = 0
    for i, char in enumerate(text):
        used += 2 if unicodedata.east_asian_width(char) in "WF" else 1
        if used > width:
            return text[:i].rstrip() + "…"
    return text


def budget_by_product(lines: list[dict]) -> list[tuple[str, Decimal, bool]]:
    """(product name, gross, whether the bar sums several products) per product, the largest first;
    lines without a price count nothing."""
    gross: dict[tuple[int | None, str], Decimal] = defaultdict(Decimal)
    for line in lines:
        if line.get("price") is None or line.get("gross") is None:
            continue
        product = line["product"]
        gross[(product.get("id"), product["name"])] += Decimal(line["gross"])
    ranked = sorted(((name, amount, False) for (_, name), amount in gross.items()), key=lambda b: (-b[1], b[0]))
    if len(ranked) > MOST_BARS:
        rest = ranked[MOST_BARS - 1 :]
        ranked = [*ranked[: MOST_BARS - 1], (f"{len(rest)} other products", sum(b[1] for b in rest), True)]
    return ranked


def budget_by_product_svg(lines: list[dict], currency: str, *, labels: bool = True) -> Markup:
    """One bar per product, its length the product's share of the gross; the amount at the bar's end.

    Rows are ROW units high. `labels=False` leaves the product names out, for a page that sets them
    in HTML beside the chart: WeasyPrint draws SVG text letter by letter, so Arabic would lose its
    joining and its right-to-left order there (browsers draw it well).
    """
    bars = budget_by_product(lines)
    if not bars:
        return Markup("")
    left = LABEL if labels else 0
    top = max(amount for _, amount, _ in bars) or Decimal(1)
    scale = Decimal(WIDTH - LABEL - FIGURE) / top
    rows = []
    for i, (name, amount, grouped) in enumerate(bars):
        y = i * ROW
        width = max(1, int(amount * scale))
        colour = OTHER if grouped else BAR
        figure = money(amount, currency)
        if labels:
            rows.append(
                f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" font-size="11" fill="#212529">'
                f"{escape(_clip(name))}</text>"
            )
        rows.append(
            f'<rect x="{left}" y="{y + 4}" width="{width}" height="{ROW - 8}" fill="{colour}">'
            f"<title>{escape(name)}: {escape(figure)}</title></rect>"
            f'<text x="{left + width + 6}" y="{y + 16}" font-size="11" fill="#495057">{escape(figure)}</text>'
        )
    size, height = WIDTH - LABEL + left, ROW * len(bars)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {size} {height}" width="{size}" '
        f'height="{height}" font-family="{FONTS}" class="budget-chart"><title>Budget (gross) by product</title>'
        f'<line x1="{left}" y1="0" x2="{left}" y2="{height}" stroke="#adb5bd"/>{"".join(rows)}</svg>'
    )
