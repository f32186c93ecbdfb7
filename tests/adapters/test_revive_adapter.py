"""The Revive adapter against a fake Revive XML-RPC server on loopback (tests/support/fake_revive.py)."""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.adserver.adapters import ADAPTERS
from app.adserver.adapters.base import AdServerError, AdvertiserSpec, LineSpec, OrderSpec
from app.adserver.adapters.revive import ReviveAdapter
from tests.support.fake_revive import WRONG_CREDENTIALS, FakeRevive

TIME_ZONE = "Europe/Amsterdam"
TZ = ZoneInfo(TIME_ZONE)


@pytest.fixture
def revive() -> Iterator[FakeRevive]:
    # Short hangs: the fault tests' client gives up after 0.3 s, and nothing waits for the rest.
    with FakeRevive(hang_seconds=1.0) as fake:
        yield fake


def adapter_for(fake: FakeRevive, *, timeout: float = 5.0, **settings: str) -> ReviveAdapter:
    base = {"url": fake.url, "username": "api", "password": "secret", "agency_id": "1"}
    return ReviveAdapter({**base, **settings}, time_zone=TIME_ZONE, timeout=timeout)


def today() -> date:
    return datetime.now(TZ).date()


def flight(first: int, last: int) -> tuple[datetime, datetime]:
    """A flight from `first` to `last` days after today, as the outbox hands it over."""
    return (
        datetime.combine(today() + timedelta(days=first), time(0, 0), TZ),
        datetime.combine(today() + timedelta(days=last), time(23, 59, 59), TZ),
    )


def make_line(line_id: int = 11, *, days: tuple[int, int] = (3, 30), **overrides) -> LineSpec:
    start, end = flight(*days)
    fields = {
        "line_id": line_id,
        "name": f"O-2026-0001-{line_id} Homepage leaderboard",
        "line_item_type": "standard",
        "pricing_model": "cpm",
        "rate": Decimal("12.3456"),
        "cost": Decimal("1234.56"),
        "impressions": 100_000,
        "start": start,
        "end": end,
        "time_zone": TIME_ZONE,
        "sizes": ("728x90",),
        "ad_units": ("1", "2"),
    }
    return LineSpec(**{**fields, **overrides})


def make_order(*lines: LineSpec, advertiser: AdvertiserSpec | None = None) -> OrderSpec:
    return OrderSpec(
        order_id=5,
        number="O-2026-0001",
        name="O-2026-0001 Spring bikes",
        po_number="PO-77",
        currency="EUR",
        advertiser=advertiser or AdvertiserSpec(local_id=7, name="Harbour Bikes"),
        agency=None,
        lines=lines or (make_line(),),
    )


def test_the_adapter_is_registered_as_revive():
    assert ADAPTERS["revive"] is ReviveAdapter
    assert ReviveAdapter.label == "Revive Adserver"
    assert [f.name for f in ReviveAdapter.settings_fields] == ["url", "username", "password", "agency_id"]


def test_check_signs_in_and_names_the_manager_account(revive):
    message = adapter_for(revive).check()

    assert message == f"Revive at {revive.url}: signed in as api, manager account Harbour Media (#1)"
    assert revive.count("ox.logoff") == 1


def test_check_finds_the_only_manager_account_when_none_is_set(revive):
    assert "Harbour Media (#1)" in adapter_for(revive, agency_id="").check()


def test_check_asks_for_a_manager_account_when_revive_has_several(revive):
    revive.agencies[2] = {"agencyId": 2, "agencyName": "Second Publisher", "accountId": 3}

    with pytest.raises(AdServerError) as refused:
        adapter_for(revive, agency_id="").check()

    assert "Harbour Media (#1), Second Publisher (#2)" in refused.value.message
    assert not refused.value.transient


def test_a_wrong_password_is_a_clear_permanent_error(revive):
    with pytest.raises(AdServerError) as refused:
        adapter_for(revive, password="wrong").push(make_order())

    assert refused.value.message == f"Revive refused the username or password: {WRONG_CREDENTIALS}"
    assert not refused.value.transient
    assert revive.advertisers == {} and revive.campaigns == {}


