"""Rate card writes. Each row kind has one check, shared by the forms and the CSV import.

Flushes, never commits. Every change is audited against the card ("rate_card").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from app.audit.service import record, record_change
from app.auth.models import User
from app.catalog.models import DimensionKey, Product, Status
from app.catalog.targeting import targeting_values_by_dimension
from app.db import Unchecked, name_taken, stale
from app.errors import Conflict, DomainError, Errors, ValidationFailed
from app.extensions import db
from app.formats import plural
from app.ratecards.models import (
    BaseRate,
    Combine,
    DemandBand,
    Floor,
    Premium,
    PremiumKind,
    RateCard,
    Season,
    VolumeTier,
)
from app.ratecards.rules import (
    check_base_rate,
    check_demand_band,
    check_floor,
    check_premium,
    check_season,
    check_volume_tier,
    model_label,
    money_text,
    overlapping_seasons,
    pct_text,
    raise_problems,
)
from app.roles import Role
from app.validation import (
    clean_line,
    currency_problem,
    day_problem,
    length_problem,
    line_problem,
)

# -- Cards ---------------------------------------------------------------------------------------


@dataclass
class CardData:
    name: str
    currency: str
    valid_from: date | None
    valid_to: date | None
    description: str = ""
    allowed_roles: list[str] = field(default_factory=list)
    combine_rules: dict[str, str] = field(default_factory=dict)
    status: str = Status.ACTIVE.value


def _card_snapshot(card: RateCard) -> dict:
    return {
        "name": card.name,
        "description": card.description,
        "currency": card.currency,
        "valid_from": card.valid_from,
        "valid_to": card.valid_to,
        "allowed_roles": card.allowed_roles,
        "combine_rules": card.combine_rules,
        "status": card.status,
    }


def _validate_card(data: CardData, card_id: int | None) -> None:
    errors = Errors()
    data.name = clean_line(data.name)
    if problem := line_problem(data.name, label="name", max_length=200):
        errors.add("name", problem)
    elif name_taken(RateCard, data.name, other_than=card_id):
        errors.add("name", f"There is already a rate card called “{data.name}”.")
    data.currency = (data.currency or "").strip().upper()
    if problem := currency_problem(data.currency):
        errors.add("currency", problem)
    if data.valid_from is None:
        errors.add("valid_from", "Enter the first day the card is valid.")
    elif problem := day_problem(data.valid_from, label="first day of validity"):
        errors.add("valid_from", problem)
    if data.valid_to is None:
        errors.add("valid_to", "Enter the last day the card is valid.")
    elif problem := day_problem(data.valid_to, label="last day of validity"):
        errors.add("valid_to", problem)
    elif data.valid_from is not None and data.valid_to < data.valid_from:
        errors.add("valid_to", f"The card's validity ends ({data.valid_to}) before it starts ({data.valid_from}).")
    if bad := [r for r in data.allowed_roles if r not in {role.value for role in Role}]:
        errors.add("allowed_roles", f"Unknown role {', '.join(bad)}.")
    for dim, rule in data.combine_rules.items():
        if dim not in {d.value for d in DimensionKey} or rule not in {c.value for c in Combine}:
            errors.add("combine_rules", f"“{dim}: {rule}” is not a feature and SUM or HIGHEST.")
    if problem := length_problem(data.description or "", label="description", max_length=5000, required=False):
        errors.add("description", problem)
    errors.raise_if_any()


def create_card(data: CardData, *, actor: User | None, now: datetime) -> RateCard:
    _validate_card(data, None)
    card = RateCard(**data.__dict__, created_at=now, updated_at=now)
    db.session.add(card)
    db.session.flush()
    record(
        actor=actor,
        entity_type="rate_card",
        entity_id=card.id,
        action="created",
        at=now,
        summary=f"Created rate card {card.name}.",
        after=_card_snapshot(card),
    )
    return card


def update_card(
    card: RateCard, data: CardData, *, expected_version: int | Unchecked, actor: User, now: datetime
) -> RateCard:
    _check_version(card, expected_version)
    data.currency = (data.currency or "").strip().upper()  # "gbp" is the card's GBP, not a change
    if data.currency != card.currency and (card.base_rates or card.floors or _has_absolute_premiums(card)):
        raise ValidationFailed.on(
            "currency", "The card already has rates in its currency: copy it to make a card in another currency."
        )
    _validate_card(data, card.id)
    before = _card_snapshot(card)
    for key, value in data.__dict__.items():
        setattr(card, key, value)
    card.updated_at = now
    db.session.flush()
    record_change(
        actor=actor, entity_type="rate_card", entity_id=card.id, at=now, before=before, after=_card_snapshot(card)
    )
    return card


def _has_absolute_premiums(card: RateCard) -> bool:
    return any(p.kind == PremiumKind.ABSOLUTE for p in card.premiums)


def _check_version(card: RateCard, expected_version: int | Unchecked) -> None:
    if stale(card.version, expected_version):
        raise Conflict(f"{card.name} was changed by someone else meanwhile. Reload it and make your change again.")


def _touch(card: RateCard, now: datetime) -> None:
    """Mark the card changed: its version goes up, so a form opened before the change is stale."""
    card.updated_at = now


def _shift_year(day: date, years: int) -> date:
    if not 1 <= day.year + years <= 9999:
        raise ValidationFailed.on("years", f"Moving {day} by {plural(years, 'year', 'years')} leaves the calendar.")
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def season_outside_card(card: RateCard, starts_on: date | None, ends_on: date | None) -> str | None:
    """A season lies within its card's validity: days outside it are never priced with the card."""
    if starts_on and ends_on and (starts_on < card.valid_from or ends_on > card.valid_to):
        return (
            f"The season ({starts_on} to {ends_on}) must lie within the card's validity "
            f"({card.valid_from} to {card.valid_to})."
        )
    return None


