"""A rate card's contents as CSV: export, edit in a spreadsheet, import back.

One row per base rate, premium, feature rule, season, volume tier, demand band and floor; the
`record` column says which. Importing replaces the card's contents, and only when every row is good.
Columns added later (`from_pct`) sit at the end and may be missing: older files still import.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from app.audit.service import record
from app.auth.models import User
from app.catalog.models import DimensionKey, PricingModel, Product
from app.catalog.targeting import targeting_values_by_dimension
from app.csvio import Cells, ImportFailed, RowProblem, decimal_text, read_rows, write_rows
from app.extensions import db
from app.ratecards import rules, service
from app.ratecards.models import BaseRate, Combine, DemandBand, Floor, Premium, RateCard, Season, VolumeTier
from app.validation import clean_line

COLUMNS = (
    "record",
    "product",
    "pricing_model",
    "dimension",
    "value",
    "kind",
    "amount",
    "name",
    "starts_on",
    "ends_on",
    "min_quantity",
    "from_pct",
)
RECORDS = ("feature_rule", "base_rate", "premium", "season", "volume_tier", "demand_band", "floor")


def export_card(card: RateCard) -> str:
    rows: list[dict] = []
    for dimension, rule in sorted(card.combine_rules.items()):
        rows.append({"record": "feature_rule", "dimension": dimension, "kind": rule})
    for rate in sorted(card.base_rates, key=lambda r: (r.product.name, r.pricing_model)):
        rows.append(
            {
                "record": "base_rate",
                "product": rate.product.name,
                "pricing_model": rate.pricing_model,
                "amount": decimal_text(rate.rate),
            }
        )
    for premium in sorted(card.premiums, key=lambda p: (p.dimension, p.value_code or "")):
        rows.append(
            {
                "record": "premium",
                "dimension": premium.dimension,
                "value": premium.value_code,
                "kind": premium.kind,
                "amount": decimal_text(premium.amount),
            }
        )
    for season in card.seasons:
        rows.append(
            {
                "record": "season",
                "name": season.name,
                "starts_on": season.starts_on.isoformat(),
                "ends_on": season.ends_on.isoformat(),
                "amount": decimal_text(season.adjustment_pct),
            }
        )
    for tier in card.volume_tiers:
        rows.append(
            {"record": "volume_tier", "min_quantity": tier.min_quantity, "amount": decimal_text(tier.discount_pct)}
        )
    for band in card.demand_bands:
        rows.append(
            {
                "record": "demand_band",
                "from_pct": decimal_text(band.from_pct),
                "amount": decimal_text(band.adjustment_pct),
            }
        )
    for floor in sorted(card.floors, key=lambda f: (f.product.name, f.pricing_model)):
        rows.append(
            {
                "record": "floor",
                "product": floor.product.name,
                "pricing_model": floor.pricing_model,
                "amount": decimal_text(floor.rate),
            }
        )
    return write_rows(COLUMNS, rows)


def _pricing_model(cells: Cells) -> str:
    raw = cells.text("pricing_model").lower()
    by_label = {m.label.lower(): m.value for m in PricingModel} | {m.value: m.value for m in PricingModel}
    if raw not in by_label:
        cells.problem(f"pricing_model “{cells.text('pricing_model')}” is not CPM, CPD or flat.")
        return ""
    return by_label[raw]


def _dimension(cells: Cells) -> str:
    raw = cells.text("dimension").lower()
    by_name = {d.value: d.value for d in DimensionKey} | {d.label.lower(): d.value for d in DimensionKey}
    if raw not in by_name:
        cells.problem(
            f"dimension “{cells.text('dimension')}” is not one of {', '.join(d.value for d in DimensionKey)}."
        )
        return ""
    return by_name[raw]


def _accepted(cells: Cells, problems: dict[str, str]) -> bool:
    """Report each of a row's problems on its line; True when it has none."""
    for message in problems.values():
        cells.problem(message)
    return not problems


