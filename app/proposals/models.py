"""Proposals: what a rep offers an advertiser, line by line, and the immutable versions of it.

A line stores its price as the pricing service returned it (every step and the rate-card values
used), so editing the card later changes nothing already priced; a version stores a snapshot of
the whole proposal, so a later change of catalog, card or proposal never changes a version.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.accounts.models import Account, Contact
from app.auth.models import User
from app.catalog.models import Product
from app.db import Money, Percent, UTCDateTime, utcnow
from app.extensions import db
from app.ratecards.models import RateCard


class ProposalStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"
    SIGNED = "signed"
    DECLINED = "declined"
    #: the offer's expiry date passed before the buyer signed
    EXPIRED = "expired"

    @property
    def label(self) -> str:
        return self.value.capitalize()


#: Statuses in which the rep may still change the proposal.
EDITABLE = {ProposalStatus.DRAFT.value, ProposalStatus.REJECTED.value}


class Proposal(db.Model):
    __tablename__ = "proposals"
    __table_args__ = (
        sa.UniqueConstraint("number"),
        sa.CheckConstraint("end_day >= start_day", name="flight_order"),
        sa.CheckConstraint("discount_pct >= 0 AND discount_pct <= 100", name="discount_range"),
        sa.Index("ix_proposals_owner_status", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: P-2026-0001: what people say on the phone
    number: Mapped[str] = mapped_column(sa.String(20))
    advertiser_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    buyer_contact_id: Mapped[int | None] = mapped_column(sa.ForeignKey("contacts.id"))
    campaign_name: Mapped[str] = mapped_column(sa.String(200))
    rate_card_id: Mapped[int] = mapped_column(sa.ForeignKey("rate_cards.id"))
    #: the rate card's: every line is priced in it
    currency: Mapped[str] = mapped_column(sa.String(3))
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: the default flight of new lines
    start_day: Mapped[date]
    end_day: Mapped[date]
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    budget_goal: Mapped[Decimal | None] = mapped_column(Money)
    #: the proposal discount, applied to every line after the advertiser's
    discount_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal("0"))
    #: internal notes, for the publisher's people only: never on the PDF nor shown to the buyer
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    #: notes for the buyer, printed on the PDF above the terms
    buyer_notes: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    terms: Mapped[str] = mapped_column(sa.Text, default="")
    expires_on: Mapped[date | None]
    status: Mapped[str] = mapped_column(sa.String(20), default=ProposalStatus.DRAFT.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(default=1)

    advertiser: Mapped[Account] = relationship(foreign_keys=[advertiser_id], lazy="joined")
    agency: Mapped[Account | None] = relationship(foreign_keys=[agency_id], lazy="joined")
    buyer_contact: Mapped[Contact | None] = relationship()
    rate_card: Mapped[RateCard] = relationship()
    owner: Mapped[User] = relationship(lazy="joined")
    lines: Mapped[list[ProposalLine]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="ProposalLine.position"
    )
    versions: Mapped[list[ProposalVersion]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="ProposalVersion.number"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_editable(self) -> bool:
        return self.status in EDITABLE and self.deleted_at is None

    @property
    def status_enum(self) -> ProposalStatus:
        return ProposalStatus(self.status)

    @property
    def name(self) -> str:
        return f"{self.number} {self.campaign_name}"


class LineTerms:
    """The terms a proposal line and the order line it becomes share: the product, its targeting and
    flight, the quantity and the price. Each table keeps its own columns (the schema is unchanged)."""

    @declared_attr
    def product_id(cls) -> Mapped[int]:
        return mapped_column(sa.ForeignKey("products.id"))

    pricing_model: Mapped[str] = mapped_column(sa.String(10))
    #: customised targeting: dimension key -> value codes
    targeting: Mapped[dict[str, list[str]]] = mapped_column(sa.JSON, default=dict)
    start_day: Mapped[date]
    end_day: Mapped[date]
    time_zone: Mapped[str] = mapped_column(sa.String(64))
    #: impressions (CPM; for CPD and flat the expected impressions); on a proposal line None when a
    #: budget is given
    quantity: Mapped[int | None] = mapped_column(sa.BigInteger)
    net_rate: Mapped[Decimal | None] = mapped_column(Money)
    gross: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    commission: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    net: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))

    @declared_attr
    def product(cls) -> Mapped[Product]:
        return relationship(lazy="joined")


class ProposalLine(LineTerms, db.Model):
    __tablename__ = "proposal_lines"
    __table_args__ = (
        sa.CheckConstraint("end_day >= start_day", name="flight_order"),
        sa.CheckConstraint("discount_pct >= 0 AND discount_pct <= 100", name="discount_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    position: Mapped[int]
    budget: Mapped[Decimal | None] = mapped_column(Money)
    discount_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal("0"))
    #: the pricing service's snapshot: every step and the card values used (None: not priceable)
    price: Mapped[dict | None] = mapped_column(sa.JSON)
    #: why the line cannot be priced, or what needs attention (below floor, not enough inventory)
    problems: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    units: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: impressions still available to the line when it was last priced
    available: Mapped[int | None] = mapped_column(sa.BigInteger)
    hold_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reservations.id"))
    #: the order line this line became when signed; a change order edits that line
    order_line_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id", use_alter=True))
    #: a free line that makes good an under-delivered order line
    make_good_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("order_lines.id", use_alter=True))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="lines")


class ProposalVersion(db.Model):
    """An immutable snapshot of a proposal, made at each submission; its PDF is kept with its hash."""

    __tablename__ = "proposal_versions"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    number: Mapped[int]
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    pdf_sha256: Mapped[str | None] = mapped_column(sa.String(64))

    proposal: Mapped[Proposal] = relationship(back_populates="versions")
    created_by: Mapped[User | None] = relationship()
