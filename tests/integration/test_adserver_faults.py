"""The outbox against a local Revive that times out, refuses, or succeeds after the client gave up:
the ad server ends with exactly one advertiser and one campaign per line, and nothing is lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.adserver import outbox
from app.adserver import service as adserver
from app.adserver.models import MappingKind, PushJob
from app.catalog.models import AdUnit
from app.extensions import current_clock, db
from tests.conftest import DEMO_USERS, now, user
from tests.integration.test_adserver import signed_order
from tests.support.fake_revive import FakeRevive

QUICK = outbox.Settings(max_attempts=4, backoff_seconds=30, timeout_seconds=1)


@pytest.fixture
def revive() -> Iterator[FakeRevive]:
    with FakeRevive(hang_seconds=1.5) as fake:
        yield fake


def revive_connection(fake: FakeRevive, password: str = "secret"):
    admin = user(DEMO_USERS["admin"])
    connection = adserver.save_connection(
        None,
        adserver.ConnectionData(
            name="Revive",
            kind="revive",
            time_zone="Europe/London",
            is_default=True,
            settings={"url": fake.url, "username": "api", "password": password},
        ),
        actor=admin,
        now=now(),
    )
    for unit_id in db.session.scalars(sa.select(AdUnit.id)):
        adserver.set_mapping(connection, MappingKind.AD_UNIT, unit_id, "1", actor=admin, now=now())
    db.session.commit()
    return connection


def job_of(order) -> PushJob:
    return db.session.scalar(sa.select(PushJob).where(PushJob.order_id == order.id))


def campaigns(fake: FakeRevive) -> list[dict]:
    return list(fake.campaigns.values())


def test_a_signed_order_reaches_revive_as_one_campaign_per_line(ctx, revive):
    revive_connection(revive)
    order = signed_order()
    assert [o.outcome for o in outbox.drain(worker="w1", settings=QUICK)] == ["sent"]
    (campaign,) = campaigns(revive)
    assert f"flightdeck-line:{order.lines[0].id}" in campaign["comments"]
    assert campaign["impressions"] == 500_000 and revive.zones_of(campaign["campaignId"]) == {1}
    assert db.session.get(type(order), order.id).remote_order_id == str(campaign["advertiserId"])


def test_a_create_that_succeeded_after_the_client_gave_up_is_adopted_on_retry(ctx, revive):
    revive_connection(revive)
    order = signed_order()
    revive.fail_next(1, "slow_success", method="ox.addCampaign")
    (first,) = outbox.drain(worker="w1", settings=QUICK)
    assert first.outcome == "retry" and len(campaigns(revive)) == 1  # made, though the client never heard
    (second,) = outbox.drain(worker="w1", settings=QUICK, now_fn=lambda: now() + timedelta(minutes=5))
    assert second.outcome == "sent"
    assert len(campaigns(revive)) == 1 and len(revive.advertisers) == 1
    assert revive.count("ox.addCampaign") == 1
    assert job_of(order).status == "done"


def test_timeouts_are_retried_until_the_ad_server_answers(ctx, revive):
    revive_connection(revive)
    order = signed_order()
    revive.fail_next(2, "timeout")
    outcomes = []
    for minutes in (0, 5, 15):
        outcomes += [
            o.outcome
            for o in outbox.drain(worker="w1", settings=QUICK, now_fn=lambda m=minutes: now() + timedelta(minutes=m))
        ]
    assert outcomes == ["retry", "retry", "sent"]
    assert len(campaigns(revive)) == 1 and len(revive.advertisers) == 1
    assert [a.outcome for a in job_of(order).attempts_made] == ["retry", "retry", "sent"]


def test_a_field_revive_refuses_is_shown_to_ad_ops_and_the_job_kept(ctx, revive):
    revive_connection(revive)
    order = signed_order()
    revive.reject_field("impressions", "Field 'impressions' is too large for this zone")
    (outcome,) = outbox.drain(worker="w1", settings=QUICK)
    job = job_of(order)
    assert outcome.outcome == "failed" and job.status == "dead"
    assert "Field 'impressions' is too large for this zone" in job.last_error
    assert campaigns(revive) == []
    revive.rejected_fields.clear()
    outbox.retry(job.id, actor=user(DEMO_USERS["ad_ops"]), now=now())
    db.session.commit()
    assert [o.outcome for o in outbox.drain(worker="w1", settings=QUICK)] == ["sent"]
    assert len(campaigns(revive)) == 1


def test_wrong_credentials_wait_for_ad_ops_with_a_clear_message(ctx, revive):
    revive_connection(revive, password="wrong")
    order = signed_order()
    (outcome,) = outbox.drain(worker="w1", settings=QUICK)
    assert outcome.outcome == "failed" and job_of(order).status == "dead"
    assert "username or password" in job_of(order).last_error.lower()


def test_delivery_comes_back_from_revive(ctx, revive):
    from app.adserver import delivery
    from app.adserver.models import Connection, DeliveryDay

    connection = revive_connection(revive)
    order = signed_order()
    line = order.lines[0]
    line.start_day = current_clock().today() - timedelta(days=3)
    db.session.commit()
    outbox.drain(worker="w1", settings=QUICK)
    campaign_id = int(db.session.get(type(line), line.id).remote_line_id)
    for n in range(3):
        revive.delivery[(campaign_id, line.start_day + timedelta(days=n))] = (1000 * (n + 1), n)
    report = delivery.sync_connection(db.session.get(Connection, connection.id), now=now(), timeout=2)
    assert report.error == ""
    got = db.session.execute(
        sa.select(DeliveryDay.day, DeliveryDay.impressions)
        .where(DeliveryDay.order_line_id == line.id)
        .order_by(DeliveryDay.day)
    ).all()
    assert [imps for _day, imps in got] == [1000, 2000, 3000]


def test_nothing_is_lost_when_the_fake_fails_in_every_way_in_turn(ctx, revive):
    """Across timeouts, a late success and a fault, every job ends sent and Revive holds one of each."""
    revive_connection(revive)
    orders = [signed_order(quantity=q) for q in (200_000, 300_000)]
    revive.fail_next(1, "timeout")
    revive.fail_next(1, "slow_success", method="ox.addCampaign")
    revive.fail_next(1, "server_error")
    for minutes in range(0, 120, 5):
        outbox.drain(worker="w1", settings=QUICK, now_fn=lambda m=minutes: now() + timedelta(minutes=m))
    assert {job_of(o).status for o in orders} == {"done"}
    assert len(revive.advertisers) == 1
    markers = sorted(c["comments"].split()[0] for c in campaigns(revive))
    assert len(markers) == len(set(markers)) == 2