#: How far a copy may move a card's dates, in years either way.
MAX_COPY_YEARS = 5


def copy_card(card: RateCard, *, name: str, years: int | None, actor: User, now: datetime) -> RateCard:
    """A new card with the same rates and rules, its validity and seasons moved by `years`."""
    if years is None or not -MAX_COPY_YEARS <= years <= MAX_COPY_YEARS:
        raise ValidationFailed.on("years", f"Move the dates by -{MAX_COPY_YEARS} to {MAX_COPY_YEARS} years.")
    data = CardData(
        name=name,
        currency=card.currency,
        valid_from=_shift_year(card.valid_from, years),
        valid_to=_shift_year(card.valid_to, years),
        description=card.description,
        allowed_roles=list(card.allowed_roles),
        combine_rules=dict(card.combine_rules),
    )
    _validate_card(data, None)
    seasons = [
        (s.name, _shift_year(s.starts_on, years), _shift_year(s.ends_on, years), s.adjustment_pct) for s in card.seasons
    ]
    # 29 February becomes the 28th, which a season ending on the 28th already has.
    if overlaps := overlapping_seasons([s[:3] for s in seasons]):
        raise ValidationFailed({"years": overlaps})
    copy = RateCard(**data.__dict__, created_at=now, updated_at=now)
    copy.base_rates = [
        BaseRate(product_id=r.product_id, pricing_model=r.pricing_model, rate=r.rate) for r in card.base_rates
    ]
    copy.premiums = [
        Premium(dimension=p.dimension, value_code=p.value_code, kind=p.kind, amount=p.amount) for p in card.premiums
    ]
    copy.seasons = [
        Season(name=season, starts_on=starts_on, ends_on=ends_on, adjustment_pct=pct)
        for season, starts_on, ends_on, pct in seasons
    ]
    copy.volume_tiers = [
        VolumeTier(min_quantity=t.min_quantity, discount_pct=t.discount_pct) for t in card.volume_tiers
    ]
    copy.demand_bands = [DemandBand(from_pct=b.from_pct, adjustment_pct=b.adjustment_pct) for b in card.demand_bands]
    copy.floors = [Floor(product_id=f.product_id, pricing_model=f.pricing_model, rate=f.rate) for f in card.floors]
    db.session.add(copy)
    db.session.flush()
    record(
        actor=actor,
        entity_type="rate_card",
        entity_id=copy.id,
        action="created",
        at=now,
        summary=f"Copied from {card.name}, dates moved by {years} year{'s' if abs(years) != 1 else ''}.",
        after=_card_snapshot(copy),
    )
    return copy


# -- Card rows -----------------------------------------------------------------------------------


def _audit_row(card: RateCard, action: str, summary: str, *, actor: User | None, now: datetime, **values) -> None:
    _touch(card, now)
    db.session.flush()
    record(actor=actor, entity_type="rate_card", entity_id=card.id, action=action, at=now, summary=summary, **values)


