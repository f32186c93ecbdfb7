"""The price waterfall: each rule kind against figures worked by hand, and its laws as properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from app import money
from app.pricing import rules
from app.pricing.rules import CPD, CPM, FLAT, DemandBand, Premium, Request, Season, Tier, price

START, END = date(2027, 3, 1), date(2027, 3, 28)  # 28 days


def req(**kw) -> Request:
    base = dict(pricing_model=CPM, base_rate=D("10.00"), start=START, end=END, currency="GBP", quantity=1_000_000)
    base.update(kw)
    return Request(**base)


def step(p, key):
    return [s for s in p.steps if s.key == key]


def test_a_plain_cpm_line_costs_its_rate_per_thousand():
    """10.00 CPM x 1,000,000 impressions / 1000 = 10,000.00; no commission: net = gross."""
    p = price(req())
    assert (p.list_rate, p.net_rate, p.gross, p.commission, p.net) == (D("10"), D("10"), D("10000"), 0, D("10000"))
    assert [s.key for s in p.steps] == ["base", "list", "net"]


def test_a_percentage_premium_is_a_share_of_the_base_rate():
    """Geo premium +20 % of 10.00 = +2.00: list 12.00."""
    p = price(req(targeting={"geo": ("london",)}, premiums=(Premium("geo", None, rules.PERCENT, D("20")),)))
    assert step(p, "premium")[0].amount == D("2.0000") and p.list_rate == D("12.0000")


def test_an_absolute_premium_adds_its_amount():
    """Device premium +1.50: list 11.50."""
    p = price(req(targeting={"device": ("mobile",)}, premiums=(Premium("device", "mobile", rules.ABSOLUTE, D("1.5")),)))
    assert p.list_rate == D("11.5000")


def test_several_matching_values_sum_or_take_the_highest_as_the_card_says():
    """London +25 %, Paris +10 %, any geo +5 % on a base of 10.00:
    SUM = 2.50 + 1.00 + 0.50 = 4.00 (list 14.00); HIGHEST = 2.50 (list 12.50).
    A premium for a value the line does not target (Berlin +50 %) never applies."""
    premiums = (
        Premium("geo", "london", rules.PERCENT, D("25")),
        Premium("geo", "paris", rules.PERCENT, D("10")),
        Premium("geo", None, rules.PERCENT, D("5")),
        Premium("geo", "berlin", rules.PERCENT, D("50")),
    )
    targeting = {"geo": ("london", "paris")}
    summed = price(req(targeting=targeting, premiums=premiums, combine={"geo": rules.SUM}))
    highest = price(req(targeting=targeting, premiums=premiums, combine={"geo": rules.HIGHEST}))
    assert summed.list_rate == D("14.0000") and highest.list_rate == D("12.5000")
    assert "highest" in step(highest, "premium")[0].detail


def test_a_feature_not_customised_adds_no_premium():
    p = price(req(targeting={"geo": ()}, premiums=(Premium("geo", None, rules.PERCENT, D("20")),)))
    assert p.list_rate == D("10")


def test_a_season_is_weighted_by_the_flight_days_in_it():
    """28-day flight, 7 days in a +40 % season: +10 % weighted, 10.00 -> 11.00."""
    season = Season("Spring peak", date(2027, 3, 22), date(2027, 4, 30), D("40"))
    p = price(req(seasons=(season,)))
    assert step(p, "season")[0].amount == D("1.0000") and p.list_rate == D("11.0000")
    assert "7 of 28 days" in step(p, "season")[0].detail


def test_the_volume_tier_the_quantity_reaches_applies():
    """Tiers from 500,000 (-5 %) and 2,000,000 (-10 %); 1,000,000 impressions reach the first: 9.50."""
    tiers = (Tier(500_000, D("5")), Tier(2_000_000, D("10")))
    assert price(req(tiers=tiers)).list_rate == D("9.5000")
    assert price(req(tiers=tiers, quantity=2_000_000)).list_rate == D("9.0000")
    assert price(req(tiers=tiers, quantity=499_999)).list_rate == D("10")


def test_demand_follows_the_band_the_sell_through_is_in():
    """Bands from 50 % (+10 %) and 80 % (+25 %): 65 % sold gives 11.00, 85 % gives 12.50, 40 % nothing."""
    bands = (DemandBand(D("50"), D("10")), DemandBand(D("80"), D("25")))
    assert price(req(bands=bands, sell_through_pct=D("65"))).list_rate == D("11.0000")
    assert price(req(bands=bands, sell_through_pct=D("85"))).list_rate == D("12.5000")
    assert price(req(bands=bands, sell_through_pct=D("40"))).list_rate == D("10")


def test_discounts_apply_in_order_on_what_is_left():
    """List 10.00; advertiser 10 % -> 9.00; proposal 10 % -> 8.10; line 50 % -> 4.05."""
    p = price(req(advertiser_discount_pct=D("10"), proposal_discount_pct=D("10"), line_discount_pct=D("50")))
    assert [s.rate for s in step(p, "discount")] == [D("9.0000"), D("8.1000"), D("4.0500")]
    assert p.net_rate == D("4.0500") and p.gross == D("4050.00")


def test_a_net_rate_under_the_floor_is_flagged_with_the_gap():
    """Floor 8.00, net 7.00 after a 30 % line discount: 1.00 under."""
    p = price(req(floor=D("8"), line_discount_pct=D("30")))
    assert p.below_floor and p.below_floor_by == D("1.0000")
    assert not price(req(floor=D("8"))).below_floor


def test_cpd_costs_the_rate_for_each_flight_day_and_flat_is_the_fee():
    """CPD 500.00 x 28 days = 14,000.00. A flat fee of 9,000.00 over 1,500,000 impressions: eCPM 6.00."""
    cpd = price(req(pricing_model=CPD, base_rate=D("500")))
    assert (cpd.units, cpd.gross) == (28, D("14000.00"))
    flat = price(req(pricing_model=FLAT, base_rate=D("9000"), quantity=1_500_000))
    assert flat.gross == D("9000.00") and flat.effective_cpm == D("6.0000")


def test_agency_commission_splits_gross_into_commission_and_net():
    """Gross 10,000.00 with 15 % commission: 1,500.00 to the agency, 8,500.00 net."""
    p = price(req(commission_pct=D("15")))
    assert (p.gross, p.commission, p.net) == (D("10000.00"), D("1500.00"), D("8500.00"))


def test_a_budget_buys_the_most_impressions_it_can_pay_for():
    """5,000.00 at 12.00 CPM: 416,666 impressions cost 4,999.99; 416,667 cost 5,000.004, invoiced
    as 5,000.00 (half-up to the cent), so the budget buys 416,667; 416,668 would cost 5,000.02."""
    p = price(req(base_rate=D("12"), quantity=None, budget=D("5000")))
    assert p.units == 416_667 and p.gross == D("5000.00")
    assert money.quantize(D("12") * (p.units + 1) / 1000, "GBP") > D("5000")


def test_a_budget_reaching_a_tier_gets_its_rate():
    """10.00 CPM, -10 % from 1,000,000: a 9,500.00 budget buys 1,055,556 at 9.00 (costing 9,500.004,
    invoiced 9,500.00), more than the 950,000 it would buy at 10.00, which would not reach the tier."""
    p = price(req(quantity=None, budget=D("9500"), tiers=(Tier(1_000_000, D("10")),)))
    assert p.net_rate == D("9.0000") and p.units == 1_055_556


def test_the_proposal_total_is_the_sum_of_rounded_line_costs():
    assert rules.total([D("0.005"), D("0.005"), D("0.005")], "GBP") == D("0.03")


# -- Properties ----------------------------------------------------------------------------------

pct = st.decimals(min_value=0, max_value=100, places=2)
money_st = st.decimals(min_value=D("0.01"), max_value=D("500"), places=2)


@st.composite
def requests(draw):
    start = date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 300)))
    end = start + timedelta(days=draw(st.integers(0, 120)))
    premiums = tuple(
        Premium("geo", draw(st.sampled_from([None, "london", "paris"])), kind, draw(money_st))
        for kind in draw(st.lists(st.sampled_from([rules.PERCENT, rules.ABSOLUTE]), max_size=3))
    )
    seasons = []
    for _ in range(draw(st.integers(0, 2))):
        s = date(2027, 1, 1) + timedelta(days=draw(st.integers(0, 400)))
        seasons.append(
            Season("s", s, s + timedelta(days=draw(st.integers(0, 60))), draw(st.decimals(-50, 100, places=1)))
        )
    return Request(
        pricing_model=draw(st.sampled_from([CPM, CPD, FLAT])),
        base_rate=draw(money_st),
        start=start,
        end=end,
        currency="GBP",
        targeting={"geo": tuple(draw(st.lists(st.sampled_from(["london", "paris", "rome"]), max_size=2, unique=True)))},
        premiums=premiums,
        combine={"geo": draw(st.sampled_from([rules.SUM, rules.HIGHEST]))},
        seasons=tuple(seasons),
        tiers=tuple(Tier(draw(st.integers(1, 5_000_000)), draw(st.decimals(0, 50, places=1))) for _ in range(2)),
        bands=(DemandBand(D("50"), D("10")), DemandBand(D("80"), D("25"))),
        sell_through_pct=draw(st.decimals(0, 100, places=1)),
        advertiser_discount_pct=draw(pct),
        proposal_discount_pct=draw(pct),
        line_discount_pct=draw(pct),
        floor=draw(st.none() | money_st),
        quantity=draw(st.integers(1, 50_000_000)),
        commission_pct=draw(pct),
    )


@settings(max_examples=300, deadline=None)
@given(requests(), pct, pct)
def test_a_larger_discount_never_gives_a_higher_net_rate(request, a, b):
    low, high = sorted([a, b])
    with_low = price(Request(**{**request.__dict__, "line_discount_pct": low}))
    with_high = price(Request(**{**request.__dict__, "line_discount_pct": high}))
    assert with_high.net_rate <= with_low.net_rate


@settings(max_examples=300, deadline=None)
@given(requests())
def test_a_premium_never_lowers_the_list_rate(request):
    without = price(Request(**{**request.__dict__, "premiums": ()}))
    assert price(request).list_rate >= without.list_rate


@settings(max_examples=300, deadline=None)
@given(requests())
def test_the_steps_add_up_to_the_rates_reported_and_cost_follows_the_net_rate(request):
    p = price(request)
    before_list = [s for s in p.steps[: p.steps.index(step(p, "list")[0])] if s.key != "base"]
    assert p.base_rate + sum(s.amount for s in before_list) == p.list_rate
    assert p.list_rate + sum(s.amount for s in step(p, "discount")) == p.net_rate
    for earlier, later in zip(p.steps, p.steps[1:], strict=False):
        if later.key not in ("list", "net"):
            assert earlier.rate + later.amount == later.rate
    units = {CPM: D(p.units) / 1000, CPD: D(p.units), FLAT: D(1)}[request.pricing_model]
    assert abs(p.gross - p.net_rate * units) <= D("0.005")
    assert p.commission + p.net == p.gross


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60), st.integers(1, 60), st.decimals(-50, 100, places=1), st.decimals(-50, 100, places=1))
def test_a_flight_across_a_season_boundary_is_weighted_by_the_days_on_each_side(before, after, first, second):
    boundary = date(2027, 6, 1)
    seasons = (
        Season("first", date(2027, 1, 1), boundary - timedelta(days=1), first),
        Season("second", boundary, date(2027, 12, 31), second),
    )
    request = req(start=boundary - timedelta(days=before), end=boundary + timedelta(days=after - 1), seasons=seasons)
    weighted, _ = rules.season_pct(request)
    assert weighted == (first * before + second * after) / (before + after)


@settings(max_examples=200, deadline=None)
@given(money_st, st.decimals(min_value=D("1"), max_value=D("1000000"), places=2))
def test_a_budget_is_never_exceeded_and_one_more_impression_would_exceed_it(rate, budget):
    n = rules.impressions_for(budget, rules.rate(rate), "GBP")
    assert money.quantize(rules.rate(rate) * n / 1000, "GBP") <= budget
    assert money.quantize(rules.rate(rate) * (n + 1) / 1000, "GBP") > budget


def test_a_sell_through_just_under_a_band_stays_in_the_band_below():
    """79.999 % sold is not 80 %: +10 % (the 50 % band), not +25 %."""
    bands = (DemandBand(D("50"), D("10")), DemandBand(D("80"), D("25")))
    assert price(req(bands=bands, sell_through_pct=D("79.999"))).list_rate == D("11.0000")


def test_a_budget_never_buys_more_than_it_pays_for_when_tiers_do_not_deepen():
    """Base 10.00, -10 % from 1,000,000 but only -5 % from 5,000,000; a budget of 47,000.00.
    At 9.00 it would buy 5,222,222, but those reach the 5,000,000 tier and cost 9.50: 49,611.11.
    At 9.50, 5,000,000 cost 47,500.00: too much. So it buys 4,999,999 at 9.00: 44,999.99."""
    tiers = (Tier(1_000_000, D("10")), Tier(5_000_000, D("5")))
    p = price(req(quantity=None, budget=D("47000"), tiers=tiers))
    assert (p.units, p.net_rate, p.gross) == (4_999_999, D("9.0000"), D("44999.99"))


@settings(max_examples=300, deadline=None)
@given(
    money_st,
    st.decimals(min_value=D("1"), max_value=D("100000"), places=2),
    st.lists(st.tuples(st.integers(1, 20_000_000), st.decimals(0, 60, places=1)), max_size=3),
)
def test_a_budget_is_never_exceeded_whatever_the_tiers(base, budget, tiers):
    tiers = tuple(Tier(q, pct) for q, pct in dict(tiers).items())
    p = price(req(base_rate=base, quantity=None, budget=budget, tiers=tiers))
    assert p.gross <= budget
    tier = rules.tier_for(tiers, p.units)
    expected = rules.rate(base) - (rules.rate(rules.rate(base) * tier.pct / 100) if tier and tier.pct else 0)
    assert p.net_rate == expected


def test_a_yen_line_costs_whole_yen_and_a_budget_buys_to_the_yen():
    """1.2345 JPY CPM x 1,234,567 = 1,524.07... -> 1,524 yen; 15 % commission 228.6 -> 229."""
    p = price(req(currency="JPY", base_rate=D("1.2345"), quantity=1_234_567, commission_pct=D("15")))
    assert (str(p.gross), str(p.commission), str(p.net)) == ("1524", "229", "1295")
    bought = price(req(currency="JPY", base_rate=D("1500"), quantity=None, budget=D("100000")))
    assert bought.gross <= D("100000") and str(bought.gross) == str(bought.gross.to_integral_value())
    assert money.quantize(D("1500") * (bought.units + 1) / 1000, "JPY") > D("100000")
