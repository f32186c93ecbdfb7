"""A push that cannot go fails at once with its fix; the unmapped counter follows the catalog at once;
the sandbox runs until a date in one request."""

from __future__ import annotations

import re
import traceback
from contextlib import contextmanager
from datetime import timedelta
from html import unescape

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.adserver.models import Connection, DeliveryDay, IdMapping, MappingKind, PushAttempt, PushJob
from app.audit.models import AuditEvent
from app.catalog.models import AdUnit, ProductAdUnit
from app.extensions import current_clock, db
from app.orders.models import Order


def unmap_an_ad_unit_of_the_demo_order(app) -> tuple[int, int, str, int]:
    """Remove the sandbox's id of one ad unit the demo order's first line runs on: (order id,
    connection id, the unit's name, its id)."""
    with app.app_context():
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
        link = db.session.scalars(
            sa.select(ProductAdUnit).where(ProductAdUnit.product_id == order.lines[0].product_id)
        ).first()
        unit = db.session.get(AdUnit, link.ad_unit_id)
        db.session.execute(
            sa.delete(IdMapping).where(
                IdMapping.connection_id == order.connection_id,
                IdMapping.kind == MappingKind.AD_UNIT.value,
                IdMapping.local_id == unit.id,
            )
        )
        db.session.commit()
        return order.id, order.connection_id, unit.name, unit.id


def text_of(response) -> str:
    return unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


@contextmanager
def commits():
    """The commits of the units of work inside the block (not those of what runs after a commit,
    such as finance's adjustments, each in its own transaction)."""
    counted: list[int] = []

    def count(session) -> None:
        if not any(frame.name == "run_committed" for frame in traceback.extract_stack()):
            counted.append(1)

    sa.event.listen(Session, "after_commit", count)
    try:
        yield counted
    finally:
        sa.event.remove(Session, "after_commit", count)


def test_a_push_that_needs_an_unmapped_ad_unit_fails_at_once_and_links_to_the_mapping_that_fixes_it(app, client, auth):
    order_id, connection_id, unit_name, unit_id = unmap_an_ad_unit_of_the_demo_order(app)
    auth.login_as("ad_ops")
    page = client.post(f"/orders/{order_id}/push", follow_redirects=True)
    text = text_of(page)
    assert "Push queued" not in text
    assert "failed: Map these first on the connection's mapping page: ad unit " + unit_name in text
    link = re.search(r'data-testid="fix-mappings" href="([^"]+)"', page.get_data(as_text=True))
    assert link and "Map the 1 unmapped item" in text
    with app.app_context():
        job = db.session.scalars(sa.select(PushJob).where(PushJob.order_id == order_id).order_by(PushJob.id)).all()[-1]
        assert (job.status, db.session.get(Order, order_id).push_state) == ("dead", "failed")
        attempt = db.session.scalar(sa.select(PushAttempt).where(PushAttempt.job_id == job.id))
        assert attempt.outcome == "failed" and unit_name in attempt.message
    # The queue's error links to the same page.
    assert 'data-testid="fix-mappings"' in client.get("/adserver/queue").get_data(as_text=True)

    mappings = client.get(unescape(link.group(1)))
    html = text_of(mappings)
    rows = re.findall(r'<tr id="map-ad_unit-(\d+)" data-testid="mapping-row" class="table-warning">', html)
    assert rows == [str(unit_id)]  # only the unit the push needs, highlighted
    assert "1 unmapped ad unit." in html and "Showing what the push of" in html

    saved = client.post(
        f"/adserver/connections/{connection_id}/mappings/set",
        data={"kind": "ad_unit", "local_id": unit_id, "remote_id": str(unit_id)},
        headers={"HX-Request": "true"},
    )
    assert saved.status_code == 200 and saved.headers["HX-Trigger"] == "mappings-changed"
    counter = client.get(f"/adserver/connections/{connection_id}/mappings/count?kind=ad_unit")
    assert "0 unmapped ad units." in text_of(counter)

    again = text_of(client.post(f"/orders/{order_id}/push", follow_redirects=True))
    assert "is in Sandbox: pushed" in again and 'data-testid="push-error"' not in again
    with app.app_context():
        assert db.session.get(Order, order_id).push_state == "pushed"
        assert db.session.get(PushJob, job.id).status == "cancelled"  # overtaken by the push that went through


def test_a_push_to_an_inactive_connection_fails_at_once_and_says_so(app, client, auth):
    with app.app_context():
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
        order_id = order.id
        db.session.get(Connection, order.connection_id).active = False
        db.session.commit()
    auth.login_as("ad_ops")
    text = text_of(client.post(f"/orders/{order_id}/push", follow_redirects=True))
    assert "failed: The connection Sandbox is inactive" in text and "Push queued" not in text