def test_a_push_creates_the_advertiser_and_one_campaign_per_line(revive):
    leaderboard = make_line(11)
    rectangle = make_line(12, name="O-2026-0001-12 Homepage rectangle", impressions=50_000, ad_units=("3",))

    result = adapter_for(revive).push(make_order(leaderboard, rectangle))

    [advertiser] = revive.advertisers.values()
    assert advertiser["advertiserName"] == "Harbour Bikes" and advertiser["agencyId"] == 1
    assert result.remote_order_id == result.advertiser_remote_id == str(advertiser["advertiserId"])
    assert result.agency_remote_id is None
    campaigns = {c["campaignName"]: c for c in revive.campaigns_of(advertiser["advertiserId"])}
    assert set(campaigns) == {leaderboard.name, rectangle.name}
    first = campaigns[leaderboard.name]
    assert first["startDate"] == today() + timedelta(days=3)
    assert first["endDate"] == today() + timedelta(days=30)
    assert (first["priority"], first["weight"]) == (5, 0)
    assert first["impressions"] == 100_000 and first["clicks"] == -1
    assert (first["revenue"], first["revenueType"]) == (12.3456, 1)
    assert first["comments"].splitlines()[0] == "flightdeck-line:11"
    assert result.remote_line_ids == {11: str(first["campaignId"]), 12: str(campaigns[rectangle.name]["campaignId"])}
    assert campaigns[rectangle.name]["impressions"] == 50_000


def test_a_push_links_each_line_to_its_zones(revive):
    result = adapter_for(revive).push(make_order(make_line(11, ad_units=("1", "3")), make_line(12, ad_units=("2",))))

    assert revive.zones_of(int(result.remote_line_ids[11])) == {1, 3}
    assert revive.zones_of(int(result.remote_line_ids[12])) == {2}


def test_dates_are_the_flight_days_in_the_connection_time_zone(revive):
    # 23:30 in Amsterdam is already the next day in UTC; Revive must get the Amsterdam days.
    start = datetime.combine(today() + timedelta(days=5), time(0, 0), TZ).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(today() + timedelta(days=9), time(23, 30), TZ).astimezone(ZoneInfo("UTC"))

    result = adapter_for(revive).push(make_order(make_line(start=start, end=end)))

    campaign = revive.campaigns[int(result.remote_line_ids[11])]
    assert (campaign["startDate"], campaign["endDate"]) == (today() + timedelta(days=5), today() + timedelta(days=9))


@pytest.mark.parametrize(
    ("line_item_type", "impressions", "priority", "weight", "booked"),
    [
        ("sponsorship", None, -1, 1, -1),
        ("standard", 80_000, 5, 0, 80_000),
        ("price_priority", 80_000, 0, 10, 80_000),
        ("house", None, 0, 1, -1),
    ],
)
def test_each_line_item_type_becomes_its_revive_campaign_type(
    revive, line_item_type, impressions, priority, weight, booked
):
    line = make_line(line_item_type=line_item_type, impressions=impressions)

    result = adapter_for(revive).push(make_order(line))

    campaign = revive.campaigns[int(result.remote_line_ids[11])]
    assert (campaign["priority"], campaign["weight"], campaign["impressions"]) == (priority, weight, booked)


@pytest.mark.parametrize(("pricing_model", "revenue_type"), [("cpm", 1), ("cpd", 4), ("flat", 4)])
def test_the_rate_is_the_revenue_with_the_pricing_model_as_revenue_type(revive, pricing_model, revenue_type):
    line = make_line(pricing_model=pricing_model, rate=Decimal("450.1250"))

    result = adapter_for(revive).push(make_order(line))

    campaign = revive.campaigns[int(result.remote_line_ids[11])]
    # A flat fee is money (to the cent in euros); a rate keeps its 4 places.
    assert (campaign["revenue"], campaign["revenueType"]) == (
        450.13 if pricing_model == "flat" else 450.125,
        revenue_type,
    )
    if pricing_model == "cpd":
        assert "450.1250 EUR per day" in campaign["comments"]


def test_a_yen_flat_fee_goes_to_revive_in_whole_yen(revive):
    order = replace(make_order(make_line(pricing_model="flat", rate=Decimal("500000.4"))), currency="JPY")
    result = adapter_for(revive).push(order)

    campaign = revive.campaigns[int(result.remote_line_ids[11])]
    assert campaign["revenue"] == 500000.0 and "Priced at 500000 JPY flat" in campaign["comments"]


def test_a_rate_is_rounded_to_the_four_places_revive_keeps(revive):
    adapter = adapter_for(revive)
    result = adapter.push(make_order(make_line(rate=Decimal("7.123456"))))

    [remote] = adapter.read_lines(result.remote_order_id, [result.remote_line_ids[11]])

    assert remote.rate == Decimal("7.1235")


