"""The one interface every ad server sits behind.

An adapter is built from a connection's settings and speaks to one ad server. It knows nothing of
Flightdeck's database: the outbox hands it an `OrderSpec` whose ids are already the ad server's (from
the connection's mappings), and it answers with the ad server's ids. Every push is idempotent: the
adapter looks an object up by its deterministic name or external id before creating it and adopts
what exists, so a retry after a timeout never makes a duplicate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar
from zoneinfo import ZoneInfo


class AdServerError(Exception):
    """The ad server refused a request or could not be reached.

    `transient` errors (timeouts, connection failures, server errors) are retried with backoff; the
    others (a rejected field, wrong credentials) wait for ad ops, with `message` shown to them as the
    ad server put it.
    """

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.message = message
        self.transient = transient


@dataclass(frozen=True)
class SettingField:
    """One setting a connection of this kind needs, as the connection form asks for it."""

    name: str
    label: str
    required: bool = True
    secret: bool = False
    help: str = ""
    multiline: bool = False


@dataclass(frozen=True)
class AdvertiserSpec:
    local_id: int
    name: str
    #: the ad server's id when the connection already maps this account, else None (find or create)
    remote_id: str | None = None


@dataclass(frozen=True)
class LineSpec:
    """One order line as the ad server should have it. Ids in targeting are the ad server's."""

    #: our order line id: GAM's `externalId`, in Revive's campaign comments
    line_id: int
    #: deterministic: the order number, the line's position and the product
    name: str
    #: sponsorship, standard, price_priority or house (catalog LineItemType)
    line_item_type: str
    #: cpm, cpd or flat (catalog PricingModel)
    pricing_model: str
    #: net rate in `currency`: per 1,000 impressions (cpm), per day (cpd) or in all (flat)
    rate: Decimal
    #: the line's net cost
    cost: Decimal
    #: impressions contracted, or None when the line has no impression goal (sponsorship, flat)
    impressions: int | None
    #: first and last moment of the flight, aware, in `time_zone`
    start: datetime
    end: datetime
    time_zone: str
    sizes: tuple[str, ...]
    #: the ad server's ad unit (GAM) or zone (Revive) ids
    ad_units: tuple[str, ...]
    #: dimension key (geo, device, key_value, audience, daypart, frequency_cap) -> the ad server's value ids
    targeting: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: active, paused or cancelled
    status: str = "active"


@dataclass(frozen=True)
class OrderSpec:
    order_id: int
    #: our order number, e.g. O-2026-0001: GAM's `externalOrderId`
    number: str
    #: deterministic: "<number> <campaign name>"; what the adapter looks the order up by
    name: str
    po_number: str
    currency: str
    advertiser: AdvertiserSpec
    agency: AdvertiserSpec | None
    lines: tuple[LineSpec, ...]
    #: approve the order in the ad server once its lines are in (GAM)
    approve: bool = False
    #: the ad server's id for the order from an earlier push: found by it first, whatever its name now
    remote_id: str | None = None


@dataclass(frozen=True)
class PushResult:
    remote_order_id: str
    #: our order line id -> the ad server's line id
    remote_line_ids: Mapping[int, str]
    #: the ad server's ids for the accounts, to remember in the connection's mappings
    advertiser_remote_id: str
    agency_remote_id: str | None = None
    #: what the adapter did, for the push history ("adopted existing order 123", "created 3 lines")
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RemoteLine:
    """A line as the ad server has it now, to compare with the signed version (drift)."""

    remote_id: str
    line_id: int | None
    start: datetime | None
    end: datetime | None
    impressions: int | None
    rate: Decimal | None
    ad_units: tuple[str, ...]
    targeting: Mapping[str, tuple[str, ...]]
    status: str


@dataclass(frozen=True)
class DeliveryRow:
    remote_line_id: str
    day: date
    impressions: int
    clicks: int


class Adapter(ABC):
    """Speaks to one ad server for one connection."""

    kind: ClassVar[str]
    label: ClassVar[str]
    settings_fields: ClassVar[tuple[SettingField, ...]] = ()
    #: the targeting dimensions the adapter sends (None: all); others go with no ids and need no mapping
    mapped_dimensions: ClassVar[frozenset[str] | None] = None

    def __init__(self, settings: Mapping[str, str], *, time_zone: str, timeout: float = 30.0) -> None:
        self.settings = dict(settings)
        self.time_zone = time_zone
        self.timeout = timeout

    @abstractmethod
    def check(self) -> str:
        """Sign in and say what we reached ("Network 1234: Harbour Media"); AdServerError if we cannot."""

    @abstractmethod
    def push(self, order: OrderSpec) -> PushResult:
        """Create or update the order and all its lines; find and adopt before creating anything."""

    @abstractmethod
    def read_lines(self, remote_order_id: str, remote_line_ids: Sequence[str]) -> list[RemoteLine]:
        """The lines as the ad server has them now."""

    @abstractmethod
    def delivery(self, remote_line_ids: Sequence[str], start: date, end: date) -> list[DeliveryRow]:
        """Delivered impressions and clicks per line and day, `start` to `end` inclusive."""

    def today(self) -> date:
        """The ad server's today in the connection's time zone: delivery is final up to the day before."""
        return datetime.now(ZoneInfo(self.time_zone)).date()

    def order_url(self, remote_order_id: str) -> str | None:
        """A link to the order in the ad server's own interface, when it has one."""
        return None
