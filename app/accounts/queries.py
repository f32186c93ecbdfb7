"""Read-side queries for the account screens."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.accounts.models import Account, AccountKind, Contact, CreditStatus
from app.audit.models import AuditEvent
from app.auth.models import User
from app.extensions import db
from app.validation import page_number, parse_id

SORTS = {
    "name": (sa.func.lower(Account.name),),
    "kind": (Account.kind, sa.func.lower(Account.name)),
    "owner": (sa.func.lower(User.name), sa.func.lower(Account.name)),
    "currency": (Account.currency, sa.func.lower(Account.name)),
    "credit": (Account.credit_status, sa.func.lower(Account.name)),
    "updated": (Account.updated_at,),
}


@dataclass
class AccountFilters:
    search: str = ""
    kind: str = ""
    credit: str = ""
    owner_id: int | None = None
    sort: str = "name"
    descending: bool = False
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> AccountFilters:
        """Read filters from a query string, ignoring anything malformed rather than failing."""
        sort = args.get("sort", "name")
        descending = sort.startswith("-")
        sort = sort.lstrip("-")
        owner = args.get("owner", "")
        return cls(
            search=args.get("q", "").strip()[:100],
            kind=args.get("kind", "") if args.get("kind") in {k.value for k in AccountKind} else "",
            credit=args.get("credit", "") if args.get("credit") in {c.value for c in CreditStatus} else "",
            owner_id=parse_id(owner),
            sort=sort if sort in SORTS else "name",
            descending=descending,
            page=page_number(args),
        )

    def args(self, **changes) -> dict[str, str]:
        """Query-string arguments for a link that keeps these filters but `changes`."""
        values = {
            "q": self.search,
            "kind": self.kind,
            "credit": self.credit,
            "owner": str(self.owner_id or ""),
            "sort": ("-" if self.descending else "") + self.sort,
            "page": str(self.page),
        }
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}

    def sort_link(self, column: str) -> dict[str, str]:
        descending = column == self.sort and not self.descending
        return self.args(sort=("-" if descending else "") + column, page=1)


def accounts_query(filters: AccountFilters) -> sa.Select:
    query = sa.select(Account).join(User, Account.owner_id == User.id)
    if filters.search:
        like = f"%{filters.search.lower()}%"
        query = query.where(
            sa.or_(
                sa.func.lower(Account.name).like(like),
                Account.id.in_(
                    sa.select(Contact.account_id).where(
                        sa.or_(sa.func.lower(Contact.name).like(like), sa.func.lower(Contact.email).like(like))
                    )
                ),
            )
        )
    if filters.kind:
        query = query.where(Account.kind == filters.kind)
    if filters.credit:
        query = query.where(Account.credit_status == filters.credit)
    if filters.owner_id:
        query = query.where(Account.owner_id == filters.owner_id)
    order = [c.desc() if filters.descending else c.asc() for c in SORTS[filters.sort]]
    return query.order_by(*order, Account.id)


def accounts_owned_by(user_id: int, *, limit: int) -> tuple[list[Account], int]:
    """The owner's most recently changed accounts (at most `limit`) and how many they own in all."""
    owned = Account.owner_id == user_id
    total = db.session.scalar(sa.select(sa.func.count(Account.id)).where(owned)) or 0
    accounts = db.session.scalars(
        sa.select(Account)
        .options(selectinload(Account.contacts))
        .where(owned)
        .order_by(Account.updated_at.desc(), sa.func.lower(Account.name))
        .limit(limit)
    )
    return list(accounts), total


def account_choices(kind: AccountKind) -> list[sa.Row]:
    """(id, name) of every advertiser (or agency), by name: the choices of a form's account list. A
    publisher has thousands of advertisers, and these lists are offered on every request of a page."""
    return list(
        db.session.execute(sa.select(Account.id, Account.name).where(Account.kind == kind.value).order_by(Account.name))
    )


def accounts_on_credit_hold() -> list[Account]:
    return list(
        db.session.scalars(
            sa.select(Account)
            .where(Account.credit_status == CreditStatus.ON_HOLD.value)
            .order_by(sa.func.lower(Account.name))
        )
    )


def account_counts_by_owner() -> list[tuple[User, int, int]]:
    """(owner, advertisers, agencies) for every owner of at least one account."""
    rows = db.session.execute(
        sa.select(
            User,
            sa.func.sum(sa.case((Account.kind == AccountKind.ADVERTISER.value, 1), else_=0)),
            sa.func.sum(sa.case((Account.kind == AccountKind.AGENCY.value, 1), else_=0)),
        )
        .join(Account, Account.owner_id == User.id)
        .group_by(User.id)
        .order_by(User.name)
    )
    return [(user, int(adv), int(ag)) for user, adv, ag in rows]


def recent_history(account_id: int, *, limit: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == "account", AuditEvent.entity_id == account_id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
    )