def test_a_second_push_adopts_everything_and_creates_nothing(revive):
    adapter = adapter_for(revive)
    order = make_order(make_line(11), make_line(12, ad_units=("3",)))
    first = adapter.push(order)

    second = adapter.push(order)

    assert second.remote_line_ids == first.remote_line_ids
    assert second.remote_order_id == first.remote_order_id
    assert len(revive.advertisers) == 1 and len(revive.campaigns) == 2
    assert revive.count("ox.addAdvertiser") == 1 and revive.count("ox.addCampaign") == 2
    assert revive.count("ox.modifyCampaign") == 0
    assert any(note.startswith("adopted advertiser") for note in second.notes)


def test_a_second_push_updates_the_changed_line_only(revive):
    adapter = adapter_for(revive)
    unchanged = make_line(12, ad_units=("3",))
    first = adapter.push(make_order(make_line(11), unchanged))
    changed = make_line(11, days=(4, 40), impressions=150_000, rate=Decimal("14.50"), ad_units=("2", "3"))

    second = adapter.push(make_order(changed, unchanged))

    assert len(revive.campaigns) == 2
    campaign = revive.campaigns[int(first.remote_line_ids[11])]
    assert campaign["impressions"] == 150_000 and campaign["revenue"] == 14.5
    assert (campaign["startDate"], campaign["endDate"]) == (today() + timedelta(days=4), today() + timedelta(days=40))
    assert revive.zones_of(campaign["campaignId"]) == {2, 3}  # zone 1 unlinked, zone 3 linked
    assert revive.count("ox.modifyCampaign") == 1
    assert f"adopted campaign #{first.remote_line_ids[12]} for line {unchanged.name}, unchanged" in second.notes


def test_an_advertiser_with_the_exact_name_is_adopted(revive):
    revive.add_advertiser("Harbour Bikes Ltd")
    existing = revive.add_advertiser("Harbour Bikes")
    revive.add_advertiser("Harbour Bikes")

    result = adapter_for(revive).push(make_order())

    assert result.advertiser_remote_id == str(existing)
    assert revive.count("ox.addAdvertiser") == 0
    assert len(revive.campaigns_of(existing)) == 1


def test_a_mapped_advertiser_is_used_without_looking_it_up(revive):
    mapped = revive.add_advertiser("Harbour Bikes (Revive name)")

    result = adapter_for(revive).push(make_order(advertiser=AdvertiserSpec(7, "Harbour Bikes", remote_id=str(mapped))))

    assert result.remote_order_id == str(mapped)
    assert revive.count("ox.getAdvertiserListByAgencyId") == 0 and revive.count("ox.addAdvertiser") == 0


def test_a_retry_after_a_slow_success_leaves_one_advertiser_and_one_campaign_per_line(revive):
    order = make_order(make_line(11), make_line(12))
    revive.fail_next(1, "slow_success", method="ox.addAdvertiser")
    revive.fail_next(1, "slow_success", method="ox.addCampaign")

    with pytest.raises(AdServerError) as timed_out:
        adapter_for(revive, timeout=0.3).push(order)
    assert timed_out.value.transient
    with pytest.raises(AdServerError):
        adapter_for(revive, timeout=0.3).push(order)  # the advertiser is adopted; the first campaign times out
    result = adapter_for(revive, timeout=0.3).push(order)

    [advertiser_id] = revive.advertisers
    assert len(revive.campaigns) == 2
    assert sorted(c["campaignName"] for c in revive.campaigns_of(advertiser_id)) == sorted(
        ln.name for ln in order.lines
    )
    assert set(result.remote_line_ids) == {11, 12}


def test_a_timeout_is_a_transient_error(revive):
    revive.fail_next(1, "timeout", method="ox.getAdvertiserListByAgencyId")

    with pytest.raises(AdServerError) as timed_out:
        adapter_for(revive, timeout=0.3).push(make_order())

    assert timed_out.value.transient
    assert "did not answer ox.getAdvertiserListByAgencyId within 0.3 s" in timed_out.value.message
    assert revive.campaigns == {}


def test_a_server_error_is_transient(revive):
    revive.fail_next(1, "server_error")

    with pytest.raises(AdServerError) as failed:
        adapter_for(revive).check()

    assert failed.value.transient and "HTTP 500" in failed.value.message


