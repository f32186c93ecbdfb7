"""Ad ops in the browser's pages: orders with their ad-server state, connections, mappings, the queue."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.adserver.models import Connection, DeliveryDay, IdMapping, PushJob
from app.audit.models import AuditEvent
from app.catalog.models import AdUnit
from app.extensions import current_clock, db
from app.orders.models import Order


def demo_order(app) -> Order:
    with app.app_context():
        order = db.session.scalars(sa.select(Order).order_by(Order.id)).first()
        db.session.expunge(order)
        return order


def test_the_demo_order_page_shows_ad_server_ids_push_history_delivery_and_pacing(app, client, auth):
    auth.login_as("ad_ops")
    order = demo_order(app)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "In the ad server" in html and "Sandbox (sandbox)" in html
    assert 'data-testid="pacing-chart"' in html and "even pace" in html
    assert "created 2 and updated 0 line items" in html  # the push history
    with app.app_context():
        delivered = db.session.scalar(sa.select(sa.func.sum(DeliveryDay.impressions)))
    assert delivered > 0 and f"{delivered // 1:,}"[:3] in html


def test_orders_filter_by_push_state_advertiser_and_start_and_a_bad_date_is_named(app, client, auth):
    auth.login_as("ad_ops")
    order = demo_order(app)
    assert order.number in client.get("/orders/?push=pushed").get_data(as_text=True)
    assert order.number not in client.get("/orders/?push=failed").get_data(as_text=True)
    assert order.number in client.get(f"/orders/?advertiser_id={order.advertiser_id}").get_data(as_text=True)
    with app.app_context():
        later = (current_clock().today() + timedelta(days=400)).isoformat()
    assert "No order matches" in client.get(f"/orders/?starts_from={later}").get_data(as_text=True)
    bad = client.get("/orders/?starts_from=31-02-2026")
    assert bad.status_code == 200 and 'data-field-error="starts_from"' in bad.get_data(as_text=True)


def test_ad_ops_push_again_and_the_sandbox_answers_within_the_request(app, client, auth):
    auth.login_as("ad_ops")
    order = demo_order(app)
    assert client.post(f"/orders/{order.id}/push").status_code == 302
    with app.app_context():
        jobs = db.session.scalars(sa.select(PushJob).where(PushJob.order_id == order.id).order_by(PushJob.id)).all()
        assert [j.status for j in jobs] == ["done", "done"]
        assert db.session.get(Order, order.id).push_state == "pushed"


def test_the_next_simulated_day_brings_one_more_day_of_delivery(app, client, auth):
    auth.login_as("ad_ops")
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(DeliveryDay.id)))
        sandbox = db.session.scalar(sa.select(Connection.id).where(Connection.kind == "sandbox"))
    response = client.post(f"/adserver/connections/{sandbox}/next-day", follow_redirects=True)
    assert "The sandbox is now 1 day ahead." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(DeliveryDay.id))) == before + 2  # two lines, one day


def test_an_admin_adds_a_revive_connection_and_each_bad_field_is_named(app, client, auth):
    auth.login_as("admin")
    bad = client.post(
        "/adserver/connections/new?kind=revive", data={"kind": "revive", "name": "", "time_zone": "Mars/Olympus"}
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    for field in ("name", "time_zone", "url", "username", "password"):
        assert f'data-field-error="{field}"' in html
    good = {
        "kind": "revive",
        "name": "Revive EU",
        "time_zone": "Europe/Paris",
        "setting_url": "https://ads.example.com",
        "setting_username": "api",
        "setting_password": "s3cret-pass",
    }
    assert client.post("/adserver/connections/new?kind=revive", data=good).status_code == 302
    with app.app_context():
        connection = db.session.scalar(sa.select(Connection).where(Connection.name == "Revive EU"))
        assert connection.settings["password"] == "s3cret-pass" and not connection.is_default
        logged = db.session.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.entity_type == "adserver_connection", AuditEvent.entity_id == connection.id
            )
        )
        assert "s3cret-pass" not in str(logged.after)
    form = client.get(f"/adserver/connections/{connection.id}").get_data(as_text=True)
    assert "s3cret-pass" not in form
    # Saved with the password left blank, the stored one stays.
    assert (
        client.post(f"/adserver/connections/{connection.id}", data=good | {"setting_password": ""}).status_code == 302
    )
    with app.app_context():
        assert db.session.get(Connection, connection.id).settings["password"] == "s3cret-pass"


def test_mappings_are_searched_and_set_one_row_at_a_time(app, client, auth):
    auth.login_as("ad_ops")
    with app.app_context():
        connection = Connection(
            name="GAM", kind="gam", time_zone="Europe/London", settings={"network_code": "1234", "access_token": "t"}
        )
        db.session.add(connection)
        db.session.commit()
        connection_id = connection.id
        unit = db.session.scalars(sa.select(AdUnit).order_by(AdUnit.id)).first()
        unit_id, unit_code = unit.id, unit.code
    page = client.get(f"/adserver/connections/{connection_id}/mappings?q={unit_code}").get_data(as_text=True)
    assert unit_code in page and "unmapped" in page
    row = client.post(
        f"/adserver/connections/{connection_id}/mappings/set",
        data={"kind": "ad_unit", "local_id": unit_id, "remote_id": "21700001"},
        headers={"HX-Request": "true"},
    )
    assert row.status_code == 200 and "Saved." in row.get_data(as_text=True)
    too_long = client.post(
        f"/adserver/connections/{connection_id}/mappings/set",
        data={"kind": "ad_unit", "local_id": unit_id, "remote_id": "9" * 121},
        headers={"HX-Request": "true"},
    )
    assert too_long.status_code == 400 and "at most 120 characters" in too_long.get_data(as_text=True)
    with app.app_context():
        mapping = db.session.scalar(sa.select(IdMapping).where(IdMapping.connection_id == connection_id))
        assert mapping.remote_id == "21700001"


def test_a_dead_push_shows_its_error_in_the_queue_and_ad_ops_retry_it(app, client, auth):
    order = demo_order(app)
    with app.app_context():
        db.session.add(
            PushJob(
                order_id=order.id,
                connection_id=order.connection_id,
                status="dead",
                attempts=8,
                last_error="lineItem[0].costPerUnit: NOT_ALLOWED",
                reason="signed",
            )
        )
        db.session.commit()
        job_id = db.session.scalar(sa.select(sa.func.max(PushJob.id)))
    auth.login_as("ad_ops")
    queue = client.get("/adserver/queue").get_data(as_text=True)
    assert "lineItem[0].costPerUnit: NOT_ALLOWED" in queue
    assert client.post(f"/adserver/jobs/{job_id}/retry").status_code == 302
    with app.app_context():
        assert db.session.get(PushJob, job_id).status == "done"  # sent again within the request
    again = client.post(f"/adserver/jobs/{job_id}/retry")
    assert again.status_code == 409 and "Only a push that needs ad ops" in again.get_data(as_text=True)


def test_a_rep_sees_the_order_but_not_the_ad_ops_buttons(app, client, auth):
    auth.login_as("sales_rep")
    order = demo_order(app)
    html = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Change order" in html and "Push now" not in html and ">Pause<" not in html
    assert client.post(f"/orders/{order.id}/push").status_code == 403


def test_bad_ad_manager_settings_and_unknown_items_are_refused_with_messages(app, client, auth):
    auth.login_as("admin")
    bad = client.post(
        "/adserver/connections/new?kind=gam",
        data={
            "kind": "gam",
            "name": "GAM",
            "time_zone": "Europe/London",
            "setting_network_code": "12ab",
            "setting_server": "ftp://x",
            "setting_service_account_key": "[1, 2]",
        },
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 400
    for field in ("network_code", "server", "service_account_key"):
        assert f'data-field-error="{field}"' in html
    with app.app_context():
        sandbox = db.session.scalar(sa.select(Connection.id).where(Connection.kind == "sandbox"))
    missing = client.post(
        f"/adserver/connections/{sandbox}/mappings/set",
        data={"kind": "ad_unit", "local_id": "999999", "remote_id": "1"},
        headers={"HX-Request": "true"},
    )
    assert missing.status_code in (400, 404) and "No such item" in missing.get_data(as_text=True)


def test_the_menu_marks_ad_ops_on_the_queue_and_ad_servers_on_the_connections(client, auth):
    import re

    auth.login_as("ad_ops")
    for path, label in (
        ("/adserver/queue", "Ad ops"),
        ("/adserver/", "Ad servers"),
        ("/adserver/connections/1/mappings", "Ad servers"),
    ):
        html = client.get(path).get_data(as_text=True)
        menu = html.split('aria-label="Main"', 1)[1].split("</nav>", 1)[0]
        current = re.findall(r'aria-current="page" href="[^"]+">([^<]+)</a>', menu)
        assert current == [label], (path, current)


def test_the_rep_discards_a_change_order_from_the_order_page(app, client, auth):
    order = demo_order(app)
    auth.login_as("sales_rep")
    assert client.post(f"/orders/{order.id}/change").status_code == 302
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Discard change order" in page and "Change order in progress" in page
    assert client.post(f"/orders/{order.id}/change/discard").status_code == 302
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert "Discard change order" not in page and ">Change order<" in page
