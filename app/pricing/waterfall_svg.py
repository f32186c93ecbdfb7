"""The price waterfall as a server-side SVG: the same picture on the page and in the PDF."""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup, escape

from app.pricing.rules import Price

WIDTH, ROW, LABEL = 520, 22, 170
COLOURS = {"base": "#495057", "list": "#0d6efd", "net": "#198754", "up": "#6ea8fe", "down": "#e35d6a"}


def _rate_text(value: Decimal) -> str:
    """2 to 4 decimals: 8.40, 0.588, 10.6134."""
    text = f"{value:.4f}".rstrip("0")
    return text + "0" * max(0, 2 - len(text.split(".")[1]))


def waterfall_svg(price: Price, *, title: str = "Price waterfall") -> Markup:
    """One row per step: totals as bars from zero, adjustments as the piece they add or take off."""
    steps = price.steps
    top = max(
        [s.rate for s in steps] + [s.rate - s.amount for s in steps] + [price.floor or Decimal(0), Decimal("0.0001")]
    )
    scale = Decimal(WIDTH - LABEL - 70) / top
    height = ROW * len(steps) + 10
    rows = []
    for i, s in enumerate(steps):
        y = 5 + i * ROW
        if s.key in ("base", "list", "net"):
            lo, hi, colour = Decimal(0), s.rate, COLOURS[s.key]
        else:
            before = s.rate - s.amount
            lo, hi = sorted((before, s.rate))
            colour = COLOURS["up" if s.amount >= 0 else "down"]
        x = LABEL + int(lo * scale)
        w = max(1, int((hi - lo) * scale))
        sign = "" if s.key in ("base", "list", "net") else ("+" if s.amount >= 0 else "−")
        figure = f"{sign}{_rate_text(abs(s.amount) if sign else s.rate)}"
        rows.append(
            f'<text x="{LABEL - 6}" y="{y + 15}" text-anchor="end" font-size="12">{escape(s.label)}</text>'
            f'<rect x="{x}" y="{y + 3}" width="{w}" height="{ROW - 6}" fill="{colour}"><title>{escape(s.label)}: '
            f"{escape(figure)}</title></rect>"
            f'<text x="{x + w + 4}" y="{y + 15}" font-size="11">{escape(figure)}</text>'
        )
    floor = ""
    if price.floor is not None:
        fx = LABEL + int(price.floor * scale)
        floor = (
            f'<line x1="{fx}" y1="0" x2="{fx}" y2="{height}" stroke="#dc3545" stroke-dasharray="4 3">'
            f"<title>Floor {price.floor}</title></line>"
        )
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'data-testid="waterfall-chart"><title>{escape(title)}</title>{"".join(rows)}{floor}</svg>'
    )
