"""What the rep's home page says about each open proposal: its state and the next step, in words."""

from __future__ import annotations

from datetime import datetime

import pytest

from app.auth.models import User
from app.home.work import ProposalItem, proposal_item
from app.proposals.models import Proposal
from app.workflow.models import ApprovalRequest, SigningLink


def item(status: str, rejection=None, pending=(), link=None) -> ProposalItem:
    return proposal_item(
        Proposal(number="P-1", campaign_name="Summer drive", status=status), rejection, list(pending), link
    )


def test_a_rejected_proposal_says_who_rejected_it_at_which_step_and_quotes_the_comment():
    grace = User(name="Grace Okafor")
    rejection = ApprovalRequest(step=1, rule_name="Large deals", comment="Too deep a discount.", decided_by=grace)
    found = item("rejected", rejection)
    assert found.state_label == "Rejected"
    assert found.next_step == "Grace Okafor rejected it at step 1 (Large deals): change it and submit it again."
    assert found.comment == "Too deep a discount."


def test_a_submitted_proposal_says_whom_it_waits_for_each_once():
    pending = [
        ApprovalRequest(approver_role="finance"),
        ApprovalRequest(approver_role="finance"),
        ApprovalRequest(approver_role="sales_manager"),
    ]
    found = item("submitted", pending=pending)
    assert found.state_label == "Awaiting approval"
    assert found.next_step == "Waiting for Finance and Sales manager to decide."


@pytest.mark.parametrize(
    ("status", "label", "step"),
    [
        ("approved", "Approved, ready to send", "send it to the buyer"),
        ("sent", "Sent, awaiting signature", "Waiting for the buyer at buyer@ferrymoor.example to sign"),
        ("draft", "Draft", "submit it for approval"),
    ],
)
def test_every_other_open_state_says_what_comes_next(status, label, step):
    link = SigningLink(sent_to="buyer@ferrymoor.example", expires_at=datetime(2026, 12, 31))
    found = item(status, link=link)
    assert found.state_label == label and step in found.next_step
