"""The demo publisher, Harbour Media Group, described as plain data: no database, no Flask.

Everything here is deterministic, so the demo, the screenshots and the tests see the same numbers
on every machine and on every run. `app.demo.load` writes it into the database.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from app.roles import Role

PUBLISHER_NAME = "Harbour Media Group"
CURRENCY = "GBP"
TIME_ZONE = "Europe/London"
#: Every demo user signs in with this password.
DEMO_PASSWORD = "flightdeck-demo"


# --- People -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    roles: tuple[Role, ...]


USERS: tuple[DemoUser, ...] = (
    DemoUser("admin@harbour.example", "Priya Shah", (Role.ADMIN,)),
    DemoUser("rep@harbour.example", "Ana Ruiz", (Role.SALES_REP,)),
    DemoUser("rep2@harbour.example", "Tom Becker", (Role.SALES_REP,)),
    DemoUser("manager@harbour.example", "Grace Okafor", (Role.SALES_MANAGER,)),
    DemoUser("vp@harbour.example", "Daniel Moreau", (Role.SALES_MANAGER,)),
    DemoUser("adops@harbour.example", "Luca Bianchi", (Role.AD_OPS,)),
    DemoUser("finance@harbour.example", "Sofia Lindqvist", (Role.FINANCE,)),
)


# --- Ad units -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A slot ad unit: where a creative actually shows."""

    code: str
    name: str
    sizes: tuple[str, ...]
    #: Typical impressions on an ordinary weekday at the trend epoch, before seasonality.
    base_daily: int


@dataclass(frozen=True)
class Section:
    code: str
    name: str
    slots: tuple[Slot, ...]

    @property
    def sizes(self) -> tuple[str, ...]:
        """The sizes of its slots, in first-seen order."""
        return _union(slot.sizes for slot in self.slots)


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    #: "news", "sport" or "lifestyle": decides the weekly pattern of its traffic.
    kind: str
    sections: tuple[Section, ...]

    @property
    def sizes(self) -> tuple[str, ...]:
        return _union(section.sizes for section in self.sections)

    @property
    def slots(self) -> tuple[Slot, ...]:
        return tuple(slot for section in self.sections for slot in section.slots)


def _union(groups: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(size for group in groups for size in group))


def _section(site: str, key: str, name: str, *slots: tuple[str, str, tuple[str, ...], int]) -> Section:
    """A section whose code and slot codes are path-like under the site's code."""
    code = f"{site}/{key}"
    return Section(
        code=code,
        name=name,
        slots=tuple(Slot(f"{code}/{slug}", label, sizes, base) for slug, label, sizes, base in slots),
    )


_LEADERBOARD = ("728x90", "970x250")
_MPU = ("300x250",)
_HALF_PAGE = ("300x600", "300x250")
_MOBILE = ("320x50", "320x100")

