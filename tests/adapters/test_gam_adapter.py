"""The Google Ad Manager adapter against a fake Ad Manager speaking SOAP on loopback."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from app.adserver.adapters import adapter_class
from app.adserver.adapters.base import AdServerError, AdvertiserSpec, DeliveryRow, LineSpec, OrderSpec
from app.adserver.adapters.gam import GamAdapter
from tests.support.smtp import closed_port

ZONE = "Europe/Berlin"

# googleads 51's own use of deprecated calls, not ours
pytestmark = [
    pytest.mark.filterwarnings("ignore:'locale.getdefaultlocale' is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning"),
]


def flight(first_day_from_today: int, days: int, zone: str = ZONE) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    first = datetime.now(tz).date() + timedelta(days=first_day_from_today)
    last = first + timedelta(days=days - 1)
    return datetime.combine(first, time.min, tz), datetime.combine(last, time(23, 59, 59), tz)


def a_line(line_id: int = 101, **changes) -> LineSpec:
    start, end = flight(10, 14)
    line = LineSpec(
        line_id=line_id,
        name=f"O-2026-0042-{line_id} Homepage takeover",
        line_item_type="standard",
        pricing_model="cpm",
        rate=Decimal("12.35"),
        cost=Decimal("1235.00"),
        impressions=100_000,
        start=start,
        end=end,
        time_zone=ZONE,
        sizes=("300x250", "728x90"),
        ad_units=("9000101", "9000102"),
        targeting={"geo": ("2276",), "device": ("30000",), "key_value": ("11:21", "11:22", "12:31")},
    )
    return replace(line, **changes)


def an_order(*lines: LineSpec, **changes) -> OrderSpec:
    order = OrderSpec(
        order_id=42,
        number="O-2026-0042",
        name="O-2026-0042 Spring launch",
        po_number="PO-7781",
        currency="EUR",
        advertiser=AdvertiserSpec(7, "Acme Shoes"),
        agency=None,
        lines=lines or (a_line(),),
    )
    return replace(order, **changes)


def test_the_adapter_registers_itself_as_gam_when_imported():
    # The app finds it only once "gam" is in app.adserver.adapters.MODULES.
    assert adapter_class("gam") is GamAdapter
    assert GamAdapter.label == "Google Ad Manager"


def test_check_names_the_network(fake_gam, gam_adapter):
    assert gam_adapter().check() == f"Network {fake_gam.network_code}: Harbour Media"


def test_a_push_creates_the_advertiser_the_order_and_its_line_items(fake_gam, gam_adapter):
    line = a_line()
    result = gam_adapter().push(an_order(line))

    (advertiser,) = fake_gam.companies.values()
    assert (advertiser.name, advertiser.type) == ("Acme Shoes", "ADVERTISER")
    (order,) = fake_gam.orders.values()
    assert order.name == "O-2026-0042 Spring launch"
    assert order.advertiserId == advertiser.id
    assert order.externalOrderId == 42
    assert order.poNumber == "PO-7781"
    assert order.traffickerId == fake_gam.user_id
    (item,) = fake_gam.line_items.values()
    assert (item.orderId, item.name, item.externalId) == (order.id, line.name, "101")
    assert (item.lineItemType, item.costType) == ("STANDARD", "CPM")
    assert (item.costPerUnit.currencyCode, item.costPerUnit.microAmount) == ("EUR", 12_350_000)
    assert (item.primaryGoal.goalType, item.primaryGoal.unitType, item.primaryGoal.units) == (
        "LIFETIME",
        "IMPRESSIONS",
        100_000,
    )
    assert item.startDateTimeType == "USE_START_DATE_TIME"
    start, end = item.startDateTime, item.endDateTime
    assert (start.date.year, start.date.month, start.date.day) == (line.start.year, line.start.month, line.start.day)
    assert (start.hour, start.minute, start.second, start.timeZoneId) == (0, 0, 0, ZONE)
    assert (end.date.day, end.hour, end.minute, end.second, end.timeZoneId) == (line.end.day, 23, 59, 59, ZONE)
    assert [(p.size.width, p.size.height, p.size.isAspectRatio) for p in item.creativePlaceholders] == [
        (300, 250, False),
        (728, 90, False),
    ]
    targeting = item.targeting
    assert [(u.adUnitId, u.includeDescendants) for u in targeting.inventoryTargeting.targetedAdUnits] == [
        ("9000101", True),
        ("9000102", True),
    ]
    assert [loc.id for loc in targeting.geoTargeting.targetedLocations] == [2276]
    assert [d.id for d in targeting.technologyTargeting.deviceCategoryTargeting.targetedDeviceCategories] == [30000]
    custom = targeting.customTargeting
    assert custom.logicalOperator == "OR"
    (and_set,) = custom.children
    assert and_set._xsd_type.name == "CustomCriteriaSet" and and_set.logicalOperator == "AND"
    assert [(c._xsd_type.name, c.keyId, list(c.valueIds), c.operator) for c in and_set.children] == [
        ("CustomCriteria", 11, [21, 22], "IS"),
        ("CustomCriteria", 12, [31], "IS"),
    ]

    assert result.remote_order_id == str(order.id)
    assert result.remote_line_ids == {101: str(item.id)}
    assert result.advertiser_remote_id == str(advertiser.id)
    assert result.agency_remote_id is None
    assert result.notes == (f"created advertiser {advertiser.id}", f"created order {order.id}", "created 1 line item")


def test_an_agency_is_adopted_by_name_and_a_mapped_advertiser_is_used_as_it_is(fake_gam, gam_adapter):
    adapter = gam_adapter()
    first = adapter.push(an_order(agency=AdvertiserSpec(8, "Blue Media")))
    agency = fake_gam.companies[int(first.agency_remote_id)]
    assert (agency.name, agency.type) == ("Blue Media", "AGENCY")

    again = adapter.push(
        an_order(
            name="O-2026-0043 Summer",
            advertiser=AdvertiserSpec(7, "Acme Shoes", remote_id=first.advertiser_remote_id),
            agency=AdvertiserSpec(8, "Blue Media"),
        )
    )

    assert len(fake_gam.companies) == 2
    assert again.agency_remote_id == first.agency_remote_id
    assert f"adopted existing agency {agency.id}" in again.notes
    assert fake_gam.orders_named("O-2026-0043 Summer")[0].agencyId == agency.id


def test_a_second_push_adopts_everything_and_updates_only_the_changed_line(fake_gam, gam_adapter):
    adapter = gam_adapter()
    first = adapter.push(an_order(a_line(101), a_line(102, name="O-2026-0042-102 Run of site")))
    calls_before = len(fake_gam.calls)

    unchanged = adapter.push(an_order(a_line(101), a_line(102, name="O-2026-0042-102 Run of site")))
    assert "LineItemService.updateLineItems" not in fake_gam.calls[calls_before:]
    assert unchanged.notes == (f"adopted existing order {first.remote_order_id}",)
    assert unchanged.advertiser_remote_id == first.advertiser_remote_id

    start, end = flight(12, 20)
    changed = a_line(
        102,
        name="O-2026-0042-102 Run of site",
        start=start,
        end=end,
        impressions=250_000,
        rate=Decimal("9.5"),
        targeting={"geo": ("2250",), "key_value": ("11:23",)},
    )
    result = adapter.push(an_order(a_line(101), changed))

    assert result.remote_line_ids == first.remote_line_ids
    assert "updated 1 line item" in result.notes
    assert (len(fake_gam.companies), len(fake_gam.orders), len(fake_gam.line_items)) == (1, 1, 2)
    item = fake_gam.line_items[int(result.remote_line_ids[102])]
    assert item.primaryGoal.units == 250_000
    assert item.costPerUnit.microAmount == 9_500_000
    assert (item.startDateTime.date.day, item.endDateTime.date.day) == (start.day, end.day)
    assert [loc.id for loc in item.targeting.geoTargeting.targetedLocations] == [2250]
    technology = item.targeting.technologyTargeting
    assert technology is None or technology.deviceCategoryTargeting is None
    assert [c.keyId for c in item.targeting.customTargeting.children[0].children] == [11]


@pytest.mark.parametrize(
    ("operation", "made"),
    [
        pytest.param("createOrders", (1, 0), id="creating the order"),
        pytest.param("createLineItems", (1, 2), id="creating the line items"),
    ],
)
def test_a_retry_after_a_write_that_timed_out_but_happened_makes_no_duplicate(fake_gam, gam_adapter, operation, made):
    order = an_order(a_line(101), a_line(102))
    fake_gam.fail_next(1, "slow_success", operation=operation)

    with pytest.raises(AdServerError) as refused:
        gam_adapter(timeout=1).push(order)
    assert refused.value.transient
    assert (len(fake_gam.orders), len(fake_gam.line_items)) == made  # the write happened all the same

    result = gam_adapter(timeout=1).push(order)

    (remote_order,) = fake_gam.orders.values()
    assert sorted(item.externalId for item in fake_gam.line_items_of(remote_order.id)) == ["101", "102"]
    assert len(fake_gam.line_items) == 2
    assert result.remote_order_id == str(remote_order.id)


def test_an_ad_server_that_does_not_answer_in_time_is_a_transient_error(fake_gam, gam_adapter):
    fake_gam.fail_next(1, "timeout", operation="createOrders")

    with pytest.raises(AdServerError) as refused:
        gam_adapter(timeout=1).push(an_order())

    assert refused.value.transient
    assert "did not answer within 1 s" in refused.value.message
    assert fake_gam.orders == {}


def test_a_field_error_from_the_ad_server_is_permanent(fake_gam, gam_adapter):
    fake_gam.fail_next(1, "error", error="LineItemError.INVALID_COST_TYPE", field_path="lineItems[0].costType")

    with pytest.raises(AdServerError) as refused:
        gam_adapter().push(an_order())

    assert not refused.value.transient
    assert "lineItems[0].costType: LineItemError.INVALID_COST_TYPE" in refused.value.message


def test_a_server_error_is_transient(fake_gam, gam_adapter):
    fake_gam.fail_next(1, "error", operation="createLineItems")

    with pytest.raises(AdServerError) as refused:
        gam_adapter().push(an_order())

    assert refused.value.transient
    assert "ServerError.SERVER_ERROR" in refused.value.message


def test_a_rejected_field_is_a_permanent_error_in_the_ad_servers_words(fake_gam, gam_adapter):
    fake_gam.reject_field("lineItem[0].costPerUnit", "NOT_ALLOWED")

    with pytest.raises(AdServerError) as refused:
        gam_adapter().push(an_order())

    assert not refused.value.transient
    assert "lineItem[0].costPerUnit: CommonError.NOT_ALLOWED" in refused.value.message
    assert fake_gam.line_items == {}


def test_a_wrong_access_token_is_a_permanent_credentials_error(fake_gam, gam_adapter):
    with pytest.raises(AdServerError) as refused:
        gam_adapter(access_token="stale-token").check()

    assert not refused.value.transient
    assert refused.value.message.startswith("Ad Manager refused the credentials:")
    assert "AuthenticationError.AUTHENTICATION_FAILED" in refused.value.message


def test_a_connection_without_credentials_is_refused_before_any_request(fake_gam, gam_adapter):
    with pytest.raises(AdServerError) as refused:
        gam_adapter(access_token="").check()

    assert not refused.value.transient
    assert "service account key or an access token" in refused.value.message
    assert fake_gam.calls == []


def test_a_service_account_key_signs_in_at_its_token_endpoint(fake_gam, gam_adapter):
    adapter = gam_adapter(access_token="", service_account_key=fake_gam.service_account_key())

    assert adapter.check().startswith("Network ")
    adapter.check()
    assert fake_gam.token_requests == 1


def test_a_service_account_key_the_token_endpoint_refuses_is_a_credentials_error(fake_gam, gam_adapter):
    key = fake_gam.service_account_key()
    fake_gam.service_account_key()  # a new key pair: the first one's signature no longer verifies

    with pytest.raises(AdServerError) as refused:
        gam_adapter(access_token="", service_account_key=key).check()

    assert not refused.value.transient
    assert refused.value.message.startswith("Ad Manager refused the credentials:")


def test_a_service_account_key_that_is_not_json_is_a_permanent_error(fake_gam, gam_adapter):
    with pytest.raises(AdServerError) as refused:
        gam_adapter(access_token="", service_account_key="{not json").check()

    assert not refused.value.transient
    assert refused.value.message.startswith("The service account key cannot be used:")


def test_an_api_version_ad_manager_does_not_have_is_a_permanent_error(fake_gam, gam_adapter):
    with pytest.raises(AdServerError) as refused:
        gam_adapter(api_version="v201001").check()

    assert not refused.value.transient
    assert "Unrecognized version" in refused.value.message


def test_an_ad_server_nobody_listens_at_is_a_transient_error(gam_adapter):
    with closed_port() as port, pytest.raises(AdServerError) as refused:
        gam_adapter(server=f"http://127.0.0.1:{port}").check()

    assert refused.value.transient


def test_a_line_that_has_ended_is_refused_before_anything_is_written(fake_gam, gam_adapter):
    start, end = flight(-20, 10)

    with pytest.raises(AdServerError) as refused:
        gam_adapter().push(an_order(a_line(101), a_line(102, start=start, end=end)))

    assert not refused.value.transient
    assert refused.value.message == (
        f"Line O-2026-0042-102 Homepage takeover ended on {end:%d %b %Y}; change its dates before pushing."
    )
    assert (fake_gam.companies, fake_gam.orders, fake_gam.line_items) == ({}, {}, {})


def test_a_line_that_has_started_starts_immediately_and_keeps_its_start(fake_gam, gam_adapter):
    start, end = flight(-3, 10)
    adapter = gam_adapter()
    result = adapter.push(an_order(a_line(start=start, end=end)))
    item = fake_gam.line_items[int(result.remote_line_ids[101])]
    assert item.startDateTimeType == "IMMEDIATELY"
    started = item.startDateTime

    again = adapter.push(an_order(a_line(start=start, end=end, impressions=120_000)))

    assert "updated 1 line item" in again.notes
    assert fake_gam.line_items[item.id].startDateTime == started


def test_paused_cancelled_and_reactivated_lines_get_the_matching_actions(fake_gam, gam_adapter):
    adapter = gam_adapter()
    first = adapter.push(an_order(a_line(101), a_line(102), a_line(103, status="paused")))
    ids = {line_id: int(remote) for line_id, remote in first.remote_line_ids.items()}
    assert fake_gam.actions == [("PauseLineItems", ids[103])]
    assert f"paused line item {ids[103]}" in first.notes

    second = adapter.push(an_order(a_line(101, status="paused"), a_line(102, status="cancelled"), a_line(103)))

    assert fake_gam.actions[1:] == [
        ("PauseLineItems", ids[101]),
        ("ArchiveLineItems", ids[102]),
        ("ResumeLineItems", ids[103]),
    ]
    assert second.remote_line_ids == first.remote_line_ids
    assert fake_gam.line_items[ids[102]].isArchived

    third = adapter.push(an_order(a_line(101, status="paused"), a_line(102, status="cancelled"), a_line(103)))
    assert len(fake_gam.actions) == 4
    assert not any("line item" in note for note in third.notes)

    revived = adapter.push(an_order(a_line(101, status="paused"), a_line(102, impressions=80_000), a_line(103)))
    assert fake_gam.actions[4:] == [("UnarchiveLineItems", ids[102])]
    assert "updated 1 line item" in revived.notes
    assert not fake_gam.line_items[ids[102]].isArchived
    assert fake_gam.line_items[ids[102]].primaryGoal.units == 80_000


def a_flat_fee_line(fee: Decimal) -> LineSpec:
    """A sponsorship for a flat fee, over 7 days."""
    start, end = flight(5, 7)
    return a_line(
        line_item_type="sponsorship", pricing_model="flat", rate=fee, cost=fee, impressions=None, start=start, end=end
    )


def test_a_flat_fee_line_is_booked_per_day_over_its_flight(fake_gam, gam_adapter):
    line = a_flat_fee_line(Decimal("5000"))

    result = gam_adapter().push(an_order(line))

    item = fake_gam.line_items[int(result.remote_line_ids[101])]
    assert (item.lineItemType, item.costType, item.costPerUnit.microAmount) == ("SPONSORSHIP", "CPD", 714_290_000)
    assert (item.primaryGoal.goalType, item.primaryGoal.units) == ("DAILY", 100)
    assert f"line {line.name}: flat fee 5000.00 EUR booked as CPD 714.29 over 7 days" in result.notes


def test_a_yen_flat_fee_is_booked_in_whole_yen_per_day_and_a_yen_rate_in_micros(fake_gam, gam_adapter):
    flat = a_flat_fee_line(Decimal("500000"))
    cpm = a_line(line_id=102, name="O-2026-0042 line 2 Sport", rate=Decimal("1250"), cost=Decimal("125000"))

    result = gam_adapter().push(an_order(flat, cpm, currency="JPY"))

    daily = fake_gam.line_items[int(result.remote_line_ids[101])].costPerUnit
    assert (daily.currencyCode, daily.microAmount) == ("JPY", 71_429_000_000)  # 500,000 / 7 = 71,428.57 -> 71,429
    assert f"line {flat.name}: flat fee 500000 JPY booked as CPD 71429 over 7 days" in result.notes
    assert fake_gam.line_items[int(result.remote_line_ids[102])].costPerUnit.microAmount == 1_250_000_000


def test_targeting_that_is_not_sent_to_ad_manager_is_noted(fake_gam, gam_adapter):
    line = a_line(targeting={"geo": ("2276",), "daypart": ("weekday_mornings",), "frequency_cap": ()})

    result = gam_adapter().push(an_order(line))

    assert f"line {line.name}: daypart targeting is not sent to Ad Manager; set it there" in result.notes
    assert not any("frequency_cap" in note for note in result.notes)


def test_read_lines_gives_back_what_was_pushed(fake_gam, gam_adapter):
    adapter = gam_adapter()
    line = a_line(
        101, targeting={"geo": ("2276",), "device": ("30000",), "key_value": ("11:21",), "audience": ("90:7",)}
    )
    sponsorship = a_line(102, line_item_type="sponsorship", impressions=None, status="paused")
    result = adapter.push(an_order(line, sponsorship))

    lines = {
        remote.line_id: remote
        for remote in adapter.read_lines(result.remote_order_id, list(result.remote_line_ids.values()))
    }

    remote = lines[101]
    assert remote.remote_id == result.remote_line_ids[101]
    assert (remote.start, remote.end) == (line.start, line.end)
    assert remote.start.utcoffset() == line.start.utcoffset()
    assert (remote.impressions, remote.rate, remote.status) == (100_000, Decimal("12.35"), "active")
    assert remote.ad_units == ("9000101", "9000102")
    assert remote.targeting == {"geo": ("2276",), "device": ("30000",), "key_value": ("11:21", "90:7")}
    assert (lines[102].impressions, lines[102].status) == (None, "paused")
    only_one = adapter.read_lines(result.remote_order_id, [result.remote_line_ids[102]])
    assert [r.line_id for r in only_one] == [102]


def test_delivery_comes_back_per_line_and_day_from_the_report(fake_gam, gam_adapter):
    adapter = gam_adapter()
    result = adapter.push(an_order(a_line(101), a_line(102)))
    first, second = (int(result.remote_line_ids[i]) for i in (101, 102))
    day = date(2026, 3, 2)
    fake_gam.delivery.update(
        {
            (first, day): (1200, 3),
            (first, day + timedelta(days=1)): (1350, 4),
            (second, day): (800, 1),
            (second, day + timedelta(days=5)): (999, 9),  # after the period asked for
            (424242, day): (5, 0),  # another order's line item
        }
    )

    rows = adapter.delivery([str(first), str(second)], day, day + timedelta(days=2))

    assert sorted(rows, key=lambda r: (r.remote_line_id, r.day)) == [
        DeliveryRow(str(first), day, 1200, 3),
        DeliveryRow(str(first), day + timedelta(days=1), 1350, 4),
        DeliveryRow(str(second), day, 800, 1),
    ]
    assert fake_gam.calls.count("ReportService.getReportJobStatus") == 2  # it polled until the job was done


def test_approving_orders_approves_the_order_once(fake_gam, gam_adapter):
    adapter = gam_adapter()
    first = adapter.push(an_order(approve=True))

    order = fake_gam.orders[int(first.remote_order_id)]
    assert order.status == "APPROVED"
    assert f"approved order {order.id}" in first.notes
    assert fake_gam.line_items[int(first.remote_line_ids[101])].status == "READY"

    again = adapter.push(an_order(approve=True))
    assert f"order {order.id} was already approved" in again.notes


def test_an_order_is_left_a_draft_without_approval(fake_gam, gam_adapter):
    result = gam_adapter().push(an_order())

    assert fake_gam.orders[int(result.remote_order_id)].status == "DRAFT"
    assert "OrderService.performOrderAction" not in fake_gam.calls


def test_a_configured_trafficker_is_used_without_asking_who_we_are(fake_gam, gam_adapter):
    result = gam_adapter(trafficker_id="4400777").push(an_order())

    assert fake_gam.orders[int(result.remote_order_id)].traffickerId == 4400777
    assert "UserService.getCurrentUser" not in fake_gam.calls


def test_the_order_url_opens_the_order_in_ad_manager(gam_adapter):
    assert gam_adapter(network_code="21700001").order_url("5000123") == (
        "https://admanager.google.com/21700001#delivery/order/order_overview/order_id=5000123"
    )


def test_a_renamed_campaign_is_found_by_its_ad_manager_id_not_pushed_again(fake_gam, gam_adapter):
    from dataclasses import replace

    adapter = gam_adapter()
    order = an_order(a_line())
    first = adapter.push(order)
    renamed = replace(order, name=f"{order.name} (renamed)", remote_id=first.remote_order_id)
    second = adapter.push(renamed)
    assert second.remote_order_id == first.remote_order_id and len(fake_gam.orders) == 1
