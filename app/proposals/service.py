"""Proposals: create and edit them, build their lines (each priced with live availability), hold
their inventory, and freeze versions. Services flush; the request commits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from app import money
from app.accounts.models import Account, AccountKind, Contact
from app.audit.service import record, record_change
from app.auth.models import User
from app.auth.roles import Role
from app.catalog.models import DIMENSION_LABELS, DimensionKey, Product, Status
from app.catalog.products import product_slots
from app.catalog.targeting import value_names
from app.db import Unchecked, stale
from app.errors import Conflict, DomainError, Errors, Forbidden, ValidationFailed
from app.extensions import db
from app.inventory.models import Reservation, ReservationKind
from app.inventory.reservations import LABEL_LENGTH, extend_hold, release, reserve
from app.inventory.supply import Box
from app.numbering import next_number
from app.pricing import rules
from app.pricing import service as pricing
from app.proposals.models import Proposal, ProposalLine, ProposalStatus, ProposalVersion
from app.ratecards.models import RateCard
from app.validation import (
    LAST_DAY,
    clean_line,
    day_problem,
    length_problem,
    line_problem,
    money_problem,
    percent_problem,
    time_zone_problem,
)

#: Roles that see and edit every proposal; reps see and edit their own.
MANAGERS = frozenset({Role.ADMIN, Role.SALES_MANAGER})
#: Roles that read every proposal.
READERS = MANAGERS | {Role.AD_OPS, Role.FINANCE}
MAX_LINES = 500
#: How many days after its order's last day a make-good may still run (MAKE_GOOD_WINDOW_DAYS).
MAKE_GOOD_WINDOW_DAYS = 60

FIELD_LABELS = {
    "campaign_name": "campaign",
    "advertiser_id": "advertiser",
    "agency_id": "agency",
    "buyer_contact_id": "buyer",
    "rate_card_id": "rate card",
    "owner_id": "owner",
    "start_day": "flight start",
    "end_day": "flight end",
    "time_zone": "time zone",
    "budget_goal": "budget goal",
    "discount_pct": "proposal discount",
    "notes": "notes",
    "terms": "terms",
    "expires_on": "expiry",
}


# -- Who may do what ----------------------------------------------------------------------------


def can_read(user: User, proposal: Proposal) -> bool:
    """Managers, admins, ad ops and finance read every proposal; a rep their own, and any proposal
    they are asked to approve."""
    if user.has_role(*READERS) or proposal.owner_id == user.id:
        return True
    from app.workflow.models import ApprovalRequest

    roles = [r.value for r in user.role_set]
    return bool(
        db.session.scalar(
            sa.select(ApprovalRequest.id)
            .where(
                ApprovalRequest.proposal_id == proposal.id,
                sa.or_(ApprovalRequest.approver_user_id == user.id, ApprovalRequest.approver_role.in_(roles)),
            )
            .limit(1)
        )
    )


def can_edit(user: User, proposal: Proposal) -> bool:
    return user.has_role(*MANAGERS) or (user.has_role(Role.SALES_REP) and proposal.owner_id == user.id)


def require_edit(user: User, proposal: Proposal) -> None:
    if not can_edit(user, proposal):
        raise Forbidden("Only the proposal's rep, sales managers and admins change it.")
    if not proposal.is_editable:
        raise DomainError(f"Proposal {proposal.number} is {proposal.status}: it can no longer be changed.")


# -- The proposal ---------------------------------------------------------------------------------


@dataclass
class ProposalData:
    advertiser_id: int | None
    campaign_name: str
    rate_card_id: int | None
    owner_id: int | None
    start_day: date | None
    end_day: date | None
    time_zone: str
    agency_id: int | None = None
    buyer_contact_id: int | None = None
    budget_goal: Decimal | None = None
    discount_pct: Decimal = Decimal("0")
    notes: str = ""
    terms: str = ""
    expires_on: date | None = None


def check_proposal(data: ProposalData, *, actor: User, today: date) -> Errors:
    errors = Errors()
    data.campaign_name = clean_line(data.campaign_name)
    if problem := line_problem(data.campaign_name, label="campaign name", max_length=200):
        errors.add("campaign_name", problem)
    advertiser = db.session.get(Account, data.advertiser_id) if data.advertiser_id else None
    if advertiser is None or advertiser.kind != AccountKind.ADVERTISER.value:
        errors.add("advertiser_id", "Choose the advertiser.")
    if data.agency_id is not None:
        agency = db.session.get(Account, data.agency_id)
        if agency is None or agency.kind != AccountKind.AGENCY.value:
            errors.add("agency_id", "Choose an agency from the list, or none.")
    if data.buyer_contact_id is not None:
        contact = db.session.get(Contact, data.buyer_contact_id)
        if contact is None or contact.account_id not in {data.advertiser_id, data.agency_id}:
            errors.add("buyer_contact_id", "The buyer is a contact of the advertiser or of the agency.")
    card = db.session.get(RateCard, data.rate_card_id) if data.rate_card_id else None
    if card is None or card.status != Status.ACTIVE.value:
        errors.add("rate_card_id", "Choose an active rate card.")
    elif not pricing.usable_card(card, actor):
        errors.add("rate_card_id", f"{card.name} is not a card you may price with.")
    owner = db.session.get(User, data.owner_id) if data.owner_id else None
    if owner is None or not owner.is_active or not owner.has_role(Role.SALES_REP, Role.SALES_MANAGER):
        errors.add("owner_id", "The owner is an active sales rep or manager.")
    elif not actor.has_role(*MANAGERS) and owner.id != actor.id:
        errors.add("owner_id", "Only sales managers and admins give a proposal to another rep.")
    if data.start_day is None:
        errors.add("start_day", "Enter the flight's first day.")
    if data.end_day is None:
        errors.add("end_day", "Enter the flight's last day.")
    # Days beyond the card's validity cannot be priced with it: the card is the proposal's horizon.
    last, horizon = (card.valid_to, card.name) if card is not None else (LAST_DAY, "")
    for name, day, label, until, named in (
        ("start_day", data.start_day, "flight's first day", last, horizon),
        ("end_day", data.end_day, "flight's last day", last, horizon),
        ("expires_on", data.expires_on, "expiry", LAST_DAY, ""),
    ):
        if day is not None and (problem := day_problem(day, label=label, last=until, horizon=named)):
            errors.add(name, problem)
    if data.start_day is not None and data.end_day is not None and data.end_day < data.start_day:
        errors.add("end_day", f"The flight ends ({data.end_day}) before it starts ({data.start_day}).")
    if problem := time_zone_problem(data.time_zone):
        errors.add("time_zone", problem)
    if problem := percent_problem(data.discount_pct, label="proposal discount"):
        errors.add("discount_pct", problem)
    if data.budget_goal is not None and (
        problem := money_problem(data.budget_goal, label="budget", positive=True)
        or (card is not None and money.decimals_problem(data.budget_goal, card.currency, label="budget"))
    ):
        errors.add("budget_goal", problem)
    if data.expires_on is not None and data.expires_on < today:
        errors.add("expires_on", "The offer cannot expire in the past.")
    for name, value, limit in (("notes", data.notes, 5000), ("terms", data.terms, 20000)):
        if problem := length_problem(value, label=name, max_length=limit, required=False):
            errors.add(name, problem)
    return errors


def _apply(proposal: Proposal, data: ProposalData) -> None:
    for name, value in asdict(data).items():
        setattr(proposal, name, value.strip() if isinstance(value, str) else value)
    proposal.currency = db.session.get(RateCard, data.rate_card_id).currency


def create_proposal(data: ProposalData, *, actor: User, now: datetime, today: date) -> Proposal:
    check_proposal(data, actor=actor, today=today).raise_if_any()
    proposal = Proposal(
        number=next_number("P", today.year, numbers=Proposal.number),
        status=ProposalStatus.DRAFT.value,
        created_at=now,
        updated_at=now,
    )
    _apply(proposal, data)
    db.session.add(proposal)
    db.session.flush()
    record(
        actor=actor,
        entity_type="proposal",
        entity_id=proposal.id,
        action="created",
        at=now,
        summary=f"Proposal {proposal.number} for {proposal.advertiser.name}: {proposal.campaign_name}.",
    )
    return proposal


def update_proposal(
    proposal: Proposal,
    data: ProposalData,
    *,
    expected_version: int | Unchecked,
    actor: User,
    now: datetime,
    today: date,
    margin_pct: int,
) -> Proposal:
    require_edit(actor, proposal)
    if stale(proposal.version, expected_version):
        raise Conflict("Someone else changed this proposal since you opened it. Reload to see their change.")
    check_proposal(data, actor=actor, today=today).raise_if_any()
    _check_make_good_advertiser(proposal, data.advertiser_id)
    before = {name: getattr(proposal, name) for name in FIELD_LABELS}
    _apply(proposal, data)
    proposal.updated_at = now
    record_change(
        actor=actor,
        entity_type="proposal",
        entity_id=proposal.id,
        at=now,
        before=before,
        after={name: getattr(proposal, name) for name in FIELD_LABELS},
        labels=FIELD_LABELS,
    )
    # The card, the accounts or the discount may have changed: every line is priced again.
    for line in proposal.lines:
        _reprice(line, actor=actor, today=today, now=now, margin_pct=margin_pct)
    return proposal


def delete_proposal(proposal: Proposal, *, actor: User, now: datetime) -> None:
    require_edit(actor, proposal)
    from app.orders.models import Order  # orders build on proposals; the reverse is only this check

    if db.session.scalar(sa.select(Order.number).where(Order.proposal_id == proposal.id)):
        raise DomainError(
            f"{proposal.number} is signed and has an order: a change order in progress is submitted, never deleted."
        )
    release_holds(proposal, reason=f"proposal {proposal.number} deleted", actor=actor, now=now)
    proposal.deleted_at = now
    record(actor=actor, entity_type="proposal", entity_id=proposal.id, action="deleted", at=now, summary="Deleted.")


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


def _data_of(line: ProposalLine) -> LineData:
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


def _price(proposal: Proposal, data: LineData, *, actor: User, today: date, now: datetime, margin_pct: int):
    return pricing.price_line(_line_input(proposal, data), actor=actor, today=today, now=now, margin_pct=margin_pct)


def add_line(
    proposal: Proposal,
    data: LineData,
    *,
    actor: User,
    today: date,
    now: datetime,
    margin_pct: int,
    make_good_days: int = MAKE_GOOD_WINDOW_DAYS,
) -> ProposalLine:
    """A priced line at the end of the proposal; bad input is refused on its field. A make-good line
    (one linked to an order line) must keep to what it makes good (`check_make_good`)."""
    require_edit(actor, proposal)
    if len(proposal.lines) >= MAX_LINES:
        raise ValidationFailed({"product_id": [f"A proposal has at most {MAX_LINES} lines."]})
    if data.make_good_of_id is not None:
        check_make_good(proposal, data, today=today, make_good_days=make_good_days).raise_if_any()
    try:
        priced = _price(proposal, data, actor=actor, today=today, now=now, margin_pct=margin_pct)
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
    make_good_days: int = MAKE_GOOD_WINDOW_DAYS,
) -> ProposalLine:
    proposal = line.proposal
    require_edit(actor, proposal)
    data.make_good_of_id = line.make_good_of_id  # a make-good stays one whatever the form says
    if line.make_good_of_id is not None:
        check_make_good(proposal, data, today=today, make_good_days=make_good_days, line_id=line.id).raise_if_any()
    priced = _price(proposal, data, actor=actor, today=today, now=now, margin_pct=margin_pct)
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
        _release_hold(line, reason="line changed", actor=actor, now=now)
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


# -- Make-goods -----------------------------------------------------------------------------------


def make_good_window(original, *, days: int) -> tuple[date, date]:
    """When a make-good of the order line `original` may run: from the day after it ended until
    `days` after its order's last day."""
    last = max(line.end_day for line in original.order.lines)
    return original.end_day + timedelta(days=1), last + timedelta(days=days)


