"""Orders reach the ad server through the outbox exactly once; delivery, pacing, make-goods and drift come back."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.adserver import delivery, outbox
from app.adserver import service as adserver
from app.adserver.adapters.base import AdServerError
from app.adserver.models import Connection, DeliveryDay, PushAttempt, PushJob, SandboxLineItem, SandboxOrder
from app.audit.models import AuditEvent
from app.errors import DomainError
from app.extensions import current_clock, current_settings, db
from app.orders.models import Order
from app.workflow import service
from tests.conftest import DEMO_USERS, now, user
from tests.integration.test_signing import accept, approved, sent

FAST = outbox.Settings(max_attempts=3, backoff_seconds=30, timeout_seconds=2)


def signed_order(quantity: int = 500_000) -> Order:
    proposal = approved(quantity)
    accept(sent(proposal))
    db.session.commit()
    return db.session.scalar(sa.select(Order).where(Order.proposal_id == proposal.id))


def sandbox() -> Connection:
    return db.session.scalar(sa.select(Connection).where(Connection.name == "Sandbox"))


def approve_all(proposal) -> None:
    """Every pending request of the latest version approved by its approver."""
    for request in service.requests_of(proposal, proposal.versions[-1].id):
        if request.status == "pending":
            service.decide(
                request,
                approve=True,
                comment="",
                actor=user(DEMO_USERS[request.approver_role]),
                now=now(),
                settings=current_settings(),
            )


def later(minutes: float):
    return lambda: now() + timedelta(minutes=minutes)


def test_signing_writes_a_push_that_the_worker_sends_to_the_sandbox_once(ctx):
    order = signed_order()
    job = db.session.scalar(sa.select(PushJob).where(PushJob.order_id == order.id))
    assert job.status == "pending" and order.push_state == "queued" and order.connection_id == sandbox().id
    outcomes = outbox.drain(worker="w1", settings=FAST)
    assert [o.outcome for o in outcomes] == ["sent"]
    db.session.refresh(order)
    assert order.push_state == "pushed" and order.pushed_revision == 1 and order.remote_order_id
    remote = db.session.get(SandboxOrder, int(order.remote_order_id))
    assert remote.external_id == str(order.id) and remote.name == order.name
    items = db.session.scalars(sa.select(SandboxLineItem).where(SandboxLineItem.order_id == remote.id)).all()
    assert [i.external_id for i in items] == [str(line.id) for line in order.lines]
    assert items[0].spec["impressions"] == 500_000 and items[0].spec["ad_units"]
    assert order.lines[0].remote_line_id == str(items[0].id)
    assert outbox.drain(worker="w1", settings=FAST) == []  # nothing left to send


def test_pushing_again_adopts_what_the_ad_server_has_and_never_duplicates(ctx):
    order = signed_order()
    outbox.drain(worker="w1", settings=FAST)
    adserver.queue_push(order, reason="again", now=now())
    db.session.commit()
    assert [o.outcome for o in outbox.drain(worker="w1", settings=FAST)] == ["sent"]
    assert db.session.scalar(sa.select(sa.func.count()).where(SandboxOrder.external_id == str(order.id))) == 1
    lines = db.session.scalar(
        sa.select(sa.func.count(SandboxLineItem.id)).where(SandboxLineItem.order_id == int(order.remote_order_id))
    )
    assert lines == len(order.lines)


def test_a_push_written_while_one_waits_is_merged_into_it(ctx):
    order = signed_order()
    adserver.queue_push(order, reason="again", now=now())
    db.session.commit()
    jobs = db.session.scalars(sa.select(PushJob).where(PushJob.order_id == order.id)).all()
    assert len(jobs) == 1 and "again" in jobs[0].reason


def test_unmapped_items_stop_the_push_with_a_message_that_names_them(ctx):
    admin = user(DEMO_USERS["admin"])
    bare = adserver.save_connection(
        None,
        adserver.ConnectionData(name="Bare sandbox", kind="sandbox", time_zone="Europe/London", is_default=True),
        actor=admin,
        now=now(),
    )
    db.session.commit()
    order = signed_order()
    assert order.connection_id == bare.id
    (outcome,) = outbox.drain(worker="w1", settings=FAST)
    job = db.session.scalar(sa.select(PushJob).where(PushJob.order_id == order.id))
    assert outcome.outcome == "failed" and job.status == "dead" and job.attempts == 1
    assert "Map these first" in job.last_error and "ad unit" in job.last_error
    assert db.session.get(Order, order.id).push_state == "failed"
    assert job in outbox.dead_jobs()
    # Ad ops map everything and retry: it goes through.
    adserver.map_to_own_ids(bare, actor=admin, now=now())
    outbox.retry(job.id, actor=user(DEMO_USERS["ad_ops"]), now=now())
    db.session.commit()
    assert [o.outcome for o in outbox.drain(worker="w1", settings=FAST)] == ["sent"]
    assert db.session.get(Order, order.id).push_state == "pushed"


class Flaky:
    """Wraps the sandbox adapter: the first `failures` pushes fail as the error says."""

    def __init__(self, failures: int, transient: bool = True):
        self.failures, self.transient, self.calls = failures, transient, 0

    def install(self, monkeypatch):
        real = adserver.adapter_of

        def adapter_of(connection, **kw):
            adapter = real(connection, **kw)
            push = adapter.push

            def flaky_push(spec):
                self.calls += 1
                if self.calls <= self.failures:
                    raise AdServerError("The ad server timed out", transient=self.transient)
                return push(spec)

            adapter.push = flaky_push
            return adapter

        monkeypatch.setattr(adserver, "adapter_of", adapter_of)


def test_transient_errors_retry_with_growing_backoff_then_the_job_is_dead(ctx, monkeypatch):
    Flaky(failures=99).install(monkeypatch)
    order = signed_order()
    (first,) = outbox.drain(worker="w1", settings=FAST)
    job = db.session.scalar(sa.select(PushJob).where(PushJob.order_id == order.id))
    first_wait = job.next_attempt_at - now()
    assert first.outcome == "retry" and job.status == "pending" and timedelta(seconds=29) < first_wait
    assert outbox.drain(worker="w1", settings=FAST) == []  # not due yet
    (second,) = outbox.drain(worker="w1", settings=FAST, now_fn=later(1))
    db.session.refresh(job)
    assert second.outcome == "retry" and job.next_attempt_at - later(1)() > timedelta(seconds=59)
    (third,) = outbox.drain(worker="w1", settings=FAST, now_fn=later(10))
    db.session.refresh(job)
    assert third.outcome == "failed" and job.status == "dead" and job.attempts == 3
    history = db.session.scalars(sa.select(PushAttempt.outcome).where(PushAttempt.job_id == job.id)).all()
    assert history == ["retry", "retry", "failed"]
    outbox.cancel(job.id, actor=user(DEMO_USERS["ad_ops"]), now=now())
    db.session.commit()
    assert db.session.get(PushJob, job.id).status == "cancelled"
    assert db.session.get(Order, order.id).push_state == "not_pushed"


def test_an_error_a_retry_cannot_fix_waits_for_ad_ops_at_once(ctx, monkeypatch):
    Flaky(failures=1, transient=False).install(monkeypatch)
    order = signed_order()
    (outcome,) = outbox.drain(worker="w1", settings=FAST)
    job = db.session.scalar(sa.select(PushJob).where(PushJob.order_id == order.id))
    assert outcome.outcome == "failed" and job.status == "dead" and job.attempts == 1
    outbox.retry(job.id, actor=user(DEMO_USERS["ad_ops"]), now=now())
    db.session.commit()
    assert [o.outcome for o in outbox.drain(worker="w1", settings=FAST)] == ["sent"]
    with pytest.raises(DomainError, match="Only a push that needs ad ops"):
        outbox.retry(job.id, actor=user(DEMO_USERS["ad_ops"]), now=now())


def test_a_claimed_job_is_not_taken_by_a_second_worker_until_its_lease_lapses(ctx):
    order = signed_order()
    job = outbox.claim(worker="w1", now=now(), settings=FAST)
    assert job.order_id == order.id and job.claimed_by == "w1"
    assert outbox.claim(worker="w2", now=now(), settings=FAST) is None
    again = outbox.claim(worker="w2", now=now() + timedelta(seconds=FAST.lease_seconds + 1), settings=FAST)
    assert again.id == job.id and again.claimed_by == "w2" and again.attempts == 2


def test_a_line_that_ended_before_its_first_push_is_refused_for_ad_ops(ctx):
    order = signed_order()
    line = order.lines[0]
    line.start_day = line.end_day = current_clock().today() - timedelta(days=3)
    db.session.commit()
    (outcome,) = outbox.drain(worker="w1", settings=FAST)
    assert outcome.outcome == "failed" and "change its dates" in outcome.message


def test_delivery_comes_back_per_line_and_day_and_the_next_simulated_day_adds_one(ctx):
    order = signed_order()
    connection = sandbox()
    line = order.lines[0]
    line.start_day = current_clock().today() - timedelta(days=5)
    db.session.commit()
    outbox.drain(worker="w1", settings=FAST)
    report = delivery.sync_connection(connection, now=now(), timeout=5)
    days = db.session.scalars(sa.select(DeliveryDay).where(DeliveryDay.order_line_id == line.id)).all()
    assert report.error == "" and len(days) == 5 and all(d.impressions > 0 for d in days)
    assert max(d.day for d in days) == current_clock().today() - timedelta(days=1)
    first = sum(d.impressions for d in days)
    # Synced again, the same days give the same numbers (no double counting).
    delivery.sync_connection(connection, now=now(), timeout=5)
    assert (
        db.session.scalar(sa.select(sa.func.sum(DeliveryDay.impressions)).where(DeliveryDay.order_line_id == line.id))
        == first
    )
    connection.settings = {**connection.settings, "days_ahead": "1"}
    delivery.sync_connection(connection, now=now(), timeout=5)
    days = db.session.scalars(sa.select(DeliveryDay).where(DeliveryDay.order_line_id == line.id)).all()
    assert len(days) == 6 and max(d.day for d in days) == current_clock().today()


def _delivered(line, impressions_per_day: int, days: int):
    for n in range(days):
        db.session.add(
            DeliveryDay(order_line_id=line.id, day=line.start_day + timedelta(days=n), impressions=impressions_per_day)
        )


def test_pacing_compares_delivery_with_an_even_pace_and_flags_lines_at_risk(ctx):
    order = signed_order(quantity=300_000)
    outbox.drain(worker="w1", settings=FAST)
    line = order.lines[0]
    today = current_clock().today()
    line.start_day, line.end_day = today - timedelta(days=10), today + timedelta(days=19)  # 30 days, 10 gone
    _delivered(line, 5_000, 10)  # half the even pace of 10,000 a day
    sandbox().delivered_through = today - timedelta(days=1)
    db.session.commit()
    (pacing,) = delivery.pacing_of([line], today=today)
    assert pacing.expected == 100_000 and pacing.delivered == 50_000 and pacing.pace_pct == Decimal("50.0")
    assert pacing.projected == 150_000 and pacing.state == "at_risk" and pacing.owed == 0
    assert [p.line.id for p in delivery.at_risk_lines(today=today)] == [line.id]


def test_the_sync_lists_where_the_ad_server_drifted_from_the_signed_order(ctx):
    order = signed_order()
    outbox.drain(worker="w1", settings=FAST)
    item = db.session.get(SandboxLineItem, int(order.lines[0].remote_line_id))
    item.spec = {**item.spec, "impressions": 450_000, "end": (order.lines[0].end_day + timedelta(days=2)).isoformat()}
    db.session.commit()
    report = delivery.sync_connection(sandbox(), now=now(), timeout=5)
    line = db.session.get(type(order.lines[0]), order.lines[0].id)
    assert report.drifted == 1
    assert any(d.startswith("Quantity: the ad server has 450,000, the order 500,000") for d in line.drift)
    assert any(d.startswith("Flight:") for d in line.drift)
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "drift", AuditEvent.entity_id == order.id)
    )
    # Pushing the order again puts the ad server right; the next sync finds no drift.
    adserver.queue_push(order, reason="fix drift", now=now())
    db.session.commit()
    outbox.drain(worker="w1", settings=FAST)
    delivery.sync_connection(sandbox(), now=now(), timeout=5)
    assert db.session.get(type(line), line.id).drift == []


LINE_FIELDS = (
    "position", "product_id", "pricing_model", "targeting", "start_day", "end_day",
    "time_zone", "quantity", "net_rate", "gross", "commission", "net",
)  # fmt: skip


def _copies_of_the_demo_order(count: int) -> list[int]:
    """Orders like the demo's signed one, each with a push waiting (quicker than signing each)."""
    from app.orders.models import OrderLine
    from app.proposals.models import ProposalVersion

    demo = (
        db.session.scalar(sa.select(Order).where(Order.number == "O-2026-0001").limit(1))
        or db.session.scalars(sa.select(Order).order_by(Order.id)).first()
    )
    ids = []
    for n in range(count):
        version = ProposalVersion(proposal_id=demo.proposal_id, number=100 + n, snapshot={}, created_at=now())
        db.session.add(version)
        db.session.flush()
        order = Order(
            number=f"O-TEST-{n:04d}",
            proposal_id=demo.proposal_id,
            version_id=version.id,
            advertiser_id=demo.advertiser_id,
            currency=demo.currency,
            status="booked",
            gross=demo.gross,
            net=demo.net,
            created_at=now(),
        )
        for line in demo.lines:
            order.lines.append(OrderLine(**{c: getattr(line, c) for c in LINE_FIELDS}))
        db.session.add(order)
        db.session.flush()
        adserver.queue_push(order, reason="race", now=now())
        ids.append(order.id)
    db.session.commit()
    return ids


