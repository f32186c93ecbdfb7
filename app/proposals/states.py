"""The proposal's state machine: the statuses a proposal may move between, and the one guard every
status change goes through.

A signed proposal that has an order reopens as a change order; orders sit above proposals, so they
tell this module how to ask whether a proposal has one (`register_order_lookup`, at start-up)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from app.audit.service import record
from app.auth.models import User
from app.errors import DomainError
from app.proposals.models import Proposal, ProposalStatus

S = ProposalStatus
TRANSITIONS = {
    S.DRAFT: {S.SUBMITTED, S.EXPIRED},
    S.SUBMITTED: {S.APPROVED, S.REJECTED, S.DRAFT, S.EXPIRED},
    S.APPROVED: {S.SENT, S.DRAFT, S.EXPIRED},
    S.REJECTED: {S.SUBMITTED, S.DRAFT, S.EXPIRED},
    S.SENT: {S.SIGNED, S.DECLINED, S.DRAFT, S.EXPIRED},
    S.SIGNED: set(),
    S.DECLINED: set(),
    S.EXPIRED: set(),
}
#: Only for a proposal that has an order (a change order): it reopens, and it is signed again when
#: approved (applied at once) or discarded (back to the signed version).
CHANGE_ORDER_TRANSITIONS = {
    S.SIGNED: {S.DRAFT},
    S.APPROVED: {S.SIGNED},
    S.DRAFT: {S.SIGNED},
    S.REJECTED: {S.SIGNED},
}

#: proposal -> whether it has an order; filled in by app.orders at start-up
_order_lookup: list[Callable[[Proposal], bool]] = []


def register_order_lookup(lookup: Callable[[Proposal], bool]) -> None:
    """Orders say how to tell whether a proposal has one (the last one registered answers)."""
    _order_lookup[:] = [lookup]


def has_order(proposal: Proposal) -> bool:
    if not _order_lookup:
        raise RuntimeError("No order lookup is registered: app.orders.registration.register() was not called.")
    return _order_lookup[0](proposal)


def check_registered() -> None:
    """Refuse to start without the order lookup (called from create_app)."""
    if not _order_lookup:
        raise RuntimeError("app.proposals.states: no order lookup registered (app.orders.registration.register).")


def transition(proposal: Proposal, to: ProposalStatus, *, actor: User | None, now: datetime, why: str) -> None:
    """The one guard every status change goes through; each change is audited."""
    current = ProposalStatus(proposal.status)
    allowed = TRANSITIONS[current]
    if to in CHANGE_ORDER_TRANSITIONS.get(current, set()) and has_order(proposal):
        allowed = allowed | {to}
    if to not in allowed:
        raise DomainError(f"Proposal {proposal.number} is {current.value}: it cannot become {to.value}.")
    proposal.status = to.value
    proposal.updated_at = now
    record(
        actor=actor,
        entity_type="proposal",
        entity_id=proposal.id,
        action=f"status {to.value}",
        at=now,
        summary=why,
        before={"status": current.value},
        after={"status": to.value},
    )
