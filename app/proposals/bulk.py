"""Many lines at once: a package's products, lines pasted from a spreadsheet, and a recommended mix
for a budget. Each adds all of its lines or none (`lines.add_lines`). Services flush; the request
commits.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from app import money
from app.auth.models import User
from app.catalog.models import Product, Status
from app.errors import Errors, ValidationFailed
from app.extensions import db
from app.formats import impression_count
from app.pricing import rules
from app.proposals.access import require_edit
from app.proposals.lines import MAX_LINES, LineData, add_lines, price_of
from app.proposals.models import Proposal, ProposalLine
from app.validation import day_problem, money_problem

# -- Packages, pasted lines, recommendations ----------------------------------------------------


def _default_model(product) -> str:
    return rules.CPM if rules.CPM in product.pricing_models else (product.pricing_models or [""])[0]


def add_package(
    proposal: Proposal,
    package,
    *,
    impressions: int | None,
    optional: set[int] = frozenset(),
    actor: User,
    today: date,
    now: datetime,
    margin_pct: int,
) -> list[ProposalLine]:
    """A line per mandatory product of the package (and the optional ones chosen), each with the
    package discount; all of them or none, with the product named when one cannot be priced."""
    require_edit(actor, proposal)
    members = [m for m in package.members if m.mandatory or m.product_id in optional]
    if len(proposal.lines) + len(members) > MAX_LINES:
        raise ValidationFailed({"package": [f"A proposal has at most {MAX_LINES} lines."]})
    parsed = []
    for member in members:
        product = member.product
        model = _default_model(product)
        parsed.append(
            LineData(
                product_id=product.id,
                pricing_model=model,
                start_day=proposal.start_day,
                end_day=proposal.end_day,
                time_zone=proposal.time_zone,
                quantity=impressions if model == rules.CPM else None,
                discount_pct=package.discount_pct,
            )
        )
    return add_lines(
        proposal,
        parsed,
        actor=actor,
        today=today,
        now=now,
        margin_pct=margin_pct,
        field="package",
        label=lambda number: members[number - 1].product.name,
    )


#: Columns of a pasted line: product name, impressions, first day, last day (tab, comma or semicolon separated).
PASTE_COLUMNS = ("product", "impressions", "start", "end")


def paste_lines(
    proposal: Proposal, text: str, *, actor: User, today: date, now: datetime, margin_pct: int
) -> list[ProposalLine]:
    """Lines pasted from a spreadsheet, one per row: product, impressions, and optionally the
    flight's first and last day (else the proposal's). All of them or none; each problem names
    its row."""
    require_edit(actor, proposal)
    rows = [row for row in text.splitlines() if row.strip()]
    room = MAX_LINES - len(proposal.lines)
    if not rows:
        raise ValidationFailed({"paste": ["Paste at least one row: product, impressions, first day, last day."]})
    if len(rows) > room:
        raise ValidationFailed(
            {
                "paste": [
                    f"You pasted {len(rows):,} rows; a proposal has at most {MAX_LINES} lines "
                    f"and this one has room for {room}."
                ]
            }
        )
    dialect = "excel-tab" if "\t" in rows[0] else "excel"
    delimiter = None if dialect == "excel-tab" else (";" if rows[0].count(";") > rows[0].count(",") else ",")
    reader = csv.reader(
        io.StringIO("\n".join(rows)), dialect=dialect, **({"delimiter": delimiter} if delimiter else {})
    )
    products = {
        p.name.casefold(): p
        for p in db.session.scalars(sa.select(Product).where(Product.status == Status.ACTIVE.value))
    }
    problems: list[str] = []
    parsed: list[LineData] = []
    for number, cells in enumerate(reader, start=1):
        cells = [c.strip() for c in cells] + [""] * 4
        name, amount, first, last = cells[:4]
        if number == 1 and name.casefold() == "product":
            continue
        product = products.get(name.casefold())
        if product is None:
            problems.append(f"Row {number}: no active product is called “{name[:80]}”.")
            continue
        quantity = _whole(amount.replace(",", "").replace(" ", "")) if amount else None
        if amount and quantity is None:
            problems.append(f"Row {number}: “{amount[:40]}” is not a whole number of impressions.")
            continue
        try:
            start = date.fromisoformat(first) if first else proposal.start_day
            end = date.fromisoformat(last) if last else proposal.end_day
        except ValueError:
            problems.append(f"Row {number}: dates are YYYY-MM-DD.")
            continue
        model = _default_model(product)
        parsed.append(
            LineData(product.id, model, start, end, proposal.time_zone, quantity=quantity if quantity else None)
        )
        if len(problems) >= 20:
            break
    if problems:
        raise ValidationFailed({"paste": problems[:20] + (["…and more."] if len(problems) > 20 else [])})
    return add_lines(
        proposal,
        parsed,
        actor=actor,
        today=today,
        now=now,
        margin_pct=margin_pct,
        field="paste",
        label=lambda number: f"Row {number}",
    )


def _whole(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 13 else None


@dataclass
class Recommendation:
    product_id: int
    product_name: str
    impressions: int
    net_rate: Decimal
    cost: Decimal
    available: int
    why: str


@dataclass
class Goals:
    budget: Decimal
    start_day: date
    end_day: date
    geo: tuple[str, ...] = ()
    device: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    #: key-values and audience segments wanted (dimension key -> codes)
    audience: dict[str, tuple[str, ...]] = field(default_factory=dict)


def check_goals(proposal: Proposal, goals: Goals, *, today: date) -> Errors:
    """The budget within the bounds; a flight in order, not over, and within the card's validity."""
    errors = Errors()
    card = proposal.rate_card
    if problem := money_problem(goals.budget, label="budget", positive=True) or money.decimals_problem(
        goals.budget, proposal.currency, label="budget"
    ):
        errors.add("budget", problem)
    for name, day, label in (
        ("start", goals.start_day, "flight's first day"),
        ("end", goals.end_day, "flight's last day"),
    ):
        if problem := day_problem(day, label=label, last=card.valid_to, horizon=card.name):
            errors.add(name, problem)
    if goals.end_day < goals.start_day:
        errors.add("end", f"The flight ends ({goals.end_day}) before it starts ({goals.start_day}).")
    elif goals.end_day < today:
        errors.add("end", f"The flight ended on {goals.end_day}: recommendations are for flights from today on.")
    return errors