def set_base_rate(
    card: RateCard,
    product: Product | None,
    pricing_model: str,
    rate: Decimal | None,
    *,
    actor: User | None,
    now: datetime,
) -> BaseRate:
    """Set (or replace) the base rate of a product and pricing model; it may not drop below its floor."""
    problems = check_base_rate(product, pricing_model, rate)
    floor = next(
        (f for f in card.floors if product and f.product_id == product.id and f.pricing_model == pricing_model), None
    )
    if "rate" not in problems and floor is not None and rate < floor.rate:
        problems["rate"] = (
            f"The base rate {rate} is below the floor of {product.name} ({floor.rate} {model_label(pricing_model)}): "
            "lower the floor first."
        )
    raise_problems(problems)
    existing = next(
        (r for r in card.base_rates if r.product_id == product.id and r.pricing_model == pricing_model), None
    )
    before = {"rate": existing.rate} if existing else None
    row = existing or BaseRate(product_id=product.id, pricing_model=pricing_model)
    row.rate = rate
    if existing is None:
        card.base_rates.append(row)
    _audit_row(
        card,
        "base rate set",
        f"{product.name} {model_label(pricing_model)}: {money_text(rate, card.currency)}.",
        actor=actor,
        now=now,
        before=before,
        after={"product": product.name, "pricing_model": pricing_model, "rate": rate},
    )
    return row


def set_premium(
    card: RateCard,
    dimension: str,
    value_code: str | None,
    kind: str,
    amount: Decimal | None,
    *,
    actor: User | None,
    now: datetime,
) -> Premium:
    value_code = (value_code or "").strip() or None
    raise_problems(check_premium(dimension, value_code, kind, amount, values=targeting_values_by_dimension()))
    existing = next((p for p in card.premiums if p.dimension == dimension and p.value_code == value_code), None)
    row = existing or Premium(dimension=dimension, value_code=value_code)
    before = {"kind": existing.kind, "amount": existing.amount} if existing else None
    row.kind, row.amount = kind, amount
    if existing is None:
        card.premiums.append(row)
    what = f"{DimensionKey(dimension).label} {value_code or '(any value)'}"
    how = f"+{amount} %" if kind == PremiumKind.PERCENT else f"+{money_text(amount, card.currency)}"
    _audit_row(
        card,
        "premium set",
        f"Premium for {what}: {how}.",
        actor=actor,
        now=now,
        before=before,
        after={"dimension": dimension, "value": value_code, "kind": kind, "amount": amount},
    )
    return row


def add_season(
    card: RateCard,
    name: str,
    starts_on: date | None,
    ends_on: date | None,
    pct: Decimal | None,
    *,
    actor: User | None,
    now: datetime,
) -> Season:
    problems = check_season(name, starts_on, ends_on, pct)
    if not problems and (outside := season_outside_card(card, starts_on, ends_on)):
        problems["starts_on"] = outside
    raise_problems(problems)
    overlaps = overlapping_seasons(
        [(s.name, s.starts_on, s.ends_on) for s in card.seasons] + [(name, starts_on, ends_on)]
    )
    if overlaps:
        raise ValidationFailed({"starts_on": overlaps})
    season = Season(name=clean_line(name), starts_on=starts_on, ends_on=ends_on, adjustment_pct=pct)
    card.seasons.append(season)
    _audit_row(
        card,
        "season added",
        f"Season {season.name}, {starts_on} to {ends_on}: {pct:+} %.",
        actor=actor,
        now=now,
        after={"name": season.name, "starts_on": starts_on, "ends_on": ends_on, "adjustment_pct": pct},
    )
    return season


def _set_threshold_row(
    card: RateCard,
    kind: str,
    threshold: tuple[str, object],
    setting: tuple[str, Decimal],
    *,
    summary: str,
    actor: User | None,
    now: datetime,
) -> VolumeTier | DemandBand:
    """Set the `setting` of the row of `kind` from `threshold` up (a tier, a band), adding the row if new; audited.

    Thresholds compare as numbers: 80 and 80.00 are one band (the unique constraint would agree, less kindly).
    """
    (key, start), (field, value) = threshold, setting
    label, model = ROW_KINDS[kind]
    rows = getattr(card, kind)
    existing = next((r for r in rows if getattr(r, key) == start), None)
    before = {field: getattr(existing, field)} if existing else None
    row = existing or model(**{key: start})
    setattr(row, field, value)
    if existing is None:
        rows.append(row)
    _audit_row(card, f"{label} set", summary, actor=actor, now=now, before=before, after={key: start, field: value})
    return row


