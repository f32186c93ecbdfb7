"""The approval workflow on the demo's rules: plans in words, steps in order, decisions, abuse."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from app.accounts.models import Account
from app.errors import Conflict, DomainError, Forbidden, ValidationFailed
from app.extensions import current_clock, current_settings, db
from app.proposals import access, holds, lines
from app.proposals import service as proposals
from app.proposals.models import ProposalStatus
from app.proposals.states import transition
from app.workflow import approval_rules, authors, reminders, service
from app.workflow.models import ApprovalRequest, ApprovalRule, RequestStatus
from tests.conftest import DEMO_USERS, now, user
from tests.integration.test_proposals import line_data, new_proposal, rep, settings


def manager():
    return user(DEMO_USERS["sales_manager"])


def proposal_with(discount: str = "0", quantity: int = 500_000, advertiser: str = "Ferrymoor Bank"):
    proposal = new_proposal(advertiser_id=db.session.scalar(sa.select(Account.id).where(Account.name == advertiser)))
    lines.add_line(
        proposal, line_data(proposal, quantity=quantity, discount_pct=D(discount)), actor=rep(), **settings()
    )
    return proposal


def test_the_plan_says_which_steps_and_why_in_words(ctx):
    proposal = proposal_with(discount="18")
    plan = approval_rules.plan_for(proposal, standard_terms=current_settings().standard_terms)
    steps = {who: reasons for step in plan.steps for _rule, who, reasons in step.approvals}
    # Every condition a matching rule looked at, with its value (what holds, and what does not).
    assert steps["Sales manager"][0] == "largest discount 18 % is above 15 %"
    assert steps["Sales manager"][1].startswith("total net £") and steps["Sales manager"][1].endswith(
        "not above 50,000"
    )
    assert steps["Finance"] == ["new advertiser: yes", "advertiser on credit hold: no", "non-standard terms: no"]
    assert plan.blocks == [] and plan.warnings == []


def test_submitting_freezes_a_version_and_asks_the_first_step(ctx):
    proposal = proposal_with(discount="18")
    version = service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    assert proposal.status == ProposalStatus.SUBMITTED.value and version.number == 1
    requests = service.requests_of(proposal)
    assert {(r.approver_role, r.status) for r in requests} == {("sales_manager", "pending"), ("finance", "pending")}
    assert [r.proposal_id for r in service.queue_for(manager())] == [proposal.id]
    assert service.queue_for(rep()) == []  # a rep never sees their own proposal


def test_all_requests_of_a_step_must_approve_then_the_proposal_is_approved(ctx):
    proposal = proposal_with(discount="18")
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    by_role = {r.approver_role: r for r in service.requests_of(proposal)}
    service.decide(
        by_role["sales_manager"], approve=True, comment="", actor=manager(), now=now(), settings=current_settings()
    )
    assert proposal.status == ProposalStatus.SUBMITTED.value
    service.decide(
        by_role["finance"],
        approve=True,
        comment="ok",
        actor=user(DEMO_USERS["finance"]),
        now=now(),
        settings=current_settings(),
    )
    assert proposal.status == ProposalStatus.APPROVED.value


def test_a_later_step_waits_for_the_earlier_one(ctx):
    """Over 250,000 net the VP (step 2) decides after the manager (step 1)."""
    proposal = proposal_with(quantity=40_000_000)  # 8.40 less 15 % at 10M+: about 285,600
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    requests = service.requests_of(proposal)
    vp = next(r for r in requests if r.step == 2)
    assert vp.status == RequestStatus.WAITING.value
    for r in requests:
        if r.step == 1:
            service.decide(
                r,
                approve=True,
                comment="",
                actor=user(DEMO_USERS[r.approver_role]),
                now=now(),
                settings=current_settings(),
            )
    assert vp.status == RequestStatus.PENDING.value and proposal.status == "submitted"
    service.decide(
        vp, approve=True, comment="", actor=user("vp@harbour.example"), now=now(), settings=current_settings()
    )
    assert proposal.status == ProposalStatus.APPROVED.value


def test_a_rejection_sends_the_proposal_back_with_the_comment_and_cancels_the_rest(ctx):
    proposal = proposal_with(discount="18")
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    by_role = {r.approver_role: r for r in service.requests_of(proposal)}
    with pytest.raises(ValidationFailed):
        service.decide(
            by_role["sales_manager"],
            approve=False,
            comment=" ",
            actor=manager(),
            now=now(),
            settings=current_settings(),
        )
    service.decide(
        by_role["sales_manager"],
        approve=False,
        comment="Keep it under 15 %",
        actor=manager(),
        now=now(),
        settings=current_settings(),
    )
    assert proposal.status == ProposalStatus.REJECTED.value and proposal.is_editable
    assert by_role["finance"].status == RequestStatus.CANCELLED.value
    # Deciding again, or deciding a cancelled request, changes nothing.
    with pytest.raises(Conflict):
        service.decide(
            by_role["sales_manager"], approve=True, comment="", actor=manager(), now=now(), settings=current_settings()
        )
    with pytest.raises(Conflict):
        service.decide(
            by_role["finance"],
            approve=True,
            comment="",
            actor=user(DEMO_USERS["finance"]),
            now=now(),
            settings=current_settings(),
        )
    # Resubmitting makes version 2 with fresh requests.
    version = service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    assert version.number == 2 and all(r.status == "pending" for r in service.requests_of(proposal, version.id))


def test_only_the_right_approver_decides(ctx):
    proposal = proposal_with(discount="18")
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    finance_request = next(r for r in service.requests_of(proposal) if r.approver_role == "finance")
    with pytest.raises(Forbidden):
        service.decide(
            finance_request, approve=True, comment="", actor=manager(), now=now(), settings=current_settings()
        )
    with pytest.raises(Forbidden):
        service.decide(finance_request, approve=True, comment="", actor=rep(), now=now(), settings=current_settings())


def test_a_manager_never_approves_their_own_proposal(ctx):
    proposal = proposal_with(discount="18")
    proposal.owner_id = manager().id
    service.submit(proposal, actor=manager(), now=now(), acknowledged=False, settings=current_settings())
    assert service.queue_for(manager()) == []
    request = next(r for r in service.requests_of(proposal) if r.approver_role == "sales_manager")
    with pytest.raises(Forbidden):
        service.decide(request, approve=True, comment="", actor=manager(), now=now(), settings=current_settings())
    assert [r.proposal_id for r in service.queue_for(user("vp@harbour.example"))] == [proposal.id]


def test_a_block_stops_submission_and_a_warning_needs_acknowledging(ctx):
    blocked = proposal_with(discount="45")
    with pytest.raises(ValidationFailed) as failure:
        service.submit(blocked, actor=rep(), now=now(), acknowledged=True, settings=current_settings())
    assert "a discount above 40 % is never offered" in failure.value.errors["submit"][0]
    assert blocked.status == "draft" and blocked.versions == []
    on_hold = proposal_with(advertiser="Halden Auto Group")
    on_hold.advertiser.credit_status = "on_hold"
    with pytest.raises(ValidationFailed) as failure:
        service.submit(on_hold, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    assert "acknowledge" in failure.value.errors
    service.submit(on_hold, actor=rep(), now=now(), acknowledged=True, settings=current_settings())
    assert on_hold.status == "submitted"


def test_withdrawing_cancels_the_requests_and_returns_to_draft(ctx):
    proposal = proposal_with(discount="18")
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    service.withdraw(proposal, actor=rep(), now=now())
    assert proposal.status == "draft"
    assert {r.status for r in service.requests_of(proposal)} == {"cancelled"}
    with pytest.raises(DomainError):
        transition(proposal, ProposalStatus.SIGNED, actor=rep(), now=now(), why="skipping ahead")


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ([], "at least one condition"),
        ([{"field": "mood", "op": "=", "value": "1"}], "Unknown field"),
        ([{"field": "total_net", "op": "contains", "value": "1"}], "does not apply"),
        ([{"field": "total_net", "op": ">", "value": "lots"}], "is not a number"),
    ],
)
def test_bad_rules_are_refused_with_a_reason(ctx, conditions, message):
    data = approval_rules.RuleData("Bad", "approval", conditions, "all", 1, "finance")
    with pytest.raises(ValidationFailed) as failure:
        approval_rules.save_rule(None, data, expected_version=None, actor=user(DEMO_USERS["admin"]), now=now())
    assert message in " ".join(failure.value.errors["conditions"])
    assert db.session.scalar(sa.select(ApprovalRule.id).where(ApprovalRule.name == "Bad")) is None


def test_a_rule_can_be_tried_on_open_proposals_before_it_is_saved(ctx):
    proposal_with(discount="18")
    proposal_with(discount="5")
    data = approval_rules.RuleData("Trial", "approval", [{"field": "max_discount_pct", "op": ">", "value": "10"}])
    hits, total = approval_rules.try_rule(data, standard_terms=current_settings().standard_terms)
    assert total >= 2 and len(hits) == 1 + sum(1 for p in hits if p.campaign_name != "Spring launch")
    assert db.session.scalar(sa.select(sa.func.count(ApprovalRequest.id))) == 0


def test_approvers_are_asked_and_the_rep_hears_each_decision_by_e_mail(ctx):
    from app.mail.models import OutboxMessage

    def mails():
        return db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()

    proposal = proposal_with(discount="18")
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    asked = {to for m in mails() for to in m.to_addresses}
    assert {"manager@harbour.example", "vp@harbour.example", "finance@harbour.example"} <= asked
    assert "rep@harbour.example" not in asked
    manager_mail = next(m for m in mails() if m.to_addresses == ["manager@harbour.example"])
    assert "largest discount 18 % is above 15 %" in manager_mail.text and "/workflow/queue" in manager_mail.text
    request = next(r for r in service.requests_of(proposal) if r.approver_role == "sales_manager")
    service.decide(
        request, approve=False, comment="Keep it under 15 %", actor=manager(), now=now(), settings=current_settings()
    )
    told = mails()[-1]
    assert told.to_addresses == ["rep@harbour.example"] and told.subject.startswith("Rejected:")
    assert "Keep it under 15 %" in told.text and (told.related_type, told.related_id) == ("proposal", proposal.id)


def test_old_requests_are_reminded_then_escalated_and_expired_offers_release_their_holds(ctx):
    from datetime import timedelta

    from app.inventory.models import Reservation
    from app.mail.models import OutboxMessage

    proposal = proposal_with(discount="18")
    holds.hold_all(proposal, actor=rep(), hold_days=7, today=current_clock().today(), now=now(), margin_pct=10)
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    assert reminders.remind(now=now() + timedelta(hours=1), settings=current_settings()) == (0, 0)
    assert reminders.remind(now=now() + timedelta(hours=25), settings=current_settings()) == (2, 0)
    assert reminders.remind(now=now() + timedelta(hours=26), settings=current_settings()) == (0, 0)  # once
    assert reminders.remind(now=now() + timedelta(hours=73), settings=current_settings()) == (0, 2)
    subjects = db.session.scalars(sa.select(OutboxMessage.subject)).all()
    assert any(s.startswith("Reminder: approval needed") for s in subjects)
    assert any(s.startswith("Escalation:") for s in subjects)
    hold_id = proposal.lines[0].hold_id
    proposal.expires_on = current_clock().today() - timedelta(days=1)
    assert reminders.expire(now=now(), today=current_clock().today()) == 1
    assert proposal.status == "expired" and db.session.get(Reservation, hold_id).released_at is not None


def test_a_named_approver_who_owns_the_proposal_hands_the_request_to_the_admins(ctx):
    proposal = proposal_with(quantity=40_000_000)
    vp = user("vp@harbour.example")
    proposal.owner_id = vp.id
    service.submit(proposal, actor=vp, now=now(), acknowledged=True, settings=current_settings())
    request = next(r for r in service.requests_of(proposal) if r.step == 2)
    assert request.approver_role == "admin" and request.approver_user_id is None
    assert "an admin decides" in request.reasons[-1]


def test_a_rule_value_out_of_range_is_refused(ctx):
    data = approval_rules.RuleData(
        "Huge", "approval", [{"field": "total_net", "op": ">", "value": "1e999999999999"}], "all", 1, "finance"
    )
    with pytest.raises(ValidationFailed) as failure:
        approval_rules.save_rule(None, data, expected_version=None, actor=user(DEMO_USERS["admin"]), now=now())
    assert "must be at most 100,000,000,000" in failure.value.errors["conditions"][0]


def test_a_rep_asked_to_approve_may_read_the_proposal(ctx):
    other = user("rep2@harbour.example")
    proposal = proposal_with(discount="18")
    assert not access.can_read(other, proposal)
    data = approval_rules.RuleData(
        "Rep2 reviews", "approval", [{"field": "lines", "op": ">=", "value": "1"}], "all", 1, None, other.id
    )
    approval_rules.save_rule(None, data, expected_version=None, actor=user(DEMO_USERS["admin"]), now=now())
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    assert access.can_read(other, proposal)
    assert [r.proposal_id for r in service.queue_for(other)] == [proposal.id]


def test_only_a_proposal_with_an_order_goes_back_to_signed_without_the_buyer(ctx):
    from app.proposals.states import CHANGE_ORDER_TRANSITIONS

    proposal = proposal_with()
    assert ProposalStatus.SIGNED in CHANGE_ORDER_TRANSITIONS[ProposalStatus.DRAFT]
    with pytest.raises(DomainError, match="cannot become signed"):
        transition(proposal, ProposalStatus.SIGNED, actor=rep(), now=now(), why="no order, no shortcut")


# -- Nobody decides a version they built ---------------------------------------------------------


def vp():
    return user("vp@harbour.example")


def manager_request(proposal):
    return next(r for r in service.requests_of(proposal) if r.approver_role == "sales_manager")


def cannot_decide(who, request) -> None:
    assert not service.can_decide(who, request)
    assert request.id not in [r.id for r in service.queue_for(who)]
    assert who.id not in [u.id for u in authors.approvers_of(request)]
    with pytest.raises(Forbidden):
        service.decide(request, approve=True, comment="", actor=who, now=now(), settings=current_settings())


def test_a_manager_who_created_a_proposal_for_a_rep_cannot_decide_it_another_manager_does(ctx):
    draft = new_proposal(advertiser_id=db.session.scalar(sa.select(Account.id).where(Account.name == "Ferrymoor Bank")))
    data = proposals.ProposalData(**{k: getattr(draft, k) for k in proposals.FIELD_LABELS})
    proposal = proposals.create_proposal(data, actor=manager(), now=now(), today=settings()["today"])
    assert proposal.owner_id == rep().id
    lines.add_line(proposal, line_data(proposal, discount_pct=D("18")), actor=rep(), **settings())
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    request = manager_request(proposal)
    cannot_decide(manager(), request)
    assert service.can_decide(vp(), request) and vp().id in [u.id for u in authors.approvers_of(request)]
    service.decide(request, approve=True, comment="", actor=vp(), now=now(), settings=current_settings())
    assert request.status == "approved"


def test_a_manager_who_edited_a_line_or_submitted_cannot_decide_the_version(ctx):
    proposal = proposal_with(discount="18")
    line = proposal.lines[0]
    data = lines.data_of(line)
    data.quantity = 400_000
    lines.update_line(line, data, actor=manager(), **settings())
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    cannot_decide(manager(), manager_request(proposal))
    assert service.can_decide(vp(), manager_request(proposal))

    other = proposal_with(discount="18")
    service.submit(
        other, actor=manager(), now=now(), acknowledged=False, settings=current_settings()
    )  # submitted by the manager
    cannot_decide(manager(), manager_request(other))


def test_when_every_holder_of_the_role_built_the_version_the_admins_decide(ctx):
    proposal = proposal_with(discount="18")
    for who in (manager(), vp()):
        data = lines.data_of(proposal.lines[0])
        data.quantity = 400_000 + who.id
        lines.update_line(proposal.lines[0], data, actor=who, **settings())
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    request = next(r for r in service.requests_of(proposal) if r.rule_name == "Sales manager: discount or size")
    assert request.approver_role == "admin" and "an admin decides" in request.reasons[-1]
    cannot_decide(manager(), request)
    service.decide(
        request, approve=True, comment="", actor=user(DEMO_USERS["admin"]), now=now(), settings=current_settings()
    )


def test_a_named_approver_who_edited_the_version_hands_it_to_the_admins(ctx):
    proposal = proposal_with(quantity=40_000_000)
    data = lines.data_of(proposal.lines[0])
    data.quantity = 39_000_000
    lines.update_line(proposal.lines[0], data, actor=vp(), **settings())
    service.submit(proposal, actor=rep(), now=now(), acknowledged=True, settings=current_settings())
    request = next(r for r in service.requests_of(proposal) if r.step == 2)
    assert request.approver_role == "admin" and request.approver_user_id is None
    assert "an admin decides" in request.reasons[-1]


def test_deciding_an_earlier_version_is_not_building_the_next(ctx):
    proposal = proposal_with(discount="18")
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    service.decide(
        manager_request(proposal),
        approve=False,
        comment="Less discount.",
        actor=manager(),
        now=now(),
        settings=current_settings(),
    )
    data = lines.data_of(proposal.lines[0])
    data.discount_pct = D("16")
    lines.update_line(proposal.lines[0], data, actor=rep(), **settings())
    service.submit(proposal, actor=rep(), now=now(), acknowledged=False, settings=current_settings())
    assert service.can_decide(manager(), manager_request(proposal))


def test_a_step_nobody_may_decide_refuses_the_submission_and_says_who_built_the_version(ctx):
    """The only admin created the proposal for a rep and a rule asks the admins: nobody could decide it."""
    admin = user(DEMO_USERS["admin"])
    data = approval_rules.RuleData(
        "Admins: big deals", "approval", [{"field": "total_net", "op": ">", "value": "1"}], "all", 3, "admin"
    )
    approval_rules.save_rule(None, data, expected_version=None, actor=admin, now=now())
    draft = new_proposal(advertiser_id=db.session.scalar(sa.select(Account.id).where(Account.name == "Ferrymoor Bank")))
    fields = proposals.ProposalData(**{k: getattr(draft, k) for k in proposals.FIELD_LABELS})
    proposal = proposals.create_proposal(fields, actor=admin, now=now(), today=settings()["today"])
    lines.add_line(proposal, line_data(proposal), actor=rep(), **settings())
    plan = approval_rules.plan_for(proposal, submitter=rep(), standard_terms=current_settings().standard_terms)
    assert [step for step, _why in plan.stuck] == [3]
    with pytest.raises(ValidationFailed) as failure:
        service.submit(proposal, actor=rep(), now=now(), acknowledged=True, settings=current_settings())
    message = failure.value.errors["submit"][0]
    assert "Step 3" in message and "every admin built this version" in message
    assert proposal.status == ProposalStatus.DRAFT.value and proposal.versions == []