def test_the_ad_servers_page_counts_an_unmapped_item_at_once_not_after_a_sync(app, client, auth):
    auth.login_as("ad_ops")
    assert 'data-testid="unmapped-badge"' not in client.get("/adserver/").get_data(as_text=True)
    unmap_an_ad_unit_of_the_demo_order(app)
    page = client.get("/adserver/").get_data(as_text=True)
    assert re.search(r'data-testid="unmapped-badge">1 unmapped<', page)


def sandbox(app) -> tuple[int, object]:
    with app.app_context():
        return db.session.scalar(sa.select(Connection.id).where(Connection.kind == "sandbox")), current_clock().today()


def test_the_sandbox_runs_until_a_date_in_one_request_that_commits_once_and_is_audited(app, client, auth):
    auth.login_as("ad_ops")
    connection_id, today = sandbox(app)
    until = today + timedelta(days=5)  # delivery came through yesterday: six more days
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(DeliveryDay.id)))
    with commits() as counted:
        response = client.post(f"/adserver/connections/{connection_id}/run-until", data={"until": until.isoformat()})
    assert response.status_code == 302 and len(counted) == 1
    text = text_of(client.get(response.headers["Location"]))
    assert f"The sandbox ran 6 days: delivery is in through {until:%d %b %Y}." in text
    assert "line-days of delivery for 2 lines; 0 lines drift." in text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(DeliveryDay.id))) == before + 12  # two lines, six days
        connection = db.session.get(Connection, connection_id)
        assert connection.settings["days_ahead"] == "6" and connection.delivered_through == until
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.entity_id == connection_id, AuditEvent.action == "ran_until")
        )
        assert event.after == {"days_ahead": 6} and event.before == {"days_ahead": 0}


def test_run_until_refuses_a_past_day_a_day_too_far_ahead_a_bad_date_and_other_ad_servers_on_the_field(
    app, client, auth
):
    auth.login_as("ad_ops")
    connection_id, today = sandbox(app)
    for until, message in (
        (today - timedelta(days=1), f"already delivered through {today - timedelta(days=1):%d %b %Y}"),
        (today + timedelta(days=366), "at most 366 days ahead of today"),
        ("31-02-2027", "Give the day as a date"),
        ("", "Enter the last day to simulate"),
    ):
        response = client.post(f"/adserver/connections/{connection_id}/run-until", data={"until": str(until)})
        html = text_of(response)
        assert response.status_code == 400 and 'data-field-error="until"' in html and message in html, until
    with app.app_context():
        assert "days_ahead" not in db.session.get(Connection, connection_id).settings
        gam = Connection(
            name="GAM", kind="gam", time_zone="Europe/London", settings={"network_code": "1234", "access_token": "t"}
        )
        db.session.add(gam)
        db.session.commit()
        gam_id = gam.id
    refused = client.post(f"/adserver/connections/{gam_id}/run-until", data={"until": today.isoformat()})
    assert refused.status_code == 400 and "Only the sandbox's clock can be moved" in text_of(refused)
    # The last day allowed still runs.
    last = today + timedelta(days=365)
    assert (
        client.post(f"/adserver/connections/{connection_id}/run-until", data={"until": last.isoformat()}).status_code
        == 302
    )


def test_words_agree_with_one_the_sandbox_is_1_day_ahead_and_1_unmapped_targeting_value(app, client, auth):
    auth.login_as("ad_ops")
    connection_id, _ = sandbox(app)
    with app.app_context():
        mapping = db.session.scalars(
            sa.select(IdMapping).where(
                IdMapping.connection_id == connection_id, IdMapping.kind == MappingKind.TARGETING_VALUE.value
            )
        ).first()
        db.session.delete(mapping)
        db.session.commit()
    page = text_of(client.get(f"/adserver/connections/{connection_id}/mappings?kind=targeting_value"))
    assert "1 unmapped targeting value." in page and "1 unmapped targeting values" not in page
    moved = text_of(client.post(f"/adserver/connections/{connection_id}/next-day", follow_redirects=True))
    assert "The sandbox is now 1 day ahead." in moved and "1 days" not in moved


def test_retrying_a_push_that_is_still_unmapped_fails_at_once_again_and_stays_in_the_queue(app, client, auth):
    order_id, _, unit_name, _ = unmap_an_ad_unit_of_the_demo_order(app)
    auth.login_as("ad_ops")
    client.post(f"/orders/{order_id}/push")
    with app.app_context():
        job_id = db.session.scalar(sa.select(sa.func.max(PushJob.id)).where(PushJob.order_id == order_id))
    text = text_of(client.post(f"/adserver/jobs/{job_id}/retry", follow_redirects=True))
    assert (
        "queued again" not in text
        and f"failed: Map these first on the connection's mapping page: ad unit {unit_name}" in text
    )
    with app.app_context():
        job = db.session.get(PushJob, job_id)
        assert (job.status, job.attempts, len(job.attempts_made)) == ("dead", 2, 2)
