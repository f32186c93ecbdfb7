"""The outbox against a local Ad Manager (SOAP through googleads) that times out, refuses, or
succeeds after the client gave up: one order and one line item per line, and nothing lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.adserver import outbox
from app.adserver import service as adserver
from app.adserver.models import MappingKind, PushJob
from app.catalog.models import AdUnit, TargetingDimension, TargetingValue
from app.extensions import db
from tests.conftest import DEMO_USERS, now, user
from tests.integration.test_adserver import signed_order
from tests.support.fake_gam import FakeAdManager

QUICK = outbox.Settings(max_attempts=4, backoff_seconds=30, timeout_seconds=1, gam_api_version="v202608")


@pytest.fixture
def gam() -> Iterator[FakeAdManager]:
    with FakeAdManager(stall=1.5) as fake:
        yield fake


def gam_connection(fake: FakeAdManager, token: str | None = None):
    admin = user(DEMO_USERS["admin"])
    connection = adserver.save_connection(
        None,
        adserver.ConnectionData(
            name="Ad Manager",
            kind="gam",
            time_zone="Europe/London",
            is_default=True,
            settings={"network_code": fake.network_code, "access_token": token or fake.token, "server": fake.url},
        ),
        actor=admin,
        now=now(),
    )
    for unit_id in db.session.scalars(sa.select(AdUnit.id)):
        adserver.set_mapping(connection, MappingKind.AD_UNIT, unit_id, str(90_000 + unit_id), actor=admin, now=now())
    for value_id, key in db.session.execute(
        sa.select(TargetingValue.id, TargetingDimension.key).join(TargetingDimension)
    ):
        remote = f"700:{value_id}" if key in ("key_value", "audience") else str(2_000_000 + value_id)
        adserver.set_mapping(connection, MappingKind.TARGETING_VALUE, value_id, remote, actor=admin, now=now())
    db.session.commit()
    return connection


def job_of(order) -> PushJob:
    return db.session.scalar(sa.select(PushJob).where(PushJob.order_id == order.id))


def at(minutes: int):
    return lambda: now() + timedelta(minutes=minutes)


def test_a_signed_order_reaches_ad_manager_with_its_line_items(ctx, gam):
    gam_connection(gam)
    order = signed_order()
    assert [o.outcome for o in outbox.drain(worker="w1", settings=QUICK)] == ["sent"]
    (remote,) = gam.orders_named(order.name)
    (item,) = gam.line_items_of(remote.id)
    assert item.externalId == str(order.lines[0].id) and item.primaryGoal.units == 500_000
    assert db.session.get(type(order), order.id).remote_order_id == str(remote.id)


def test_a_create_that_succeeded_after_the_client_gave_up_is_adopted_on_retry(ctx, gam):
    gam_connection(gam)
    order = signed_order()
    gam.fail_next(1, "slow_success", operation="createLineItems")
    (first,) = outbox.drain(worker="w1", settings=QUICK)
    assert first.outcome == "retry"
    (second,) = outbox.drain(worker="w1", settings=QUICK, now_fn=at(5))
    assert second.outcome == "sent"
    (remote,) = gam.orders_named(order.name)
    assert len(gam.line_items_of(remote.id)) == len(order.lines) and len(gam.companies) == 1
    assert gam.calls.count("LineItemService.createLineItems") == 1


def test_an_order_created_after_a_timeout_is_found_by_its_name_not_made_twice(ctx, gam):
    gam_connection(gam)
    order = signed_order()
    gam.fail_next(1, "slow_success", operation="createOrders")
    gam.fail_next(1, "timeout")
    outcomes = []
    for minutes in (0, 5, 15):
        outcomes += [o.outcome for o in outbox.drain(worker="w1", settings=QUICK, now_fn=at(minutes))]
    assert outcomes == ["retry", "retry", "sent"]
    assert len(gam.orders_named(order.name)) == 1 and len(gam.orders) == 1


def test_a_field_ad_manager_refuses_is_shown_to_ad_ops_and_kept_for_retry(ctx, gam):
    gam_connection(gam)
    order = signed_order()
    gam.reject_field("lineItem[0].costPerUnit", "NOT_ALLOWED")
    (outcome,) = outbox.drain(worker="w1", settings=QUICK)
    job = job_of(order)
    assert outcome.outcome == "failed" and job.status == "dead"
    assert "costPerUnit" in job.last_error and "NOT_ALLOWED" in job.last_error


def test_wrong_credentials_wait_for_ad_ops_with_a_clear_message(ctx, gam):
    gam_connection(gam, token="expired-token")
    order = signed_order()
    (outcome,) = outbox.drain(worker="w1", settings=QUICK)
    assert outcome.outcome == "failed" and "credentials" in job_of(order).last_error.lower()
    assert gam.orders == {}
