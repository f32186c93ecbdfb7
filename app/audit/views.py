from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_login import current_user

from app.access import allow, rule_for
from app.audit import queries
from app.audit.subjects import SUBJECTS, Subject, subject_for
from app.errors import Forbidden, NotFound
from app.extensions import current_settings, db
from app.roles import Role
from app.validation import page_number

bp = Blueprint("audit", __name__, url_prefix="/audit")


def entity_link(entity_type: str, entity_id: int) -> str | None:
    spec = subject_for(entity_type)
    if spec is None:
        return None
    return url_for(spec.endpoint, **({spec.arg: entity_id} if spec.arg else {}))


def history_link(entity_type: str, entity_id: int) -> str | None:
    """The audit log's link for an entry: the record's history, which links the record itself (and
    still answers when the record was deleted)."""
    if entity_type not in SUBJECTS:
        return None
    return url_for("audit.entity", entity_type=entity_type, entity_id=entity_id)


def _readable_subject(spec: Subject, entity_id: int) -> object:
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
    query = queries.events(entity_type if entity_type in SUBJECTS else None)
    page = db.paginate(
        query, page=page_number(request.args), per_page=current_settings().page_size * 2, error_out=False
    )
    return render_template(
        "audit/index.html", page=page, entity_type=entity_type, entity_types=sorted(SUBJECTS), entity_link=history_link
    )


@bp.route("/<entity_type>/<int:entity_id>")
@allow(checks_object=True)
def entity(entity_type: str, entity_id: int):
    spec = subject_for(entity_type)
    if spec is None:
        raise NotFound(f"There is no history for “{entity_type}”.")
    subject = _readable_subject(spec, entity_id)
    page = db.paginate(
        page=page_number(request.args),
        select=queries.history_of(entity_type, entity_id),
        per_page=current_settings().page_size * 2,
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