def live_make_good(original_id: int, *, other_than: int | None = None) -> ProposalLine | None:
    """The line that already makes good the order line `original_id`, on a proposal still alive."""
    query = (
        sa.select(ProposalLine)
        .join(Proposal, Proposal.id == ProposalLine.proposal_id)
        .where(
            ProposalLine.make_good_of_id == original_id,
            Proposal.deleted_at.is_(None),
            Proposal.status.not_in([ProposalStatus.DECLINED.value, ProposalStatus.EXPIRED.value]),
        )
    )
    if other_than is not None:
        query = query.where(ProposalLine.id != other_than)
    return db.session.scalar(query.limit(1))


def _targeting_of(targeting: dict) -> dict[str, list[str]]:
    return {key: sorted(values) for key, values in targeting.items() if values}


def check_make_good(
    proposal: Proposal, data: LineData, *, today: date, make_good_days: int, line_id: int | None = None
) -> Errors:
    """A make-good line is free, so it gives only what is owed: the original line's product,
    pricing model and targeting, inside the order's make-good window, for at most the impressions
    the original line did not deliver (their value at its net rate is what is owed), for the
    order's advertiser, once."""
    from app.adserver.delivery import pacing_of  # delivery reads orders; proposals only ask it this
    from app.orders.models import OrderLine

    errors = Errors()
    original = db.session.get(OrderLine, data.make_good_of_id)
    if original is None:
        errors.add("product", "A make-good makes good a line of a signed order.")
        return errors
    order, where = original.order, f"line {original.position} of {original.order.number}"
    if proposal.advertiser_id != order.advertiser_id:
        errors.add("advertiser_id", f"A make-good of {where} is for {order.advertiser.name}.")
    if data.product_id != original.product_id:
        errors.add("product", f"A make-good runs on the line it makes good: {original.product.name} ({where}).")
    if data.pricing_model != original.pricing_model:
        errors.add(
            "pricing_model", f"A make-good keeps the pricing model of {where}: {original.pricing_model.upper()}."
        )
    wanted, kept = _targeting_of(data.targeting), _targeting_of(original.targeting)
    for key in sorted(set(wanted) | set(kept)):
        if wanted.get(key) != kept.get(key):
            errors.add(key, f"A make-good keeps the targeting of {where}.")
    first, last = make_good_window(original, days=make_good_days)
    if data.start_day < first:
        errors.add("start", f"The make-good window of {where} runs from {first} to {last}: start on {first} or later.")
    if data.end_day > last:
        errors.add("end", f"The make-good window of {where} runs from {first} to {last}: end on {last} or earlier.")
    if data.budget is not None:
        errors.add("budget", "A make-good gives impressions, not a budget: enter the impressions.")
    (pacing,) = pacing_of([original], today=today)
    owed = pacing.undelivered if pacing.owed > 0 else 0
    value = money.quantize(Decimal(data.quantity or 0) * (original.net_rate or 0) / 1000, order.currency)
    if data.quantity is None or data.quantity > owed or value > pacing.owed:
        errors.add(
            "quantity",
            f"A make-good gives at most the {owed:,} impressions {where} did not deliver "
            f"(worth {pacing.owed} {order.currency}).",
        )
    if (twin := live_make_good(original.id, other_than=line_id)) is not None:
        errors.add("quantity", f"The shortfall of {where} is already made good in {twin.proposal.number}.")
    return errors


