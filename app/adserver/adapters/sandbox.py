"""The built-in sandbox ad server: the embedded default, so every screen works out of the box.

It keeps advertisers, orders and line items in its own tables, as a real ad server would on its
side, and simulates daily delivery: each line's goal spread over its flight in the shape of the
forecast, with day-to-day noise, and one line in four under-delivering. The simulation is a pure
function of the line and the day, so a sync repeated gives the same numbers. Its clock can run
ahead of the real one (`days_ahead`), which lets a demo see tomorrow's delivery today.

Its ids are Flightdeck's own: an ad unit's id, a targeting value's code.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.adserver.adapters import register
from app.adserver.adapters.base import (
    Adapter,
    AdServerError,
    DeliveryRow,
    LineSpec,
    OrderSpec,
    PushResult,
    RemoteLine,
    SettingField,
)
from app.adserver.models import SandboxAdvertiser, SandboxLineItem, SandboxOrder
from app.extensions import db
from app.formats import plural
from app.inventory.models import ForecastDay

#: impressions a day for a line with no impression goal (a sponsorship, a flat fee)
UNGOALED_DAILY = 20_000


@register
class SandboxAdapter(Adapter):
    kind = "sandbox"
    label = "Sandbox (built in)"
    settings_fields = (
        SettingField(
            "days_ahead",
            "Days ahead of today",
            required=False,
            help="The sandbox's clock runs this many days ahead, so delivery can be seen before it happens.",
        ),
    )

    @property
    def connection_id(self) -> int:
        return int(self.settings["connection_id"])

    def today(self) -> date:
        try:
            ahead = int(self.settings.get("days_ahead") or 0)
        except ValueError:
            ahead = 0
        return super().today() + timedelta(days=ahead)

    def check(self) -> str:
        count = db.session.scalar(
            sa.select(sa.func.count(SandboxOrder.id)).where(SandboxOrder.connection_id == self.connection_id)
        )
        return f"Sandbox: {plural(count, 'order', 'orders')}; today is {self.today():%d %b %Y} on its clock."

    def push(self, order: OrderSpec) -> PushResult:
        notes: list[str] = []
        advertiser_id = self._account(order.advertiser.name, order.advertiser.remote_id, "advertiser", notes)
        agency_id = None
        if order.agency is not None:
            agency_id = self._account(order.agency.name, order.agency.remote_id, "agency", notes)
        remote = db.session.scalar(
            sa.select(SandboxOrder).where(
                SandboxOrder.connection_id == self.connection_id, SandboxOrder.external_id == str(order.order_id)
            )
        )
        if remote is None:
            remote = SandboxOrder(
                connection_id=self.connection_id,
                name=order.name,
                external_id=str(order.order_id),
                advertiser_id=advertiser_id,
            )
            db.session.add(remote)
            db.session.flush()
            notes.append(f"created order {remote.id}")
        else:
            remote.name = order.name
            notes.append(f"found order {remote.id}")
        existing = {
            item.external_id: item
            for item in db.session.scalars(sa.select(SandboxLineItem).where(SandboxLineItem.order_id == remote.id))
        }
        ids: dict[int, str] = {}
        created = updated = 0
        for line in order.lines:
            spec = _spec(line)
            item = existing.get(str(line.line_id))
            if item is None:
                if line.end.date() < self.today() and line.status == "active":
                    raise AdServerError(
                        f"Line {line.name} ended on {line.end:%d %b %Y}; change its dates before pushing.",
                        transient=False,
                    )
                item = SandboxLineItem(order_id=remote.id, external_id=str(line.line_id), name=line.name)
                db.session.add(item)
                created += 1
            else:
                old = {k: v for k, v in item.spec.items() if k != "pauses"}
                updated += old != spec or item.status != line.status
            spec["pauses"] = _pauses(
                item.spec.get("pauses", []) if item.spec else [], item.status, line.status, self.today()
            )
            item.name, item.spec, item.status = line.name, spec, line.status
            db.session.flush()
            ids[line.line_id] = str(item.id)
        if order.approve:
            remote.approved = True
        notes.append(f"created {created} and updated {updated} line items")
        return PushResult(
            remote_order_id=str(remote.id),
            remote_line_ids=ids,
            advertiser_remote_id=str(advertiser_id),
            agency_remote_id=None if agency_id is None else str(agency_id),
            notes=tuple(notes),
        )

    def _account(self, name: str, remote_id: str | None, kind: str, notes: list[str]) -> int:
        if remote_id is not None:
            found = db.session.get(SandboxAdvertiser, int(remote_id)) if remote_id.isdigit() else None
            if found is None or found.connection_id != self.connection_id:
                raise AdServerError(f"The sandbox has no {kind} {remote_id}.", transient=False)
            return found.id
        found = db.session.scalar(
            sa.select(SandboxAdvertiser)
            .where(SandboxAdvertiser.connection_id == self.connection_id, SandboxAdvertiser.name == name)
            .order_by(SandboxAdvertiser.id)
            .limit(1)
        )
        if found is None:
            found = SandboxAdvertiser(connection_id=self.connection_id, name=name, kind=kind)
            db.session.add(found)
            db.session.flush()
            notes.append(f"created {kind} {found.id}")
        return found.id

    def _items(self, remote_line_ids: Sequence[str]) -> list[SandboxLineItem]:
        ids = [int(i) for i in remote_line_ids if str(i).isdigit()]
        return list(
            db.session.scalars(
                sa.select(SandboxLineItem)
                .join(SandboxOrder, SandboxOrder.id == SandboxLineItem.order_id)
                .where(SandboxLineItem.id.in_(ids), SandboxOrder.connection_id == self.connection_id)
            )
        )

    def read_lines(self, remote_order_id: str, remote_line_ids: Sequence[str]) -> list[RemoteLine]:
        lines = []
        for item in self._items(remote_line_ids):
            spec = item.spec
            zone = ZoneInfo(spec["time_zone"])
            lines.append(
                RemoteLine(
                    remote_id=str(item.id),
                    line_id=int(item.external_id),
                    start=datetime.combine(date.fromisoformat(spec["start"]), time.min, zone),
                    end=datetime.combine(date.fromisoformat(spec["end"]), time(23, 59, 59), zone),
                    impressions=spec["impressions"],
                    rate=Decimal(spec["rate"]),
                    ad_units=tuple(spec["ad_units"]),
                    targeting={k: tuple(v) for k, v in spec["targeting"].items()},
                    status=item.status,
                )
            )
        return lines

    def delivery(self, remote_line_ids: Sequence[str], start: date, end: date) -> list[DeliveryRow]:
        last = min(end, self.today() - timedelta(days=1))
        rows: list[DeliveryRow] = []
        for item in self._items(remote_line_ids):
            for day, impressions, clicks in simulate(item, self._shape(item)):
                if start <= day <= last:
                    rows.append(DeliveryRow(str(item.id), day, impressions, clicks))
        return rows

    def _shape(self, item: SandboxLineItem) -> dict[date, int]:
        """Forecast impressions per day of the flight over the line's ad units: the delivery's shape."""
        spec = item.spec
        ad_units = [int(a) for a in spec["ad_units"] if str(a).isdigit()]
        if not ad_units:
            return {}
        rows = db.session.execute(
            sa.select(ForecastDay.day, sa.func.sum(ForecastDay.impressions))
            .where(
                ForecastDay.ad_unit_id.in_(ad_units),
                ForecastDay.day.between(date.fromisoformat(spec["start"]), date.fromisoformat(spec["end"])),
            )
            .group_by(ForecastDay.day)
        )
        return {day: int(total) for day, total in rows}


def _spec(line: LineSpec) -> dict:
    return {
        "line_item_type": line.line_item_type,
        "pricing_model": line.pricing_model,
        "rate": str(line.rate),
        "impressions": line.impressions,
        "start": line.start.date().isoformat(),
        "end": line.end.date().isoformat(),
        "time_zone": line.time_zone,
        "sizes": list(line.sizes),
        "ad_units": list(line.ad_units),
        "targeting": {k: list(v) for k, v in sorted(line.targeting.items()) if v},
    }


def _pauses(pauses: list, before: str | None, after: str, today: date) -> list:
    """Spans of days the line did not run: [first, last or None while it still does not]."""
    pauses = [list(p) for p in pauses]
    running_before = before in (None, "active")
    if running_before and after != "active":
        pauses.append([today.isoformat(), None])
    elif not running_before and after == "active" and pauses and pauses[-1][1] is None:
        pauses[-1][1] = (today - timedelta(days=1)).isoformat()
    return pauses


def _stopped(day: date, pauses: list) -> bool:
    text = day.isoformat()
    return any(first <= text and (last is None or text <= last) for first, last in pauses)


def simulate(item: SandboxLineItem, shape: dict[date, int]) -> list[tuple[date, int, int]]:
    """Every day of the flight with what the sandbox delivers on it.

    The goal is spread in proportion to the forecast (evenly where there is none); each line gets a
    health drawn from its id (one in four delivers 70 to 90 %), each day noise of about 8 %.
    """
    spec = item.spec
    start, end = date.fromisoformat(spec["start"]), date.fromisoformat(spec["end"])
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    mean = (sum(shape.values()) / len(shape)) if shape else 1
    weights = [shape.get(day, mean) or mean for day in days]
    total_weight = sum(weights)
    goal = spec["impressions"]
    health_rng = random.Random(f"sandbox-health:{item.id}")
    health = health_rng.uniform(0.70, 0.90) if health_rng.random() < 0.25 else health_rng.uniform(0.98, 1.04)
    ctr = health_rng.uniform(0.0008, 0.0030)
    pauses = spec.get("pauses", [])
    out = []
    delivered = 0
    for day, weight in zip(days, weights, strict=True):
        if _stopped(day, pauses):
            continue
        rng = random.Random(f"sandbox-day:{item.id}:{day.isoformat()}")
        planned = goal * weight / total_weight if goal else UNGOALED_DAILY * weight / mean
        impressions = max(0, round(planned * health * rng.gauss(1.0, 0.08)))
        if goal:
            impressions = min(impressions, round(goal * 1.02) - delivered)
        delivered += impressions
        out.append((day, impressions, round(impressions * ctr)))
    return out
