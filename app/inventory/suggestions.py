"""What if: the changes to a request that would find it more inventory, and how much each adds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import sqlalchemy as sa

from app.catalog.ad_units import ad_unit_path
from app.catalog.models import AdUnit, AdUnitLevel, Status
from app.extensions import db
from app.formats import plural
from app.inventory.supply import MAX_FLIGHT_DAYS, Box


@dataclass
class Suggestion:
    description: str
    available: int
    #: What it adds over the request as asked.
    adds: int


def suggestions(box: Box, base_available: int, *, today: date, available: Callable[[Box], int]) -> list[Suggestion]:
    """What would add supply when a request does not fit: broader targeting, another flight, a sibling slot.

    `available(box)` is what availability counts for another box, the request's other reservations
    left as they are."""
    options: list[tuple[str, Box]] = []
    if box.geo:
        options.append(("Target every region", replace(box, geo=())))
    if box.device:
        options.append(("Target every device", replace(box, device=())))
    for weeks in (1, 2):
        moved = replace(box, start=box.start + timedelta(weeks=weeks), end=box.end + timedelta(weeks=weeks))
        later = plural(weeks, "week", "weeks")
        options.append((f"Move the flight {later} later ({moved.start} to {moved.end})", moved))
    earlier = replace(box, start=box.start - timedelta(weeks=1), end=box.end - timedelta(weeks=1))
    if earlier.start >= today:
        options.append((f"Move the flight a week earlier ({earlier.start} to {earlier.end})", earlier))
    for weeks in (1, 2):
        longer = replace(box, end=box.end + timedelta(weeks=weeks))
        options.append((f"Extend the flight by {plural(weeks, 'week', 'weeks')} (to {longer.end})", longer))
    for sibling in _siblings(box.slot_ids)[:3]:
        options.append((f"Add {ad_unit_path(sibling)}", replace(box, slot_ids=(*box.slot_ids, sibling.id))))
    found = []
    for description, option in options:
        if option.days > MAX_FLIGHT_DAYS:
            continue
        option_available = available(option)
        found.append(Suggestion(description, option_available, option_available - base_available))
    return sorted((s for s in found if s.adds > 0), key=lambda s: -s.adds)


def _siblings(slot_ids: tuple[int, ...]) -> list[AdUnit]:
    """Active slots beside the request's that take one of its creative sizes."""
    units = list(db.session.scalars(sa.select(AdUnit).where(AdUnit.id.in_(slot_ids))))
    parents = {u.parent_id for u in units if u.parent_id}
    sizes = {size for u in units for size in u.sizes}
    return [
        unit
        for unit in db.session.scalars(
            sa.select(AdUnit)
            .where(
                AdUnit.parent_id.in_(parents),
                AdUnit.id.not_in(slot_ids),
                AdUnit.level == AdUnitLevel.SLOT.value,
                AdUnit.status == Status.ACTIVE.value,
            )
            .order_by(AdUnit.name)
        )
        if sizes & set(unit.sizes)
    ]
