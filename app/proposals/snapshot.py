"""A proposal version's snapshot, typed: what was offered, frozen when the version was made.

The snapshot is stored as JSON on `ProposalVersion.snapshot` (strings for money, ISO dates), and
read and written through these frozen dataclasses, with Decimal money and `date` days:
`VersionSnapshot.from_json(version.snapshot)` reads it, `.to_json()` gives back the very same JSON
(same keys, Decimal as its string, ISO dates), so rows written before these classes need no
migration. A key an older version lacks is remembered as absent and left out again; a key these
classes do not know is kept as it was.

To build one from a proposal, construct the classes directly (`VersionSnapshot(number=...,
lines=(SnapshotLine(...), ...), totals=Totals(...))`) with Decimals and dates, then `.to_json()`.
"""

# ruff: noqa: RUF009  (`_kind` is `dataclasses.field` with how the value is stored as JSON)
from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar

# How each field is read from JSON and written back: (from JSON, to JSON).
_RAW = (lambda v: v, lambda v: v)
_DECIMAL = (lambda v: None if v is None else Decimal(v), lambda v: None if v is None else str(v))
_DAY = (lambda v: None if v is None else date.fromisoformat(v), lambda v: None if v is None else v.isoformat())
_MOMENT = (lambda v: None if v is None else datetime.fromisoformat(v), lambda v: None if v is None else v.isoformat())


def _kind(codec=_RAW, default: Any = None, *, part: type | None = None, many: bool = False):
    return field(default=default, metadata={"codec": codec, "part": part, "many": many})


class _Json:
    """Reading and writing a frozen dataclass as the JSON dict it was stored as."""

    _absent: frozenset[str]
    _extra: dict[str, Any]
    KEYS: ClassVar[dict[str, str]] = {}  # attribute -> JSON key, where they differ

    @classmethod
    def _shape(cls) -> tuple[tuple[str, str, Any, bool, Any], ...]:
        """Each stored field once per class: (attribute, JSON key, part, many, read from JSON); a
        snapshot of 500 lines reads some 3,000 of these objects on every builder answer."""
        shape = cls.__dict__.get("_shape_cache")
        if shape is None:
            shape = tuple(
                (f.name, cls.KEYS.get(f.name, f.name), f.metadata["part"], f.metadata["many"], f.metadata["codec"][0])
                for f in fields(cls)  # type: ignore[arg-type]
                if not f.name.startswith("_")
            )
            cls._shape_cache = shape
        return shape

    @classmethod
    def from_json(cls, data: dict | None):
        if data is None:
            return None
        values: dict[str, Any] = {}
        absent = set()
        shape = cls._shape()
        for name, key, part, many, read in shape:
            if key not in data:
                absent.add(key)
                continue
            raw = data[key]
            if part is not None:
                values[name] = (
                    tuple(part.from_json(item) for item in raw) if many and raw is not None else part.from_json(raw)
                )
            elif many:
                values[name] = None if raw is None else tuple(raw)
            else:
                values[name] = read(raw)
        extra = {k: v for k, v in data.items() if k not in cls._known_keys()} if len(data) > len(values) else {}
        return cls(**values, _absent=frozenset(absent), _extra=extra)

    @classmethod
    def _known_keys(cls) -> frozenset[str]:
        return frozenset(key for _, key, *_ in cls._shape())

    def to_json(self) -> dict:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            if f.name.startswith("_"):
                continue
            key = self.KEYS.get(f.name, f.name)
            if key in self._absent:
                continue
            value = getattr(self, f.name)
            part, many = f.metadata.get("part"), f.metadata.get("many")
            if part is not None:
                out[key] = (
                    [item.to_json() for item in value]
                    if many and value is not None
                    else (None if value is None else value.to_json())
                )
            elif many:
                out[key] = None if value is None else list(value)
            else:
                out[key] = f.metadata.get("codec", _RAW)[1](value)
        out.update(self._extra)
        return out


