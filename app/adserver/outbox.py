"""The push outbox's worker: claims due jobs, sends them through their adapter, records the result.

A job is claimed by a conditional UPDATE (status still due, no other push of the same order under
way), so any number of workers on PostgreSQL never send one job twice at once; a worker that dies
mid-push leaves its claim to lapse after the lease, and the job is tried again. Transient errors
retry with exponential backoff; after the configured attempts, or at once for an error a retry
cannot fix (a refused field, wrong credentials, a missing mapping), the job is dead and waits in
the ad-ops queue with its error, to be retried or cancelled.
"""

from __future__ import annotations

import os
import random
import socket
import time as clock
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.adserver import mappings, service
from app.adserver.adapters.base import AdServerError, PushResult
from app.adserver.models import Connection, JobStatus, PushAttempt, PushJob
from app.audit.service import record
from app.auth.models import User
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.extensions import db
from app.formats import plural
from app.orders.models import Order, PushState
from app.transaction import abandon, rollback, transaction


@dataclass(frozen=True)
class Settings:
    max_attempts: int = 8
    backoff_seconds: int = 30
    max_backoff_seconds: int = 3600
    lease_seconds: int = 600
    timeout_seconds: float = 30.0
    gam_api_version: str | None = None

    @classmethod
    def from_config(cls, config) -> Settings:
        return cls(
            max_attempts=config["ADSERVER_MAX_ATTEMPTS"],
            backoff_seconds=config["ADSERVER_BACKOFF_SECONDS"],
            max_backoff_seconds=config["ADSERVER_MAX_BACKOFF_SECONDS"],
            lease_seconds=config["ADSERVER_LEASE_SECONDS"],
            timeout_seconds=config["ADSERVER_TIMEOUT_SECONDS"],
            gam_api_version=config["GAM_API_VERSION"],
        )


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def backoff(attempts: int, settings: Settings, *, rng: random.Random | None = None) -> timedelta:
    """30 s, 1 min, 2 min, 4 min ... up to the cap, with a tenth of jitter so retries spread out."""
    base = min(settings.backoff_seconds * 2 ** max(0, attempts - 1), settings.max_backoff_seconds)
    jitter = (rng or random).uniform(0, base / 10)
    return timedelta(seconds=base + jitter)


def _due(now: datetime):
    return sa.or_(
        sa.and_(PushJob.status == JobStatus.PENDING.value, PushJob.next_attempt_at <= now),
        sa.and_(PushJob.status == JobStatus.RUNNING.value, PushJob.claimed_until < now),
    )


