"""Ad-server connections and their id mappings, and what an order looks like to its ad server."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.accounts.models import Account
from app.adserver.adapters import adapter_class, adapter_for
from app.adserver.adapters.base import Adapter, AdServerError, AdvertiserSpec, LineSpec, OrderSpec
from app.adserver.mappings import (  # noqa: F401  (the mapping functions callers reach through service)
    MappingRow,
    map_to_own_ids,
    mapping_rows,
    remember_account,
    set_mapping,
)
from app.adserver.models import Connection, IdMapping, JobStatus, MappingKind, PushJob
from app.audit.service import record, record_change
from app.auth.models import User
from app.catalog.models import DimensionKey, ProductAdUnit, TargetingDimension, TargetingValue
from app.db import name_taken
from app.errors import Errors
from app.extensions import db
from app.orders.models import Order, PushState
from app.transaction import after_commit
from app.validation import clean_line, line_problem, time_zone_problem

#: what an adapter may take as long as it likes on (seconds), unless configured
DEFAULT_TIMEOUT = 30.0
#: set in the session's info when a unit of work queued a push, for the after-commit sender
PUSH_QUEUED = "adserver_push_queued"


# Connections


@dataclass
class ConnectionData:
    name: str
    kind: str
    time_zone: str
    settings: dict[str, str] = field(default_factory=dict)
    is_default: bool = False
    active: bool = True


def check_connection(data: ConnectionData, *, connection: Connection | None) -> Errors:
    errors = Errors()
    data.name = clean_line(data.name)
    if problem := line_problem(data.name, label="connection's name", max_length=120):
        errors.add("name", problem)
    elif name_taken(Connection, data.name, other_than=connection.id if connection else None):
        errors.add("name", "Another connection has this name.")
    try:
        cls = adapter_class(data.kind)
    except AdServerError:
        errors.add("kind", "Choose an ad server.")
        return errors
    if problem := time_zone_problem(data.time_zone):
        errors.add("time_zone", problem)
    kept = dict(connection.settings) if connection is not None and connection.kind == data.kind else {}
    settings: dict[str, str] = {}
    for setting in cls.settings_fields:
        value = (data.settings.get(setting.name) or "").strip()
        if setting.secret and not value:
            value = kept.get(setting.name, "")  # a secret left blank keeps the one stored
        if len(value) > 20_000:
            errors.add(setting.name, f"{setting.label} is too long.")
        if value:
            settings[setting.name] = value
    if data.kind == "gam" and not settings.get("service_account_key") and not settings.get("access_token"):
        errors.add("service_account_key", "Give a service account key or an access token.")
    for setting in cls.settings_fields:
        if setting.required and not settings.get(setting.name) and setting.name not in errors.errors:
            errors.add(setting.name, f"Enter the {setting.label.lower()}.")
    if data.kind == "sandbox" and settings.get("days_ahead"):
        raw = settings["days_ahead"]
        if not (raw.isascii() and raw.isdigit()) or int(raw) > 366:
            errors.add("days_ahead", "Days ahead is a whole number from 0 to 366.")
    if data.kind == "gam":
        _check_gam(settings, errors)
    if data.kind == "revive" and settings.get("url") and not _web_address(settings["url"]):
        errors.add("url", "Give Revive's address as http:// or https:// and a host name.")
    data.settings = settings
    return errors


def _web_address(raw: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(raw)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _check_gam(settings: dict[str, str], errors: Errors) -> None:
    import json

    code = settings.get("network_code", "")
    if code and not (code.isascii() and code.isdigit()):
        errors.add("network_code", "The network code is the number in Ad Manager's address, e.g. 21700001.")
    if settings.get("server") and not _web_address(settings["server"]):
        errors.add("server", "Give the API address as http:// or https:// and a host name.")
    key = settings.get("service_account_key")
    if key:
        try:
            parsed = json.loads(key)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict) or not {"client_email", "private_key"} <= parsed.keys():
            errors.add("service_account_key", "Paste the service account's JSON key as downloaded from Google Cloud.")
    for name in ("approve_orders",):
        if settings.get(name) and settings[name] not in ("yes", "no"):
            errors.add(name, "Answer yes or no.")


def save_connection(connection: Connection | None, data: ConnectionData, *, actor: User, now: datetime) -> Connection:
    check_connection(data, connection=connection).raise_if_any()
    created = connection is None
    if connection is None:
        connection = Connection(created_at=now)
        db.session.add(connection)
    before = _connection_fields(connection) if not created else None
    connection.name, connection.kind, connection.time_zone = data.name, data.kind, data.time_zone
    connection.settings, connection.active = data.settings, data.active
    connection.updated_at = now
    if data.is_default or not db.session.scalar(
        sa.select(Connection.id).where(Connection.is_default.is_(True), Connection.id != connection.id)
    ):
        db.session.execute(sa.update(Connection).where(Connection.is_default.is_(True)).values(is_default=False))
        connection.is_default = True
    db.session.flush()
    if created:
        record(
            actor=actor,
            entity_type="adserver_connection",
            entity_id=connection.id,
            action="created",
            at=now,
            summary=f"Ad-server connection “{connection.name}” ({connection.kind}) created.",
            after=_connection_fields(connection),
        )
    else:
        record_change(
            actor=actor,
            entity_type="adserver_connection",
            entity_id=connection.id,
            at=now,
            before=before,
            after=_connection_fields(connection),
        )
    return connection


def _connection_fields(connection: Connection) -> dict:
    """What the audit log keeps of a connection: never its secrets."""
    secrets = {s.name for s in adapter_class(connection.kind).settings_fields if s.secret} if connection.kind else set()
    return {
        "name": connection.name,
        "kind": connection.kind,
        "time_zone": connection.time_zone,
        "is_default": connection.is_default,
        "active": connection.active,
        "settings": {k: ("(set)" if k in secrets else v) for k, v in (connection.settings or {}).items()},
    }


def default_connection() -> Connection | None:
    return db.session.scalar(
        sa.select(Connection).where(Connection.is_default.is_(True), Connection.active.is_(True)).limit(1)
    )


def adapter_of(connection: Connection, *, timeout: float = DEFAULT_TIMEOUT, api_version: str | None = None) -> Adapter:
    settings = {**connection.settings, "connection_id": str(connection.id)}
    if api_version and connection.kind == "gam" and not settings.get("api_version"):
        settings["api_version"] = api_version
    return adapter_for(connection.kind, settings, time_zone=connection.time_zone, timeout=timeout)


# What the ad server is sent


@dataclass(frozen=True)
class UnmappedItem:
    """One item a push needs and the connection has no id for (local_id None: not in the catalog)."""

    kind: MappingKind
    local_id: int | None
    name: str


#: how the error of a push that needs unmapped items begins (kept with a dead job)
UNMAPPED_PREFIX = "Map these first on the connection's mapping page: "


class Unmapped(AdServerError):
    """Items the connection has no id for: a push cannot go until ad ops map them."""

    def __init__(self, items: list[UnmappedItem]) -> None:
        self.items = list(dict.fromkeys(items))
        self.names = [item.name for item in self.items]
        super().__init__(UNMAPPED_PREFIX + "; ".join(self.names) + ".", transient=False)


def order_spec(order: Order, connection: Connection, *, approve: bool = False) -> OrderSpec:
    """The order as the connection's ad server should have it, in its ids. Raises Unmapped naming
    every ad unit and targeting value it has no id for."""
    maps: dict[str, dict[int, str]] = {k.value: {} for k in MappingKind}
    for kind, local_id, remote_id in db.session.execute(
        sa.select(IdMapping.kind, IdMapping.local_id, IdMapping.remote_id).where(
            IdMapping.connection_id == connection.id
        )
    ):
        maps[kind][local_id] = remote_id
    values = {
        (dimension, code): (value_id, name)
        for value_id, dimension, code, name in db.session.execute(
            sa.select(TargetingValue.id, TargetingDimension.key, TargetingValue.code, TargetingValue.name).join(
                TargetingDimension, TargetingDimension.id == TargetingValue.dimension_id
            )
        )
    }
    dimensions = adapter_class(connection.kind).mapped_dimensions
    missing: list[UnmappedItem] = []
    lines: list[LineSpec] = []
    links_of: dict[int, list[ProductAdUnit]] = {}
    for link in db.session.scalars(
        sa.select(ProductAdUnit).where(ProductAdUnit.product_id.in_({line.product_id for line in order.lines}))
    ):
        links_of.setdefault(link.product_id, []).append(link)
    for line in order.lines:
        product = line.product
        ad_units = []
        for link in links_of.get(product.id, []):
            remote = maps["ad_unit"].get(link.ad_unit_id)
            if remote is None:
                name = f"ad unit {link.ad_unit.name} ({link.ad_unit.code})"
                missing.append(UnmappedItem(MappingKind.AD_UNIT, link.ad_unit_id, name))
            else:
                ad_units.append(remote)
        targeting: dict[str, tuple[str, ...]] = {}
        effective = {**product.targeting_defaults, **{k: v for k, v in line.targeting.items() if v}}
        for dimension, codes in sorted(effective.items()):
            if dimensions is not None and dimension not in dimensions:
                targeting[dimension] = ()  # the ad server takes none: named, with no ids to map
                continue
            ids = []
            for code in codes:
                value_id, name = values.get((dimension, code), (None, code))
                remote = maps["targeting_value"].get(value_id) if value_id is not None else None
                if remote is None:
                    name = f"{DimensionKey(dimension).label.lower()} {name}"
                    missing.append(UnmappedItem(MappingKind.TARGETING_VALUE, value_id, name))
                else:
                    ids.append(remote)
            targeting[dimension] = tuple(ids)
        zone = ZoneInfo(line.time_zone)
        lines.append(
            LineSpec(
                line_id=line.id,
                name=f"{order.number}-{line.position} {product.name}",
                line_item_type=product.line_item_type,
                pricing_model=line.pricing_model,
                rate=line.net_rate if line.net_rate is not None else 0,
                cost=line.net,
                impressions=line.quantity,
                start=datetime.combine(line.start_day, time.min, zone),
                end=datetime.combine(line.end_day, time(23, 59, 59), zone),
                time_zone=line.time_zone,
                sizes=tuple(product.sizes),
                ad_units=tuple(ad_units),
                targeting=targeting,
                status=line.status,
            )
        )
    if missing:
        raise Unmapped(missing)

    def account(acc: Account | None) -> AdvertiserSpec | None:
        if acc is None:
            return None
        return AdvertiserSpec(acc.id, acc.name, maps["account"].get(acc.id))

    return OrderSpec(
        order_id=order.id,
        number=order.number,
        name=order.name,
        po_number=order.proposal.number,
        currency=order.currency,
        advertiser=account(order.advertiser),
        agency=account(order.agency),
        lines=tuple(lines),
        approve=approve,
        remote_id=order.remote_order_id,
    )


# The outbox's entrance


#: What sends a unit of work's pushes right after its commit, given their orders' ids: filled in
#: at start-up by the ad-server blueprint (`push_after_commit`), which sends them when the set-up
#: has no worker (ADSERVER_PUSH_AFTER_REQUEST). Empty: the worker sends them.
push_senders: list[Callable[[set[int]], None]] = []


def mark_queued(order_id: int) -> None:
    """Note that this unit of work queued a push of the order, to be sent after its commit."""
    db.session.info.setdefault(PUSH_QUEUED, set()).add(order_id)
    after_commit(db.session, _send_queued_pushes)


def _send_queued_pushes() -> None:
    order_ids = db.session.info.pop(PUSH_QUEUED, None)
    for send in push_senders if order_ids else ():
        send(order_ids)


def push_connection(order: Order) -> Connection | None:
    """Where a push of the order goes: its own connection, or (never pushed, its own inactive) the default."""
    connection = db.session.get(Connection, order.connection_id) if order.connection_id else None
    if connection is None or (not connection.active and order.pushed_revision is None):
        connection = default_connection()  # never pushed: it goes where new orders go now
    return connection


def queue_push(order: Order, *, reason: str, now: datetime, actor: User | None = None) -> PushJob | None:
    """Write a push of the order's current revision, in the caller's transaction. A job still
    waiting is brought up to date instead of adding another: a push always sends the whole order."""
    connection = push_connection(order)
    if connection is None:
        order.push_state = PushState.NOT_PUSHED.value
        return None
    order.connection_id = connection.id
    waiting = db.session.scalar(
        sa.select(PushJob).where(PushJob.order_id == order.id, PushJob.status == JobStatus.PENDING.value).limit(1)
    )
    if waiting is not None:
        waiting.revision, waiting.next_attempt_at = order.revision, min(waiting.next_attempt_at, now)
        waiting.reason = f"{waiting.reason}; {reason}"[:200]
        job = waiting
    else:
        job = PushJob(
            order_id=order.id,
            connection_id=connection.id,
            revision=order.revision,
            reason=reason[:200],
            status=JobStatus.PENDING.value,
            next_attempt_at=now,
            created_at=now,
        )
        db.session.add(job)
    order.push_state = PushState.QUEUED.value
    mark_queued(order.id)
    db.session.flush()
    record(
        actor=actor,
        entity_type="order",
        entity_id=order.id,
        action="push_queued",
        at=now,
        summary=f"Push of {order.number} revision {order.revision} to {connection.name} queued: {reason}.",
    )
    return job
