"""E-mails of the workflow: a request to each approver, each decision to the rep. They go through
the outbox (app.mail), in the same transaction as the change they announce."""

from __future__ import annotations

from datetime import datetime

from app.formats import plural
from app.mail.service import queue
from app.proposals.models import Proposal
from app.proposals.snapshot import VersionSnapshot
from app.settings import Settings
from app.workflow.authors import approvers_of
from app.workflow.models import ApprovalRequest


def approvers_asked(
    requests: list[ApprovalRequest], *, now: datetime, settings: Settings, reminder: bool = False
) -> None:
    for r in requests:
        p = r.proposal
        for approver in approvers_of(r):
            queue(
                to=[approver.email],
                subject=f"{'Reminder: approval' if reminder else 'Approval'} needed: {p.number} {p.campaign_name} "
                f"(step {r.step})",
                text=(
                    f"Hello {approver.name},\n\n{p.owner.name} asks for your approval of proposal {p.number}, "
                    f"“{p.campaign_name}” for {p.advertiser.name}, version {r.version.number}, "
                    f"{VersionSnapshot.of(r.version).totals.net} {p.currency} net.\n\n"
                    f"What the rule “{r.rule_name}” looked at:\n"
                    + "".join(f"- {why}\n" for why in r.reasons)
                    + f"\nYour queue: {settings.link('/workflow/queue')}\n"
                    + f"The proposal: {settings.link(f'/proposals/{p.id}')}\n"
                ),
                related=("proposal", p.id),
                now=now,
            )


def rep_told(proposal: Proposal, subject: str, body: str, *, now: datetime, settings: Settings) -> None:
    owner = proposal.owner
    queue(
        to=[owner.email],
        subject=f"{subject}: {proposal.number} {proposal.campaign_name}",
        text=f"Hello {owner.name},\n\n{body}\n\nThe proposal: {settings.link(f'/proposals/{proposal.id}')}\n",
        related=("proposal", proposal.id),
        now=now,
    )


def escalated(request: ApprovalRequest, admins, *, waited, now: datetime, settings: Settings) -> None:
    p = request.proposal
    hours = int(waited.total_seconds() // 3600)
    for admin in admins:
        queue(
            to=[admin.email],
            subject=f"Escalation: {p.number} {p.campaign_name} waits for approval ({hours} h)",
            text=(
                f"Hello {admin.name},\n\nstep {request.step} of proposal {p.number} ({request.rule_name}) has "
                f"waited {plural(hours, 'hour', 'hours')} for its approver. "
                "Ask them, or change the rule so that someone else decides.\n\n"
                f"The proposal: {settings.link(f'/proposals/{p.id}')}\n"
            ),
            related=("proposal", p.id),
            now=now,
        )
