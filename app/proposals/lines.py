"""A proposal's lines: each priced with live availability when it is added or changed; their
totals and the words for their targeting. Services flush; the request commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from app.audit.service import record, record_change
from app.auth.models import User
from app.catalog.models import DIMENSION_LABELS, DimensionKey
from app.errors import DomainError, ValidationFailed
from app.extensions import db
from app.pricing import rules
from app.pricing import service as pricing
from app.proposals import registry
from app.proposals.access import require_edit
from app.proposals.holds import release_hold
from app.proposals.models import Proposal, ProposalLine

MAX_LINES = 500
#: what a copy of a line takes over from it, priced as it was (not its place, hold, order or make-good)
COPIED_COLUMNS = (
    "product_id",
    "pricing_model",
    "targeting",
    "start_day",
    "end_day",
    "time_zone",
    "quantity",
    "budget",
    "discount_pct",
    "price",
    "problems",
    "units",
    "net_rate",
    "gross",
    "commission",
    "net",
    "available",
)


# -- Lines ----------------------------------------------------------------------------------------


@dataclass
class LineData:
    product_id: int | None
    pricing_model: str
    start_day: date
    end_day: date
    time_zone: str
    targeting: dict[str, tuple[str, ...]] = field(default_factory=dict)
    quantity: int | None = None
    budget: Decimal | None = None
    discount_pct: Decimal = Decimal("0")
    #: the order line this free line makes good (None: a paid line)
    make_good_of_id: int | None = None


def _line_input(proposal: Proposal, data: LineData) -> pricing.LineInput:
    return pricing.LineInput(
        card_id=proposal.rate_card_id,
        product_id=data.product_id,
        pricing_model=data.pricing_model,
        start=data.start_day,
        end=data.end_day,
        time_zone=data.time_zone,
        targeting=data.targeting,
        quantity=data.quantity,
        budget=data.budget,
        advertiser_id=proposal.advertiser_id,
        agency_id=proposal.agency_id,
        proposal_discount_pct=proposal.discount_pct,
        line_discount_pct=data.discount_pct,
        currency=proposal.currency,
        make_good=data.make_good_of_id is not None,
    )


def data_of(line: ProposalLine) -> LineData:
    return LineData(
        product_id=line.product_id,
        pricing_model=line.pricing_model,
        start_day=line.start_day,
        end_day=line.end_day,
        time_zone=line.time_zone,
        targeting={k: tuple(v) for k, v in line.targeting.items()},
        quantity=line.quantity,
        budget=line.budget,
        discount_pct=line.discount_pct,
        make_good_of_id=line.make_good_of_id,
    )


def _store(line: ProposalLine, data: LineData, priced: pricing.Priced | None, problems: list[str]) -> None:
    line.product_id = data.product_id
    line.pricing_model = data.pricing_model
    line.start_day, line.end_day, line.time_zone = data.start_day, data.end_day, data.time_zone
    line.targeting = {k: list(v) for k, v in data.targeting.items() if v}
    line.quantity, line.budget, line.discount_pct = data.quantity, data.budget, data.discount_pct
    line.make_good_of_id = data.make_good_of_id
    if priced is None:
        line.price, line.units, line.net_rate, line.available = None, None, None, None
        line.gross = line.commission = line.net = Decimal("0")
        line.problems = problems
        return
    p = priced.price
    line.price = priced.snapshot()
    line.units, line.net_rate, line.available = p.units, p.net_rate, priced.available
    line.gross, line.commission, line.net = p.gross, p.commission, p.net
    line.problems = list(priced.warnings)


def price_of(proposal: Proposal, data: LineData, *, actor: User, today: date, now: datetime, margin_pct: int):
    return pricing.price_line(_line_input(proposal, data), actor=actor, today=today, now=now, margin_pct=margin_pct)


def add_line(
    proposal: Proposal,
    data: LineData,
    *,
    actor: User,
    today: date,
    now: datetime,
    margin_pct: int,
    make_good_days: int | None = None,
) -> ProposalLine:
    """A priced line at the end of the proposal; bad input is refused on its field. A make-good line
    (one linked to an order line) must keep to what it makes good (the checks in `registry.line_checks`;
    `make_good_days` None is the make-good window's default)."""
    require_edit(actor, proposal)
    if len(proposal.lines) >= MAX_LINES:
        raise ValidationFailed({"product_id": [f"A proposal has at most {MAX_LINES} lines."]})
    registry.check_line(proposal, data, today=today, make_good_days=make_good_days).raise_if_any()
    try:
        priced = price_of(proposal, data, actor=actor, today=today, now=now, margin_pct=margin_pct)
    except ValidationFailed as exc:
        errors = exc.errors
    else:
        errors = {}
    if data.end_day < today:
        errors["end"] = [f"The flight ended on {data.end_day}: a new line runs today or later.", *errors.get("end", [])]
    if errors:
        raise ValidationFailed(errors)
    line = ProposalLine(position=len(proposal.lines) + 1, updated_at=now)
    _store(line, data, priced, [])
    proposal.lines.append(line)
    proposal.updated_at = now
    db.session.flush()
    _record_line(proposal, line, "line added", actor=actor, now=now)
    return line


def update_line(
    line: ProposalLine,
    data: LineData,
    *,
    actor: User,
    today: date,
    now: datetime,
    margin_pct: int,
    make_good_days: int | None = None,
) -> ProposalLine:
    proposal = line.proposal
    require_edit(actor, proposal)
    data.make_good_of_id = line.make_good_of_id  # a make-good stays one whatever the form says
    registry.check_line(proposal, data, today=today, make_good_days=make_good_days, line_id=line.id).raise_if_any()
    priced = price_of(proposal, data, actor=actor, today=today, now=now, margin_pct=margin_pct)
    before = _line_facts(line)
    changed_inventory = (data.product_id, data.start_day, data.end_day, data.targeting) != (
        line.product_id,
        line.start_day,
        line.end_day,
        {k: tuple(v) for k, v in line.targeting.items()},
    )
    _store(line, data, priced, [])
    line.updated_at = proposal.updated_at = now
    if changed_inventory or (line.units or 0) != before["units"]:
        release_hold(line, reason="line changed", actor=actor, now=now)
    record_change(
        actor=actor,
        entity_type="proposal",
        entity_id=proposal.id,
        at=now,
        before=before,
        after=_line_facts(line),
        action=f"line {line.position} changed",
    )
    return line


def add_lines(
    proposal: Proposal,
    lines: list[LineData],
    *,
    actor: User,
    today: date,
    now: datetime,
    margin_pct: int,
    field: str | None = None,
    label: Callable[[int], str] = str,
) -> list[ProposalLine]:
    """Each line added in turn (`add_line`), all of them or none: the first one refused takes the
    others back and raises. With `field`, its messages are reworded on that field, after the
    refused line's `label(number)` (counted from 1), as the form that sent the lines names them."""
    added = []
    try:
        with db.session.begin_nested():
            for number, data in enumerate(lines, start=1):
                try:
                    added.append(add_line(proposal, data, actor=actor, today=today, now=now, margin_pct=margin_pct))
                except ValidationFailed as exc:
                    if field is None:
                        raise
                    messages = "; ".join(m for ms in exc.errors.values() for m in ms)
                    raise ValidationFailed({field: [f"{label(number)}: {messages}"]}) from None
    except ValidationFailed:
        db.session.expire(proposal, ["lines"])
        raise
    return added


def reprice(line: ProposalLine, *, actor: User, today: date, now: datetime, margin_pct: int) -> None:
    """Price the line again as it stands; when it no longer can be, keep it with the reasons."""
    data = data_of(line)
    try:
        _store(line, data, price_of(line.proposal, data, actor=actor, today=today, now=now, margin_pct=margin_pct), [])
    except ValidationFailed as exc:
        _store(line, data, None, [m for messages in exc.errors.values() for m in messages])


def copy_line(line: ProposalLine, *, actor: User, now: datetime, today: date, margin_pct: int) -> ProposalLine:
    """The line again, below it. A copy of a make-good line is an ordinary line, priced as one."""
    proposal = line.proposal
    require_edit(actor, proposal)
    if len(proposal.lines) >= MAX_LINES:
        raise DomainError(f"A proposal has at most {MAX_LINES} lines.")
    twin = ProposalLine(
        **{c: getattr(line, c) for c in COPIED_COLUMNS},
        updated_at=now,
    )
    index = proposal.lines.index(line) + 1
    proposal.lines.insert(index, twin)
    _renumber(proposal)
    db.session.flush()
    if line.make_good_of_id is not None:
        reprice(twin, actor=actor, today=today, now=now, margin_pct=margin_pct)
    _record_line(proposal, twin, f"line {line.position} copied", actor=actor, now=now)
    return twin


def remove_line(line: ProposalLine, *, actor: User, now: datetime) -> None:
    proposal = line.proposal
    require_edit(actor, proposal)
    release_hold(line, reason="line removed", actor=actor, now=now)
    _record_line(proposal, line, f"line {line.position} removed", actor=actor, now=now)
    proposal.lines.remove(line)
    _renumber(proposal)


def move_line(line: ProposalLine, offset: int, *, actor: User, now: datetime) -> None:
    proposal = line.proposal
    require_edit(actor, proposal)
    lines = proposal.lines
    i = lines.index(line)
    j = min(max(i + offset, 0), len(lines) - 1)
    if i != j:
        lines.insert(j, lines.pop(i))
        _renumber(proposal)
        record(
            actor=actor,
            entity_type="proposal",
            entity_id=proposal.id,
            action="line moved",
            at=now,
            summary=f"{line.product.name} moved from line {i + 1} to {j + 1}.",
        )


def _renumber(proposal: Proposal) -> None:
    for n, line in enumerate(proposal.lines, start=1):
        line.position = n


def _line_facts(line: ProposalLine) -> dict:
    return {
        "product": line.product_id,
        "pricing_model": line.pricing_model,
        "targeting": line.targeting,
        "start": line.start_day,
        "end": line.end_day,
        "quantity": line.quantity,
        "budget": line.budget,
        "units": line.units or 0,
        "discount_pct": line.discount_pct,
        "net_rate": line.net_rate,
        "gross": line.gross,
    }


def _record_line(proposal: Proposal, line: ProposalLine, action: str, *, actor: User, now: datetime) -> None:
    record(
        actor=actor,
        entity_type="proposal",
        entity_id=proposal.id,
        action=action,
        at=now,
        summary=f"{line.product.name if line.product else 'Line'}, {line.start_day} to {line.end_day}.",
        after=_line_facts(line),
    )


# -- Totals, words --------------------------------------------------------------------------------


@dataclass
class Totals:
    gross: Decimal
    commission: Decimal
    net: Decimal
    impressions: int
    effective_cpm: Decimal | None
    lines: int
    problems: int


def totals(proposal: Proposal) -> Totals:
    lines = proposal.lines
    gross = rules.total((line.gross for line in lines), proposal.currency)
    impressions = sum(
        (line.units if line.pricing_model == rules.CPM else line.quantity) or 0 for line in lines if line.price
    )
    return Totals(
        gross=gross,
        commission=rules.total((line.commission for line in lines), proposal.currency),
        net=rules.total((line.net for line in lines), proposal.currency),
        impressions=impressions,
        effective_cpm=rules.rate(gross * 1000 / impressions) if impressions else None,
        lines=len(lines),
        problems=sum(1 for line in lines if line.problems),
    )


def targeting_words(targeting: dict[str, list[str]], names: dict[tuple[str, str], str]) -> str:
    parts = [
        f"{DIMENSION_LABELS[DimensionKey(key)]}: {', '.join(names.get((key, c), c) for c in codes)}"
        for key, codes in targeting.items()
        if codes and key in DimensionKey._value2member_map_
    ]
    return "; ".join(parts) or "Run of product"