@pytest.mark.postgres_only  # SQLite serialises every writer: the race needs PostgreSQL
def test_two_workers_on_postgresql_never_send_the_same_job_twice_at_once(app, backend, monkeypatch):
    import threading
    import time

    with app.app_context():
        order_ids = _copies_of_the_demo_order(8)
    in_flight: set[int] = set()
    sent: list[int] = []
    overlaps: list[int] = []
    guard = threading.Lock()
    real = adserver.adapter_of

    def adapter_of(connection, **kw):
        adapter = real(connection, **kw)
        push = adapter.push

        def slow_push(spec):
            with guard:
                if spec.order_id in in_flight:
                    overlaps.append(spec.order_id)
                in_flight.add(spec.order_id)
            time.sleep(0.05)  # widen the window a second worker could slip into
            try:
                return push(spec)
            finally:
                with guard:
                    in_flight.discard(spec.order_id)
                    sent.append(spec.order_id)

        adapter.push = slow_push
        return adapter

    monkeypatch.setattr(adserver, "adapter_of", adapter_of)
    barrier = threading.Barrier(2)
    by_worker: dict[str, list[str]] = {}

    def work(name: str) -> None:
        with app.app_context():
            barrier.wait()
            try:
                by_worker[name] = [o.outcome for o in outbox.drain(worker=name, settings=FAST)]
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert overlaps == []
    assert sorted(o for o in sent if o in order_ids) == sorted(order_ids)  # each exactly once
    assert all(by_worker[w] for w in by_worker), by_worker  # both took a share
    with app.app_context():
        assert set(db.session.scalars(sa.select(PushJob.status).where(PushJob.order_id.in_(order_ids)))) == {"done"}
        pushed = db.session.scalar(
            sa.select(sa.func.count(SandboxOrder.id)).where(SandboxOrder.external_id.in_([str(i) for i in order_ids]))
        )
        assert pushed == len(order_ids)