def test_an_unreachable_revive_is_a_transient_error(revive):
    url = revive.url
    revive.stop()

    with pytest.raises(AdServerError) as unreachable:
        ReviveAdapter({"url": url, "username": "api", "password": "secret"}, time_zone=TIME_ZONE, timeout=1).check()

    assert unreachable.value.transient


def test_a_wrong_url_is_a_permanent_error(revive):
    with pytest.raises(AdServerError) as wrong:
        adapter_for(revive, url=revive.url + "/revive").check()

    assert not wrong.value.transient and "HTTP 404" in wrong.value.message


def test_a_session_revive_dropped_is_a_transient_error(revive):
    revive.fail_next(1, "fault", message="Session ID is invalid", method="ox.addCampaign")

    with pytest.raises(AdServerError) as dropped:
        adapter_for(revive).push(make_order())

    assert dropped.value.transient


def test_the_fake_refuses_a_call_without_a_valid_session(revive):
    proxy = xmlrpc.client.ServerProxy(revive.url + "/www/api/v2/xmlrpc/")

    with pytest.raises(xmlrpc.client.Fault) as refused:
        proxy.ox.getAgencyList("not-a-session")

    assert (refused.value.faultCode, refused.value.faultString) == (801, "Session ID is invalid")


def test_a_refused_field_is_a_permanent_error_in_revives_words(revive):
    revive.reject_field("impressions", "Field 'impressions' exceeds the inventory of this zone")

    with pytest.raises(AdServerError) as refused:
        adapter_for(revive).push(make_order())

    assert refused.value.message == "Field 'impressions' exceeds the inventory of this zone"
    assert not refused.value.transient


def test_a_fault_from_revive_is_a_permanent_error(revive):
    revive.fail_next(1, "fault", message="Access forbidden", method="ox.addCampaign")

    with pytest.raises(AdServerError) as refused:
        adapter_for(revive).push(make_order())

    assert refused.value.message == "Access forbidden" and not refused.value.transient


def test_an_unknown_zone_says_which_line_and_zone(revive):
    with pytest.raises(AdServerError) as refused:
        adapter_for(revive).push(make_order(make_line(ad_units=("99",))))

    assert "line O-2026-0001-11 Homepage leaderboard to zone 99: Unknown zoneId Error" in refused.value.message


def test_a_line_that_has_ended_is_refused_before_anything_is_created(revive):
    ended = make_line(12, days=(-20, -2))

    with pytest.raises(AdServerError) as refused:
        adapter_for(revive).push(make_order(make_line(11), ended))

    ended_on = (today() - timedelta(days=2)).isoformat()
    assert refused.value.message == f"Line {ended.name} ended on {ended_on}; change its dates before pushing"
    assert not refused.value.transient
    assert revive.advertisers == {} and revive.campaigns == {}


def test_a_line_that_ran_to_its_end_in_revive_does_not_block_the_order(revive):
    adapter = adapter_for(revive)
    finished = make_line(12, days=(-20, -2))
    advertiser = revive.add_advertiser("Harbour Bikes")
    campaign_id = revive._addCampaign(  # as a push made before the line ended left it
        {
            "advertiserId": advertiser,
            "campaignName": finished.name,
            "startDate": datetime.combine(today() - timedelta(days=20), time()),
            "endDate": datetime.combine(today() - timedelta(days=2), time()),
            "comments": "flightdeck-line:12\nflightdeck-status:active\nflightdeck-zones:1,2",
        }
    )

    result = adapter.push(make_order(make_line(11), finished))

    assert result.remote_line_ids[12] == str(campaign_id)
    assert revive.campaigns[campaign_id]["startDate"] == today() - timedelta(days=20)
    assert len(revive.campaigns) == 2


def test_a_line_that_started_in_the_past_starts_today(revive):
    result = adapter_for(revive).push(make_order(make_line(days=(-5, 10))))

    campaign = revive.campaigns[int(result.remote_line_ids[11])]
    assert campaign["startDate"] == today()
    assert campaign["endDate"] == today() + timedelta(days=10)


def test_a_paused_line_is_unlinked_from_its_zones_and_linked_again_when_resumed(revive):
    adapter = adapter_for(revive)
    line = make_line()
    campaign_id = int(adapter.push(make_order(line)).remote_line_ids[11])

    adapter.push(make_order(replace(line, status="paused")))

    campaign = revive.campaigns[campaign_id]
    assert revive.zones_of(campaign_id) == set()
    assert "flightdeck-status:paused" in campaign["comments"]
    assert campaign["endDate"] == today() + timedelta(days=30) and campaign["impressions"] == 100_000

    adapter.push(make_order(line))

    assert revive.zones_of(campaign_id) == {1, 2}
    assert len(revive.campaigns) == 1


