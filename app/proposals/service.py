"""Proposals: the proposal itself (its header's data and checks; create, update, delete). Its lines
are in `lines`, holds in `holds`, versions in `versions`, packages, pasted lines and
recommendations in `bulk`, who may do what in `access`. Services flush; the request commits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from decimal import Decimal

from app import money
from app.accounts.models import Account, AccountKind, Contact
from app.audit.service import record, record_change
from app.auth.models import User
from app.catalog.models import Status
from app.db import Unchecked, stale
from app.errors import Conflict, DomainError, Errors
from app.extensions import db
from app.numbering import next_number
from app.pricing import service as pricing
from app.proposals import cards, lines, queries, registry
from app.proposals.access import MANAGERS, require_edit
from app.proposals.holds import release_holds
from app.proposals.models import Proposal, ProposalStatus
from app.ratecards import coverage
from app.ratecards.models import RateCard
from app.roles import Role
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
    "buyer_notes": "notes for the buyer",
    "notes": "internal notes",
    "terms": "terms",
    "expires_on": "expiry",
}


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
    #: internal notes (never on the PDF)
    notes: str = ""
    terms: str = ""
    expires_on: date | None = None
    #: notes for the buyer (printed on the PDF)
    buyer_notes: str = ""


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
    for name, day, label in (
        ("start_day", data.start_day, "flight's first day"),
        ("end_day", data.end_day, "flight's last day"),
        ("expires_on", data.expires_on, "expiry"),
    ):
        if day is not None and (problem := day_problem(day, label=label, last=LAST_DAY)):
            errors.add(name, problem)
    if data.start_day is not None and data.end_day is not None and data.end_day < data.start_day:
        errors.add("end_day", f"The flight ends ({data.end_day}) before it starts ({data.start_day}).")
    # Days outside the card's validity cannot be priced with it: the card is the proposal's horizon.
    # The message is the one the form shows as the dates are chosen (`flight_check`).
    elif (
        card is not None
        and not {"start_day", "end_day"} & errors.errors.keys()
        and (problem := flight_check(card, data.start_day, data.end_day, actor=actor, today=today))
    ):
        errors.add("end_day" if data.start_day >= card.valid_from else "start_day", problem)
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
    for name, value, limit in (
        ("buyer_notes", data.buyer_notes, 5000),
        ("notes", data.notes, 5000),
        ("terms", data.terms, 20000),
    ):
        if problem := length_problem(value, label=FIELD_LABELS[name], max_length=limit, required=False):
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
    registry.check_advertiser(proposal, data.advertiser_id)
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
        lines.reprice(line, actor=actor, today=today, now=now, margin_pct=margin_pct)
    return proposal


def delete_proposal(proposal: Proposal, *, actor: User, now: datetime) -> None:
    require_edit(actor, proposal)
    if registry.has_order(proposal):
        raise DomainError(
            f"{proposal.number} is signed and has an order: a change order in progress is submitted, never deleted."
        )
    release_holds(proposal, reason=f"proposal {proposal.number} deleted", actor=actor, now=now)
    proposal.deleted_at = now
    record(actor=actor, entity_type="proposal", entity_id=proposal.id, action="deleted", at=now, summary="Deleted.")


def header_defaults(*, actor: User, today: date) -> cards.HeaderDefaults:
    """A new proposal's flight (four weeks from next Monday, kept within one card), expiry (30 days
    from today) and a rate card the rep may use that prices the whole flight."""
    return cards.header_defaults(today, queries.usable_cards(actor, today))


def flight_check(card: RateCard, start: date | None, end: date | None, *, actor: User, today: date) -> str | None:
    """What to tell the rep when `card` does not price every day of the flight (the cards that do,
    the days each covers and what to do), before any line is added; None when it does."""
    if start is None or end is None or end < start or coverage.covers(card, start, end):
        return None
    return coverage.flight_problem(card, start, end, queries.usable_cards(actor, today))