SITES: tuple[Site, ...] = (
    Site(
        "daily-harbour",
        "The Daily Harbour",
        "news",
        (
            _section(
                "daily-harbour",
                "home",
                "Homepage",
                ("top-leaderboard", "Top leaderboard", _LEADERBOARD, 400_000),
                ("mpu-1", "MPU 1", _MPU, 350_000),
                ("half-page", "Half page", _HALF_PAGE, 180_000),
                ("mobile-banner", "Mobile banner", _MOBILE, 300_000),
                ("native-feed", "Native in feed", ("native",), 220_000),
            ),
            _section(
                "daily-harbour",
                "news",
                "News",
                ("top-leaderboard", "Top leaderboard", _LEADERBOARD, 260_000),
                ("mpu", "MPU", _MPU, 240_000),
                ("in-article-video", "In-article video", ("video",), 90_000),
                ("mobile-banner", "Mobile banner", _MOBILE, 210_000),
            ),
            _section(
                "daily-harbour",
                "business",
                "Business",
                ("leaderboard", "Leaderboard", _LEADERBOARD, 80_000),
                ("mpu", "MPU", _MPU, 70_000),
                ("half-page", "Half page", _HALF_PAGE, 40_000),
            ),
            _section(
                "daily-harbour",
                "opinion",
                "Opinion",
                ("leaderboard", "Leaderboard", ("728x90",), 60_000),
                ("mpu", "MPU", _MPU, 55_000),
                ("native-feed", "Native in feed", ("native",), 35_000),
            ),
        ),
    ),
    Site(
        "harbour-sport",
        "Harbour Sport",
        "sport",
        (
            _section(
                "harbour-sport",
                "home",
                "Sport homepage",
                ("billboard", "Billboard", ("970x250",), 150_000),
                ("mpu", "MPU", _MPU, 140_000),
                ("mobile-banner", "Mobile banner", _MOBILE, 160_000),
            ),
            _section(
                "harbour-sport",
                "football",
                "Football",
                ("top-leaderboard", "Top leaderboard", _LEADERBOARD, 220_000),
                ("mpu", "MPU", _MPU, 200_000),
                ("video-pre-roll", "Video pre-roll", ("video",), 120_000),
                ("mobile-banner", "Mobile banner", _MOBILE, 180_000),
            ),
            _section(
                "harbour-sport",
                "cricket",
                "Cricket",
                ("leaderboard", "Leaderboard", ("728x90",), 45_000),
                ("mpu", "MPU", _MPU, 40_000),
            ),
        ),
    ),
    Site(
        "harbour-living",
        "Harbour Living",
        "lifestyle",
        (
            _section(
                "harbour-living",
                "home",
                "Living homepage",
                ("billboard", "Billboard", ("970x250",), 70_000),
                ("mpu", "MPU", _MPU, 65_000),
            ),
            _section(
                "harbour-living",
                "food",
                "Food & drink",
                ("leaderboard", "Leaderboard", ("728x90",), 50_000),
                ("mpu", "MPU", _MPU, 45_000),
                ("native-recipe", "Native recipe card", ("native",), 30_000),
            ),
            _section(
                "harbour-living",
                "travel",
                "Travel",
                ("half-page", "Half page", _HALF_PAGE, 25_000),
                ("mpu", "MPU", _MPU, 35_000),
            ),
            _section(
                "harbour-living",
                "home-garden",
                "Home & garden",
                ("mpu", "MPU", _MPU, 30_000),
                ("native-feed", "Native in feed", ("native",), 20_000),
            ),
        ),
    ),
)


def all_slots() -> tuple[Slot, ...]:
    """Every slot of every site, in catalog order."""
    return tuple(slot for site in SITES for slot in site.slots)


# --- Targeting ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetingValueSpec:
    code: str
    name: str
    #: Share of the publisher's traffic in percent (geo and device only).
    share_pct: Decimal | None = None


@dataclass(frozen=True)
class TargetingDimensionSpec:
    key: str
    name: str
    values: tuple[TargetingValueSpec, ...]


def _v(code: str, name: str, share: str | None = None) -> TargetingValueSpec:
    return TargetingValueSpec(code, name, Decimal(share) if share is not None else None)


GEO = TargetingDimensionSpec(
    "geo",
    "Geography",
    (
        _v("london", "London", "16.5"),
        _v("south-east", "South East", "14.0"),
        _v("south-west", "South West", "8.0"),
        _v("east-of-england", "East of England", "9.0"),
        _v("west-midlands", "West Midlands", "8.5"),
        _v("east-midlands", "East Midlands", "7.0"),
        _v("yorkshire-humber", "Yorkshire and the Humber", "8.0"),
        _v("north-west", "North West", "11.0"),
        _v("north-east", "North East", "3.5"),
        _v("scotland", "Scotland", "8.0"),
        _v("wales", "Wales", "4.5"),
        _v("northern-ireland", "Northern Ireland", "2.0"),
    ),
)

DEVICE = TargetingDimensionSpec(
    "device",
    "Device",
    (_v("desktop", "Desktop", "32"), _v("mobile", "Mobile", "58"), _v("tablet", "Tablet", "10")),
)