def set_volume_tier(
    card: RateCard, min_quantity: int | None, pct: Decimal | None, *, actor: User | None, now: datetime
) -> VolumeTier:
    raise_problems(check_volume_tier(min_quantity, pct))
    return _set_threshold_row(
        card,
        "volume_tiers",
        ("min_quantity", min_quantity),
        ("discount_pct", pct),
        summary=f"From {min_quantity:,} units: -{pct} %.",
        actor=actor,
        now=now,
    )


def set_demand_band(
    card: RateCard, from_pct: Decimal | None, pct: Decimal | None, *, actor: User | None, now: datetime
) -> DemandBand:
    """Set (or replace) the adjustment from `from_pct` sell-through up to the next band."""
    raise_problems(check_demand_band(from_pct, pct))
    return _set_threshold_row(
        card,
        "demand_bands",
        ("from_pct", from_pct),
        ("adjustment_pct", pct),
        summary=f"From {pct_text(from_pct)} sell-through: {pct_text(pct, sign=True)}.",
        actor=actor,
        now=now,
    )


def base_rates_of(card: RateCard) -> dict[tuple[int, str], Decimal]:
    return {(r.product_id, r.pricing_model): r.rate for r in card.base_rates}


def set_floor(
    card: RateCard,
    product: Product | None,
    pricing_model: str,
    rate: Decimal | None,
    *,
    actor: User | None,
    now: datetime,
) -> Floor:
    raise_problems(check_floor(product, pricing_model, rate, base_rates_of(card)))
    existing = next((f for f in card.floors if f.product_id == product.id and f.pricing_model == pricing_model), None)
    row = existing or Floor(product_id=product.id, pricing_model=pricing_model)
    before = {"rate": existing.rate} if existing else None
    row.rate = rate
    if existing is None:
        card.floors.append(row)
    _audit_row(
        card,
        "floor set",
        f"Floor for {product.name} {model_label(pricing_model)}: {money_text(rate, card.currency)}.",
        actor=actor,
        now=now,
        before=before,
        after={"product": product.name, "pricing_model": pricing_model, "rate": rate},
    )
    return row


ROW_KINDS = {
    "base_rates": ("base rate", BaseRate),
    "premiums": ("premium", Premium),
    "seasons": ("season", Season),
    "volume_tiers": ("volume tier", VolumeTier),
    "demand_bands": ("demand band", DemandBand),
    "floors": ("floor", Floor),
}


def remove_row(card: RateCard, kind: str, row_id: int, *, actor: User, now: datetime) -> None:
    if kind not in ROW_KINDS:
        raise DomainError(f"A rate card has no “{kind}”.")
    label, _model = ROW_KINDS[kind]
    rows = getattr(card, kind)
    row = next((r for r in rows if r.id == row_id), None)
    if row is None:
        raise DomainError(f"That {label} is no longer on the card; reload the page.")
    if kind == "base_rates" and any(
        f.product_id == row.product_id and f.pricing_model == row.pricing_model for f in card.floors
    ):
        raise DomainError(f"Remove the floor of {row.product.name} first: it sits below this base rate.")
    rows.remove(row)
    _audit_row(
        card, f"{label} removed", f"Removed {label}: {describe_row(kind, row, card.currency)}.", actor=actor, now=now
    )


def describe_row(kind: str, row, currency: str) -> str:
    if kind in ("base_rates", "floors"):
        return f"{row.product.name} {model_label(row.pricing_model)} {money_text(row.rate, currency)}"
    if kind == "premiums":
        return f"{DimensionKey(row.dimension).label} {row.value_code or '(any value)'} {row.amount} {row.kind}"
    if kind == "seasons":
        return f"{row.name} {row.starts_on} to {row.ends_on} {row.adjustment_pct:+} %"
    if kind == "demand_bands":
        return f"from {pct_text(row.from_pct)} sell-through: {pct_text(row.adjustment_pct, sign=True)}"
    return f"from {row.min_quantity:,}: -{row.discount_pct} %"
