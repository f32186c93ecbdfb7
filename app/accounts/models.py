"""Advertisers and agencies (together: accounts) and their buyer contacts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import Percent, UTCDateTime, utcnow
from app.extensions import db


class AccountKind(StrEnum):
    ADVERTISER = "advertiser"
    AGENCY = "agency"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class CreditStatus(StrEnum):
    OK = "ok"
    ON_HOLD = "on_hold"

    @property
    def label(self) -> str:
        return {"ok": "OK", "on_hold": "On hold"}[self.value]


class Account(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        sa.CheckConstraint("agency_commission_pct >= 0 AND agency_commission_pct <= 100", name="commission_range"),
        sa.CheckConstraint("discount_pct >= 0 AND discount_pct <= 100", name="discount_range"),
        sa.Index("ix_accounts_kind_name", "kind", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Street lines, city and postcode, as printed on an invoice.
    billing_address: Mapped[str] = mapped_column(sa.Text, default="")
    #: ISO 3166-1 alpha-2.
    billing_country: Mapped[str] = mapped_column(sa.String(2), default="")
    #: ISO 4217; proposals for this account default to it.
    currency: Mapped[str] = mapped_column(sa.String(3))
    #: Percentage of gross kept by an agency (0 for advertisers).
    agency_commission_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal("0"))
    #: The advertiser's negotiated discount off the list rate: the first discount of the price waterfall.
    discount_pct: Mapped[Decimal] = mapped_column(Percent, default=Decimal("0"), server_default="0")
    credit_status: Mapped[str] = mapped_column(sa.String(20), default=CreditStatus.OK.value)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Optimistic lock: an edit made from a stale page is refused, not silently applied.
    version: Mapped[int] = mapped_column(default=1)

    owner: Mapped[User] = relationship(lazy="joined")
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="Contact.name"
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def kind_enum(self) -> AccountKind:
        return AccountKind(self.kind)

    @property
    def credit(self) -> CreditStatus:
        return CreditStatus(self.credit_status)

    @property
    def on_credit_hold(self) -> bool:
        return self.credit_status == CreditStatus.ON_HOLD.value

    def __repr__(self) -> str:
        return f"<Account {self.id} {self.kind} {self.name!r}>"


class Contact(db.Model):
    """A buyer at an advertiser or agency: proposals are sent to and signed by contacts."""

    __tablename__ = "contacts"
    #: one contact per e-mail in an account; e-mails are stored case-folded (`normalise_email`)
    __table_args__ = (sa.UniqueConstraint("account_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    email: Mapped[str] = mapped_column(sa.String(254))
    title: Mapped[str] = mapped_column(sa.String(120), default="")
    phone: Mapped[str] = mapped_column(sa.String(40), default="")

    account: Mapped[Account] = relationship(back_populates="contacts")