KEY_VALUES = TargetingDimensionSpec(
    "key_value",
    "Custom key-values",
    (
        _v("section=news", "section = news"),
        _v("section=business", "section = business"),
        _v("section=sport", "section = sport"),
        _v("section=lifestyle", "section = lifestyle"),
        _v("content=football", "content = football"),
        _v("content=cricket", "content = cricket"),
        _v("content=recipes", "content = recipes"),
        _v("content=travel", "content = travel"),
        _v("content=personal-finance", "content = personal finance"),
    ),
)

AUDIENCES = TargetingDimensionSpec(
    "audience",
    "Audience segments",
    (
        _v("sports-enthusiasts", "Sports enthusiasts"),
        _v("home-garden", "Home & garden"),
        _v("auto-intenders", "Auto intenders"),
        _v("travellers", "Travellers"),
        _v("finance", "Finance"),
        _v("food-lovers", "Food lovers"),
    ),
)

DAYPARTS = TargetingDimensionSpec(
    "daypart",
    "Day-part",
    (
        _v("morning", "Morning (06:00-10:00)"),
        _v("daytime", "Daytime (10:00-17:00)"),
        _v("evening", "Evening (17:00-22:00)"),
        _v("night", "Night (22:00-06:00)"),
    ),
)

FREQUENCY_CAPS = TargetingDimensionSpec(
    "frequency_cap",
    "Frequency cap",
    (_v("1-per-day", "1 per day"), _v("3-per-day", "3 per day"), _v("10-per-week", "10 per week")),
)

TARGETING: tuple[TargetingDimensionSpec, ...] = (GEO, DEVICE, KEY_VALUES, AUDIENCES, DAYPARTS, FREQUENCY_CAPS)


# --- Traffic ------------------------------------------------------------------------------------

#: Growth is measured from this fixed date, so a day's traffic never depends on when it is generated.
TREND_EPOCH = date(2024, 1, 1)
ANNUAL_GROWTH = 0.09
#: Day-of-week multipliers, Monday first, by site kind.
WEEKLY_PATTERN: dict[str, tuple[float, ...]] = {
    "news": (1.08, 1.10, 1.08, 1.05, 1.00, 0.80, 0.86),
    "sport": (0.95, 0.90, 0.95, 0.90, 0.96, 1.30, 1.22),
    "lifestyle": (0.98, 0.97, 0.97, 0.98, 0.94, 1.02, 1.14),
}
_FLAT_WEEK = (1.0,) * 7
_SITE_KIND = {site.code: site.kind for site in SITES}
#: Daily noise (standard deviation, and the clip either side) on the total and on each share.
_NOISE_SD, _NOISE_CLIP = 0.05, 0.12
_SHARE_NOISE_SD = 0.04

_GEO_CODES = tuple(v.code for v in GEO.values)
_GEO_WEIGHTS = tuple(float(v.share_pct or 0) for v in GEO.values)
_DEVICE_CODES = tuple(v.code for v in DEVICE.values)
_DEVICE_WEIGHTS = tuple(float(v.share_pct or 0) for v in DEVICE.values)

_Q4_RAMP_START = (10, 1)
_Q4_PEAK_START = (11, 25)
_Q4_PEAK = 1.35


def seasonal_factor(day: date) -> float:
    """Multiplier for the time of year: a January lull, a summer dip and the Q4 peak.

    Traffic rises through October and November to +35 % from 25 November, holds until Christmas
    Eve and drops after Christmas.
    """
    month = day.month
    if month == 1:
        return 0.94
    if month == 8:
        return 0.96
    if month == 12:
        return _Q4_PEAK if day.day < 25 else 0.86
    if month in (10, 11):
        ramp_start = date(day.year, *_Q4_RAMP_START)
        peak_start = date(day.year, *_Q4_PEAK_START)
        if day >= peak_start:
            return _Q4_PEAK
        progress = (day - ramp_start).days / (peak_start - ramp_start).days
        return 1.0 + (_Q4_PEAK - 1.0) * progress
    return 1.0


def trend_factor(day: date) -> float:
    """Compound growth of ANNUAL_GROWTH a year since TREND_EPOCH (below 1 before it)."""
    return (1.0 + ANNUAL_GROWTH) ** ((day - TREND_EPOCH).days / 365.25)