def test_a_line_paused_before_its_first_push_is_created_without_zones(revive):
    result = adapter_for(revive).push(make_order(make_line(status="paused")))

    assert revive.zones_of(int(result.remote_line_ids[11])) == set()


def test_a_cancelled_line_is_unlinked_and_ends_today(revive):
    adapter = adapter_for(revive)
    running = make_line(11, days=(-5, 30))
    not_started = make_line(12, days=(10, 30))
    first = adapter.push(make_order(running, not_started))

    adapter.push(make_order(replace(running, status="cancelled"), replace(not_started, status="cancelled")))

    for line_id in (11, 12):
        campaign = revive.campaigns[int(first.remote_line_ids[line_id])]
        assert campaign["endDate"] == today()
        assert campaign["startDate"] <= today()
        assert "flightdeck-status:cancelled" in campaign["comments"]
        assert revive.zones_of(campaign["campaignId"]) == set()
    assert len(revive.campaigns) == 2


def test_a_cancelled_line_that_never_reached_revive_is_not_created(revive):
    result = adapter_for(revive).push(make_order(make_line(11), make_line(12, status="cancelled")))

    assert set(result.remote_line_ids) == {11}
    assert len(revive.campaigns) == 1
    assert any("is cancelled; not created" in note for note in result.notes)


def test_targeting_that_revive_cannot_take_is_noted(revive):
    line = make_line(targeting={"geo": ("NL",), "device": ("mobile",)})

    result = adapter_for(revive).push(make_order(line))

    assert any("targeting (device, geo) is not pushed" in note for note in result.notes)


def test_read_lines_gives_back_what_was_pushed(revive):
    adapter = adapter_for(revive)
    line = make_line(rate=Decimal("0.1235"), days=(2, 12))
    sponsorship = make_line(12, line_item_type="sponsorship", impressions=None, status="paused")
    result = adapter.push(make_order(line, sponsorship))

    remote = adapter.read_lines(result.remote_order_id, [result.remote_line_ids[11], result.remote_line_ids[12]])

    assert remote[0].remote_id == result.remote_line_ids[11]
    assert remote[0].line_id == 11
    assert remote[0].start == line.start and remote[0].end == line.end
    assert remote[0].start.tzinfo == TZ
    assert remote[0].impressions == 100_000
    assert remote[0].rate == Decimal("0.1235")
    assert remote[0].status == "active"
    assert remote[0].ad_units == () and remote[0].targeting == {}
    assert (remote[1].line_id, remote[1].impressions, remote[1].status) == (12, None, "paused")


def test_read_lines_of_an_unknown_campaign_is_a_permanent_error(revive):
    with pytest.raises(AdServerError) as refused:
        adapter_for(revive).read_lines("1", ["404"])

    assert refused.value.message == "Unknown campaignId Error" and not refused.value.transient


def test_delivery_gives_impressions_and_clicks_per_line_and_day(revive):
    adapter = adapter_for(revive)
    result = adapter.push(make_order(make_line(11), make_line(12)))
    first, second = int(result.remote_line_ids[11]), int(result.remote_line_ids[12])
    monday = date(2026, 3, 2)
    revive.delivery.update(
        {
            (first, monday): (1200, 14),
            (first, monday + timedelta(days=1)): (1300, 9),
            (second, monday + timedelta(days=1)): (500, 2),
            (first, monday + timedelta(days=7)): (999, 9),  # after the period asked for
        }
    )

    rows = adapter.delivery([str(first), str(second)], monday, monday + timedelta(days=6))

    assert [(row.remote_line_id, row.day, row.impressions, row.clicks) for row in rows] == [
        (str(first), monday, 1200, 14),
        (str(first), monday + timedelta(days=1), 1300, 9),
        (str(second), monday + timedelta(days=1), 500, 2),
    ]


def test_the_order_url_opens_the_advertisers_campaigns(revive):
    adapter = adapter_for(revive, url="https://ads.harbour.example/")

    assert adapter.order_url("42") == "https://ads.harbour.example/www/admin/advertiser-campaigns.php?clientid=42"


def test_every_session_is_closed(revive):
    adapter = adapter_for(revive)
    adapter.push(make_order())
    adapter.check()

    assert revive.count("ox.logon") == revive.count("ox.logoff") == 2