def claim(*, worker: str, now: datetime, settings: Settings, order_ids: set[int] | None = None) -> PushJob | None:
    """Take the oldest due job nobody else holds, and commit the claim. The order's row is locked
    first (on PostgreSQL), so two workers never hold two jobs of one order at once."""
    other = sa.orm.aliased(PushJob)
    busy_order = (
        sa.select(other.id)
        .where(
            other.order_id == PushJob.order_id,
            other.id != PushJob.id,
            other.status == JobStatus.RUNNING.value,
            other.claimed_until >= now,
        )
        .exists()
    )
    query = sa.select(PushJob.id, PushJob.order_id).where(_due(now), ~busy_order)
    if order_ids is not None:
        query = query.where(PushJob.order_id.in_(order_ids))
    candidates = db.session.execute(query.order_by(PushJob.next_attempt_at, PushJob.id).limit(10)).all()
    for job_id, order_id in candidates:
        with transaction(db.session):
            db.session.execute(sa.select(Order.id).where(Order.id == order_id).with_for_update())
            claimed = db.session.execute(
                sa.update(PushJob)
                .where(PushJob.id == job_id, _due(now), ~busy_order)
                .values(
                    status=JobStatus.RUNNING.value,
                    claimed_by=worker,
                    claimed_until=now + timedelta(seconds=settings.lease_seconds),
                    attempts=PushJob.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                abandon(db.session)
                continue
        return db.session.get(PushJob, job_id, populate_existing=True)
    return None


@dataclass(frozen=True)
class Outcome:
    job_id: int
    order_number: str
    outcome: str
    message: str


def run_job(job: PushJob, *, worker: str, settings: Settings, now_fn=utcnow) -> Outcome:
    """Send one claimed job and record what happened, committed (a failed push's error in a
    transaction of its own)."""
    started = now_fn()
    with transaction(db.session):
        order = db.session.get(Order, job.order_id)
        connection = db.session.get(Connection, job.connection_id)
        revision = order.revision  # what this push sends: the order as it stands now
        try:
            spec = service.order_spec(order, connection, approve=connection.settings.get("approve_orders") == "yes")
            adapter = service.adapter_of(
                connection, timeout=settings.timeout_seconds, api_version=settings.gam_api_version
            )
            result = adapter.push(spec)
        except AdServerError as error:
            abandon(db.session)
            failure = error
        except Exception as error:  # an adapter bug must not kill the worker or lose the job
            abandon(db.session)
            failure = AdServerError(f"Unexpected error: {type(error).__name__}: {error}", transient=True)
        else:
            if not _still_mine(job.id, worker):
                abandon(db.session)
                return Outcome(job.id, order.number, "lost", "the claim lapsed while sending; another worker took it")
            return _sent(
                job, order, connection, result, revision=revision, worker=worker, started=started, now=now_fn()
            )
    return _failed(job.id, failure, worker=worker, started=started, settings=settings, now=now_fn())


def _still_mine(job_id: int, worker: str) -> bool:
    """The job is still this worker's claim (a push that outlived its lease has been taken over)."""
    return bool(
        db.session.scalar(
            sa.select(PushJob.id).where(
                PushJob.id == job_id, PushJob.claimed_by == worker, PushJob.status == JobStatus.RUNNING.value
            )
        )
    )


def _sent(
    job: PushJob, order: Order, connection: Connection, result: PushResult, *, revision: int, worker, started, now
) -> Outcome:
    order.remote_order_id = result.remote_order_id
    for line in order.lines:
        if line.id in result.remote_line_ids:
            line.remote_line_id = result.remote_line_ids[line.id]
    mappings.remember_account(connection, order.advertiser_id, result.advertiser_remote_id, now=now)
    if order.agency_id is not None and result.agency_remote_id:
        mappings.remember_account(connection, order.agency_id, result.agency_remote_id, now=now)
    order.pushed_revision, order.pushed_at = max(order.pushed_revision or 0, revision), now
    # Older pushes that died are overtaken: this one sent the whole order as it stands.
    for stale in db.session.scalars(
        sa.select(PushJob).where(
            PushJob.order_id == order.id, PushJob.id != job.id, PushJob.status == JobStatus.DEAD.value
        )
    ):
        stale.status, stale.finished_at = JobStatus.CANCELLED.value, now
        stale.last_error = f"{stale.last_error} (overtaken by a later push that went through)"[:4000]
    newer_waiting = db.session.scalar(
        sa.select(PushJob.id).where(
            PushJob.order_id == order.id, PushJob.id != job.id, PushJob.status == JobStatus.PENDING.value
        )
    )
    order.push_state = PushState.QUEUED.value if newer_waiting else _settled_state(order)
    job.status, job.finished_at, job.claimed_until, job.last_error = JobStatus.DONE.value, now, None, ""
    message = "; ".join(result.notes) or "sent"
    db.session.add(
        PushAttempt(job_id=job.id, worker=worker, started_at=started, finished_at=now, outcome="sent", message=message)
    )
    record(
        actor=None,
        actor_label="ad-server worker",
        entity_type="order",
        entity_id=order.id,
        action="pushed",
        at=now,
        summary=(
            f"{order.number} revision {job.revision} is in {connection.name} "
            f"as order {result.remote_order_id}: {message}."
        ),
    )
    return Outcome(job.id, order.number, "sent", message)


def _settled_state(order: Order) -> str:
    """With nothing waiting: in the ad server when it has this revision, else behind (failed)."""
    if order.pushed_revision is None:
        return PushState.NOT_PUSHED.value
    return PushState.PUSHED.value if order.pushed_revision >= order.revision else PushState.FAILED.value


def _failed(job_id: int, error: AdServerError, *, worker, started, settings: Settings, now) -> Outcome:
    with transaction(db.session):
        job = db.session.get(PushJob, job_id, populate_existing=True)
        order = db.session.get(Order, job.order_id)
        if job.claimed_by != worker or job.status != JobStatus.RUNNING.value:
            abandon(db.session)
            return Outcome(job.id, order.number, "lost", "the claim lapsed while sending; another worker took it")
        retry = error.transient and job.attempts < settings.max_attempts
        job.last_error = error.message[:4000]
        job.claimed_until = None
        if retry:
            job.status = JobStatus.PENDING.value
            job.next_attempt_at = now + backoff(job.attempts, settings)
            outcome = "retry"
        else:
            job.status = JobStatus.DEAD.value
            job.finished_at = now
            order.push_state = PushState.FAILED.value
            outcome = "failed"
            record(
                actor=None,
                actor_label="ad-server worker",
                entity_type="order",
                entity_id=order.id,
                action="push_failed",
                at=now,
                summary=f"Push of {order.number} failed after {plural(job.attempts, 'attempt', 'attempts')}: "
                f"{error.message}",
            )
        db.session.add(
            PushAttempt(
                job_id=job.id,
                worker=worker,
                started_at=started,
                finished_at=now,
                outcome=outcome,
                message=error.message[:4000],
            )
        )
        return Outcome(job.id, order.number, outcome, error.message)


def run_once(*, worker: str, settings: Settings, now_fn=utcnow, order_ids: set[int] | None = None) -> Outcome | None:
    job = claim(worker=worker, now=now_fn(), settings=settings, order_ids=order_ids)
    if job is None:
        return None
    return run_job(job, worker=worker, settings=settings, now_fn=now_fn)


def drain(
    *, worker: str, settings: Settings, now_fn=utcnow, limit: int = 1000, order_ids: set[int] | None = None
) -> list[Outcome]:
    """Send every job due now (of `order_ids` only, when given): the CLI's --once, a request's own
    pushes, and tests."""
    outcomes = []
    for _ in range(limit):
        outcome = run_once(worker=worker, settings=settings, now_fn=now_fn, order_ids=order_ids)
        if outcome is None:
            break
        outcomes.append(outcome)
    return outcomes


# Ad ops' hands on the queue


def dead_jobs() -> list[PushJob]:
    return list(
        db.session.scalars(
            sa.select(PushJob).where(PushJob.status == JobStatus.DEAD.value).order_by(PushJob.finished_at, PushJob.id)
        )
    )


def _job(job_id: int) -> PushJob:
    job = db.session.get(PushJob, job_id)
    if job is None:
        raise NotFound("No such push job.")
    return job


def retry(job_id: int, *, actor: User, now: datetime) -> PushJob:
    """Send a dead job again now, with a fresh set of attempts."""
    job = _job(job_id)
    if job.status != JobStatus.DEAD.value:
        raise Conflict(
            "Only a push that needs ad ops can be retried; this one is " + job.status_enum.label.lower() + "."
        )
    order = db.session.get(Order, job.order_id)
    waiting = db.session.scalar(
        sa.select(PushJob).where(PushJob.order_id == order.id, PushJob.status == JobStatus.PENDING.value).limit(1)
    )
    if waiting is not None:  # a push of the order already waits and sends everything: bring it forward
        job.status, job.finished_at = JobStatus.CANCELLED.value, now
        waiting.next_attempt_at = now
        job = waiting
    else:
        job.status, job.attempts, job.next_attempt_at, job.finished_at = JobStatus.PENDING.value, 0, now, None
    order.push_state = PushState.QUEUED.value
    service.mark_queued(order.id)
    record(
        actor=actor,
        entity_type="order",
        entity_id=order.id,
        action="push_retried",
        at=now,
        summary=f"Push of {order.number} retried by ad ops.",
    )
    db.session.flush()
    return job


def cancel(job_id: int, *, actor: User, now: datetime) -> PushJob:
    job = _job(job_id)
    if job.status not in (JobStatus.DEAD.value, JobStatus.PENDING.value):
        raise Conflict("Only a waiting push or one that needs ad ops can be cancelled.")
    job.status, job.finished_at = JobStatus.CANCELLED.value, now
    order = db.session.get(Order, job.order_id)
    waiting = db.session.scalar(
        sa.select(PushJob.id).where(
            PushJob.order_id == order.id, PushJob.id != job.id, PushJob.status == JobStatus.PENDING.value
        )
    )
    # Cancelled while the ad server is behind the order: it shows as failed, never as in the ad server.
    order.push_state = PushState.QUEUED.value if waiting else _settled_state(order)
    record(
        actor=actor,
        entity_type="order",
        entity_id=order.id,
        action="push_cancelled",
        at=now,
        summary=f"Push of {order.number} cancelled by ad ops.",
    )
    db.session.flush()
    return job


def run_forever(*, worker: str, settings: Settings, poll_seconds: float, sync, stop=lambda: False, echo=print) -> None:
    """The worker's loop: send what is due, run the daily delivery sync when it is due, sleep."""
    while not stop():
        try:
            outcome = run_once(worker=worker, settings=settings)
            if outcome is not None:
                echo(f"{outcome.order_number}: {outcome.outcome}: {outcome.message}")
                continue
            for line in sync():
                echo(line)
        except sa.exc.OperationalError as error:  # the database went away: wait and go on
            rollback(db.session)
            echo(f"database unavailable: {error.orig}")
        except Exception as error:  # one bad job or sync never stops the worker
            rollback(db.session)
            echo(f"error, carrying on: {type(error).__name__}: {error}")
        clock.sleep(poll_seconds)
