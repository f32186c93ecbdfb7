"""Where a request stands, said to the approver and the rep; every fact a rule looked at on the
approver's card; the demo's proposals each reach the approver the README names."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import current_settings, db
from app.mail.models import OutboxMessage
from app.proposals.models import Proposal, ProposalStatus
from app.workflow import service
from app.workflow.models import RequestStatus
from tests.conftest import DEMO_USERS, now, user
from tests.integration.test_proposals import rep
from tests.integration.test_workflow import manager, proposal_with


def mails_to(address: str) -> list[OutboxMessage]:
    return [
        m
        for m in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
        if m.to_addresses == [address]
    ]


def decide(request, who, *, approve: bool = True, comment: str = "") -> service.Decision:
    return service.decide(request, approve=approve, comment=comment, actor=who, now=now(), settings=current_settings())


def submit(proposal) -> None:
    service.submit(proposal, actor=rep(), now=now(), acknowledged=True, settings=current_settings())


def test_an_approval_that_leaves_finance_pending_says_so_and_tells_the_rep_nothing_until_the_step_is_done(ctx):
    proposal = proposal_with(discount="18")
    submit(proposal)
    by_role = {r.approver_role: r for r in service.requests_of(proposal)}
    told_before = len(mails_to("rep@harbour.example"))

    outcome = decide(by_role["sales_manager"], manager(), comment="Keep the discount for this one")
    assert not outcome.step_done and not outcome.proposal_done
    assert outcome.waiting_for == ["Finance (Sofia Lindqvist)"]
    assert len(mails_to("rep@harbour.example")) == told_before  # nothing to tell yet

    outcome = decide(by_role["finance"], user(DEMO_USERS["finance"]), comment="Fine by us")
    assert outcome.proposal_done and proposal.status == ProposalStatus.APPROVED.value
    told = mails_to("rep@harbour.example")[told_before:]
    assert [m.subject.split(":")[0] for m in told] == ["Approved"]
    # The comments wait for the e-mail that tells the rep something.
    assert "Grace Okafor (Sales manager: discount or size): Keep the discount for this one" in told[0].text
    assert "Sofia Lindqvist (Finance: new advertiser, credit hold or non-standard terms): Fine by us" in told[0].text
    assert not any("Step 1 approved" in m.subject for m in mails_to("rep@harbour.example"))


def test_a_finished_step_tells_the_rep_who_has_the_next_one(ctx):
    proposal = proposal_with(quantity=40_000_000)  # over 250,000 net: the VP decides in step 2
    submit(proposal)
    told_before = len(mails_to("rep@harbour.example"))
    step_one = [r for r in service.requests_of(proposal) if r.step == 1]
    outcomes = [decide(r, user(DEMO_USERS[r.approver_role])) for r in step_one]
    assert [o.step_done for o in outcomes] == [False] * (len(step_one) - 1) + [True]
    assert outcomes[-1].next_step == 2 and outcomes[-1].waiting_for == ["Daniel Moreau"]
    told = mails_to("rep@harbour.example")[told_before:]
    assert len(told) == 1 and told[0].subject.startswith("Step 1 approved:")
    assert "Step 2 is with Daniel Moreau now." in told[0].text


def test_a_rejection_tells_the_rep_at_once(ctx):
    proposal = proposal_with(discount="18")
    submit(proposal)
    finance = next(r for r in service.requests_of(proposal) if r.approver_role == "finance")
    outcome = decide(finance, user(DEMO_USERS["finance"]), approve=False, comment="Pay the invoices first")
    assert outcome.proposal_done and not outcome.approved
    assert mails_to("rep@harbour.example")[-1].subject.startswith("Rejected:")


def test_the_finance_card_for_an_advertiser_on_credit_hold_lists_every_fact_its_rule_looked_at(ctx):
    proposal = proposal_with(discount="18", advertiser="Halden Auto Group")  # on credit hold, new
    submit(proposal)
    by_role = {r.approver_role: r for r in service.requests_of(proposal)}
    finance = by_role["finance"].reasons
    assert finance[:3] == ["new advertiser: yes", "advertiser on credit hold: yes", "non-standard terms: no"]
    assert any(why.startswith("the rep was warned: the advertiser's credit is on hold") for why in finance)
    # The manager's card, too, says what did not hold as well as what did.
    manager_card = by_role["sales_manager"].reasons
    assert manager_card[0] == "largest discount 18 % is above 15 %"
    assert manager_card[1].startswith("total net £") and manager_card[1].endswith("is not above 50,000")


def demo_proposal(name: str) -> Proposal:
    return db.session.scalar(sa.select(Proposal).where(Proposal.campaign_name == name))


def test_each_demo_proposal_reaches_the_approver_the_readme_names(ctx):
    """Summer drive: the sales manager and finance (step 1); Autumn savings: finance only; Spring
    relaunch: the sales manager, then the VP."""
    found = {}
    for name in ("Summer drive", "Autumn savings", "Spring relaunch"):
        proposal = demo_proposal(name)
        submit(proposal)
        found[name] = sorted(
            (r.step, r.approver_user.name if r.approver_user else r.approver_role, r.status)
            for r in service.requests_of(proposal)
        )
    assert found["Summer drive"] == [(1, "finance", "pending"), (1, "sales_manager", "pending")]
    assert found["Autumn savings"] == [(1, "finance", "pending")]
    assert found["Spring relaunch"] == [(1, "sales_manager", "pending"), (2, "Daniel Moreau", "waiting")]
    summer = {r.approver_role: r for r in service.requests_of(demo_proposal("Summer drive"))}
    assert "advertiser on credit hold: yes" in summer["finance"].reasons

    def vp_queue() -> list[tuple[str, int]]:
        return [(r.proposal.campaign_name, r.step) for r in service.queue_for(user("vp@harbour.example"))]

    assert ("Spring relaunch", 2) not in vp_queue()  # the VP's turn comes after step 1
    spring = demo_proposal("Spring relaunch")
    decide(next(r for r in service.requests_of(spring) if r.step == 1), manager())
    assert ("Spring relaunch", 2) in vp_queue()
    assert all(r.status != RequestStatus.WAITING.value for r in service.requests_of(spring))
