from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user

from app.access import allow
from app.accounts.models import Account
from app.audit.models import AuditEvent
from app.auth.models import User
from app.auth.roles import Role
from app.catalog.models import AdUnit, Package, Product, TargetingValue
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.orders.models import Order
from app.proposals.models import Proposal
from app.ratecards.models import RateCard
from app.validation import page_number
from app.workflow.models import ApprovalRule

bp = Blueprint("audit", __name__, url_prefix="/audit")

#: entity type -> (model, roles that may read its history (empty: every signed-in user), page endpoint)
ENTITIES = {
    "account": (Account, frozenset(), "accounts.detail", "account_id"),
    "user": (User, frozenset({Role.ADMIN}), "auth.edit_user", "user_id"),
    "ad_unit": (AdUnit, frozenset({Role.ADMIN, Role.AD_OPS}), "catalog.ad_unit", "unit_id"),
    "targeting_value": (TargetingValue, frozenset({Role.ADMIN}), "catalog.targeting", None),
    "product": (Product, frozenset(), "catalog.product", "product_id"),
    "package": (Package, frozenset(), "catalog.package", "package_id"),
    "rate_card": (RateCard, frozenset(), "ratecards.card", "card_id"),
    "proposal": (Proposal, frozenset(), "proposals.detail", "proposal_id"),
    "order": (Order, frozenset(), "orders.detail", "order_id"),
    "approval_rule": (ApprovalRule, frozenset({Role.ADMIN}), "workflow.edit_rule", "rule_id"),
}


def entity_link(entity_type: str, entity_id: int) -> str | None:
    spec = ENTITIES.get(entity_type)
    if spec is None:
        return None
    return url_for(spec[2], **({spec[3]: entity_id} if spec[3] else {}))


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
        "audit/index.html", page=page, entity_type=entity_type, entity_types=sorted(ENTITIES), entity_link=entity_link
    )


@bp.route("/<entity_type>/<int:entity_id>")
@allow(checks_object=True)
def entity(entity_type: str, entity_id: int):
    spec = ENTITIES.get(entity_type)
    if spec is None:
        raise NotFound(f"There is no history for “{entity_type}”.")
    model, roles, _endpoint, _arg = spec
    if roles and not current_user.has_role(*roles):
        raise Forbidden("Only admins read this history.")
    subject = db.session.get(model, entity_id)
    if subject is None:
        raise NotFound("There is no such record.")
    page = db.paginate(
        page=page_number(request.args),
        select=sa.select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()),
        per_page=current_app.config["PAGE_SIZE"] * 2,
        error_out=False,
    )
    return render_template(
        "audit/entity.html",
        page=page,
        subject=subject,
        entity_type=entity_type,
        link=entity_link(entity_type, entity_id),
    )
