"""Holds and bookings: the reservations that take inventory, made and released under the sites' lock.

Creating a hold or booking locks the inventory rows of the sites involved (an UPDATE, so
PostgreSQL row-locks them and SQLite takes its write lock) before availability is re-checked,
so two reps cannot sell the same last impressions.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.audit.service import record
from app.auth.models import User
from app.catalog.models import AdUnit
from app.errors import Conflict, DomainError, Errors
from app.extensions import db
from app.formats import impression_count, ngettext
from app.inventory.availability import availability_for, available_now, box_of, check_box, solved_clusters
from app.inventory.live import UNCOMMITTED, Held, live_held
from app.inventory.models import InventoryChange, InventoryLock, Reservation, ReservationKind
from app.inventory.supply import Box
from app.validation import clean_line, line_problem, quantity_problem


class NoLongerAvailable(Conflict):
    def __init__(self, requested: int, available: int):
        self.requested, self.available = requested, available
        super().__init__(
            "No longer available: "
            + ngettext("%(num)s impression was asked for", "%(num)s impressions were asked for", requested)
            + ngettext(", but only %(num)s is left ", ", but only %(num)s are left ", available)
            + "(someone else reserved part of this inventory meanwhile)."
        )


def _sites_of(slot_ids) -> set[int]:
    units = {u.id: u for u in db.session.scalars(sa.select(AdUnit))}
    sites = set()
    for slot_id in slot_ids:
        unit = units[slot_id]
        while unit.parent_id is not None:
            unit = units[unit.parent_id]
        sites.add(unit.id)
    return sites


def _lock_sites(site_ids: set[int]) -> None:
    """Serialise reservations on these sites until the transaction ends."""
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(InventoryLock).values([{"site_id": s, "version": 0} for s in sorted(site_ids)]).on_conflict_do_nothing()
    )
    # An UPDATE (not a plain read): PostgreSQL locks the rows, SQLite takes its write lock.
    db.session.execute(
        sa.update(InventoryLock)
        .where(InventoryLock.site_id.in_(sorted(site_ids)))
        .values(version=InventoryLock.version + 1)
    )


def _written(site_ids: set[int], reservation_id: int) -> None:
    """The change to the reservation is flushed: bump the versions again (cached lists are stale),
    note the change under each site's new version (`InventoryChange`: what processes read back)
    and mark the session, so that what it reads of the live set before the commit stays its own."""
    _lock_sites(site_ids)
    db.session.execute(
        sa.insert(InventoryChange).from_select(
            ["site_id", "version", "reservation_id"],
            sa.select(InventoryLock.site_id, InventoryLock.version, sa.literal(reservation_id)).where(
                InventoryLock.site_id.in_(sorted(site_ids))
            ),
        )
    )
    db.session.info[UNCOMMITTED] = True


#: A reservation's label is one line of at most this many characters; labels made from names are cut to it.
LABEL_LENGTH = 200


def reserve(
    kind: ReservationKind,
    box: Box,
    *,
    label: str,
    quantity: int | None = None,
    share: Decimal | None = None,
    product_id: int | None = None,
    actor: User | None,
    now: datetime,
    today: date,
    margin_pct: int,
    hold_days: int,
    proposal_line_id: int | None = None,
) -> Reservation:
    """Hold or book `box`, re-checking availability inside this transaction under the sites' lock.
    A hold for a proposal line names it: the database keeps one live hold per line."""
    errors = Errors()
    if (quantity is None) == (share is None):
        errors.add("quantity", "Enter a quantity of impressions (or a share of voice for a sponsorship).")
    if quantity is not None and (problem := quantity_problem(quantity, label="quantity")):
        errors.add("quantity", problem)
    if share is not None and not (Decimal("0") < share <= Decimal("1")):
        errors.add("share", "A share of voice is more than 0 % and at most 100 %.")
    label = clean_line(label)
    if not label:
        errors.add("label", "Say what the reservation is for.")
    elif problem := line_problem(label, label="label", max_length=LABEL_LENGTH):
        errors.add("label", problem)
    errors.raise_if_any()
    check_box(box, today=today)
    _lock_sites(_sites_of(box.slot_ids))
    db.session.flush()
    if quantity is not None:
        available = available_now(box, now=now, today=today, margin_pct=margin_pct)
        if quantity > available:
            raise NoLongerAvailable(quantity, available)
    else:
        _check_sponsorship_fits(box, share, now=now, today=today, margin_pct=margin_pct)
    reservation = Reservation(
        kind=kind.value,
        label=label,
        product_id=product_id,
        ad_unit_ids=list(box.slot_ids),
        geo=list(box.geo),
        device=list(box.device),
        start_day=box.start,
        end_day=box.end,
        quantity=quantity,
        share=share,
        created_by_id=actor.id if actor else None,
        created_at=now,
        expires_at=now + timedelta(days=hold_days) if kind == ReservationKind.HOLD else None,
        proposal_line_id=proposal_line_id if kind == ReservationKind.HOLD else None,
    )
    db.session.add(reservation)
    db.session.flush()
    _written(_sites_of(box.slot_ids), reservation.id)
    amount = impression_count(quantity) if quantity is not None else f"{share * 100:.0f} % share of voice"
    record(
        actor=actor,
        entity_type="reservation",
        entity_id=reservation.id,
        action=f"{kind.value} created",
        at=now,
        summary=f"{kind.value.capitalize()} of {amount}, {box.start} to {box.end}: {reservation.label}.",
        after={"quantity": quantity, "share": share, "start": box.start, "end": box.end, "slots": list(box.slot_ids)},
    )
    return reservation


def _check_sponsorship_fits(box: Box, share: Decimal, *, now: datetime, today: date, margin_pct: int) -> None:
    """A sponsorship fits when taking its share first leaves every other line its full quantity."""
    live = live_held(now, today)
    before = sum(
        c.network.shortfall for c in solved_clusters(box, live, today=today, margin_pct=margin_pct, cached=True)
    )
    # The new sponsorship takes its share after the existing ones: it goes last.
    probe = Held(
        2**62,
        ReservationKind.BOOKING.value,
        "new",
        box.slot_ids,
        box.geo,
        box.device,
        box.start,
        box.end,
        None,
        share,
        None,
    )
    after_clusters = solved_clusters(box, live, today=today, margin_pct=margin_pct, cached=False, extra=[probe])
    after = sum(c.network.shortfall for c in after_clusters)
    if after > before:
        raise DomainError(
            f"No longer available: a {share * 100:.0f} % share would leave other lines "
            f"{impression_count(after - before)} short."
        )


def release(reservation: Reservation, *, reason: str, actor: User | None, now: datetime) -> None:
    if reservation.released_at is not None:
        return
    _lock_sites(_sites_of(reservation.ad_unit_ids))
    reservation.released_at = now
    reservation.release_reason = reason[:200]
    db.session.flush()
    _written(_sites_of(reservation.ad_unit_ids), reservation.id)
    record(
        actor=actor,
        entity_type="reservation",
        entity_id=reservation.id,
        action="released",
        at=now,
        summary=f"Released {reservation.kind}: {reason}.",
    )


def extend_hold(
    hold: Reservation, *, actor: User | None, now: datetime, today: date, margin_pct: int, hold_days: int
) -> Reservation:
    """Push the expiry out again, while the inventory is still available to the hold."""
    if hold.kind != ReservationKind.HOLD or hold.released_at is not None:
        raise DomainError("Only a live hold can be extended.")
    if hold.expires_at is not None and hold.expires_at <= now:
        raise DomainError("This hold has expired: check availability and hold the inventory again.")
    box = box_of(hold)
    _lock_sites(_sites_of(box.slot_ids))
    if hold.quantity is not None:
        answer = availability_for(
            box, now=now, today=today, margin_pct=margin_pct, requested=hold.quantity, exclude={hold.id}
        )
        if hold.quantity > answer.available:
            raise NoLongerAvailable(hold.quantity, answer.available)
    before = hold.expires_at
    hold.expires_at = now + timedelta(days=hold_days)
    db.session.flush()
    _written(_sites_of(box.slot_ids), hold.id)
    record(
        actor=actor,
        entity_type="reservation",
        entity_id=hold.id,
        action="hold extended",
        at=now,
        summary=f"Hold extended to {hold.expires_at:%Y-%m-%d %H:%M} UTC.",
        before={"expires_at": before},
        after={"expires_at": hold.expires_at},
    )
    return hold
