"""Booked against recognised revenue by month, as a server-side SVG (the page and any PDF alike)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from markupsafe import Markup, escape

from app import money

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 240, 80, 30, 20
BOOKED, RECOGNISED = "#0d6efd", "#198754"


def revenue_svg(months: list[tuple[date, Decimal, Decimal]], currency: str) -> Markup | None:
    """One pair of bars a month: gross booked and recognised (both before agency commission)."""
    if not months:
        return None
    top = max([*(b for _, b, _ in months), *(r for _, _, r in months), Decimal(1)])
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP
    slot = plot_w / len(months)
    bar = max(2.0, min(28.0, slot / 3))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="Gross booked and recognised revenue by month, {escape(currency)}" data-testid="revenue-chart">',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 10}" y2="{TOP + plot_h}" stroke="#adb5bd"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{top:,.0f}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
        f'<text x="{LEFT}" y="12" font-size="11" fill="{BOOKED}">■ gross booked</text>'
        f'<text x="{LEFT + 100}" y="12" font-size="11" fill="{RECOGNISED}">■ recognised</text>',
    ]
    for i, (month, booked, recognised) in enumerate(months):
        x = LEFT + i * slot + slot / 2
        for offset, value, colour, label in (
            (-bar, booked, BOOKED, "gross booked"),
            (0, recognised, RECOGNISED, "recognised"),
        ):
            h = float(max(value, Decimal(0)) / top) * plot_h
            parts.append(
                f'<rect x="{x + offset:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour}"><title>{month:%b %Y} {label}: {money.quantize(value, currency):,} '
                f"{escape(currency)}</title></rect>"
            )
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 10}" text-anchor="middle" font-size="11">{month:%b %y}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
