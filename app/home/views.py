from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template
from flask_login import current_user

from app.access import allow, public
from app.accounts import queries as account_queries
from app.catalog.models import AdUnitLevel
from app.db import utcnow
from app.extensions import current_clock, db
from app.home import queries, work
from app.roles import Role

bp = Blueprint("home", __name__)

#: How many of their accounts a rep sees on the home page; the list page has them all.
HOME_LIST_LENGTH = 15
#: Words after numbers take the number's plural form (Babel; English until translations exist).
#: Who is asked to approve even when nothing waits for them today: their home page says so.
APPROVERS = {Role.SALES_MANAGER, Role.FINANCE}


@bp.route("/")
@allow()
def index():
    """One page, a section for each role the user holds: what needs them now, then what they own."""
    roles = current_user.role_set
    today, now = current_clock().today(), utcnow()
    sections = {}
    if Role.SALES_REP in roles:
        sections["rep"] = account_queries.accounts_owned_by(current_user.id, limit=HOME_LIST_LENGTH)
        sections["rep_work"] = work.rep_work(current_user, now=now)
    approvals = work.approvals_for(current_user)
    if approvals.total or roles & APPROVERS:
        sections["approvals"] = approvals
    if Role.SALES_MANAGER in roles:
        sections["manager"] = account_queries.account_counts_by_owner()
    if Role.AD_OPS in roles:
        sections["ad_ops"] = queries.active_unit_counts()
        sections["ad_ops_work"] = work.ad_ops_work(today=today)
    if Role.FINANCE in roles:
        sections["finance"] = account_queries.accounts_on_credit_hold()
        sections["finance_month"] = work.month_figures(today=today)
    if Role.ADMIN in roles:
        sections["admin"] = queries.users_for_admin()
    return render_template(
        "home/index.html",
        sections=sections,
        AdUnitLevel=AdUnitLevel,
        work=work,
    )


@bp.route("/healthz")
@public
def healthz():
    """For load balancers: the app answers and reaches its database."""
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}