def check_make_goods(proposal: Proposal, *, today: date, make_good_days: int) -> Errors:
    """Every make-good line of the proposal checked again (for submission: delivery may have come
    in late, or the window closed, since the line was saved)."""
    errors = Errors()
    for line in proposal.lines:
        if line.make_good_of_id is not None:
            found = check_make_good(
                proposal, _data_of(line), today=today, make_good_days=make_good_days, line_id=line.id
            )
            for messages in found.errors.values():
                for message in messages:
                    errors.add("submit", f"Line {line.position}: {message}")
    return errors


def _check_make_good_advertiser(proposal: Proposal, advertiser_id: int | None) -> None:
    from app.orders.models import OrderLine

    for line in proposal.lines:
        if line.make_good_of_id is not None:
            order = db.session.get(OrderLine, line.make_good_of_id).order
            if advertiser_id != order.advertiser_id:
                raise ValidationFailed.on(
                    "advertiser_id",
                    f"Line {line.position} makes good {order.number}: the advertiser stays {order.advertiser.name}.",
                )


def _reprice(line: ProposalLine, *, actor: User, today: date, now: datetime, margin_pct: int) -> None:
    """Price the line again as it stands; when it no longer can be, keep it with the reasons."""
    data = _data_of(line)
    try:
        _store(line, data, _price(line.proposal, data, actor=actor, today=today, now=now, margin_pct=margin_pct), [])
    except ValidationFailed as exc:
        _store(line, data, None, [m for messages in exc.errors.values() for m in messages])


