"""A proposal's versions: the snapshot frozen with its PDF, and what changed between two of them.
Services flush; the request commits.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa

from app.audit.service import record
from app.auth.models import User
from app.catalog.targeting import value_names
from app.db import utcnow
from app.errors import DomainError, Forbidden
from app.extensions import db
from app.formats import money, percent, rate
from app.proposals.access import can_edit
from app.proposals.lines import targeting_words, totals
from app.proposals.models import Proposal, ProposalLine, ProposalVersion
from app.proposals.pdf import render_pdf, sha256_of
from app.proposals.snapshot import (
    Agency,
    Buyer,
    Flight,
    LinePrice,
    Party,
    ProductRef,
    RateCardRef,
    Rep,
    SnapshotLine,
    Totals,
    VersionSnapshot,
)
from app.ratecards.models import RateCard
from app.transaction import Backoff, after_commit, in_unit_of_work, transaction

log = logging.getLogger(__name__)

# -- Versions -------------------------------------------------------------------------------------


def snapshot(proposal: Proposal, *, number: int, now: datetime) -> VersionSnapshot:
    """Everything the PDF, the approvers and the order need, typed (stored as `.to_json()`)."""
    names = value_names()
    t = totals(proposal)
    advertiser, agency, buyer = proposal.advertiser, proposal.agency, proposal.buyer_contact
    return VersionSnapshot(
        number=proposal.number,
        version=number,
        created_at=now,
        campaign_name=proposal.campaign_name,
        status=proposal.status,
        advertiser=Party(
            id=advertiser.id,
            name=advertiser.name,
            billing_address=advertiser.billing_address,
            billing_country=advertiser.billing_country,
            credit_status=advertiser.credit_status,
            discount_pct=advertiser.discount_pct,
        ),
        agency=Agency(id=agency.id, name=agency.name, commission_pct=agency.agency_commission_pct) if agency else None,
        buyer=Buyer(name=buyer.name, email=buyer.email, title=buyer.title) if buyer else None,
        rep=Rep(name=proposal.owner.name, email=proposal.owner.email),
        currency=proposal.currency,
        rate_card=_rate_card_ref(proposal),
        flight=Flight(start=proposal.start_day, end=proposal.end_day, time_zone=proposal.time_zone),
        budget_goal=proposal.budget_goal,
        discount_pct=proposal.discount_pct,
        expires_on=proposal.expires_on,
        notes=proposal.notes,
        buyer_notes=proposal.buyer_notes,
        terms=proposal.terms,
        lines=tuple(_snapshot_line(line, names) for line in proposal.lines),
        totals=Totals(
            gross=t.gross, commission=t.commission, net=t.net, impressions=t.impressions, effective_cpm=t.effective_cpm
        ),
    )


def _rate_card_ref(proposal: Proposal) -> RateCardRef:
    """The proposal's rate card by id and name. Loading the card itself loads its whole price list
    (eight statements), so the name is read alone unless the card is loaded already."""
    if "rate_card" in sa.inspect(proposal).dict:
        return RateCardRef(id=proposal.rate_card.id, name=proposal.rate_card.name)
    name = db.session.scalar(sa.select(RateCard.name).where(RateCard.id == proposal.rate_card_id))
    return RateCardRef(id=proposal.rate_card_id, name=name)


def _snapshot_line(line: ProposalLine, names: dict) -> SnapshotLine:
    price = LinePrice.from_json(line.price["price"]) if line.price else None
    return SnapshotLine(
        position=line.position,
        product=ProductRef(id=line.product.id, name=line.product.name, category=line.product.category),
        pricing_model=line.pricing_model,
        targeting=line.targeting,
        targeting_words=targeting_words(line.targeting, names),
        start=line.start_day,
        end=line.end_day,
        time_zone=line.time_zone,
        units=line.units,
        quantity=line.quantity,
        budget=line.budget,
        discount_pct=line.discount_pct,
        list_rate=price.list_rate if price else None,
        net_rate=line.net_rate,
        gross=line.gross,
        commission=line.commission,
        net=line.net,
        available=line.available,
        problems=tuple(line.problems),
        price=price,
        order_line_id=line.order_line_id,
        make_good_of_id=line.make_good_of_id,
    )


def freeze_version(
    proposal: Proposal, *, actor: User, now: datetime, render=None, publisher_name: str = ""
) -> ProposalVersion:
    """An immutable snapshot of the proposal as it stands, with its PDF and the PDF's SHA-256.

    `render` (the PDF's options; None: no PDF) draws the PDF off the write when a unit of work is
    open (a request, a CLI command): WeasyPrint takes seconds, which neither the write's transaction
    nor the user should wait for. After the commit, each of `drawers` is handed the version (a web
    process's background thread, by BACKGROUND_WORK); with none, `flask adserver worker` draws
    it (`draw_pending`). The PDF is a function of the snapshot (the same snapshot gives the same
    bytes), so its SHA-256, the fingerprint the buyer signs, is fixed by the version frozen here,
    whenever it is drawn. Called directly, with no unit of work open, it draws it at once.
    """
    if not can_edit(actor, proposal):
        raise Forbidden("Only the proposal's rep, sales managers and admins make versions.")
    if not proposal.lines:
        raise DomainError("Add at least one line before making a version.")
    number = len(proposal.versions) + 1
    typed = snapshot(proposal, number=number, now=now)
    data = typed.to_json()
    version = ProposalVersion(number=number, snapshot=data, created_at=now, created_by_id=actor.id)
    later = render is not None and in_unit_of_work(db.session)
    if render is not None and not later:
        _store_pdf(version, render_pdf(data, publisher_name=publisher_name, **render))
    proposal.versions.append(version)
    db.session.flush()
    if later:
        after_commit(
            db.session, functools.partial(_hand_over, version.id, publisher_name=publisher_name, render=render)
        )
    record(
        actor=actor,
        entity_type="proposal",
        entity_id=proposal.id,
        action="version made",
        at=now,
        summary=f"Version {number}: {len(typed.lines)} lines, {data['totals']['gross']} {proposal.currency} gross.",
        # None when the PDF is drawn after the commit: the audit entry is written before it exists.
        after={"version": number, "pdf_sha256": version.pdf_sha256},
    )
    return version


#: What draws a version's PDF once the unit of work that froze it has committed, called with the
#: version's id, `publisher_name` and `render` (the PDF's options). Filled at start-up from
#: BACKGROUND_WORK (app/proposals/version_views.py). Empty: nothing runs in the request, and
#: `flask adserver worker` draws it.
drawers: list[Callable[..., None]] = []


def _hand_over(version_id: int, *, publisher_name: str, render: dict) -> None:
    for draw in drawers:
        draw(version_id, publisher_name=publisher_name, render=render)


def _store_pdf(version: ProposalVersion, pdf: bytes) -> None:
    """A version's PDF drawn while it is frozen (no unit of work open): stored with it, and its
    fingerprint is in the "version made" entry."""
    version.pdf = pdf
    version.pdf_sha256 = sha256_of(pdf)


def _store_once(version_id: int, pdf: bytes) -> bool:
    """Store a PDF drawn after the version was frozen, unless another drawing stored it first (two
    drawings of one snapshot give the same bytes: the first one counts, once); records "version PDF
    drawn" with its fingerprint (the "version made" entry was written before the PDF existed)."""
    digest = sha256_of(pdf)
    stored = db.session.execute(
        sa.update(ProposalVersion)
        .where(ProposalVersion.id == version_id, ProposalVersion.pdf.is_(None))
        .values(pdf=pdf, pdf_sha256=digest)
        .execution_options(synchronize_session=False)
    ).rowcount
    if stored != 1:
        return False
    proposal_id, number = db.session.execute(
        sa.select(ProposalVersion.proposal_id, ProposalVersion.number).where(ProposalVersion.id == version_id)
    ).one()
    record(
        actor=None,
        entity_type="proposal",
        entity_id=proposal_id,
        action="version PDF drawn",
        at=utcnow(),
        summary=f"Version {number}'s PDF drawn (SHA-256 {digest[:12]}…).",
        after={"version": number, "pdf_sha256": digest},
    )
    return True


def draw_stored(version_id: int, *, publisher_name: str, render: dict) -> bool:
    """Draw and store a version's PDF off the request (a background thread, the worker): the
    snapshot is read in one short transaction, drawn outside any (no lock or snapshot is held for
    the seconds WeasyPrint takes), and stored in another. Whether this call stored it. A failure
    raises; the version stays without its PDF, which the downloads draw on the fly, sending it to
    the buyer draws and stores (`ensure_pdf`), and the worker tries again."""
    with transaction(db.session):
        data = db.session.scalar(
            sa.select(ProposalVersion.snapshot).where(ProposalVersion.id == version_id, ProposalVersion.pdf.is_(None))
        )
    if data is None:
        return False
    pdf = render_pdf(data, publisher_name=publisher_name, **render)
    with transaction(db.session):
        return _store_once(version_id, pdf)


#: Versions whose PDF failed to draw in this process: tried again after an hour, newer ones first meanwhile.
_failed_pdfs = Backoff(3600)


def draw_pending(*, publisher_name: str, logo_path: str | None = None, limit: int = 10) -> list[int]:
    """The worker's share: draw and store the PDFs of up to `limit` versions that have none yet
    (oldest first); the ids of those this call stored. One that fails is logged and rests an hour
    (`_failed_pdfs`), so that the versions after it are drawn meanwhile."""
    with transaction(db.session):
        waiting = list(
            db.session.scalars(
                sa.select(ProposalVersion.id)
                .where(ProposalVersion.pdf.is_(None), ProposalVersion.id.not_in(_failed_pdfs.resting()))
                .order_by(ProposalVersion.id)
                .limit(limit)
            )
        )
    drawn = []
    for version_id in waiting:
        try:
            if draw_stored(version_id, publisher_name=publisher_name, render={"logo_path": logo_path}):
                drawn.append(version_id)
            _failed_pdfs.succeeded(version_id)
        except Exception:  # one PDF that will not draw never stops the others
            log.exception("Drawing the PDF of version %s failed; it is tried again in an hour", version_id)
            _failed_pdfs.failed(version_id)
    return drawn


def ensure_pdf(version: ProposalVersion, *, publisher_name: str, logo_path: str | None = None) -> bytes:
    """The version's PDF, drawn and stored now if it is not there yet (its drawing off the request
    has not run yet, or failed): for a write that needs the bytes, such as sending it to the buyer."""
    if version.pdf is None:
        _store_once(version.id, render_pdf(version.snapshot, publisher_name=publisher_name, logo_path=logo_path))
        db.session.refresh(version, ["pdf", "pdf_sha256"])
    return version.pdf


def pdf_of(version: ProposalVersion, *, publisher_name: str, logo_path: str | None = None) -> tuple[bytes, str]:
    """The version's PDF and its SHA-256 for a download: the stored one, or drawn on the fly and not
    stored when it is not there yet (a GET never writes)."""
    if version.pdf is not None:
        return version.pdf, version.pdf_sha256 or ""
    pdf = render_pdf(version.snapshot, publisher_name=publisher_name, logo_path=logo_path)
    return pdf, sha256_of(pdf)


def draft_pdf(proposal: Proposal, *, now: datetime, publisher_name: str, logo_path: str | None = None) -> bytes:
    """The proposal as it stands, as a PDF marked DRAFT with no signature block: for a rep to look
    at or share before submitting. No version is made and nothing is written (a GET may call it)."""
    current = snapshot(proposal, number=len(proposal.versions) + 1, now=now)
    return render_pdf(current.to_json(), publisher_name=publisher_name, logo_path=logo_path, draft=True)


#: what a snapshot made before a field existed stands for (versions made before notes were split)
_DEFAULTS = {"buyer_notes": ""}


def diff(old: dict, new: dict) -> dict:
    """What changed between two version snapshots, in words: proposal fields, lines added, removed
    and changed (matched by position and product), and the totals. Amounts and rates read as the
    rest of the product writes them (£5,043.20, £8.40, 10 %), in the newer version's currency."""
    currency = new.get("currency") or old.get("currency") or ""
    fields = []
    for key, label in (
        ("campaign_name", "Campaign"),
        ("currency", "Currency"),
        ("budget_goal", "Budget goal"),
        ("discount_pct", "Proposal discount (%)"),
        ("expires_on", "Expires"),
        ("terms", "Terms"),
        ("buyer_notes", "Notes for the buyer"),
        ("notes", "Internal notes"),
    ):
        before, after = old.get(key, _DEFAULTS.get(key)), new.get(key, _DEFAULTS.get(key))
        if before != after:
            fields.append((label, _shown(key, before, currency), _shown(key, after, currency)))
    for key, label in (("flight", "Flight"), ("rate_card", "Rate card"), ("agency", "Agency"), ("buyer", "Buyer")):
        a, b = old.get(key), new.get(key)
        if a != b:
            fields.append((label, _words(a), _words(b)))

    def key(line: dict) -> tuple:
        return (line["product"]["id"], line["pricing_model"], line["start"], line["end"], line["targeting_words"])

    old_lines, new_lines = list(old["lines"]), list(new["lines"])
    changed, added, removed = [], [], []
    unmatched_new = list(new_lines)
    for line in old_lines:
        twin = next((n for n in unmatched_new if key(n) == key(line)), None)
        if twin is None:
            twin = next((n for n in unmatched_new if n["product"]["id"] == line["product"]["id"]), None)
        if twin is None:
            removed.append(line)
            continue
        unmatched_new.remove(twin)
        changes = [
            (label, _shown(k, line.get(k), currency), _shown(k, twin.get(k), currency))
            for k, label in (
                ("targeting_words", "Targeting"),
                ("start", "Start"),
                ("end", "End"),
                ("pricing_model", "Pricing model"),
                ("units", "Quantity"),
                ("discount_pct", "Line discount (%)"),
                ("net_rate", "Net rate"),
                ("gross", "Cost"),
            )
            if line.get(k) != twin.get(k)
        ]
        if changes:
            changed.append((twin, changes))
    added = unmatched_new
    totals_changes = [
        (label, old["totals"].get(k), new["totals"].get(k))
        for k, label in (("gross", "Gross"), ("net", "Net"), ("impressions", "Impressions"))
        if old["totals"].get(k) != new["totals"].get(k)
    ]
    return {"fields": fields, "added": added, "removed": removed, "changed": changed, "totals": totals_changes}


#: how a changed snapshot value reads, by its key; the others read as they are stored
_SHOWN = {
    "budget_goal": lambda v, cur: money(Decimal(v), cur),
    "gross": lambda v, cur: money(Decimal(v), cur),
    "net_rate": lambda v, cur: rate(Decimal(v), cur),
    "discount_pct": lambda v, cur: percent(Decimal(v)),
    "units": lambda v, cur: f"{int(v):,}",
}


def _shown(key: str, value, currency: str):
    if value in (None, "") or key not in _SHOWN:
        return value
    return _SHOWN[key](value, currency)


def _words(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict):
        if "start" in value:
            return f"{value['start']} to {value['end']} ({value.get('time_zone', '')})"
        return str(value.get("name", value))
    return str(value)
