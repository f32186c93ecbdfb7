from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user

from app.access import allow, rule_for
from app.accounts.models import Account
from app.audit.models import AuditEvent
from app.auth.models import User
from app.auth.roles import Role
from app.catalog.models import AdUnit, Package, Product, TargetingValue
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.orders.models import Order
from app.orders.views import readable_order
from app.proposals.models import Proposal
from app.proposals.views import readable_proposal
from app.ratecards.models import RateCard
from app.validation import page_number
from app.workflow.models import ApprovalRule

bp = Blueprint("audit", __name__, url_prefix="/audit")


@dataclass(frozen=True)
class History:
    """Where a record's history leads, and who may read it: exactly who may open the record's page."""

    model: type
    #: The record's page: its access rule is the history's access rule.
    endpoint: str
    arg: str | None
    #: The record page's own loader, for records that are checked one by one (a rep's proposal):
    #: it raises NotFound or Forbidden just as that page does.
    load: Callable[[int], object] | None = None


ENTITIES = {
    "account": History(Account, "accounts.detail", "account_id"),
    "user": History(User, "auth.edit_user", "user_id"),
    "ad_unit": History(AdUnit, "catalog.ad_unit", "unit_id"),
    "targeting_value": History(TargetingValue, "catalog.targeting", None),
    "product": History(Product, "catalog.product", "product_id"),
    "package": History(Package, "catalog.package", "package_id"),
    "rate_card": History(RateCard, "ratecards.card", "card_id"),
    "proposal": History(Proposal, "proposals.detail", "proposal_id", readable_proposal),
    "order": History(Order, "orders.detail", "order_id", readable_order),
    "approval_rule": History(ApprovalRule, "workflow.edit_rule", "rule_id"),
}


def entity_link(entity_type: str, entity_id: int) -> str | None:
    spec = ENTITIES.get(entity_type)
    if spec is None:
        return None
    return url_for(spec.endpoint, **({spec.arg: entity_id} if spec.arg else {}))


def history_link(entity_type: str, entity_id: int) -> str | None:
    """The audit log's link for an entry: the record's history, which links the record itself (and
    still answers when the record was deleted)."""
    if entity_type not in ENTITIES:
        return None
    return url_for("audit.entity", entity_type=entity_type, entity_id=entity_id)


def _readable_subject(spec: History, entity_id: int) -> object:
    """The record, if the current user may open its page; Forbidden or NotFound as that page answers.

    Whoever may read the whole audit log reads every record's history, a deleted proposal's too.
    """
    if rule_for(current_app, "audit.index").admits(current_user.role_set):
        subject = db.session.get(spec.model, entity_id)
        if subject is None:
            raise NotFound("There is no such record.")
        return subject
    if not rule_for(current_app, spec.endpoint).admits(current_user.role_set):
        raise Forbidden("You cannot open this record, nor its history.")
    if spec.load is not None:
        return spec.load(entity_id)
    subject = db.session.get(spec.model, entity_id)
    if subject is None:
        raise NotFound("There is no such record.")
    return subject


@bp.route("/")
@allow(Role.ADMIN)
def index():
    entity_type = request.args.get("entity", "")
    query = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if entity_type in ENTITIES:
        query = query.where(AuditEvent.entity_type == entity_type)
    page = db.paginate(
        query, page=page_number(request.args), per_page=current_app.config["PAGE_SIZE"] * 2, error_out=False
    )
    return render_template(
        "audit/index.html", page=page, entity_type=entity_type, entity_types=sorted(ENTITIES), entity_link=history_link
    )


@bp.route("/<entity_type>/<int:entity_id>")
@allow(checks_object=True)
def entity(entity_type: str, entity_id: int):
    spec = ENTITIES.get(entity_type)
    if spec is None:
        raise NotFound(f"There is no history for “{entity_type}”.")
    subject = _readable_subject(spec, entity_id)
    page = db.paginate(
        page=page_number(request.args),
        select=sa.select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()),
        per_page=current_app.config["PAGE_SIZE"] * 2,
        error_out=False,
    )
    deleted = getattr(subject, "deleted_at", None) is not None
    return render_template(
        "audit/entity.html",
        page=page,
        subject=subject,
        entity_type=entity_type,
        deleted=deleted,
        link=None if deleted else entity_link(entity_type, entity_id),
    )
