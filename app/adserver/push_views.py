"""The ad-ops queue and pushes: what failed and how to fix it, retries, and "Push now" on an order.
Routes on the ad-server blueprint (`views.bp`)."""

from __future__ import annotations

from flask import flash, get_template_attribute, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup

from app.access import allow
from app.adserver import delivery, outbox, push_checks, queries, service
from app.adserver.models import Connection, JobStatus, PushJob
from app.adserver.views import OPS, _back, bp
from app.db import utcnow
from app.extensions import current_clock, db
from app.orders.models import Order
from app.orders.views import readable_order
from app.transaction import after_commit


@bp.route("/queue")
@allow(*OPS)
def queue():
    today = current_clock().today()
    waiting = queries.waiting_jobs(limit=200)
    drifting = queries.drift_checked_lines(limit=200)
    dead = outbox.dead_jobs()
    return render_template(
        "adserver/queue.html",
        dead=dead,
        # the fix of each push that failed for unmapped items (read again: some may be mapped since)
        unmapped={
            job.id: push_checks.unmapped_items(job.order, job.connection)
            if job.last_error.startswith(service.UNMAPPED_PREFIX)
            else []
            for job in dead
        },
        waiting=waiting,
        at_risk=delivery.at_risk_lines(today=today),
        drifting=[line for line in drifting if line.drift],
        form=FlaskForm(),
        now=utcnow(),
    )


@bp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@allow(*OPS)
def retry_job(job_id: int):
    """Send a dead push again; one that would fail at once again (still unmapped, connection still
    inactive) stays in the queue and says why, with its fix."""
    dead = db.session.get(PushJob, job_id)
    error = push_checks.refusal(dead.order, dead.connection) if dead and dead.status == JobStatus.DEAD else None
    if error is not None:
        push_checks.refuse(dead.order, dead.connection, error, actor=current_user, now=utcnow(), job=dead)
        flash(_push_failed(dead.order, dead.connection, error.message), "danger")
        return redirect(_back(url_for("adserver.queue", _anchor=f"job-{dead.id}")))
    job = outbox.retry(job_id, actor=current_user, now=utcnow())
    flash("The push is queued again: the worker sends it within seconds.", "success")
    return redirect(_back(url_for("adserver.queue", _anchor=f"job-{job.id}")))


@bp.route("/jobs/<int:job_id>/cancel", methods=["POST"])
@allow(*OPS)
def cancel_job(job_id: int):
    outbox.cancel(job_id, actor=current_user, now=utcnow())
    flash("The push is cancelled. Nothing was sent.", "success")
    return redirect(_back(url_for("adserver.queue")))


@allow(*OPS, checks_object=True)
def push_order(order_id: int):
    """Push the order now. What fails whatever a retry does (an unmapped item, an inactive connection)
    fails here, with its fix; otherwise the flash says what the push did once it was sent (the
    embedded set-up sends it before answering) or that the worker sends it."""
    order = readable_order(order_id)
    connection = service.push_connection(order)
    if connection is not None and (error := push_checks.refusal(order, connection)) is not None:
        push_checks.refuse(order, connection, error, actor=current_user, now=utcnow())
        flash(_push_failed(order, connection, error.message), "danger")
        return redirect(url_for("orders.detail", order_id=order.id))
    job = service.queue_push(order, reason="queued by ad ops", now=utcnow(), actor=current_user)
    if job is None:
        flash("There is no ad-server connection yet: an admin adds one under Ad servers.", "warning")
    else:
        after_commit(db.session, lambda: _flash_push_outcome(job.id))
    return redirect(url_for("orders.detail", order_id=order.id))


def _push_failed(order, connection: Connection, message: str) -> Markup:
    """The failure in words, with the link to the mappings that fix it when items are unmapped."""
    items = push_checks.unmapped_items(order, connection)
    fix = get_template_attribute("adserver/_fix_mappings.html", "fix_link")(order, connection, items)
    text = Markup("The push of {} to {} failed: {} ").format(order.number, connection.name, message)
    return text + fix


def _flash_push_outcome(job_id: int) -> None:
    job = db.session.get(PushJob, job_id, populate_existing=True)
    order = db.session.get(Order, job.order_id, populate_existing=True)
    if job.status == JobStatus.DONE.value:
        flash(f"{order.number} is in {job.connection.name}: pushed.", "success")
    elif job.status == JobStatus.DEAD.value:
        flash(_push_failed(order, job.connection, job.last_error), "danger")
    elif job.attempts:
        flash(f"The push of {order.number} did not go through yet ({job.last_error}); it is retried.", "warning")
    else:
        flash("Push queued: the worker sends it within seconds.", "success")


# The "Push now" button is on the order's page and posts to the order's own address (/orders/<id>/push),
# outside this blueprint's /adserver prefix; the route is still the ad server's (endpoint adserver.push_order).
bp.record_once(
    lambda state: state.app.add_url_rule(
        "/orders/<int:order_id>/push", "adserver.push_order", push_order, methods=["POST"]
    )
)
