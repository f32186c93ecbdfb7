"""What proposals register with the domains beneath them, at start-up (`create_app`)."""

from __future__ import annotations

from app.audit.subjects import Subject, register_subject
from app.proposals.models import Proposal
from app.proposals.views import readable_proposal


def register() -> None:
    register_subject("proposal", Subject(Proposal, "proposals.detail", "proposal_id", readable_proposal))