def recommend(
    proposal: Proposal, goals: Goals, *, actor: User, today: date, now: datetime, margin_pct: int
) -> list[Recommendation]:
    """A mix of products that fits the budget and the available inventory: products whose
    targeting and formats can meet the goals, cheapest effective rate first, at most half the
    budget on one product while others can take the rest, never more than is available."""
    check_goals(proposal, goals, today=today).raise_if_any()
    wanted = {"geo": goals.geo, "device": goals.device, **goals.audience}
    wanted = {k: v for k, v in wanted.items() if v}
    rated = {r.product_id for r in proposal.rate_card.base_rates if r.pricing_model == rules.CPM}
    candidates = []
    for product in db.session.scalars(sa.select(Product).where(Product.status == Status.ACTIVE.value)):
        if product.id not in rated or product.line_item_type in ("house", "sponsorship"):
            continue
        if any(key not in product.customisable for key in wanted):
            continue
        if goals.sizes and not set(goals.sizes) & set(product.sizes):
            continue
        probe = LineData(
            product.id,
            rules.CPM,
            goals.start_day,
            goals.end_day,
            proposal.time_zone,
            targeting=wanted,
            quantity=max(product.min_quantity or 0, 1_000),
        )
        try:
            priced = price_of(proposal, probe, actor=actor, today=today, now=now, margin_pct=margin_pct)
        except ValidationFailed:
            continue
        available = priced.available or 0
        if product.max_quantity:
            available = min(available, product.max_quantity)
        if available < (product.min_quantity or 1) or priced.price.net_rate <= 0:
            continue
        candidates.append((priced.price.net_rate, product, available, priced))
    candidates.sort(key=lambda c: (c[0], -c[2], c[1].name))
    picks: list[Recommendation] = []
    left = goals.budget
    for i, (rate_, product, available, _priced) in enumerate(candidates):
        if left <= 0:
            break
        share = left if i == len(candidates) - 1 or len(picks) >= 2 else min(left, goals.budget / 2)
        impressions = min(rules.impressions_for(share, rate_, proposal.currency), available)
        if product.min_quantity and impressions < product.min_quantity:
            continue
        if impressions <= 0:
            continue
        cost = money.quantize(rate_ * impressions / 1000, proposal.currency)
        left -= cost
        reasons = []
        if wanted:
            reasons.append("takes " + " and ".join(k.replace("_", " ") for k in wanted) + " targeting")
        if goals.sizes:
            reasons.append("runs " + ", ".join(sorted(set(goals.sizes) & set(product.sizes))))
        reasons.append(f"net {rate_} {proposal.currency} CPM, the {_ordinal(len(picks) + 1)}cheapest that fits")
        reasons.append(f"{impression_count(available)} available over the flight")
        if impressions == available:
            reasons.append("all of them taken")
        picks.append(
            Recommendation(product.id, product.name, impressions, rate_, cost, available, "; ".join(reasons) + ".")
        )
    return picks


def add_recommended(
    proposal: Proposal,
    goals: Goals,
    picks: list[tuple[int, str]],
    *,
    actor: User,
    today: date,
    now: datetime,
    margin_pct: int,
) -> list[ProposalLine]:
    """The recommended mix added in one go: a CPM line per pick (product, impressions as sent), over
    the goals' flight with their targeting; all of them or none."""
    targeting = {"geo": goals.geo, "device": goals.device, **goals.audience}
    parsed = [
        LineData(
            product_id=product_id,
            pricing_model="cpm",
            start_day=goals.start_day,
            end_day=goals.end_day,
            time_zone=proposal.time_zone,
            targeting={k: v for k, v in targeting.items() if v},
            quantity=int(amount) if amount.isascii() and amount.isdigit() else None,
        )
        for product_id, amount in picks
    ]
    return add_lines(proposal, parsed, actor=actor, today=today, now=now, margin_pct=margin_pct)


def _ordinal(n: int) -> str:
    return {1: "", 2: "second ", 3: "third "}.get(n, f"{n}th ")
