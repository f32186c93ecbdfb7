"""The proposal's state machine: the statuses a proposal may move between, and the one guard every
status change goes through.

A signed proposal that has an order reopens as a change order; orders sit above proposals, so they
answer whether a proposal has one through `app.proposals.registry` (filled at start-up)."""

from __future__ import annotations

from datetime import datetime

from app.audit.service import record
from app.auth.models import User
from app.errors import DomainError
from app.proposals import registry
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


def transition(proposal: Proposal, to: ProposalStatus, *, actor: User | None, now: datetime, why: str) -> None:
    """The one guard every status change goes through; each change is audited."""
    current = ProposalStatus(proposal.status)
    allowed = TRANSITIONS[current]
    if to in CHANGE_ORDER_TRANSITIONS.get(current, set()) and registry.has_order(proposal):
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
