"""Workflow pages: approval rules (admins), the approver's queue, submitting and withdrawing."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from app.access import allow
from app.db import utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import current_clock, current_settings, db
from app.forms import form_sent_before, posted_version, redirect_to_created
from app.proposals.snapshot import VersionSnapshot
from app.proposals.views import READERS, SELLERS, readable_proposal
from app.roles import ROLE_LABELS, Role
from app.transaction import abandon
from app.validation import parse_id
from app.workflow import approval_rules, queries, service, signing
from app.workflow import conditions as engine
from app.workflow.models import ApprovalRequest, ApprovalRule, RuleKind, Signature

bp = Blueprint("workflow", __name__, url_prefix="/workflow")

CONDITION_ROWS = 5


# -- Rules ----------------------------------------------------------------------------------------


@bp.route("/rules")
@allow(Role.ADMIN)
def rules():
    return render_template(
        "workflow/rules.html",
        rules=queries.rules_in_order(),
        fields=engine.FIELDS,
        approver=approval_rules.approver_label,
    )


def _rule_data(form) -> approval_rules.RuleData:
    conditions = []
    for n in range(CONDITION_ROWS):
        key = (form.get(f"field_{n}") or "").strip()
        if key:
            conditions.append({"field": key, "op": form.get(f"op_{n}", ""), "value": form.get(f"value_{n}", "")})
    step = (form.get("step") or "").strip()
    return approval_rules.RuleData(
        name=form.get("name", ""),
        kind=form.get("kind", ""),
        conditions=conditions,
        combinator=form.get("combinator", "all"),
        step=int(step) if step.isascii() and step.isdigit() and len(step) < 4 else None,
        approver_role=form.get("approver_role") or None,
        approver_user_id=parse_id(form.get("approver_user_id")),
        step_mode=form.get("step_mode", "all"),
        message=(form.get("message") or "")[:300],
        active=form.get("active") == "on",
    )


def _rule_page(rule: ApprovalRule | None, data: approval_rules.RuleData | None, errors: dict, status: int = 200):
    users = queries.active_users()
    return render_template(
        "workflow/rule_form.html",
        rule=rule,
        data=data,
        errors=errors,
        fields=engine.FIELDS,
        operators=engine.OPERATORS,
        kinds=list(RuleKind),
        roles=ROLE_LABELS,
        users=users,
        rows=CONDITION_ROWS,
        form=FlaskForm(),
    ), status


@bp.route("/rules/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def new_rule():
    if request.method == "GET":
        return _rule_page(None, None, {})
    if (earlier := form_sent_before()) is not None:
        return earlier
    data = _rule_data(request.form)
    try:
        rule = approval_rules.save_rule(None, data, expected_version=None, actor=current_user, now=utcnow())
    except ValidationFailed as exc:
        abandon(db.session)
        return _rule_page(None, data, exc.errors, 400)
    flash(f"Rule “{rule.name}” saved.", "success")
    return redirect_to_created(url_for("workflow.rules"))


@bp.route("/rules/<int:rule_id>/edit", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit_rule(rule_id: int):
    rule = db.session.get(ApprovalRule, rule_id)
    if rule is None:
        raise NotFound("No such rule.")
    if request.method == "GET":
        return _rule_page(rule, None, {})
    data = _rule_data(request.form)
    try:
        approval_rules.save_rule(
            rule, data, expected_version=posted_version(request.form.get("version")), actor=current_user, now=utcnow()
        )
    except ValidationFailed as exc:
        abandon(db.session)
        return _rule_page(rule, data, exc.errors, 400)
    flash(f"Rule “{rule.name}” saved.", "success")
    return redirect(url_for("workflow.rules"))


@bp.route("/rules/try", methods=["POST"])
@allow(Role.ADMIN)
def try_rule():
    """Which open proposals the rule being edited would apply to (htmx fragment)."""
    data = _rule_data(request.form)
    try:
        hits, total = approval_rules.try_rule(data, standard_terms=current_settings().standard_terms)
        errors = {}
    except ValidationFailed as exc:
        hits, total, errors = [], 0, exc.errors
    return render_template("workflow/_trial.html", hits=hits, total=total, errors=errors)


# -- Submitting, the queue, decisions -------------------------------------------------------------


@bp.route("/proposals/<int:proposal_id>/submit", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def submit(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    try:
        version = service.submit(
            proposal,
            actor=current_user,
            now=utcnow(),
            acknowledged=request.form.get("acknowledge") == "on",
            settings=current_settings(),
            render={"logo_path": current_settings().publisher_logo},
        )
    except ValidationFailed as exc:
        abandon(db.session)
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "danger")
        return redirect(url_for("proposals.detail", proposal_id=proposal.id) + "#submit")
    flash(
        f"Version {version.number} submitted."
        + (" Every step is approved already." if proposal.status == "approved" else " Approvers have been asked."),
        "success",
    )
    return redirect(url_for("proposals.detail", proposal_id=proposal.id))


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def withdraw(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    service.withdraw(proposal, actor=current_user, now=utcnow())
    flash("Back to draft: change it and submit again.", "success")
    return redirect(url_for("proposals.detail", proposal_id=proposal.id))


@bp.route("/queue")
@allow(*READERS)
def queue():
    requests = service.queue_for(current_user)
    return render_template(
        "workflow/queue.html",
        requests=requests,
        versions={r.version_id: VersionSnapshot.of(r.version) for r in requests},
        form=FlaskForm(),
        approver=approval_rules.approver_label,
    )


@bp.route("/requests/<int:request_id>/decide", methods=["POST"])
@allow(*READERS, checks_object=True)
def decide(request_id: int):
    approval = db.session.get(ApprovalRequest, request_id)
    if approval is None:
        raise NotFound("No such approval request.")
    decision = request.form.get("decision")
    if decision not in ("approve", "reject"):
        raise ValidationFailed({"decision": ["Approve or reject."]})
    try:
        outcome = service.decide(
            approval,
            approve=decision == "approve",
            comment=request.form.get("comment", ""),
            actor=current_user,
            now=utcnow(),
            settings=current_settings(),
        )
    except ValidationFailed as exc:
        abandon(db.session)
        flash(" ".join(m for ms in exc.errors.values() for m in ms), "danger")
        return redirect(url_for("workflow.queue"))
    flash(_decision_message(approval, outcome), "success")
    return redirect(url_for("workflow.queue"))


def _decision_message(approval: ApprovalRequest, outcome: service.Decision) -> str:
    """Where the request stands now, in the approver's words."""
    proposal = approval.proposal
    waiting = " and ".join(outcome.waiting_for)
    if not outcome.approved:
        return f"{proposal.number}: rejected and sent back to {proposal.owner.name}."
    if not outcome.step_done:
        return f"{proposal.number}: your approval is recorded; waiting for {waiting}."
    if not outcome.proposal_done:
        return (
            f"{proposal.number}: step {approval.step} is approved; step {outcome.next_step} is with {waiting}. "
            f"{proposal.owner.name} has been told."
        )
    if proposal.status == "approved":
        return f"{proposal.number}: approved. Every step said yes: {proposal.owner.name} can send it to the buyer."
    return f"{proposal.number}: approved. Every step said yes."


