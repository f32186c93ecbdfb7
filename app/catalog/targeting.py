"""Targeting values of the editable dimensions (geo, device, key-values, audiences). Flushes, never commits."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa

from app.audit.service import record
from app.auth.models import User
from app.catalog.models import (
    EDITABLE_DIMENSIONS,
    DimensionKey,
    Status,
    TargetingDimension,
    TargetingValue,
)
from app.errors import DomainError, Errors, NotFound
from app.extensions import db
from app.validation import clean_line, line_problem

#: "300x250", or a named format.

_KEY_VALUE = re.compile(r"^[a-z0-9_-]{1,40}=[a-z0-9_.-]{1,80}$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


def dimension(key: str) -> TargetingDimension:
    found = db.session.scalar(sa.select(TargetingDimension).where(TargetingDimension.key == key))
    if found is None:
        raise NotFound(f"There is no targeting dimension “{key}”.")
    return found


def add_targeting_value(
    dim: TargetingDimension, *, code: str, name: str, actor: User | None, now: datetime
) -> TargetingValue:
    errors = Errors()
    if dim.key not in EDITABLE_DIMENSIONS:
        raise DomainError(f"{dim.name} values come with the publisher's set-up and cannot be added here.")
    code = (code or "").strip().lower()
    if dim.key == DimensionKey.KEY_VALUE and not _KEY_VALUE.match(code):
        errors.add("code", "Write a key-value as key=value, in lower case (section=motoring).")
    elif dim.key != DimensionKey.KEY_VALUE and not _SLUG.match(code):
        errors.add("code", "Use lower-case letters, digits, - and _ (auto-intenders).")
    elif len(code) > 80:  # a key=value may be longer than the column holds
        errors.add("code", f"The code has at most 80 characters (this one has {len(code)}).")
    elif any(v.code == code for v in dim.values):
        errors.add("code", f"{dim.name} already has the value {code}.")
    name = clean_line(name)
    if problem := line_problem(name, label="name", max_length=200):
        errors.add("name", problem)
    errors.raise_if_any()
    value = TargetingValue(code=code, name=name, status=Status.ACTIVE.value)
    dim.values.append(value)
    db.session.flush()
    record(
        actor=actor,
        entity_type="targeting_value",
        entity_id=value.id,
        action="created",
        at=now,
        summary=f"Added {dim.name} value {value.name} ({value.code}).",
        after={"code": value.code, "name": value.name},
    )
    return value


def set_targeting_value_status(value: TargetingValue, status: Status, *, actor: User, now: datetime) -> None:
    if value.status == status:
        return
    before = value.status
    value.status = status.value
    db.session.flush()
    record(
        actor=actor,
        entity_type="targeting_value",
        entity_id=value.id,
        action="archived" if status == Status.ARCHIVED else "restored",
        at=now,
        summary=f"{value.dimension.name} value {value.name} is {status.value}.",
        before={"status": before},
        after={"status": status.value},
    )


def targeting_values_by_dimension() -> dict[str, dict[str, TargetingValue]]:
    """Every value, active or not, by dimension key and code."""
    rows = db.session.execute(sa.select(TargetingDimension.key, TargetingValue).join(TargetingValue.dimension)).all()
    found: dict[str, dict[str, TargetingValue]] = {}
    for key, value in rows:
        found.setdefault(key, {})[value.code] = value
    return found


def value_names(values: dict[str, dict[str, TargetingValue]] | None = None) -> dict[tuple[str, str], str]:
    """(dimension key, code) -> the value's name, for targeting in words."""
    values = values if values is not None else targeting_values_by_dimension()
    return {(key, code): value.name for key, by_code in values.items() for code, value in by_code.items()}