def import_card(card: RateCard, data: bytes | str, *, actor: User | None, now: datetime) -> dict[str, int]:
    """Replace the card's contents with the file's. Raises ImportFailed, changing nothing, on any bad row."""
    rows = read_rows(data, COLUMNS, required=("record", "amount"))
    if not rows:
        raise ImportFailed(
            [RowProblem(2, "The file has no rows. Importing replaces the whole card, so an empty file is refused.")]
        )
    problems: list[RowProblem] = []
    products = {p.name.lower(): p for p in db.session.scalars(sa.select(Product))}
    combine: dict[str, str] = {}
    base_rates: dict[tuple[int, str], tuple[int, BaseRate]] = {}
    premiums: dict[tuple[str, str | None], tuple[int, Premium]] = {}
    seasons: list[tuple[int, Season]] = []
    tiers: dict[int, tuple[int, VolumeTier]] = {}
    bands: dict[Decimal, tuple[int, DemandBand]] = {}
    floors: list[tuple[Cells, Product, str, object]] = []

    for line, row in rows:
        cells = Cells(line, row, problems)
        kind = cells.text("record").lower()
        if kind not in RECORDS:
            cells.problem(f"record “{cells.text('record')}” is not one of {', '.join(RECORDS)}.")
            continue
        if kind in ("base_rate", "floor"):
            product = products.get(cells.text("product").lower())
            if product is None:
                cells.problem(f"There is no product called “{cells.text('product')}”.")
            model, amount = _pricing_model(cells), cells.decimal("amount")
            if product is None or not model or amount is None:
                continue
            if kind == "floor":
                floors.append((cells, product, model, amount))
                continue
            if (product.id, model) in base_rates:
                cells.problem(
                    f"{product.name} {model} already has a base rate on line {base_rates[(product.id, model)][0]}."
                )
                continue
            if _accepted(cells, rules.check_base_rate(product, model, amount)):
                base_rates[(product.id, model)] = (
                    line,
                    BaseRate(product_id=product.id, pricing_model=model, rate=amount),
                )
        elif kind == "premium":
            dimension, amount = _dimension(cells), cells.decimal("amount")
            value = cells.text("value") or None
            premium_kind = cells.text("kind").lower()
            if not dimension:
                continue
            if (dimension, value) in premiums:
                first = premiums[(dimension, value)][0]
                cells.problem(f"{dimension} {value or '(any value)'} already has a premium on line {first}.")
                continue
            if _accepted(
                cells,
                rules.check_premium(dimension, value, premium_kind, amount, values=targeting_values_by_dimension()),
            ):
                premiums[(dimension, value)] = (
                    line,
                    Premium(dimension=dimension, value_code=value, kind=premium_kind, amount=amount),
                )
        elif kind == "feature_rule":
            dimension, rule = _dimension(cells), cells.text("kind").lower()
            if rule not in {c.value for c in Combine}:
                cells.problem(f"kind “{cells.text('kind')}” for a feature rule is sum or highest.")
            elif dimension in combine:
                cells.problem(f"{dimension} has a feature rule already.")
            elif dimension:
                combine[dimension] = rule
        elif kind == "season":
            name, start, end, pct = (
                clean_line(cells.text("name")),
                cells.date("starts_on"),
                cells.date("ends_on"),
                cells.decimal("amount"),
            )
            problems_here = rules.check_season(name, start, end, pct)
            if not problems_here and (outside := service.season_outside_card(card, start, end)):
                problems_here["starts_on"] = outside
            if _accepted(cells, problems_here):
                seasons.append((line, Season(name=name, starts_on=start, ends_on=end, adjustment_pct=pct)))
        elif kind == "volume_tier":
            minimum, pct = cells.integer("min_quantity"), cells.decimal("amount")
            if minimum in tiers:
                cells.problem(f"A tier from {minimum:,} is already on line {tiers[minimum][0]}.")
            elif _accepted(cells, rules.check_volume_tier(minimum, pct)):
                tiers[minimum] = (line, VolumeTier(min_quantity=minimum, discount_pct=pct))
        elif kind == "demand_band":
            from_pct, pct = cells.decimal("from_pct"), cells.decimal("amount")
            if from_pct in bands:
                cells.problem(f"A demand band from {from_pct} % is already on line {bands[from_pct][0]}.")
            elif _accepted(cells, rules.check_demand_band(from_pct, pct)):
                bands[from_pct] = (line, DemandBand(from_pct=from_pct, adjustment_pct=pct))

    rates = {key: row.rate for key, (_, row) in base_rates.items()}
    new_floors: list[Floor] = []
    seen_floors: set[tuple[int, str]] = set()
    for cells, product, model, amount in floors:
        if (product.id, model) in seen_floors:
            cells.problem(f"{product.name} {model} has two floors.")
            continue
        seen_floors.add((product.id, model))
        if _accepted(cells, rules.check_floor(product, model, amount, rates)):
            new_floors.append(Floor(product_id=product.id, pricing_model=model, rate=amount))
    # Pair by pair, so a repeated row and two seasons of one name are each reported on their own later line.
    for i, (line, season) in enumerate(seasons):
        for _, earlier in seasons[:i]:
            pair = [(s.name, s.starts_on, s.ends_on) for s in (earlier, season)]
            problems.extend(RowProblem(line, message) for message in rules.overlapping_seasons(pair))
    if problems:
        raise ImportFailed(problems)

    # The old rows go first: a new row for the same product and model would clash with its old one.
    for rows_of_kind in service.ROW_KINDS:
        setattr(card, rows_of_kind, [])
    db.session.flush()
    card.combine_rules = combine
    card.base_rates = [row for _, row in base_rates.values()]
    card.premiums = [row for _, row in premiums.values()]
    card.seasons = [row for _, row in seasons]
    card.volume_tiers = [row for _, row in tiers.values()]
    card.demand_bands = [row for _, row in bands.values()]
    card.floors = new_floors
    card.updated_at = now
    db.session.flush()
    counts = {
        "base rates": len(base_rates),
        "premiums": len(premiums),
        "seasons": len(seasons),
        "volume tiers": len(tiers),
        "demand bands": len(bands),
        "floors": len(new_floors),
        "feature rules": len(combine),
    }
    record(
        actor=actor,
        entity_type="rate_card",
        entity_id=card.id,
        action="imported",
        at=now,
        summary="Replaced the card's contents from CSV: " + ", ".join(f"{n} {k}" for k, n in counts.items()) + ".",
        after=counts,
    )
    return counts