def test_an_old_dead_push_retried_after_a_newer_one_went_through_is_merged_not_rewound(ctx, monkeypatch):
    order = signed_order()
    Flaky(failures=1, transient=False).install(monkeypatch)
    outbox.drain(worker="w1", settings=FAST)
    dead = db.session.scalar(sa.select(PushJob).where(PushJob.order_id == order.id))
    assert dead.status == "dead"
    order.revision = 2  # as a change order would
    adserver.queue_push(order, reason="revision 2", now=now())
    db.session.commit()
    outbox.drain(worker="w1", settings=FAST)
    order = db.session.get(Order, order.id)
    assert order.pushed_revision == 2 and order.push_state == "pushed"
    assert db.session.get(PushJob, dead.id).status == "cancelled"  # overtaken by the push that went through


def test_cancelling_a_failed_push_leaves_the_order_shown_as_behind(ctx, monkeypatch):
    order = signed_order()
    outbox.drain(worker="w1", settings=FAST)
    order.revision = 2
    adserver.queue_push(order, reason="revision 2", now=now())
    db.session.commit()
    Flaky(failures=1, transient=False).install(monkeypatch)
    outbox.drain(worker="w1", settings=FAST)
    job = db.session.scalars(sa.select(PushJob).where(PushJob.order_id == order.id).order_by(PushJob.id.desc())).first()
    outbox.cancel(job.id, actor=user(DEMO_USERS["ad_ops"]), now=now())
    db.session.commit()
    assert db.session.get(Order, order.id).push_state == "failed"


def test_delivery_is_kept_when_an_order_cannot_be_read_back_for_drift(ctx, monkeypatch):
    order = signed_order()
    line = order.lines[0]
    line.start_day = current_clock().today() - timedelta(days=3)
    db.session.commit()
    outbox.drain(worker="w1", settings=FAST)
    real = adserver.adapter_of

    def adapter_of(connection, **kw):
        adapter = real(connection, **kw)

        def refuse(*_a, **_k):
            raise AdServerError("No such campaign", transient=False)

        adapter.read_lines = refuse
        return adapter

    monkeypatch.setattr(adserver, "adapter_of", adapter_of)
    report = delivery.sync_connection(sandbox(), now=now(), timeout=5)
    assert report.error == "" and "could not read its lines back (No such campaign)" in report.problems
    assert db.session.scalar(sa.select(sa.func.count(DeliveryDay.id)).where(DeliveryDay.order_line_id == line.id)) == 3
