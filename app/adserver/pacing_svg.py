"""Pacing as a server-side SVG: cumulative delivery against an even pace, for the order's goal lines."""

from __future__ import annotations

from datetime import date, timedelta

from markupsafe import Markup, escape

from app.formats import impression_count

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 220, 70, 28, 12


def pacing_svg(pacing, series: dict[int, list[tuple[date, int]]]) -> Markup | None:
    """Sum of the goal lines: the even-pace line from zero to the goal, and delivery to date."""
    lines = [p for p in pacing if p.goal and p.state not in ("cancelled",)]
    if not lines:
        return None
    start = min(p.line.start_day for p in lines)
    end = max(p.line.end_day for p in lines)
    span = (end - start).days + 1
    goal = sum(p.goal for p in lines)
    expected = []
    delivered = []
    by_day: dict[date, int] = {}
    for p in lines:
        for day, imps in series.get(p.line.id, []):
            by_day[day] = by_day.get(day, 0) + imps
    last = max(by_day) if by_day else None
    running = 0
    for i in range(span):
        day = start + timedelta(days=i)
        due = 0
        for p in lines:
            total = (p.line.end_day - p.line.start_day).days + 1
            done = min(total, max(0, (day - p.line.start_day).days + 1))
            due += p.goal * done / total
        expected.append((i, due))
        if last is not None and day <= last:
            running += by_day.get(day, 0)
            delivered.append((i, running))
    top = max([goal, *(v for _, v in delivered)]) or 1
    plot_w, plot_h = WIDTH - LEFT - 10, HEIGHT - BOTTOM - TOP

    def xy(i: float, v: float) -> str:
        return f"{LEFT + plot_w * (i + 1) / span:.1f},{TOP + plot_h * (1 - v / top):.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-label="Pacing: delivered against an even pace" data-testid="pacing-chart">',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 10}" y2="{TOP + plot_h}" stroke="#adb5bd"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#adb5bd"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" font-size="11">{top:,.0f}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end" font-size="11">0</text>',
        f'<text x="{LEFT}" y="{HEIGHT - 8}" font-size="11">{escape(start.strftime("%d %b"))}</text>',
        f'<text x="{WIDTH - 10}" y="{HEIGHT - 8}" text-anchor="end" font-size="11">'
        f"{escape(end.strftime('%d %b'))}</text>",
        f'<polyline fill="none" stroke="#6c757d" stroke-dasharray="5 4" stroke-width="2" '
        f'points="{LEFT},{TOP + plot_h} {" ".join(xy(i, v) for i, v in expected)}"><title>Even pace to '
        f"{impression_count(goal)}</title></polyline>",
    ]
    if delivered:
        parts.append(
            f'<polyline fill="none" stroke="#0d6efd" stroke-width="2.5" '
            f'points="{LEFT},{TOP + plot_h} {" ".join(xy(i, v) for i, v in delivered)}"><title>Delivered: '
            f"{impression_count(running)} to {escape(last.strftime('%d %b %Y'))}</title></polyline>"
        )
    parts.append(
        f'<text x="{LEFT + 8}" y="{TOP + 12}" font-size="11" fill="#0d6efd">— delivered</text>'
        f'<text x="{LEFT + 90}" y="{TOP + 12}" font-size="11" fill="#6c757d">- - even pace</text></svg>'
    )
    return Markup("".join(parts))
