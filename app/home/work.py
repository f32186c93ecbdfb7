"""Each role's work for the home page, in words: what stands where and what to do next. Reads
through the domains' queries; no Flask (the acting user, the moment and the day are arguments)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from app.adserver import delivery
from app.adserver.models import PushJob
from app.adserver.service import UNMAPPED_PREFIX
from app.auth.models import User
from app.finance import figures as finance_figures
from app.finance import revenue
from app.home import queries
from app.orders import queries as order_queries
from app.orders.models import Order, OrderStatus
from app.proposals.models import Proposal, ProposalStatus
from app.workflow import service as workflow
from app.workflow.approval_rules import approver_label
from app.workflow.models import ApprovalRequest

S = ProposalStatus
#: How many items each list shows; its "see all" link leads to the rest.
LIST_LENGTH = 10
#: Holds that expire within this long are listed on the rep's home page.
HOLDS_SOON = timedelta(days=3)

STATE_LABELS = {
    S.REJECTED: "Rejected",
    S.APPROVED: "Approved, ready to send",
    S.SUBMITTED: "Awaiting approval",
    S.SENT: "Sent, awaiting signature",
    S.DRAFT: "Draft",
}


@dataclass(frozen=True)
class Bounded:
    """The first items of a list and how many there are in all."""

    items: list
    total: int

    @property
    def more(self) -> bool:
        return self.total > len(self.items)


@dataclass(frozen=True)
class ProposalItem:
    proposal: Proposal
    state: ProposalStatus
    next_step: str
    #: a rejection's comment, quoted under the next step
    comment: str = ""

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]


@dataclass(frozen=True)
class RepWork:
    proposals: Bounded
    #: (hold, proposal line or None, proposal or None)
    holds: Bounded
    holds_within: timedelta = HOLDS_SOON


@dataclass(frozen=True)
class AdOpsWork:
    orders: Bounded
    first_days: dict[int, date]
    failed: Bounded
    at_risk: Bounded


@dataclass(frozen=True)
class MonthFigures:
    month: date
    #: currency -> {"gross", "commission", "net", "recognised"}
    by_currency: dict[str, dict] = field(default_factory=dict)


def rep_work(user: User, *, now: datetime) -> RepWork:
    proposals, total = queries.open_proposals_of(user.id, limit=LIST_LENGTH)
    rejected = queries.rejections_of([p.id for p in proposals if p.status == S.REJECTED.value])
    pending = queries.pending_requests_of([p.id for p in proposals if p.status == S.SUBMITTED.value])
    links = queries.signing_links_of([p.id for p in proposals if p.status == S.SENT.value])
    items = [proposal_item(p, rejected.get(p.id), pending.get(p.id, []), links.get(p.id)) for p in proposals]
    holds, held = queries.holds_expiring(user.id, now=now, until=now + HOLDS_SOON, limit=LIST_LENGTH)
    return RepWork(Bounded(items, total), Bounded(holds, held))


def proposal_item(proposal: Proposal, rejection: ApprovalRequest | None, pending, link) -> ProposalItem:
    state = ProposalStatus(proposal.status)
    if state == S.REJECTED:
        who = rejection.decided_by.name if rejection and rejection.decided_by else "An approver"
        step = f" at step {rejection.step} ({rejection.rule_name})" if rejection else ""
        return ProposalItem(
            proposal,
            state,
            f"{who} rejected it{step}: change it and submit it again.",
            rejection.comment if rejection else "",
        )
    if state == S.APPROVED:
        return ProposalItem(proposal, state, "Every step approved it: send it to the buyer.")
    if state == S.SUBMITTED:
        names = list(dict.fromkeys(approver_label(r.approver_role, r.approver_user) for r in pending))
        waiting = " and ".join(names) if names else "the approvers"
        return ProposalItem(proposal, state, f"Waiting for {waiting} to decide.")
    if state == S.SENT:
        to = f" at {link.sent_to}" if link else ""
        return ProposalItem(proposal, state, f"Waiting for the buyer{to} to sign; send it again if they lost the link.")
    return ProposalItem(proposal, state, "Add or check its lines, then submit it for approval.")


def approvals_for(user: User) -> Bounded:
    """The approval requests waiting for the user, oldest first."""
    return Bounded(workflow.queue_for(user, limit=LIST_LENGTH), workflow.queue_length(user))


def ad_ops_work(*, today: date) -> AdOpsWork:
    orders, total = queries.orders_to_set_up(limit=LIST_LENGTH)
    failed, failed_total = queries.failed_pushes(limit=LIST_LENGTH)
    at_risk = delivery.at_risk_lines(today=today)
    return AdOpsWork(
        Bounded(orders, total),
        order_queries.first_days([o.id for o in orders]) if orders else {},
        Bounded(failed, failed_total),
        Bounded(at_risk[:LIST_LENGTH], len(at_risk)),
    )


def set_up_step(order: Order) -> str:
    """What ad ops do next with an order that is not set up."""
    if order.status == OrderStatus.NEEDS_ATTENTION.value:
        return "Some lines could not be booked in full (or have no quantity): book them by hand."
    return "Not in the ad server yet: push it from its page."


def needs_mappings(job: PushJob) -> bool:
    """The push failed because items have no id on its ad server: the mapping page fixes that."""
    return job.last_error.startswith(UNMAPPED_PREFIX)


def month_figures(*, today: date) -> MonthFigures:
    """This month's booked and recognised revenue per currency, from finance's own rows."""
    month = revenue.month_of(today)
    return MonthFigures(month, finance_figures.month_totals(month).by_currency)
