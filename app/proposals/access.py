"""Who may do what with a proposal."""

from __future__ import annotations

from app.auth.models import User
from app.errors import DomainError, Forbidden
from app.proposals import registry
from app.proposals.models import Proposal
from app.roles import Role

#: Roles that see and edit every proposal; reps see and edit their own.
MANAGERS = frozenset({Role.ADMIN, Role.SALES_MANAGER})
#: Roles that read every proposal.
READERS = MANAGERS | {Role.AD_OPS, Role.FINANCE}
#: Where a proposal is out for a decision or a signature, and its rep may still take it back.
WITHDRAWABLE = ("submitted", "approved", "sent")


def can_read(user: User, proposal: Proposal) -> bool:
    """Managers, admins, ad ops and finance read every proposal; a rep their own, and any proposal
    they are asked to approve."""
    return user.has_role(*READERS) or proposal.owner_id == user.id or registry.is_reader(user, proposal)


def can_edit(user: User, proposal: Proposal) -> bool:
    return user.has_role(*MANAGERS) or (user.has_role(Role.SALES_REP) and proposal.owner_id == user.id)


def require_edit(user: User, proposal: Proposal) -> None:
    if not can_edit(user, proposal):
        raise Forbidden("Only the proposal's rep, sales managers and admins change it.")
    if not proposal.is_editable:
        raise DomainError(f"Proposal {proposal.number} is {proposal.status}: it can no longer be changed.")


def can_withdraw(user: User, proposal: Proposal) -> bool:
    """Whether the page offers to take the proposal back (the rep, managers and admins, while it
    is submitted, approved or sent)."""
    return can_edit(user, proposal) and proposal.status in WITHDRAWABLE