@bp.route("/proposals/<int:proposal_id>/send", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def send(proposal_id: int):
    proposal = readable_proposal(proposal_id)
    try:
        signing.send_to_buyer(
            proposal,
            actor=current_user,
            now=utcnow(),
            settings=current_settings(),
            contact_id=parse_id(request.form.get("contact")),
        )
    except ValidationFailed as exc:
        abandon(db.session)
        flash(" ".join(m for ms in exc.errors.values() for m in ms), "danger")
        return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    flash(f"Sent to {proposal.buyer_contact.name} with the PDF and a link to sign.", "success")
    return redirect(url_for("proposals.detail", proposal_id=proposal.id))


@bp.route("/proposals/<int:proposal_id>/io", methods=["POST"])
@allow(*SELLERS, checks_object=True)
def upload_io(proposal_id: int):
    """A countersigned insertion order, uploaded instead of the buyer's signature by link."""
    proposal = readable_proposal(proposal_id)
    upload = request.files.get("io")
    try:
        if upload is None or not upload.filename:
            raise ValidationFailed({"io": ["Choose the countersigned PDF."]})
        signing.countersigned(
            proposal,
            upload.read(current_app.config["MAX_CONTENT_LENGTH"] + 1),
            actor=current_user,
            now=utcnow(),
            today=current_clock().today(),
            margin_pct=current_settings().safety_margin_pct,
            max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
            publisher_name=current_settings().publisher_name,
            logo_path=current_settings().publisher_logo,
        )
    except ValidationFailed as exc:
        abandon(db.session)
        flash(" ".join(m for ms in exc.errors.values() for m in ms), "danger")
        return redirect(url_for("proposals.detail", proposal_id=proposal.id))
    flash("Marked signed with the countersigned IO; the order is made.", "success")
    return redirect(url_for("proposals.detail", proposal_id=proposal.id))


@bp.route("/signatures/<int:signature_id>/io.pdf")
@allow(*READERS, checks_object=True)
def countersigned_io(signature_id: int):
    """The countersigned insertion order a rep uploaded, for whoever may read its proposal."""
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.io_sha256 is None:
        raise NotFound("No countersigned insertion order here.")
    proposal = readable_proposal(signature.proposal_id)
    return Response(
        signature.io_pdf,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{proposal.number}-countersigned-io.pdf"',
            "Cache-Control": "private, no-store",
            "X-Content-SHA256": signature.io_sha256,
        },
    )