def _split(total: int, codes: tuple[str, ...], weights: list[float]) -> dict[str, int]:
    """`total` shared out in proportion to `weights`, in whole numbers that add up to `total`.

    Largest remainder: everyone gets the floor of their exact share, and the units left over go to
    the largest fractions (ties to the earlier code, so the result is deterministic).
    """
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    counts = [int(x) for x in exact]
    short = total - sum(counts)
    if short > 0:
        for i in sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))[:short]:
            counts[i] += 1
    return dict(zip(codes, counts, strict=True))


def _noisy(rng: random.Random, weights: tuple[float, ...]) -> list[float]:
    return [w * max(0.5, 1.0 + rng.gauss(0.0, _SHARE_NOISE_SD)) for w in weights]


def traffic_history(
    ad_unit_code: str, base_daily: int, start: date, end: date
) -> Iterator[tuple[date, int, dict[str, int], dict[str, int]]]:
    """(day, impressions, by geo code, by device code) for every day from `start` to `end` inclusive.

    Each day is seeded from the unit's code and the date alone, so a day's numbers are the same
    whatever range is asked for. The weekly pattern follows the site (the first part of the code).
    """
    week = WEEKLY_PATTERN.get(_SITE_KIND.get(ad_unit_code.split("/", 1)[0], ""), _FLAT_WEEK)
    day = start
    one_day = timedelta(days=1)
    while day <= end:
        # A string seed is hashed with SHA-512 by `random`, unlike hash(), stable across processes.
        rng = random.Random(f"{ad_unit_code}:{day.isoformat()}")
        noise = 1.0 + max(-_NOISE_CLIP, min(_NOISE_CLIP, rng.gauss(0.0, _NOISE_SD)))
        expected = base_daily * week[day.weekday()] * trend_factor(day) * seasonal_factor(day)
        impressions = max(0, round(expected * noise))
        by_geo = _split(impressions, _GEO_CODES, _noisy(rng, _GEO_WEIGHTS))
        by_device = _split(impressions, _DEVICE_CODES, _noisy(rng, _DEVICE_WEIGHTS))
        yield day, impressions, by_geo, by_device
        day += one_day


# --- Advertisers and agencies -------------------------------------------------------------------


@dataclass(frozen=True)
class ContactSpec:
    name: str
    email: str
    title: str
    phone: str = ""


@dataclass(frozen=True)
class AccountSpec:
    """An advertiser or agency, with its buyer contacts and the e-mail of its owning user."""

    kind: str
    name: str
    industry: str
    billing_address: str
    billing_country: str
    currency: str
    owner_email: str
    contacts: tuple[ContactSpec, ...]
    credit_status: str = "ok"
    agency_commission_pct: Decimal = Decimal(0)
    notes: str = ""


_REP, _REP2, _MANAGER = "rep@harbour.example", "rep2@harbour.example", "manager@harbour.example"
_ON_HOLD_NOTE = "Credit on hold by finance: invoices over 60 days overdue. No new bookings until cleared."


def _advertiser(
    name: str,
    industry: str,
    address: str,
    owner: str,
    *contacts: ContactSpec,
    country: str = "GB",
    currency: str = "GBP",
    on_hold: bool = False,
) -> AccountSpec:
    return AccountSpec(
        kind="advertiser",
        name=name,
        industry=industry,
        billing_address=address,
        billing_country=country,
        currency=currency,
        owner_email=owner,
        contacts=contacts,
        credit_status="on_hold" if on_hold else "ok",
        notes=_ON_HOLD_NOTE if on_hold else "",
    )


_C = ContactSpec

