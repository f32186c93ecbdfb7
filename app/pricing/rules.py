"""The price waterfall of DESIGN.md §4, as pure functions over Decimal: no database, no Flask.

    base rate
    + a premium per customised targeting feature (SUM or HIGHEST of the values that match)
    + the seasonal adjustment, weighted by the flight days in each season
    - the volume tier the quantity reaches
    + the demand adjustment of the band the targeted inventory's sell-through falls in
    = list rate
    - advertiser, proposal and line discounts, in that order
    = net rate (checked against the floor)
    cost: CPM net rate x impressions / 1000, CPD net rate x flight days, flat fee the net rate;
    agency commission splits gross into commission and net.

Rounding of rates happens here and only here: every step's amount is rounded to 4 decimals and
the running rate is the sum of the rounded amounts, so the steps add up to the rates reported to
the last decimal; money is rounded to the currency's minor unit (app.money: 2 decimals for GBP,
none for JPY, 3 for KWD) once per line. Both half-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from app import money
from app.formats import plural

RATE_PLACES = Decimal("0.0001")
HUNDRED = Decimal(100)
THOUSAND = Decimal(1000)

CPM, CPD, FLAT = "cpm", "cpd", "flat"
PERCENT, ABSOLUTE = "percent", "absolute"
SUM, HIGHEST = "sum", "highest"


def rate(value: Decimal) -> Decimal:
    return value.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


def total(costs, currency: str) -> Decimal:
    """A proposal's total: the sum of its lines' rounded costs, so it matches them to the minor unit."""
    return sum((money.quantize(c, currency) for c in costs), money.zero(currency))


@dataclass(frozen=True)
class Premium:
    feature: str
    #: the targeting value it is for; None: any customisation of the feature
    value: str | None
    kind: str  # PERCENT of the base rate, or ABSOLUTE amount added to the rate
    amount: Decimal
    #: words for the feature and the value, when the caller knows them
    feature_label: str | None = None
    value_label: str | None = None


@dataclass(frozen=True)
class Season:
    name: str
    start: date
    end: date
    pct: Decimal


@dataclass(frozen=True)
class Tier:
    min_quantity: int
    pct: Decimal  # discount


@dataclass(frozen=True)
class DemandBand:
    #: from this sell-through (percent of the sellable forecast already booked or held) up
    from_pct: Decimal
    pct: Decimal  # adjustment, usually positive


@dataclass(frozen=True)
class Request:
    pricing_model: str
    base_rate: Decimal
    start: date
    end: date
    #: ISO 4217: costs are rounded to its minor unit
    currency: str
    #: customised targeting: feature -> chosen values
    targeting: dict[str, tuple[str, ...]] = field(default_factory=dict)
    premiums: tuple[Premium, ...] = ()
    #: feature -> SUM or HIGHEST (HIGHEST when absent)
    combine: dict[str, str] = field(default_factory=dict)
    seasons: tuple[Season, ...] = ()
    tiers: tuple[Tier, ...] = ()
    bands: tuple[DemandBand, ...] = ()
    sell_through_pct: Decimal | None = None
    advertiser_discount_pct: Decimal = Decimal(0)
    proposal_discount_pct: Decimal = Decimal(0)
    line_discount_pct: Decimal = Decimal(0)
    floor: Decimal | None = None
    #: impressions (CPM; for CPD and flat, the expected impressions, for the effective CPM)
    quantity: int | None = None
    #: CPM only: what the buyer spends; the quantity is what it buys
    budget: Decimal | None = None
    commission_pct: Decimal = Decimal(0)
    #: a make-good line: free delivery that compensates an under-delivered line (no floor applies)
    make_good: bool = False

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class Step:
    key: str  # base, premium, season, volume, demand, list, discount, net
    label: str
    detail: str
    #: what the step adds to the rate (negative for discounts); the base and totals: the rate itself
    amount: Decimal
    #: the rate after the step
    rate: Decimal


@dataclass
class Price:
    pricing_model: str
    steps: list[Step]
    base_rate: Decimal
    list_rate: Decimal
    net_rate: Decimal
    floor: Decimal | None
    #: how far the net rate is under the floor (0 when it is not)
    below_floor_by: Decimal
    #: impressions for CPM, flight days for CPD, 1 for a flat fee
    units: int
    impressions: int | None
    gross: Decimal
    commission: Decimal
    net: Decimal
    effective_cpm: Decimal | None

    @property
    def below_floor(self) -> bool:
        return self.below_floor_by > 0

    def as_json(self) -> dict:
        """Every step and figure, as strings: what a priced line stores."""
        return {
            "pricing_model": self.pricing_model,
            "steps": [
                {"key": s.key, "label": s.label, "detail": s.detail, "amount": str(s.amount), "rate": str(s.rate)}
                for s in self.steps
            ],
            "base_rate": str(self.base_rate),
            "list_rate": str(self.list_rate),
            "net_rate": str(self.net_rate),
            "floor": None if self.floor is None else str(self.floor),
            "below_floor_by": str(self.below_floor_by),
            "units": self.units,
            "impressions": self.impressions,
            "gross": str(self.gross),
            "commission": str(self.commission),
            "net": str(self.net),
            "effective_cpm": None if self.effective_cpm is None else str(self.effective_cpm),
        }


def _pct(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return f"{text} %"


def premium_amounts(base: Decimal, request: Request) -> list[tuple[str, Decimal, str]]:
    """Per customised feature that has premiums: (feature, amount added to the rate, detail).

    A premium for any value of a feature applies once when the feature is customised; a premium
    for a value applies when that value is chosen. SUM adds the matching ones, HIGHEST keeps the
    largest (percentages are first turned into amounts of the base rate)."""
    out = []
    for feature, values in request.targeting.items():
        if not values:
            continue
        matching = [p for p in request.premiums if p.feature == feature and (p.value is None or p.value in values)]
        if not matching:
            continue
        amounts = [(rate(base * p.amount / HUNDRED) if p.kind == PERCENT else rate(p.amount), p) for p in matching]
        if request.combine.get(feature, HIGHEST) == SUM:
            amount = sum((a for a, _ in amounts), Decimal(0))
            detail = " + ".join(_premium_words(p) for _, p in amounts) + " (sum)"
        else:
            amount, chosen = max(amounts, key=lambda pair: pair[0])
            detail = _premium_words(chosen) + (" (highest of the matching)" if len(amounts) > 1 else "")
        out.append((matching[0].feature_label or feature.replace("_", " "), amount, detail))
    return out


def _premium_words(p: Premium) -> str:
    what = p.value_label or p.value or "any value"
    return f"{what}: +{_pct(p.amount)} of base" if p.kind == PERCENT else f"{what}: +{rate(p.amount)}"


def season_pct(request: Request) -> tuple[Decimal, str]:
    """The seasonal adjustment in percent, weighted by the flight days in each season."""
    if not request.seasons:
        return Decimal(0), ""
    days_in: dict[Season, int] = {}
    day = request.start
    while day <= request.end:
        for season in request.seasons:
            if season.start <= day <= season.end:
                days_in[season] = days_in.get(season, 0) + 1
                break
        day += timedelta(days=1)
    if not days_in:
        return Decimal(0), ""
    weighted = sum((s.pct * n for s, n in days_in.items()), Decimal(0)) / request.days
    days = plural(request.days, "day", "days")
    detail = ", ".join(f"{s.name} {_pct(s.pct)} on {n} of {days}" for s, n in days_in.items())
    return weighted, detail


def tier_for(tiers: tuple[Tier, ...], units: int) -> Tier | None:
    reached = [t for t in tiers if units >= t.min_quantity]
    return max(reached, key=lambda t: t.min_quantity) if reached else None


def band_for(bands: tuple[DemandBand, ...], sell_through: Decimal | None) -> DemandBand | None:
    if sell_through is None:
        return None
    reached = [b for b in bands if sell_through >= b.from_pct]
    return max(reached, key=lambda b: b.from_pct) if reached else None


def _units(request: Request, impressions: int | None) -> int:
    if request.pricing_model == CPM:
        return impressions or 0
    if request.pricing_model == CPD:
        return request.days
    return 1


def price(request: Request) -> Price:
    """The waterfall for a line. Given a budget (CPM), the quantity is the most it buys."""
    if request.budget is not None and request.pricing_model == CPM:
        return _price_for_budget(request)
    return _price(request, request.quantity)


def _price(request: Request, impressions: int | None) -> Price:
    steps: list[Step] = []
    current = rate(request.base_rate)
    steps.append(Step("base", "Base rate", "from the rate card", current, current))

    def add(key: str, label: str, detail: str, amount: Decimal) -> None:
        nonlocal current
        amount = rate(amount)
        current = current + amount
        steps.append(Step(key, label, detail, amount, current))

    base = current
    for feature, amount, detail in premium_amounts(base, request):
        add("premium", f"Premium: {feature}", detail, amount)
    pct, detail = season_pct(request)
    if pct:
        add("season", "Seasonal adjustment", f"{detail}: {_pct(rate(pct))} weighted", current * pct / HUNDRED)
    units = _units(request, impressions)
    tier = tier_for(request.tiers, units)
    if tier is not None and tier.pct:
        add(
            "volume",
            "Volume tier",
            f"from {tier.min_quantity:,} units: -{_pct(tier.pct)}",
            -current * tier.pct / HUNDRED,
        )
    band = band_for(request.bands, request.sell_through_pct)
    if band is not None and band.pct:
        add(
            "demand",
            "Demand adjustment",
            f"sell-through {_pct(rate(request.sell_through_pct))} is in the band from {_pct(band.from_pct)}: "
            f"{'+' if band.pct > 0 else ''}{_pct(band.pct)}",
            current * band.pct / HUNDRED,
        )
    list_rate = current
    steps.append(Step("list", "List rate", "", list_rate, list_rate))
    for label, pct in (
        ("Advertiser discount", request.advertiser_discount_pct),
        ("Proposal discount", request.proposal_discount_pct),
        ("Line discount", request.line_discount_pct),
    ):
        if pct:
            add("discount", label, f"-{_pct(pct)}", -current * pct / HUNDRED)
    if request.make_good:
        add("make_good", "Make-good", "no charge: it makes good an under-delivered line", -current)
    net_rate = current
    floor = None if request.floor is None or request.make_good else rate(request.floor)
    below = max(Decimal(0), floor - net_rate) if floor is not None else Decimal(0)
    steps.append(Step("net", "Net rate", f"{below} under the floor of {floor}" if below else "", net_rate, net_rate))

    currency = request.currency
    if request.pricing_model == CPM:
        gross = money.quantize(net_rate * units / THOUSAND, currency)
    elif request.pricing_model == CPD:
        gross = money.quantize(net_rate * units, currency)
    else:
        gross = money.quantize(net_rate, currency)
    commission = money.quantize(gross * request.commission_pct / HUNDRED, currency)
    effective = None
    if request.pricing_model == CPM:
        effective = net_rate
    elif impressions:
        effective = rate(gross * THOUSAND / impressions)
    return Price(
        pricing_model=request.pricing_model,
        steps=steps,
        base_rate=base,
        list_rate=list_rate,
        net_rate=net_rate,
        floor=floor,
        below_floor_by=below,
        units=units,
        impressions=impressions,
        gross=gross,
        commission=commission,
        net=gross - commission,
        effective_cpm=effective,
    )


def impressions_for(budget: Decimal, net_rate: Decimal, currency: str) -> int:
    """The most impressions a CPM budget buys at a net rate: their cost, rounded to the currency's
    minor unit as it is invoiced, never exceeds the budget."""
    if net_rate <= 0:
        return 0
    n = int((budget * THOUSAND / net_rate).to_integral_value(rounding=ROUND_FLOOR))
    while money.quantize(net_rate * (n + 1) / THOUSAND, currency) <= budget:
        n += 1
    while n > 0 and money.quantize(net_rate * n / THOUSAND, currency) > budget:
        n -= 1
    return n


def _price_for_budget(request: Request) -> Price:
    """The quantity depends on the rate and the rate on the volume tier the quantity reaches, and
    tiers need not deepen with quantity. For each band of quantities (below the first tier, then
    from each tier to the next), buy what the budget buys at that band's rate, capped to the band;
    take the band that buys the most. A net rate of 0 buys no definite quantity: units 0."""
    tiers = sorted(request.tiers, key=lambda t: t.min_quantity)
    bands = [(1, tiers[0].min_quantity - 1 if tiers else None)] if not tiers or tiers[0].min_quantity > 1 else []
    for i, tier in enumerate(tiers):
        bands.append((tier.min_quantity, tiers[i + 1].min_quantity - 1 if i + 1 < len(tiers) else None))
    best: Price | None = None
    for low, high in bands:
        n = impressions_for(request.budget, _price(request, low).net_rate, request.currency)
        if high is not None:
            n = min(n, high)
        if n < low:
            continue
        final = _price(request, n)
        if final.gross <= request.budget and (best is None or final.units > best.units):
            best = final
    return best if best is not None else _price(request, 0)
