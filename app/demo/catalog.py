"""The demo publisher's catalog and rate cards, as plain data (no database).

Base rates are in GBP. Ad units are named by code; a code ending in "/*" includes everything
below it. Dates of rate cards and seasons are relative to the year the demo is loaded in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

D = Decimal


@dataclass(frozen=True)
class ProductSpec:
    name: str
    category: str
    line_item_type: str
    ad_units: tuple[str, ...]
    sizes: tuple[str, ...]
    #: pricing model -> standard base rate in GBP
    rates: dict[str, Decimal]
    description: str = ""
    customisable: tuple[str, ...] = ()
    defaults: dict[str, tuple[str, ...]] = field(default_factory=dict)
    min_quantity: int | None = None
    max_quantity: int | None = None


_DISPLAY_TARGETING = ("geo", "device", "audience", "frequency_cap", "daypart")

PRODUCTS: tuple[ProductSpec, ...] = (
    ProductSpec(
        "Run of Network Display",
        "Display",
        "standard",
        ("daily-harbour/*", "harbour-sport/*", "harbour-living/*"),
        ("300x250", "728x90", "970x250", "300x600", "320x50"),
        {"cpm": D("6.50")},
        "Standard display across all three sites.",
        _DISPLAY_TARGETING,
        min_quantity=100_000,
    ),
    ProductSpec(
        "News Display",
        "Display",
        "standard",
        ("daily-harbour/news/*", "daily-harbour/home/*"),
        ("300x250", "728x90", "970x250", "320x50"),
        {"cpm": D("9.00")},
        "Display next to breaking news and the front page.",
        ("geo", "device", "key_value", "frequency_cap"),
        defaults={"key_value": ("section=news",)},
        min_quantity=50_000,
    ),
    ProductSpec(
        "Business & Finance Display",
        "Display",
        "standard",
        ("daily-harbour/business/*",),
        ("300x250", "728x90", "300x600"),
        {"cpm": D("12.00")},
        "An affluent, decision-making readership.",
        ("geo", "device", "audience", "frequency_cap"),
        min_quantity=50_000,
    ),
    ProductSpec(
        "Sport Display",
        "Display",
        "standard",
        ("harbour-sport/*",),
        ("300x250", "728x90", "970x250", "320x50"),
        {"cpm": D("8.00")},
        "Display across Harbour Sport.",
        ("geo", "device", "key_value", "frequency_cap"),
        min_quantity=50_000,
    ),
    ProductSpec(
        "Living Display",
        "Display",
        "standard",
        ("harbour-living/*",),
        ("300x250", "728x90", "970x250", "300x600"),
        {"cpm": D("7.50")},
        "Food, travel and home & garden.",
        ("geo", "device", "audience", "key_value"),
        min_quantity=50_000,
    ),
    ProductSpec(
        "Mobile Banner Network",
        "Display",
        "standard",
        (
            "daily-harbour/home/mobile-banner",
            "daily-harbour/news/mobile-banner",
            "harbour-sport/home/mobile-banner",
            "harbour-sport/football/mobile-banner",
        ),
        ("320x50", "320x100"),
        {"cpm": D("4.00")},
        "Mobile banners on the busiest pages.",
        ("geo", "frequency_cap"),
        defaults={"device": ()},
        min_quantity=250_000,
    ),
    ProductSpec(
        "High Impact Billboard",
        "Display",
        "standard",
        ("harbour-sport/home/billboard", "harbour-living/home/billboard", "daily-harbour/home/top-leaderboard"),
        ("970x250",),
        {"cpm": D("18.00")},
        "The 970x250 billboard above the fold.",
        ("geo", "frequency_cap"),
        min_quantity=25_000,
    ),
    ProductSpec(
        "Half Page Premium",
        "Display",
        "standard",
        ("daily-harbour/home/half-page", "daily-harbour/business/half-page", "harbour-living/travel/half-page"),
        ("300x600",),
        {"cpm": D("14.00")},
        "300x600 units with high viewability.",
        ("geo", "device", "audience"),
        min_quantity=25_000,
    ),
    ProductSpec(
        "Native In-Feed",
        "Native",
        "standard",
        (
            "daily-harbour/home/native-feed",
            "daily-harbour/opinion/native-feed",
            "harbour-living/food/native-recipe",
            "harbour-living/home-garden/native-feed",
        ),
        ("native",),
        {"cpm": D("15.00")},
        "Sponsored content cards in the feed.",
        ("geo", "audience"),
        min_quantity=20_000,
    ),
    ProductSpec(
        "Outstream Video — News",
        "Video",
        "standard",
        ("daily-harbour/news/in-article-video",),
        ("video",),
        {"cpm": D("22.00")},
        "In-article video that plays in view.",
        ("geo", "device", "frequency_cap"),
        min_quantity=20_000,
    ),
    ProductSpec(
        "Football Pre-roll",
        "Video",
        "standard",
        ("harbour-sport/football/video-pre-roll",),
        ("video",),
        {"cpm": D("28.00")},
        "Pre-roll before match highlights.",
        ("geo", "device", "frequency_cap"),
        min_quantity=10_000,
    ),
    ProductSpec(
        "Homepage Takeover — The Daily Harbour",
        "Sponsorship",
        "sponsorship",
        ("daily-harbour/home/*",),
        ("728x90", "970x250", "300x250", "300x600", "320x50"),
        {"cpd": D("12000.00"), "flat": D("12000.00")},
        "Every ad on the front page for a day (100 % share of voice).",
        (),
        max_quantity=14,
    ),
    ProductSpec(
        "Football Section Sponsorship",
        "Sponsorship",
        "sponsorship",
        ("harbour-sport/football/*",),
        ("728x90", "970x250", "300x250", "320x50"),
        {"cpd": D("3500.00"), "flat": D("3500.00")},
        "Own the football section, with logo placement.",
        ("geo",),
        max_quantity=90,
    ),
    ProductSpec(
        "Recipes Sponsorship",
        "Sponsorship",
        "sponsorship",
        ("harbour-living/food/*",),
        ("728x90", "300x250", "native"),
        {"cpd": D("1500.00")},
        "Presenting partner of the recipe section.",
        (),
        max_quantity=90,
    ),
    ProductSpec(
        "Remnant Display",
        "Display",
        "price_priority",
        ("daily-harbour/*", "harbour-sport/*", "harbour-living/*"),
        ("300x250", "728x90", "320x50"),
        {"cpm": D("1.50")},
        "Unsold display at a low price, without delivery guarantee.",
        ("geo", "device"),
    ),
    ProductSpec(
        "House Promotions",
        "House",
        "house",
        ("daily-harbour/*", "harbour-sport/*", "harbour-living/*"),
        ("300x250", "728x90", "320x50"),
        {"flat": D("0")},
        "The publisher's own promotions; free of charge.",
        (),
    ),
)


@dataclass(frozen=True)
class CardSpec:
    name: str
    valid_from: date
    valid_to: date
    #: applied to every standard base rate: 0.90 for 10 % below standard
    rate_factor: Decimal
    allowed_roles: tuple[str, ...] = ()
    description: str = ""
    #: (sell-through in percent from which the band applies, rate adjustment in percent)
    demand_bands: tuple[tuple[Decimal, Decimal], ...] = ()


def rate_cards(year: int) -> tuple[CardSpec, ...]:
    return (
        CardSpec(
            f"Standard {year}",
            date(year, 1, 1),
            date(year, 12, 31),
            D("1"),
            (),
            "The publisher's list prices for direct advertisers.",
            DEMAND_BANDS,
        ),
        CardSpec(
            f"Agency {year}",
            date(year, 1, 1),
            date(year, 12, 31),
            D("0.90"),
            ("sales_rep", "sales_manager"),
            "Rates for deals through a media agency.",
        ),
        CardSpec(
            f"Standard {year + 1}",
            date(year + 1, 1, 1),
            date(year + 1, 12, 31),
            D("1.05"),
            (),
            "Next year's list prices, 5 % above this year's.",
            DEMAND_BANDS,
        ),
    )


#: (dimension, value code or None for any value, kind, amount)
PREMIUMS = (
    ("geo", "london", "percent", D("25")),
    ("geo", None, "percent", D("10")),
    ("device", "mobile", "percent", D("15")),
    ("device", "tablet", "percent", D("5")),
    ("audience", None, "percent", D("20")),
    ("audience", "auto-intenders", "percent", D("30")),
    ("frequency_cap", None, "percent", D("10")),
    ("key_value", None, "absolute", D("1.00")),
    ("daypart", None, "percent", D("5")),
)
COMBINE = {"geo": "highest", "audience": "highest", "key_value": "sum", "device": "highest"}


def seasons(year: int) -> tuple[tuple[str, date, date, Decimal], ...]:
    return (
        ("January sales", date(year, 1, 2), date(year, 1, 31), D("-10")),
        ("Summer of sport", date(year, 6, 1), date(year, 7, 31), D("10")),
        ("Q4 peak", date(year, 10, 1), date(year, 12, 31), D("20")),
    )


#: (from quantity, discount %)
VOLUME_TIERS = ((1_000_000, D("5")), (5_000_000, D("10")), (10_000_000, D("15")))
#: On the standard cards: below 50 % sell-through no adjustment, then +10 %, and +25 % from 80 %.
DEMAND_BANDS = ((D("50"), D("10")), (D("80"), D("25")))
#: Floors as a share of each base rate.
FLOOR_FACTOR = D("0.70")
