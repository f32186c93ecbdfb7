"""Ad units: the tree of sites, sections and slots, and the creative sizes they take. Flushes, never commits."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.service import record, record_change
from app.auth.models import User
from app.catalog.models import (
    AdUnit,
    AdUnitLevel,
    Status,
)
from app.errors import DomainError, Errors
from app.extensions import db
from app.formats import ngettext
from app.validation import clean_line, line_problem

#: "300x250", or a named format.

NAMED_SIZES = ("video", "audio", "native", "fluid", "interstitial", "out-of-page")
_SIZE = re.compile(r"^(\d{1,4})x(\d{1,4})$")
_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")


def size_problem(size: str) -> str | None:
    if _SIZE.match(size) or size in NAMED_SIZES:
        return None
    return f"“{size}” is not a creative size: use WIDTHxHEIGHT such as 300x250, or one of {', '.join(NAMED_SIZES)}."


def parse_sizes(raw: str | Iterable[str]) -> list[str]:
    """Sizes from text such as "300x250, 728x90 video", de-duplicated, in the order given."""
    items = re.split(r"[\s,|;]+", raw) if isinstance(raw, str) else list(raw)
    seen: dict[str, None] = {}
    for item in items:
        item = item.strip().lower().replace("×", "x")
        if item:
            seen.setdefault(item, None)
    return list(seen)


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "unit"


def ad_unit_path(unit: AdUnit) -> str:
    names = []
    while unit is not None:
        names.append(unit.name)
        unit = unit.parent
    return " › ".join(reversed(names))


def descendants(unit: AdUnit) -> list[AdUnit]:
    """Every unit under `unit`, depth first; the tree is read one level at a time (one query per level)."""
    load_subtrees([unit])
    found: list[AdUnit] = []
    stack = list(unit.children)
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(child.children)
    return found


def load_subtrees(units: list[AdUnit]) -> None:
    """Load `children` of `units` and of every unit under them, one query per level, in the relationship's
    order (for `descendants`; a product's slots are read by one recursive query, `product_slots`)."""
    level = list(units)
    while level:
        unloaded = [u for u in level if "children" in sa.inspect(u).unloaded]
        if unloaded:
            query = sa.select(AdUnit).where(AdUnit.parent_id.in_([u.id for u in unloaded])).order_by(AdUnit.name)
            _attach_children(unloaded, db.session.scalars(query))
        level = [child for parent in level for child in parent.children]


def _unit_snapshot(unit: AdUnit) -> dict:
    return {
        "name": unit.name,
        "code": unit.code,
        "sizes": unit.sizes,
        "parent_id": unit.parent_id,
        "status": unit.status,
    }


def _check_unit(
    errors: Errors, *, name: str, code: str, sizes: list[str], parent: AdUnit | None, unit_id: int | None
) -> None:
    if problem := line_problem(name, label="name", max_length=200):
        errors.add("name", problem)
    if not _CODE.match(code) or len(code) > 200:
        errors.add("code", "Use lower-case letters, digits, - and _, with / between levels (news/sport/mpu).")
    elif db.session.scalar(sa.select(AdUnit.id).where(AdUnit.code == code, AdUnit.id != (unit_id or 0))):
        errors.add("code", f"Another ad unit already has the code {code}.")
    for size in sizes:
        if problem := size_problem(size):
            errors.add("sizes", problem)
    if parent is not None and not parent.is_active:
        errors.add("parent_id", f"{parent.name} is archived; restore it first or choose another parent.")


def create_ad_unit(
    *, name: str, sizes: list[str], parent: AdUnit | None, code: str = "", actor: User | None, now: datetime
) -> AdUnit:
    errors = Errors()
    if parent is not None and AdUnitLevel(parent.level).child is None:
        errors.add("parent_id", "Slots are the lowest level: choose a site or a section as the parent.")
        errors.raise_if_any()
    level = AdUnitLevel.SITE if parent is None else AdUnitLevel(parent.level).child
    name = clean_line(name)
    code = (code or "").strip().lower() or ((parent.code + "/") if parent else "") + slugify(name)
    _check_unit(errors, name=name, code=code, sizes=sizes, parent=parent, unit_id=None)
    errors.raise_if_any()
    unit = AdUnit(name=name, code=code, sizes=sizes, level=level.value, status=Status.ACTIVE.value, parent=parent)
    db.session.add(unit)
    db.session.flush()
    record(
        actor=actor,
        entity_type="ad_unit",
        entity_id=unit.id,
        action="created",
        at=now,
        summary=f"Created {level.value} {ad_unit_path(unit)}.",
        after=_unit_snapshot(unit),
    )
    return unit


def update_ad_unit(
    unit: AdUnit,
    *,
    name: str,
    sizes: list[str],
    parent: AdUnit | None,
    actor: User,
    now: datetime,
    safety_margin_pct: Decimal | None = None,
) -> AdUnit:
    """Rename, resize or move a unit. A unit moves only under a parent of the level above it."""
    errors = Errors()
    expected_parent = AdUnitLevel(unit.level).parent
    if expected_parent is None and parent is not None:
        errors.add("parent_id", "A site is the top of the tree: it has no parent.")
    elif expected_parent is not None and (parent is None or parent.level != expected_parent):
        errors.add("parent_id", f"A {unit.level} goes under a {expected_parent.value}.")
    name = clean_line(name)
    _check_unit(errors, name=name, code=unit.code, sizes=sizes, parent=parent, unit_id=unit.id)
    if safety_margin_pct is not None:
        if unit.level != AdUnitLevel.SITE:
            errors.add("safety_margin_pct", "The safety margin is set per site.")
        elif not Decimal("0") <= safety_margin_pct <= Decimal("90"):
            errors.add("safety_margin_pct", "The safety margin is between 0 % and 90 % of the forecast.")
        elif safety_margin_pct != safety_margin_pct.quantize(Decimal("1")):
            errors.add("safety_margin_pct", "Use a whole percentage, such as 10.")
    errors.raise_if_any()
    before = _unit_snapshot(unit)
    unit.name, unit.sizes, unit.parent = name, sizes, parent
    if unit.level == AdUnitLevel.SITE:
        unit.safety_margin_pct = safety_margin_pct
    db.session.flush()
    record_change(
        actor=actor, entity_type="ad_unit", entity_id=unit.id, at=now, before=before, after=_unit_snapshot(unit)
    )
    return unit


def set_ad_unit_status(unit: AdUnit, status: Status, *, actor: User, now: datetime) -> list[AdUnit]:
    """Archive a unit with everything below it, or restore it (its parent must be active)."""
    if status == Status.ACTIVE and unit.parent is not None and not unit.parent.is_active:
        raise DomainError(f"Restore {unit.parent.name} first: {unit.name} sits under it.")
    changed = [u for u in [unit, *descendants(unit)] if u.status != status]
    if status == Status.ACTIVE:
        changed = [unit] if unit.status != status else []
    for u in changed:
        u.status = status.value
    db.session.flush()
    if changed:
        verb = "archived" if status == Status.ARCHIVED else "restored"
        below = ngettext("%(num)s unit below it", "%(num)s units below it", len(changed) - 1)
        extra = f" with {below}" if len(changed) > 1 else ""
        record(
            actor=actor,
            entity_type="ad_unit",
            entity_id=unit.id,
            action=verb,
            at=now,
            summary=f"{verb.capitalize()} {ad_unit_path(unit)}{extra}.",
            before={"status": "active" if status == Status.ARCHIVED else "archived"},
            after={"status": status.value},
        )
    return changed


def ad_unit_tree() -> list[AdUnit]:
    """Every site, with its children loaded (every unit read by one query, children attached in memory)."""
    units = db.session.scalars(sa.select(AdUnit).order_by(AdUnit.name)).all()
    _attach_children(units, units)
    return [unit for unit in units if unit.parent_id is None]


def _attach_children(parents: Iterable[AdUnit], children: Iterable[AdUnit]) -> None:
    """Set each parent's loaded `children` to those of `children` under it, in their order."""
    by_parent: dict[int | None, list[AdUnit]] = {}
    for child in children:
        by_parent.setdefault(child.parent_id, []).append(child)
    for parent in parents:
        set_committed_value(parent, "children", by_parent.get(parent.id, []))