def copy_line(line: ProposalLine, *, actor: User, now: datetime, today: date, margin_pct: int) -> ProposalLine:
    """The line again, below it. A copy of a make-good line is an ordinary line, priced as one."""
    proposal = line.proposal
    require_edit(actor, proposal)
    if len(proposal.lines) >= MAX_LINES:
        raise DomainError(f"A proposal has at most {MAX_LINES} lines.")
    twin = ProposalLine(
        **{
            c: getattr(line, c)
            for c in (
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
        },
        updated_at=now,
    )
    index = proposal.lines.index(line) + 1
    proposal.lines.insert(index, twin)
    _renumber(proposal)
    db.session.flush()
    if line.make_good_of_id is not None:
        _reprice(twin, actor=actor, today=today, now=now, margin_pct=margin_pct)
    _record_line(proposal, twin, f"line {line.position} copied", actor=actor, now=now)
    return twin


def remove_line(line: ProposalLine, *, actor: User, now: datetime) -> None:
    proposal = line.proposal
    require_edit(actor, proposal)
    _release_hold(line, reason="line removed", actor=actor, now=now)
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


# -- Holds ----------------------------------------------------------------------------------------


def release_holds_of_line(line: ProposalLine | None, *, reason: str, now: datetime) -> None:
    if line is not None:
        _release_hold(line, reason=reason, actor=None, now=now)


def release_holds(proposal: Proposal, *, reason: str, actor: User | None, now: datetime) -> None:
    for line in proposal.lines:
        _release_hold(line, reason=reason, actor=actor, now=now)


def _release_hold(line: ProposalLine, *, reason: str, actor: User | None, now: datetime) -> None:
    if line.hold_id is None:
        return
    hold = db.session.get(Reservation, line.hold_id)
    if hold is not None:
        release(hold, reason=reason, actor=actor, now=now)
    line.hold_id = None


def hold_of(line: ProposalLine, now: datetime) -> Reservation | None:
    """The line's hold while it counts (not released, not expired)."""
    return holds_of([line], now)[line.id]


def holds_of(lines: list[ProposalLine], now: datetime) -> dict[int, Reservation | None]:
    """Each line's live hold (or None), read in one query."""
    ids = [line.hold_id for line in lines if line.hold_id]
    found = {r.id: r for r in db.session.scalars(sa.select(Reservation).where(Reservation.id.in_(ids)))} if ids else {}

    def live(hold: Reservation | None) -> Reservation | None:
        if hold is None or hold.released_at is not None or (hold.expires_at and hold.expires_at <= now):
            return None
        return hold

    return {line.id: live(found.get(line.hold_id)) for line in lines}


def hold_line(
    line: ProposalLine, *, actor: User, today: date, now: datetime, margin_pct: int, hold_days: int
) -> Reservation:
    """Hold the line's impressions (CPM lines; the others hold what they expect to deliver)."""
    proposal = line.proposal
    require_edit(actor, proposal)
    # Clicks at the same moment take turns on the line's row (PostgreSQL; SQLite has one writer), and
    # each sees the hold the one before it made: the later ones extend it instead of adding one.
    db.session.refresh(line, ["hold_id"], with_for_update=True)
    quantity = line.units if line.pricing_model == rules.CPM else line.quantity
    if line.price is None or not quantity:
        raise DomainError(
            f"Line {line.position} has no price or no impressions yet (CPD and flat-fee lines hold the impressions "
            "entered for them): nothing to hold."
        )
    if (current := hold_of(line, now)) is not None:
        return extend_hold(current, actor=actor, now=now, today=today, margin_pct=margin_pct, hold_days=hold_days)
    release_stray_holds(line, reason="the line is held again", actor=actor, now=now)
    hold = reserve(
        ReservationKind.HOLD,
        line_box(line.product, line.targeting, line.start_day, line.end_day, today),
        label=f"{proposal.number} line {line.position}: {proposal.advertiser.name}"[:LABEL_LENGTH],
        quantity=quantity,
        product_id=line.product_id,
        actor=actor,
        now=now,
        today=today,
        margin_pct=margin_pct,
        hold_days=hold_days,
        proposal_line_id=line.id,
    )
    line.hold_id = hold.id
    return hold


def release_stray_holds(line: ProposalLine, *, reason: str, actor: User | None, now: datetime) -> None:
    """Release the line's unreleased holds other than the live one it points at: an expired hold
    (it no longer counts, but it would keep the line from a new one), or one the line forgot."""
    live = hold_of(line, now)
    for hold in db.session.scalars(
        sa.select(Reservation).where(
            Reservation.proposal_line_id == line.id,
            Reservation.kind == ReservationKind.HOLD.value,
            Reservation.released_at.is_(None),
            Reservation.id != (live.id if live else 0),
        )
    ):
        release(hold, reason=reason, actor=actor, now=now)
    if live is None:
        line.hold_id = None


def line_box(product, targeting: dict, start_day: date, end_day: date, today: date) -> Box:
    """The inventory a line covers from today on: its product's slots, its regions and devices."""
    return Box(
        tuple(u.id for u in product_slots(product)),
        max(start_day, today),
        end_day,
        tuple(targeting.get("geo", ())),
        tuple(targeting.get("device", ())),
    )


def hold_all(proposal: Proposal, **kwargs) -> tuple[int, list[str]]:
    """Hold every line that can be held; say which could not and why."""
    held, problems = 0, []
    for line in proposal.lines:
        try:
            with db.session.begin_nested():
                hold_line(line, **kwargs)
            held += 1
        except DomainError as exc:
            problems.append(f"Line {line.position}: {exc.message}")
    return held, problems


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


# -- Versions -------------------------------------------------------------------------------------


def snapshot(proposal: Proposal, *, number: int, now: datetime) -> dict:
    """Everything the PDF and approvers need, as plain JSON."""
    names = value_names()
    t = totals(proposal)
    agency = proposal.agency
    buyer = proposal.buyer_contact
    return {
        "number": proposal.number,
        "version": number,
        "created_at": now.isoformat(),
        "campaign_name": proposal.campaign_name,
        "status": proposal.status,
        "advertiser": {
            "id": proposal.advertiser.id,
            "name": proposal.advertiser.name,
            "billing_address": proposal.advertiser.billing_address,
            "billing_country": proposal.advertiser.billing_country,
            "credit_status": proposal.advertiser.credit_status,
            "discount_pct": str(proposal.advertiser.discount_pct),
        },
        "agency": {"id": agency.id, "name": agency.name, "commission_pct": str(agency.agency_commission_pct)}
        if agency
        else None,
        "buyer": {"name": buyer.name, "email": buyer.email, "title": buyer.title} if buyer else None,
        "rep": {"name": proposal.owner.name, "email": proposal.owner.email},
        "currency": proposal.currency,
        "rate_card": {"id": proposal.rate_card.id, "name": proposal.rate_card.name},
        "flight": {
            "start": proposal.start_day.isoformat(),
            "end": proposal.end_day.isoformat(),
            "time_zone": proposal.time_zone,
        },
        "budget_goal": None if proposal.budget_goal is None else str(proposal.budget_goal),
        "discount_pct": str(proposal.discount_pct),
        "expires_on": proposal.expires_on.isoformat() if proposal.expires_on else None,
        "notes": proposal.notes,
        "terms": proposal.terms,
        "lines": [
            {
                "position": line.position,
                "product": {"id": line.product.id, "name": line.product.name, "category": line.product.category},
                "pricing_model": line.pricing_model,
                "targeting": line.targeting,
                "targeting_words": targeting_words(line.targeting, names),
                "start": line.start_day.isoformat(),
                "end": line.end_day.isoformat(),
                "time_zone": line.time_zone,
                "units": line.units,
                "quantity": line.quantity,
                "budget": None if line.budget is None else str(line.budget),
                "discount_pct": str(line.discount_pct),
                "list_rate": line.price["price"]["list_rate"] if line.price else None,
                "net_rate": None if line.net_rate is None else str(line.net_rate),
                "gross": str(line.gross),
                "commission": str(line.commission),
                "net": str(line.net),
                "available": line.available,
                "problems": list(line.problems),
                "price": line.price["price"] if line.price else None,
                "order_line_id": line.order_line_id,
                "make_good_of_id": line.make_good_of_id,
            }
            for line in proposal.lines
        ],
        "totals": {
            "gross": str(t.gross),
            "commission": str(t.commission),
            "net": str(t.net),
            "impressions": t.impressions,
            "effective_cpm": None if t.effective_cpm is None else str(t.effective_cpm),
        },
    }


def freeze_version(
    proposal: Proposal, *, actor: User, now: datetime, render=None, publisher_name: str = ""
) -> ProposalVersion:
    """An immutable snapshot of the proposal as it stands, with its PDF and the PDF's SHA-256."""
    if not can_edit(actor, proposal):
        raise Forbidden("Only the proposal's rep, sales managers and admins make versions.")
    if not proposal.lines:
        raise DomainError("Add at least one line before making a version.")
    number = len(proposal.versions) + 1
    data = snapshot(proposal, number=number, now=now)
    version = ProposalVersion(number=number, snapshot=data, created_at=now, created_by_id=actor.id)
    if render is not None:
        from app.proposals.pdf import render_pdf, sha256_of

        version.pdf = render_pdf(data, publisher_name=publisher_name, **render)
        version.pdf_sha256 = sha256_of(version.pdf)
    proposal.versions.append(version)
    db.session.flush()
    record(
        actor=actor,
        entity_type="proposal",
        entity_id=proposal.id,
        action="version made",
        at=now,
        summary=f"Version {number}: {len(data['lines'])} lines, {data['totals']['gross']} {proposal.currency} gross.",
        after={"version": number, "pdf_sha256": version.pdf_sha256},
    )
    return version


def diff(old: dict, new: dict) -> dict:
    """What changed between two version snapshots, in words: proposal fields, lines added, removed
    and changed (matched by position and product), and the totals."""
    fields = []
    for key, label in (
        ("campaign_name", "Campaign"),
        ("currency", "Currency"),
        ("budget_goal", "Budget goal"),
        ("discount_pct", "Proposal discount (%)"),
        ("expires_on", "Expires"),
        ("terms", "Terms"),
        ("notes", "Notes"),
    ):
        if old.get(key) != new.get(key):
            fields.append((label, old.get(key), new.get(key)))
    for key, label in (("flight", "Flight"), ("rate_card", "Rate card"), ("agency", "Agency"), ("buyer", "Buyer")):
        a, b = old.get(key), new.get(key)
        if a != b:
            fields.append((label, _words(a), _words(b)))

    def key(line: dict) -> tuple:
        return (line["product"]["id"], line["pricing_model"], line["start"], line["end"], line["targeting_words"])

    old_lines, new_lines = list(old["lines"]), list(new["lines"])
    changed, added, removed = [], [], []
    unmatched_new = list(new_lines)
    for line in old_lines:
        twin = next((n for n in unmatched_new if key(n) == key(line)), None)
        if twin is None:
            twin = next((n for n in unmatched_new if n["product"]["id"] == line["product"]["id"]), None)
        if twin is None:
            removed.append(line)
            continue
        unmatched_new.remove(twin)
        changes = [
            (label, line.get(k), twin.get(k))
            for k, label in (
                ("targeting_words", "Targeting"),
                ("start", "Start"),
                ("end", "End"),
                ("pricing_model", "Pricing model"),
                ("units", "Quantity"),
                ("discount_pct", "Line discount (%)"),
                ("net_rate", "Net rate"),
                ("gross", "Cost"),
            )
            if line.get(k) != twin.get(k)
        ]
        if changes:
            changed.append((twin, changes))
    added = unmatched_new
    totals_changes = [
        (label, old["totals"].get(k), new["totals"].get(k))
        for k, label in (("gross", "Gross"), ("net", "Net"), ("impressions", "Impressions"))
        if old["totals"].get(k) != new["totals"].get(k)
    ]
    return {"fields": fields, "added": added, "removed": removed, "changed": changed, "totals": totals_changes}


def _words(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        if "start" in value:
            return f"{value['start']} to {value['end']} ({value.get('time_zone', '')})"
        return str(value.get("name", value))
    return str(value)


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
    added = []
    try:
        with db.session.begin_nested():
            for member in members:
                product = member.product
                model = _default_model(product)
                data = LineData(
                    product_id=product.id,
                    pricing_model=model,
                    start_day=proposal.start_day,
                    end_day=proposal.end_day,
                    time_zone=proposal.time_zone,
                    quantity=impressions if model == rules.CPM else None,
                    discount_pct=package.discount_pct,
                )
                try:
                    added.append(add_line(proposal, data, actor=actor, today=today, now=now, margin_pct=margin_pct))
                except ValidationFailed as exc:
                    problems = "; ".join(m for messages in exc.errors.values() for m in messages)
                    raise ValidationFailed({"package": [f"{product.name}: {problems}"]}) from None
    except ValidationFailed:
        db.session.expire(proposal, ["lines"])
        raise
    return added


#: Columns of a pasted line: product name, impressions, first day, last day (tab, comma or semicolon separated).
PASTE_COLUMNS = ("product", "impressions", "start", "end")


def paste_lines(
    proposal: Proposal, text: str, *, actor: User, today: date, now: datetime, margin_pct: int
) -> list[ProposalLine]:
    """Lines pasted from a spreadsheet, one per row: product, impressions, and optionally the
    flight's first and last day (else the proposal's). All of them or none; each problem names
    its row."""
    import csv
    import io

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
    added = []
    try:
        with db.session.begin_nested():
            for number, data in enumerate(parsed, start=1):
                try:
                    added.append(add_line(proposal, data, actor=actor, today=today, now=now, margin_pct=margin_pct))
                except ValidationFailed as exc:
                    messages = "; ".join(m for ms in exc.errors.values() for m in ms)
                    raise ValidationFailed({"paste": [f"Row {number}: {messages}"]}) from None
    except ValidationFailed:
        db.session.expire(proposal, ["lines"])
        raise
    return added


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
            priced = _price(proposal, probe, actor=actor, today=today, now=now, margin_pct=margin_pct)
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
        reasons.append(f"{available:,} impressions available over the flight")
        if impressions == available:
            reasons.append("all of them taken")
        picks.append(
            Recommendation(product.id, product.name, impressions, rate_, cost, available, "; ".join(reasons) + ".")
        )
    return picks


def _ordinal(n: int) -> str:
    return {1: "", 2: "second ", 3: "third "}.get(n, f"{n}th ")
