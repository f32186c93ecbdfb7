"""What makes a push fail before anything is sent (an unmapped item, an inactive connection), found
in the request that asks for it: ad ops read the failure and its fix at once instead of "queued"."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from app.adserver import service
from app.adserver.adapters.base import AdServerError
from app.adserver.models import Connection, JobStatus, MappingKind, PushAttempt, PushJob
from app.audit.service import record
from app.auth.models import User
from app.extensions import db
from app.orders.models import Order, PushState

#: who the push history names for a push refused before it was sent
CHECKED_BEFORE_SENDING = "web (checked before sending)"


def refusal(order: Order, connection: Connection) -> AdServerError | None:
    """Why a push of the order to the connection cannot succeed whatever a retry does, or None."""
    if not connection.active:
        return AdServerError(
            f"The connection {connection.name} is inactive: an admin turns it on under Ad servers.", transient=False
        )
    try:
        service.order_spec(order, connection)
    except AdServerError as error:  # Unmapped names every item the push needs first
        return error
    return None


def unmapped_items(order: Order, connection: Connection | None) -> list[service.UnmappedItem]:
    """The ad units and targeting values of the order that the connection has no id for (mappable
    ones only: a code the catalog no longer has cannot be mapped)."""
    if connection is None:
        return []
    try:
        service.order_spec(order, connection)
    except service.Unmapped as unmapped:
        return [item for item in unmapped.items if item.local_id is not None]
    except AdServerError:
        return []
    return []


def first_unmapped_kind(items: list[service.UnmappedItem]) -> MappingKind | None:
    return items[0].kind if items else None


def refuse(
    order: Order,
    connection: Connection,
    error: AdServerError,
    *,
    actor: User,
    now: datetime,
    job: PushJob | None = None,
) -> PushJob:
    """Record a push that failed before it was sent: a dead job with its error, in the ad-ops queue
    to retry once fixed, and one failed attempt in the order's push history. `job`: the dead push
    ad ops retried; else a push of the order still waiting would meet the same error, so it is the
    one that fails, or a new one."""
    if job is None:
        job = db.session.scalar(
            sa.select(PushJob).where(PushJob.order_id == order.id, PushJob.status == JobStatus.PENDING.value).limit(1)
        )
    if job is None:
        job = PushJob(
            order_id=order.id,
            connection_id=connection.id,
            revision=order.revision,
            reason="pushed by ad ops",
            created_at=now,
            next_attempt_at=now,
            attempts=0,
        )
        db.session.add(job)
    order.connection_id = connection.id
    job.revision, job.status, job.attempts = order.revision, JobStatus.DEAD.value, job.attempts + 1
    job.last_error, job.finished_at, job.claimed_until = error.message[:4000], now, None
    order.push_state = PushState.FAILED.value
    db.session.flush()
    db.session.add(
        PushAttempt(
            job_id=job.id,
            worker=CHECKED_BEFORE_SENDING,
            started_at=now,
            finished_at=now,
            outcome="failed",
            message=error.message[:4000],
        )
    )
    record(
        actor=actor,
        entity_type="order",
        entity_id=order.id,
        action="push_failed",
        at=now,
        summary=f"Push of {order.number} to {connection.name} refused before sending: {error.message}",
    )
    return job
