"""The demo publisher's data and its traffic generator, without a database."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from statistics import mean

from app.demo import publisher
from app.demo.publisher import (
    ADVERTISERS,
    AGENCIES,
    DEVICE,
    GEO,
    SITES,
    TARGETING,
    USERS,
    all_slots,
    traffic_history,
)
from app.roles import Role

NEWS_UNIT = ("daily-harbour/news/mpu", 240_000)
SPORT_UNIT = ("harbour-sport/football/mpu", 200_000)


def _impressions(unit: tuple[str, int], start: date, end: date) -> dict[date, int]:
    code, base = unit
    return {day: impressions for day, impressions, _, _ in traffic_history(code, base, start, end)}


def test_the_same_unit_and_day_give_the_same_numbers_whatever_range_is_asked() -> None:
    code, base = NEWS_UNIT
    whole_year = {row[0]: row for row in traffic_history(code, base, date(2025, 1, 1), date(2025, 12, 31))}
    one_week = list(traffic_history(code, base, date(2025, 6, 9), date(2025, 6, 15)))
    single_day = list(traffic_history(code, base, date(2025, 6, 12), date(2025, 6, 12)))

    assert one_week == [whole_year[row[0]] for row in one_week]
    assert single_day == [whole_year[date(2025, 6, 12)]]


def test_different_units_get_different_numbers_on_the_same_day() -> None:
    day = date(2025, 6, 12)
    news = next(traffic_history("daily-harbour/news/mpu", 100_000, day, day))
    sport = next(traffic_history("harbour-sport/football/mpu", 100_000, day, day))

    assert news[1] != sport[1]


def test_every_day_of_the_range_is_given_once_and_in_order() -> None:
    start = date(2024, 2, 27)
    days = [row[0] for row in traffic_history(*NEWS_UNIT, start, date(2024, 3, 2))]

    assert days == [start + timedelta(days=n) for n in range(5)]
    assert date(2024, 2, 29) in days


def test_geo_and_device_breakdowns_add_up_exactly_to_the_impressions() -> None:
    for slot in all_slots():
        for _, impressions, by_geo, by_device in traffic_history(
            slot.code, slot.base_daily, date(2025, 1, 1), date(2025, 3, 31)
        ):
            assert sum(by_geo.values()) == impressions
            assert sum(by_device.values()) == impressions
            assert set(by_geo) == {v.code for v in GEO.values}
            assert set(by_device) == {v.code for v in DEVICE.values}
            assert min(by_geo.values()) >= 0
            assert min(by_device.values()) >= 0


def test_breakdowns_follow_the_traffic_shares_closely() -> None:
    totals: Counter[str] = Counter()
    all_impressions = 0
    for _, impressions, _, by_device in traffic_history(*NEWS_UNIT, date(2025, 1, 1), date(2025, 3, 31)):
        totals.update(by_device)
        all_impressions += impressions

    for value in DEVICE.values:
        assert abs(100 * totals[value.code] / all_impressions - float(value.share_pct or 0)) < 1.0


def test_a_unit_without_traffic_gets_zero_everywhere() -> None:
    day = date(2025, 5, 1)
    _, impressions, by_geo, by_device = next(traffic_history("nowhere/slot", 0, day, day))

    assert impressions == 0
    assert set(by_geo.values()) == {0}
    assert set(by_device.values()) == {0}


def test_geo_and_device_shares_add_up_to_exactly_100() -> None:
    assert sum(v.share_pct for v in GEO.values if v.share_pct is not None) == Decimal("100")
    assert sum(v.share_pct for v in DEVICE.values if v.share_pct is not None) == Decimal("100")
    assert all(v.share_pct is not None and v.share_pct > 0 for v in GEO.values + DEVICE.values)


def test_there_are_at_least_ten_uk_regions_and_three_devices() -> None:
    regions = {v.name for v in GEO.values}

    assert len(GEO.values) >= 10
    assert {"London", "Scotland", "Wales", "Northern Ireland"} <= regions
    assert [v.code for v in DEVICE.values] == ["desktop", "mobile", "tablet"]


def test_every_targeting_dimension_is_described_once_with_values() -> None:
    keys = [dimension.key for dimension in TARGETING]

    assert keys == ["geo", "device", "key_value", "audience", "daypart", "frequency_cap"]
    for dimension in TARGETING:
        codes = [v.code for v in dimension.values]
        assert codes and len(codes) == len(set(codes))
        if dimension.key not in {"geo", "device"}:
            assert all(v.share_pct is None for v in dimension.values)


def test_about_thirty_slots_are_spread_over_three_sites_with_sections() -> None:
    slots = all_slots()

    assert len(SITES) == 3
    assert 25 <= len(slots) <= 35
    assert all(2 <= len(site.sections) <= 4 for site in SITES)
    assert {site.kind for site in SITES} == {"news", "sport", "lifestyle"}


def test_ad_unit_codes_are_unique_and_nest_like_paths() -> None:
    codes = [site.code for site in SITES]
    for site in SITES:
        for section in site.sections:
            codes.append(section.code)
            assert section.code.startswith(site.code + "/")
            for slot in section.slots:
                codes.append(slot.code)
                assert slot.code.startswith(section.code + "/")
                assert slot.code.count("/") == 2

    assert len(codes) == len(set(codes))


def test_every_slot_has_sizes_and_a_realistic_daily_volume() -> None:
    for slot in all_slots():
        assert slot.sizes
        assert 20_000 <= slot.base_daily <= 400_000


def test_sites_offer_the_usual_creative_sizes() -> None:
    sizes = {size for site in SITES for size in site.sizes}

    assert {"728x90", "970x250", "300x250", "300x600", "320x50", "video", "native"} <= sizes


def test_every_role_has_a_demo_user_with_a_unique_email() -> None:
    emails = [user.email for user in USERS]

    assert {role for user in USERS for role in user.roles} == set(Role)
    assert len(emails) == len(set(emails)) == 7
    assert publisher.DEMO_PASSWORD == "flightdeck-demo"


def test_there_are_about_twenty_advertisers_and_five_agencies() -> None:
    assert 18 <= len(ADVERTISERS) <= 22
    assert len(AGENCIES) == 5
    assert {a.kind for a in ADVERTISERS} == {"advertiser"}
    assert {a.kind for a in AGENCIES} == {"agency"}
    names = [a.name for a in ADVERTISERS + AGENCIES]
    assert len(names) == len(set(names))


def test_agencies_earn_ten_to_fifteen_percent_and_advertisers_nothing() -> None:
    assert all(Decimal(10) <= a.agency_commission_pct <= Decimal(15) for a in AGENCIES)
    assert all(a.agency_commission_pct == 0 for a in ADVERTISERS)


def test_two_advertisers_are_on_credit_hold() -> None:
    assert sum(a.credit_status == "on_hold" for a in ADVERTISERS + AGENCIES) == 2


def test_accounts_are_owned_by_sales_users_and_the_first_rep_owns_at_least_seven() -> None:
    sellers = {u.email for u in USERS if {Role.SALES_REP, Role.SALES_MANAGER} & set(u.roles)}
    owners = Counter(a.owner_email for a in ADVERTISERS)

    assert {a.owner_email for a in ADVERTISERS + AGENCIES} <= sellers
    assert owners["rep@harbour.example"] >= 7


def test_foreign_accounts_bill_in_their_own_currency() -> None:
    currency_of = {"GB": "GBP", "IE": "EUR", "DE": "EUR", "FR": "EUR", "US": "USD"}
    accounts = ADVERTISERS + AGENCIES

    assert all(currency_of[a.billing_country] == a.currency for a in accounts)
    assert sum(a.billing_country != "GB" for a in accounts) >= 2


def test_every_account_has_one_or_two_contacts_on_example_domains() -> None:
    for account in ADVERTISERS + AGENCIES:
        assert 1 <= len(account.contacts) <= 2
        for contact in account.contacts:
            assert contact.email.endswith(".example")
            assert contact.name and contact.title


def test_traffic_peaks_in_the_fourth_quarter() -> None:
    days = _impressions(NEWS_UNIT, date(2025, 9, 1), date(2025, 12, 31))
    september = mean(n for day, n in days.items() if day.month == 9)
    early_december = mean(n for day, n in days.items() if day.month == 12 and day.day <= 20)

    assert early_december > 1.2 * september


def test_traffic_drops_after_christmas() -> None:
    days = _impressions(NEWS_UNIT, date(2025, 12, 1), date(2025, 12, 31))
    before = mean(n for day, n in days.items() if 1 <= day.day <= 21)
    after = mean(n for day, n in days.items() if day.day >= 25)

    assert after < 0.8 * before


def test_news_has_more_traffic_on_weekdays_than_at_weekends() -> None:
    days = _impressions(NEWS_UNIT, date(2025, 2, 1), date(2025, 6, 30))
    weekdays = mean(n for day, n in days.items() if day.weekday() < 5)
    weekends = mean(n for day, n in days.items() if day.weekday() >= 5)

    assert weekdays > 1.1 * weekends


def test_sport_has_more_traffic_at_weekends_than_on_weekdays() -> None:
    days = _impressions(SPORT_UNIT, date(2025, 2, 1), date(2025, 6, 30))
    weekdays = mean(n for day, n in days.items() if day.weekday() < 5)
    weekends = mean(n for day, n in days.items() if day.weekday() >= 5)

    assert weekends > 1.1 * weekdays


def test_traffic_grows_from_one_year_to_the_next() -> None:
    days = _impressions(NEWS_UNIT, date(2024, 3, 1), date(2025, 3, 31))
    march_2024 = mean(n for day, n in days.items() if day.year == 2024 and day.month == 3)
    march_2025 = mean(n for day, n in days.items() if day.year == 2025 and day.month == 3)

    assert 1.03 < march_2025 / march_2024 < 1.2