ADVERTISERS: tuple[AccountSpec, ...] = (
    _advertiser(
        "Hearthly Home Stores",
        "Retail",
        "14 Canal Wharf\nLeeds\nLS11 5PQ",
        _REP,
        _C("Megan Doyle", "megan.doyle@hearthly.example", "Head of Marketing", "+44 113 496 0412"),
        _C("Raj Patel", "raj.patel@hearthly.example", "Digital Media Manager"),
    ),
    _advertiser(
        "Marlow & Finch",
        "Retail",
        "88 Carnaby Row\nLondon\nW1F 7DN",
        _REP,
        _C("Isla Grant", "isla.grant@marlowfinch.example", "Brand Director", "+44 20 7946 0731"),
    ),
    _advertiser(
        "Fellstride Outdoor",
        "Retail",
        "3 Kendal Road\nPenrith\nCA11 8QT",
        _REP2,
        _C("Owen Price", "owen.price@fellstride.example", "Marketing Manager", "+44 7700 900214"),
    ),
    _advertiser(
        "Corvane Motors UK",
        "Automotive",
        "Corvane House, Lythalls Lane\nCoventry\nCV6 6FL",
        _REP,
        _C("Helen Marsh", "helen.marsh@corvane.example", "Head of Media", "+44 1632 960158"),
        _C("Sam Whitaker", "sam.whitaker@corvane.example", "Digital Campaigns Lead"),
    ),
    _advertiser(
        "Halden Auto Group",
        "Automotive",
        "Unit 7, Trafford Park Way\nManchester\nM17 1HH",
        _REP2,
        _C("Gary Holt", "gary.holt@haldenauto.example", "Group Marketing Manager", "+44 161 496 0827"),
        on_hold=True,
    ),
    _advertiser(
        "Roamwell Car Hire",
        "Automotive",
        "21 Terminal Road\nLuton\nLU2 9LY",
        _REP,
        _C("Chloe Adeyemi", "chloe.adeyemi@roamwell.example", "Performance Marketing Manager"),
    ),
    _advertiser(
        "Sandpiper Holidays",
        "Travel",
        "5 Harbourside\nBristol\nBS1 5UH",
        _REP,
        _C("Nina Kowalski", "nina.kowalski@sandpiper.example", "Head of Brand", "+44 117 496 0593"),
        _C("Tom Ellery", "tom.ellery@sandpiper.example", "Media Executive"),
    ),
    _advertiser(
        "Aerlinn Air",
        "Travel",
        "Aerlinn House, Airside Business Park\nSwords, Co. Dublin\nK67 E2X4",
        _MANAGER,
        _C("Aoife Byrne", "aoife.byrne@aerlinn.example", "UK Marketing Manager", "+353 1 555 0142"),
        country="IE",
        currency="EUR",
    ),
    _advertiser(
        "Alpenweg Reisen GmbH",
        "Travel",
        "Leopoldstraße 112\n80802 München",
        _REP2,
        _C("Jonas Keller", "jonas.keller@alpenweg.example", "Leiter Online-Marketing"),
        country="DE",
        currency="EUR",
    ),
    _advertiser(
        "Glenmorrow Mutual",
        "Finance",
        "40 Charlotte Square\nEdinburgh\nEH2 4HQ",
        _REP,
        _C("Fiona McLeod", "fiona.mcleod@glenmorrow.example", "Brand & Media Manager", "+44 131 496 0276"),
    ),
    _advertiser(
        "Ferrymoor Bank",
        "Finance",
        "1 Ferrymoor Place\nLondon\nEC2M 4AA",
        _MANAGER,
        _C("David Osei", "david.osei@ferrymoor.example", "Head of Acquisition Marketing", "+44 20 7946 0385"),
        _C("Laura Jennings", "laura.jennings@ferrymoor.example", "Media Planner"),
    ),
    _advertiser(
        "Wrenfield Mobile",
        "Telecoms",
        "Wrenfield Campus, Aztec West\nBristol\nBS32 4TD",
        _REP,
        _C("Priyanka Rao", "priyanka.rao@wrenfield.example", "Media Manager", "+44 117 496 0940"),
    ),
    _advertiser(
        "Skyweave Broadband",
        "Telecoms",
        "200 Broad Street\nBirmingham\nB15 1AY",
        _REP2,
        _C("Marcus Lee", "marcus.lee@skyweave.example", "Head of Marketing Communications"),
        _C("Ellie Barnes", "ellie.barnes@skyweave.example", "Digital Buyer"),
    ),
    _advertiser(
        "Hollowell Dairy",
        "FMCG",
        "Hollowell Farm\nTaunton\nTA3 5RE",
        _REP,
        _C("Rebecca Stone", "rebecca.stone@hollowell.example", "Brand Manager", "+44 7700 900587"),
    ),
    _advertiser(
        "Tumblebrook Foods",
        "FMCG",
        "Riverside Works\nNorwich\nNR1 1QS",
        _REP2,
        _C("James Okoro", "james.okoro@tumblebrook.example", "Senior Brand Manager"),
    ),
    _advertiser(
        "Kettlewick Tea",
        "FMCG",
        "9 Bonded Warehouse Lane\nLiverpool\nL3 4AQ",
        _MANAGER,
        _C("Harriet Cole", "harriet.cole@kettlewick.example", "Marketing Director", "+44 151 496 0163"),
    ),
    _advertiser(
        "Fizzwick Energy",
        "FMCG",
        "Unit 2, Meadowhall Park\nSheffield\nS9 1EP",
        _REP,
        _C("Connor Walsh", "connor.walsh@fizzwick.example", "Brand Activation Lead"),
    ),
    _advertiser(
        "Maison Verlaine",
        "Beauty",
        "27 rue du Faubourg Saint-Denis\n75010 Paris",
        _MANAGER,
        _C("Camille Laurent", "camille.laurent@maisonverlaine.example", "Responsable média UK"),
        country="FR",
        currency="EUR",
    ),
    _advertiser(
        "Starloom Games",
        "Entertainment",
        "1200 Westlake Avenue N\nSeattle, WA 98109",
        _REP2,
        _C("Jordan Hayes", "jordan.hayes@starloom.example", "User Acquisition Manager"),
        country="US",
        currency="USD",
    ),
    _advertiser(
        "Fernleigh Gadgets",
        "Retail",
        "45 Enterprise Way\nMilton Keynes\nMK9 2EW",
        _REP2,
        _C("Ben Fairclough", "ben.fairclough@fernleigh.example", "E-commerce Manager", "+44 7700 900831"),
        on_hold=True,
    ),
)


