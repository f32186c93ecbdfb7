"""Rules in the browser's forms, submission from the proposal page, the approver's queue."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import current_clock, current_settings, db
from app.proposals.models import Proposal
from app.workflow.models import ApprovalRule
from tests.functional.test_proposal_pages import create, ids


def test_an_admin_configures_a_rule_and_tries_it_first(app, client, auth):
    auth.login_as("admin")
    form = {
        "name": "Big video",
        "kind": "approval",
        "combinator": "all",
        "field_0": "total_net",
        "op_0": ">",
        "value_0": "1000",
        "field_1": "category",
        "op_1": "is",
        "value_1": "Video",
        "step": "1",
        "approver_role": "ad_ops",
        "step_mode": "all",
        "active": "on",
    }
    trial = client.post("/workflow/rules/try", data=form).get_data(as_text=True)
    assert "This rule would apply to" in trial and "open proposals" in trial
    assert client.post("/workflow/rules/new", data=form).status_code == 302
    with app.app_context():
        rule = db.session.scalar(sa.select(ApprovalRule).where(ApprovalRule.name == "Big video"))
        assert rule.conditions[1] == {"field": "category", "op": "is", "value": "Video"}
    bad = client.post("/workflow/rules/new", data=form | {"name": "Broken", "field_0": "mood", "field_1": ""})
    assert bad.status_code == 400 and 'data-field-error="conditions"' in bad.get_data(as_text=True)
    assert "Big video" in client.get("/workflow/rules").get_data(as_text=True)


def test_rules_are_for_admins_only(client, auth):
    auth.login_as("sales_manager")
    assert client.get("/workflow/rules").status_code == 403


def test_a_rep_submits_and_a_manager_approves_from_the_queue(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    client.post(f"/proposals/{proposal_id}/lines", data={"product": ids(app)["sport"], "quantity": "7,000,000"})
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert "Sales manager" in page and "total net" in page and "is above 50,000" in page
    response = client.post(f"/workflow/proposals/{proposal_id}/submit", data={"acknowledge": "on"})
    assert response.status_code == 302
    auth.logout()
    auth.login_as("sales_manager")
    queue = client.get("/workflow/queue").get_data(as_text=True)
    assert "Spring launch" in queue and "total net" in queue
    with app.app_context():
        from app.workflow.service import requests_of

        proposal = db.session.get(Proposal, proposal_id)
        mine = next(r for r in requests_of(proposal) if r.approver_role == "sales_manager")
        request_id = mine.id
    assert client.post(f"/workflow/requests/{request_id}/decide", data={"decision": "approve"}).status_code == 302
    again = client.post(f"/workflow/requests/{request_id}/decide", data={"decision": "approve"})
    assert again.status_code == 409


def test_the_approver_gets_the_request_by_smtp_with_the_reasons(mail_app, smtp_server):
    """Through a real SMTP server on loopback: the rep submits, each approver receives a message."""
    client = mail_app.test_client()
    client.post("/login", data={"email": "rep@harbour.example", "password": "flightdeck-demo"})
    proposal_id = create(mail_app, client)
    client.post(f"/proposals/{proposal_id}/lines", data={"product": ids(mail_app)["sport"], "quantity": "7,000,000"})
    assert client.post(f"/workflow/proposals/{proposal_id}/submit", data={"acknowledge": "on"}).status_code == 302
    smtp_server.wait_for(3)
    to_manager = next(m for m in smtp_server.messages if "manager@harbour.example" in m["To"])
    body = to_manager.get_body(preferencelist=("plain",)).get_content()
    assert to_manager["Subject"].startswith("Approval needed: P-")
    assert "total net" in body and "is above 50,000" in body and f"/proposals/{proposal_id}" in body


def test_the_buyer_signs_through_the_link_in_the_e_mail_received_by_smtp(mail_app, smtp_server):
    """The approved proposal goes to the buyer by SMTP with its PDF; the link in that message signs it."""
    import re

    from app.accounts.models import Contact
    from app.db import utcnow
    from app.workflow import service
    from tests.conftest import DEMO_USERS, user

    client = mail_app.test_client()
    client.post("/login", data={"email": "rep@harbour.example", "password": "flightdeck-demo"})
    proposal_id = create(mail_app, client)
    client.post(f"/proposals/{proposal_id}/lines", data={"product": ids(mail_app)["sport"], "quantity": "500,000"})
    client.post(f"/workflow/proposals/{proposal_id}/submit", data={"acknowledge": "on"})
    with mail_app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        proposal.buyer_contact = db.session.scalar(
            sa.select(Contact).where(Contact.account_id == proposal.advertiser_id)
        )
        for request in service.requests_of(proposal):
            service.decide(
                request,
                approve=True,
                comment="",
                actor=user(DEMO_USERS[request.approver_role]),
                now=utcnow(),
                settings=current_settings(),
            )
        db.session.commit()
        buyer = proposal.buyer_contact.email
    assert client.post(f"/workflow/proposals/{proposal_id}/send").status_code == 302
    smtp_server.wait_for(1)
    message = next(m for m in smtp_server.messages if buyer in m["To"])
    pdf = next(part for part in message.iter_attachments() if part.get_content_type() == "application/pdf")
    assert pdf.get_content().startswith(b"%PDF-")
    path = re.search(r"https?://[^/\s]+(/sign/[A-Za-z0-9_-]+)", message.get_body(("plain",)).get_content()).group(1)
    buyer_client = mail_app.test_client()
    assert "Accept and sign" in buyer_client.get(path).get_data(as_text=True)
    undecided = buyer_client.post(path, data={"name": "Harriet Ferrymoor", "agree": "on"})
    assert undecided.status_code == 400 and "Choose Accept and sign, or Decline." in undecided.get_data(as_text=True)
    done = buyer_client.post(path, data={"decision": "accept", "name": "Harriet Ferrymoor", "agree": "on"})
    assert done.status_code == 200 and "the proposal is accepted" in done.get_data(as_text=True)
    assert buyer_client.get(path).status_code == 409  # used
    with mail_app.app_context():
        assert db.session.get(Proposal, proposal_id).status == "signed"


def test_a_countersigned_io_is_uploaded_readable_by_its_proposals_readers_and_orders_stay_with_their_rep(
    app, client, auth
):
    import io
    import re

    from app.db import utcnow
    from app.workflow import service
    from tests.conftest import DEMO_USERS, user
    from tests.support.pdfs import pdf_with_pages

    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    client.post(f"/proposals/{proposal_id}/lines", data={"product": ids(app)["sport"], "quantity": "500,000"})
    client.post(f"/workflow/proposals/{proposal_id}/submit", data={"acknowledge": "on"})
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        for request in service.requests_of(proposal):
            service.decide(
                request,
                approve=True,
                comment="",
                actor=user(DEMO_USERS[request.approver_role]),
                now=utcnow(),
                settings=current_settings(),
            )
        db.session.commit()
    signed = pdf_with_pages(1)
    response = client.post(
        f"/workflow/proposals/{proposal_id}/io",
        data={"io": (io.BytesIO(signed), "io.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        from app.orders.models import Order

        assert db.session.get(Proposal, proposal_id).status == "signed"
        order_id = db.session.scalar(sa.select(Order.id).where(Order.proposal_id == proposal_id))
    assert client.get(f"/orders/{order_id}").status_code == 200
    link = re.search(r'href="([^"]+/io\.pdf)"', client.get(f"/proposals/{proposal_id}").get_data(as_text=True))
    assert link and link.group(1) in client.get(f"/orders/{order_id}").get_data(as_text=True)
    download = client.get(link.group(1))
    assert download.status_code == 200 and download.data == signed
    assert download.mimetype == "application/pdf" and download.headers["Cache-Control"] == "private, no-store"
    auth.logout()
    auth.login_as("ad_ops")
    assert client.get(link.group(1)).data == signed  # ad ops read every proposal
    auth.logout()
    client.post("/login", data={"email": "rep2@harbour.example", "password": "flightdeck-demo"})
    assert client.get(f"/orders/{order_id}").status_code == 403
    assert client.get(link.group(1)).status_code == 403
    assert "No order matches" in client.get("/orders/").get_data(as_text=True)


def test_a_manager_who_changed_a_line_finds_no_request_in_the_queue_and_cannot_decide_it(app, client, auth):
    from decimal import Decimal

    from app.proposals import lines
    from app.workflow import service
    from tests.conftest import DEMO_USERS, now, user
    from tests.integration.test_workflow import proposal_with

    with app.app_context():
        proposal = proposal_with(discount="18")
        manager = user(DEMO_USERS["sales_manager"])
        data = lines.data_of(proposal.lines[0])
        data.discount_pct = Decimal("17")
        today = current_clock().today()
        lines.update_line(proposal.lines[0], data, actor=manager, today=today, now=now(), margin_pct=10)
        service.submit(
            proposal, actor=user(DEMO_USERS["sales_rep"]), now=now(), acknowledged=False, settings=current_settings()
        )
        request = next(r for r in service.requests_of(proposal) if r.approver_role == "sales_manager")
        request_id, number = request.id, proposal.number
        db.session.commit()
    auth.login_as("sales_manager")
    assert number not in client.get("/workflow/queue").get_data(as_text=True)
    refused = client.post(f"/workflow/requests/{request_id}/decide", data={"decision": "approve"})
    assert refused.status_code == 403 and "nobody decides a version they" in refused.get_data(as_text=True)
    auth.logout()
    auth.login("vp@harbour.example")
    assert number in client.get("/workflow/queue").get_data(as_text=True)
    assert client.post(f"/workflow/requests/{request_id}/decide", data={"decision": "approve"}).status_code == 302


def test_a_signed_proposal_of_an_advertiser_on_credit_hold_no_longer_says_approval_will_be_needed(app, client, auth):
    from app.accounts.models import Account

    with app.app_context():
        signed = db.session.scalar(sa.select(Proposal).where(Proposal.campaign_name == "Winter launch"))
        db.session.get(Account, signed.advertiser_id).credit_status = "on_hold"
        draft = db.session.scalar(sa.select(Proposal).where(Proposal.campaign_name == "Summer drive"))
        db.session.commit()
        signed_id, draft_id = signed.id, draft.id
    auth.login_as("sales_rep")
    assert "approval will be needed" in client.get(f"/proposals/{draft_id}").get_data(as_text=True)
    page = client.get(f"/proposals/{signed_id}").get_data(as_text=True)
    assert "Signed" in page and "approval will be needed" not in page