@dataclass(frozen=True)
class PriceStep(_Json):
    """One step of a line's price waterfall (base, premium, season, ..., net)."""

    key: str = _kind()
    label: str = _kind()
    detail: str = _kind()
    #: what the step adds to the rate (negative for discounts)
    amount: Decimal | None = _kind(_DECIMAL)
    #: the rate after the step
    rate: Decimal | None = _kind(_DECIMAL)
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class LinePrice(_Json):
    """How a line was priced: its steps and figures (app.pricing.rules.Price, as it was stored)."""

    pricing_model: str = _kind()
    steps: tuple[PriceStep, ...] = _kind(default=(), part=PriceStep, many=True)
    base_rate: Decimal | None = _kind(_DECIMAL)
    list_rate: Decimal | None = _kind(_DECIMAL)
    net_rate: Decimal | None = _kind(_DECIMAL)
    floor: Decimal | None = _kind(_DECIMAL)
    below_floor_by: Decimal | None = _kind(_DECIMAL)
    units: int | None = _kind()
    impressions: int | None = _kind()
    gross: Decimal | None = _kind(_DECIMAL)
    commission: Decimal | None = _kind(_DECIMAL)
    net: Decimal | None = _kind(_DECIMAL)
    effective_cpm: Decimal | None = _kind(_DECIMAL)
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Party(_Json):
    """The advertiser, as the version names and bills it."""

    id: int | None = _kind()
    name: str = _kind()
    billing_address: str | None = _kind()
    billing_country: str | None = _kind()
    credit_status: str | None = _kind()
    discount_pct: Decimal | None = _kind(_DECIMAL)
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Agency(_Json):
    id: int | None = _kind()
    name: str = _kind()
    commission_pct: Decimal | None = _kind(_DECIMAL)
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Buyer(_Json):
    """The buyer's contact the version went to."""

    name: str = _kind()
    email: str = _kind()
    title: str | None = _kind()
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Rep(_Json):
    name: str = _kind()
    email: str = _kind()
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class ProductRef(_Json):
    id: int | None = _kind()
    name: str = _kind()
    category: str | None = _kind()
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class RateCardRef(_Json):
    id: int | None = _kind()
    name: str = _kind()
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Flight(_Json):
    start: date | None = _kind(_DAY)
    end: date | None = _kind(_DAY)
    time_zone: str = _kind()
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class SnapshotLine(_Json):
    position: int = _kind()
    product: ProductRef = _kind(part=ProductRef)
    pricing_model: str = _kind()
    #: dimension key -> values, as the line stored it
    targeting: dict = _kind()
    targeting_words: str | None = _kind()
    start: date | None = _kind(_DAY)
    end: date | None = _kind(_DAY)
    time_zone: str = _kind()
    units: int | None = _kind()
    quantity: int | None = _kind()
    budget: Decimal | None = _kind(_DECIMAL)
    discount_pct: Decimal | None = _kind(_DECIMAL)
    list_rate: Decimal | None = _kind(_DECIMAL)
    net_rate: Decimal | None = _kind(_DECIMAL)
    gross: Decimal | None = _kind(_DECIMAL)
    commission: Decimal | None = _kind(_DECIMAL)
    net: Decimal | None = _kind(_DECIMAL)
    available: int | None = _kind()
    problems: tuple[str, ...] = _kind(default=(), many=True)
    price: LinePrice | None = _kind(part=LinePrice)
    order_line_id: int | None = _kind()
    make_good_of_id: int | None = _kind()
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def booked_quantity(self) -> int | None:
        """What an order line books: impressions for CPM, else the quantity sold (days, units)."""
        return self.units if self.pricing_model == "cpm" else self.quantity


@dataclass(frozen=True)
class Totals(_Json):
    gross: Decimal | None = _kind(_DECIMAL)
    commission: Decimal | None = _kind(_DECIMAL)
    net: Decimal | None = _kind(_DECIMAL)
    impressions: int | None = _kind()
    effective_cpm: Decimal | None = _kind(_DECIMAL)
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class VersionSnapshot(_Json):
    """Everything the PDF, the approvers and the order need of a version."""

    number: str = _kind()
    version: int = _kind()
    created_at: datetime | None = _kind(_MOMENT)
    campaign_name: str = _kind()
    status: str = _kind()
    advertiser: Party = _kind(part=Party)
    agency: Agency | None = _kind(part=Agency)
    buyer: Buyer | None = _kind(part=Buyer)
    rep: Rep | None = _kind(part=Rep)
    currency: str = _kind()
    rate_card: RateCardRef = _kind(part=RateCardRef)
    flight: Flight = _kind(part=Flight)
    budget_goal: Decimal | None = _kind(_DECIMAL)
    discount_pct: Decimal | None = _kind(_DECIMAL)
    expires_on: date | None = _kind(_DAY)
    #: internal notes: for approvers and the order, never printed on the PDF
    notes: str = _kind()
    #: notes for the buyer, printed on the PDF (versions made before the split have none: "")
    buyer_notes: str = _kind(default="")
    terms: str = _kind()
    lines: tuple[SnapshotLine, ...] = _kind(default=(), part=SnapshotLine, many=True)
    totals: Totals = _kind(part=Totals)
    _absent: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    _extra: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, version) -> VersionSnapshot:
        """A stored version's snapshot, typed."""
        return cls.from_json(version.snapshot)