def _agency(name: str, address: str, owner: str, commission: str, *contacts: ContactSpec) -> AccountSpec:
    return AccountSpec(
        kind="agency",
        name=name,
        industry="Media agency",
        billing_address=address,
        billing_country="GB",
        currency="GBP",
        owner_email=owner,
        contacts=contacts,
        agency_commission_pct=Decimal(commission),
    )


AGENCIES: tuple[AccountSpec, ...] = (
    _agency(
        "Lanternfish Media",
        "Floor 6, 30 Old Street\nLondon\nEC1V 9AB",
        _MANAGER,
        "15",
        _C("Zara Hussain", "zara.hussain@lanternfish.example", "Head of Trading", "+44 20 7946 0518"),
        _C("Ollie Grant", "ollie.grant@lanternfish.example", "Digital Buyer"),
    ),
    _agency(
        "Causeway Media Partners",
        "12 Donegall Quay\nBelfast\nBT1 3EA",
        _REP,
        "12.5",
        _C("Niamh Quinn", "niamh.quinn@causewaymedia.example", "Account Director", "+44 28 9649 6021"),
    ),
    _agency(
        "Saltmarsh Media",
        "The Granary, Quayside\nNewcastle upon Tyne\nNE1 3JE",
        _REP2,
        "10",
        _C("Peter Lund", "peter.lund@saltmarsh.example", "Investment Manager"),
        _C("Amira Haddad", "amira.haddad@saltmarsh.example", "Programmatic & Direct Buyer"),
    ),
    _agency(
        "Fulcrum & Pike",
        "44 Great Marlborough Street\nLondon\nW1F 7JL",
        _MANAGER,
        "15",
        _C("Victoria Hale", "victoria.hale@fulcrumpike.example", "Managing Partner", "+44 20 7946 0662"),
    ),
    _agency(
        "Greyhaven Media Group",
        "Greyhaven House, Spinningfields\nManchester\nM3 3EB",
        _REP,
        "12",
        _C("Kieran Moss", "kieran.moss@greyhaven.example", "Head of Display", "+44 161 496 0349"),
        _C("Lucy Tan", "lucy.tan@greyhaven.example", "Media Buyer"),
    ),
)
