"""Approval rules configured by admins, and the approval requests they raise on each version."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.db import UTCDateTime, utcnow
from app.extensions import db
from app.proposals.models import Proposal, ProposalVersion


class RuleKind(StrEnum):
    WARNING = "warning"
    BLOCK = "block"
    APPROVAL = "approval"

    @property
    def label(self) -> str:
        return {
            "warning": "Warning the rep acknowledges",
            "block": "Block submission",
            "approval": "Needs approval",
        }[self.value]


class RequestStatus(StrEnum):
    WAITING = "waiting"  # a later step: not yet anyone's turn
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SKIPPED = "skipped"  # not needed: the step was decided without it, or the approver is the rep
    CANCELLED = "cancelled"  # the version was rejected or withdrawn

    @property
    def label(self) -> str:
        return self.value.capitalize()


class ApprovalRule(db.Model):
    __tablename__ = "approval_rules"
    __table_args__ = (sa.UniqueConstraint("name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: [{"field": "total_net", "op": ">", "value": "50000"}, ...]
    conditions: Mapped[list[dict]] = mapped_column(sa.JSON, default=list)
    #: "all" (and) or "any" (or)
    combinator: Mapped[str] = mapped_column(sa.String(3), default="all")
    #: approval rules: the step they put their request in, and who approves
    step: Mapped[int | None]
    approver_role: Mapped[str | None] = mapped_column(sa.String(20))
    approver_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: inside a step: "all" of its approvers must approve, or "any" one of them
    step_mode: Mapped[str] = mapped_column(sa.String(3), default="all")
    #: what a warning or block says to the rep
    message: Mapped[str] = mapped_column(sa.String(300), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    approver_user: Mapped[User | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def kind_enum(self) -> RuleKind:
        return RuleKind(self.kind)


class ApprovalRequest(db.Model):
    __tablename__ = "approval_requests"
    __table_args__ = (sa.Index("ix_approval_requests_status_role", "status", "approver_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("proposal_versions.id"), index=True)
    step: Mapped[int]
    rule_id: Mapped[int | None] = mapped_column(sa.ForeignKey("approval_rules.id"))
    #: the rule's name and step mode when the request was made (a later edit of the rule changes nothing)
    rule_name: Mapped[str] = mapped_column(sa.String(200))
    step_mode: Mapped[str] = mapped_column(sa.String(3), default="all")
    approver_role: Mapped[str | None] = mapped_column(sa.String(20))
    approver_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: why the request was made, in words
    reasons: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(20))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: when it became someone's turn (reminders count from here)
    pending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship(lazy="joined")
    version: Mapped[ProposalVersion] = relationship()
    approver_user: Mapped[User | None] = relationship(foreign_keys=[approver_user_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def status_enum(self) -> RequestStatus:
        return RequestStatus(self.status)


class SigningLink(db.Model):
    """A link that lets the buyer sign one version, with no account: only its hash is stored."""

    __tablename__ = "signing_links"
    __table_args__ = (sa.UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("proposal_versions.id"))
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    sent_to: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a newer version was sent, or the proposal went back to draft
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    proposal: Mapped[Proposal] = relationship()
    version: Mapped[ProposalVersion] = relationship()


class Signature(db.Model):
    """The buyer's answer and its evidence."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id"), index=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("proposal_versions.id"))
    link_id: Mapped[int | None] = mapped_column(sa.ForeignKey("signing_links.id"))
    accepted: Mapped[bool]
    name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    address: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(500), default="")
    #: the SHA-256 of the version's PDF the buyer saw
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64), default="")
    #: a countersigned insertion order the rep uploaded instead of the link (with its SHA-256)
    io_pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    io_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    version: Mapped[ProposalVersion] = relationship()
