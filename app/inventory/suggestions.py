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
from app.inventory.forecast_supply import ANCESTRY
from app.inventory.supply import MAX_FLIGHT_DAYS, Box


@dataclass
class Suggestion:
    description: str
    available: int
    #: What it adds over the request as asked.
    adds: int


def suggestions(
    box: Box, base_available: int, *, today: date, available: Callable[[list[Box]], list[int | None]]
) -> list[Suggestion]:
    """What would add supply when a request does not fit: broader targeting, another flight, a sibling slot.

    `available(boxes)` is what availability counts for each of other boxes, the request's other
    reservations left as they are (None: that box is no flight one may ask about). The caller answers
    them from what it loaded for the request: each option costs a max flow, not a database round trip."""
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
    for sibling, path in _siblings(box.slot_ids)[:3]:
        options.append((f"Add {path}", replace(box, slot_ids=(*box.slot_ids, sibling))))
    options = [(description, option) for description, option in options if option.days <= MAX_FLIGHT_DAYS]
    offers = available([option for _, option in options])
    found = [
        Suggestion(description, offer, offer - base_available)
        for (description, _), offer in zip(options, offers, strict=True)
        if offer is not None
    ]
    return sorted((s for s in found if s.adds > 0), key=lambda s: -s.adds)


#: The `slots`, the units above them and every unit under their parents.
_NEAR = (
    sa.select(AdUnit)
    .where(
        sa.or_(
            AdUnit.id.in_(sa.select(ANCESTRY.c.unit)),
            AdUnit.parent_id.in_(sa.select(ANCESTRY.c.parent).where(ANCESTRY.c.unit == ANCESTRY.c.slot)),
        )
    )
    .order_by(AdUnit.name)
)


def _siblings(slot_ids: tuple[int, ...]) -> list[tuple[int, str]]:
    """Active slots beside the request's that take one of its creative sizes, with their paths. One
    statement: the request's slots and the units above them, and every unit under their parents."""
    found = list(db.session.scalars(_NEAR, {"slots": list(slot_ids)}))
    sizes = {size for u in found if u.id in slot_ids for size in u.sizes}
    # `found` holds every unit on the paths, so naming them reads nothing more.
    return [
        (unit.id, ad_unit_path(unit))
        for unit in found
        if unit.id not in slot_ids
        and unit.level == AdUnitLevel.SLOT.value
        and unit.status == Status.ACTIVE.value
        and sizes & set(unit.sizes)
    ]
