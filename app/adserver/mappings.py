"""Id mappings: the ad server's id for each ad unit, targeting value and account, per connection,
and how many a connection still lacks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from app.accounts.models import Account
from app.adserver.models import Connection, IdMapping, MappingKind
from app.audit.service import record
from app.auth.models import User
from app.catalog.models import AdUnit, DimensionKey, TargetingDimension, TargetingValue
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.formats import ngettext


@dataclass(frozen=True)
class MappingRow:
    kind: MappingKind
    local_id: int
    label: str
    detail: str
    remote_id: str | None


def mapping_rows(connection: Connection, kind: MappingKind, *, search: str = "") -> list[MappingRow]:
    """Every ad unit, targeting value or account with this connection's id for it (None: unmapped)."""
    mapped = dict(
        db.session.execute(
            sa.select(IdMapping.local_id, IdMapping.remote_id).where(
                IdMapping.connection_id == connection.id, IdMapping.kind == kind.value
            )
        ).all()
    )
    needle = search.strip().lower()
    rows: list[MappingRow] = []
    if kind is MappingKind.AD_UNIT:
        for unit in db.session.scalars(sa.select(AdUnit).order_by(AdUnit.code)):
            detail = unit.code if unit.status == "active" else f"{unit.code} (archived)"
            rows.append(MappingRow(kind, unit.id, unit.name, detail, mapped.get(unit.id)))
    elif kind is MappingKind.TARGETING_VALUE:
        query = (
            sa.select(TargetingValue, TargetingDimension)
            .join(TargetingDimension, TargetingDimension.id == TargetingValue.dimension_id)
            .order_by(TargetingDimension.key, TargetingValue.name)
        )
        for value, dimension in db.session.execute(query):
            label = DimensionKey(dimension.key).label
            name = value.name if value.status == "active" else f"{value.name} (archived)"
            rows.append(MappingRow(kind, value.id, name, f"{label} · {value.code}", mapped.get(value.id)))
    else:
        for account in db.session.scalars(sa.select(Account).order_by(Account.name)):
            rows.append(MappingRow(kind, account.id, account.name, account.kind.capitalize(), mapped.get(account.id)))
    if needle:
        rows = [
            r
            for r in rows
            if needle in r.label.lower() or needle in r.detail.lower() or needle in (r.remote_id or "").lower()
        ]
    return rows


def set_mapping(
    connection: Connection, kind: MappingKind, local_id: int, remote_id: str, *, actor: User, now: datetime
) -> IdMapping | None:
    """Map one item; an empty id removes the mapping."""
    remote_id = remote_id.strip()
    if len(remote_id) > 120:
        raise ValidationFailed.on("remote_id", "An ad-server id is at most 120 characters.")
    if not _local_exists(kind, local_id):
        raise ValidationFailed.on("local_id", "No such item to map.")
    mapping = db.session.scalar(
        sa.select(IdMapping).where(
            IdMapping.connection_id == connection.id, IdMapping.kind == kind.value, IdMapping.local_id == local_id
        )
    )
    before = mapping.remote_id if mapping else None
    if not remote_id:
        if mapping is not None:
            db.session.delete(mapping)
    elif mapping is None:
        mapping = IdMapping(connection_id=connection.id, kind=kind.value, local_id=local_id, remote_id=remote_id)
        db.session.add(mapping)
    else:
        mapping.remote_id = remote_id
    if mapping is not None:
        mapping.updated_at = now
    db.session.flush()
    if before != (remote_id or None):
        record(
            actor=actor,
            entity_type="adserver_connection",
            entity_id=connection.id,
            action="mapped",
            at=now,
            summary=f"{kind.label}: {kind.value} {local_id} → {remote_id or '(unmapped)'}",
            before={"remote_id": before},
            after={"remote_id": remote_id or None},
        )
    return mapping if remote_id else None


def _local_exists(kind: MappingKind, local_id: int) -> bool:
    model = {MappingKind.AD_UNIT: AdUnit, MappingKind.TARGETING_VALUE: TargetingValue, MappingKind.ACCOUNT: Account}
    return db.session.get(model[kind], local_id) is not None


def map_to_own_ids(connection: Connection, *, actor: User, now: datetime) -> int:
    """The sandbox knows Flightdeck's ids: map every unmapped ad unit and targeting value to its own."""
    if connection.kind != "sandbox":
        raise Conflict("Only the sandbox uses Flightdeck's own ids.")
    count = 0
    for kind in (MappingKind.AD_UNIT, MappingKind.TARGETING_VALUE):
        for row in mapping_rows(connection, kind):
            if row.remote_id is None:
                own = str(row.local_id) if kind is MappingKind.AD_UNIT else row.detail.rsplit(" · ", 1)[-1]
                db.session.add(
                    IdMapping(connection_id=connection.id, kind=kind.value, local_id=row.local_id, remote_id=own)
                )
                count += 1
    db.session.flush()
    if count:
        record(
            actor=actor,
            entity_type="adserver_connection",
            entity_id=connection.id,
            action="mapped",
            at=now,
            summary=ngettext(
                "%(num)s ad unit or targeting value mapped to the sandbox's own id.",
                "%(num)s ad units and targeting values mapped to the sandbox's own ids.",
                count,
            ),
        )
    return count


def remember_account(connection: Connection, account_id: int, remote_id: str, *, now: datetime) -> None:
    """Keep the id an adapter found or created for an account, so the next push uses it."""
    existing = db.session.scalar(
        sa.select(IdMapping).where(
            IdMapping.connection_id == connection.id,
            IdMapping.kind == MappingKind.ACCOUNT.value,
            IdMapping.local_id == account_id,
        )
    )
    if existing is None:
        db.session.add(
            IdMapping(
                connection_id=connection.id,
                kind=MappingKind.ACCOUNT.value,
                local_id=account_id,
                remote_id=remote_id,
                updated_at=now,
            )
        )
    elif existing.remote_id != remote_id:
        existing.remote_id, existing.updated_at = remote_id, now


#: what a push needs mapped (accounts map themselves on their first push)
NEEDED_KINDS = (MappingKind.AD_UNIT, MappingKind.TARGETING_VALUE)


def unmapped_counts(connection: Connection) -> dict[MappingKind, int]:
    """How many ad units and targeting values the connection has no id for, read now: an item added
    to the catalog or a mapping removed counts at once, not after a sync."""
    return {kind: sum(1 for row in mapping_rows(connection, kind) if row.remote_id is None) for kind in NEEDED_KINDS}
