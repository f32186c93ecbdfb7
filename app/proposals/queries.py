"""Reads for the proposal pages: the list, the header form's choices, the builder's products and
packages, and what is shown beside a proposal."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from app.accounts.models import Account, Contact
from app.auth.models import User
from app.catalog.models import Package, Product, Status
from app.extensions import db
from app.mail.models import OutboxMessage
from app.pricing.service import usable_card
from app.proposals.access import READERS
from app.proposals.models import Proposal, ProposalStatus
from app.ratecards.models import BaseRate, RateCard
from app.roles import Role


def proposal_list(user: User, *, search: str, status: str, advertiser: int | None) -> sa.Select:
    """The proposals the user reads (all of them for managers, admins, ad ops and finance; a rep's
    own), newest change first, matching the search (campaign, number or advertiser), status and
    advertiser."""
    query = sa.select(Proposal).where(Proposal.deleted_at.is_(None))
    if not user.has_role(*READERS):
        query = query.where(Proposal.owner_id == user.id)
    if search:
        like = f"%{search.lower()}%"
        query = query.join(Account, Account.id == Proposal.advertiser_id).where(
            sa.or_(
                sa.func.lower(Proposal.campaign_name).like(like),
                sa.func.lower(Proposal.number).like(like),
                sa.func.lower(Account.name).like(like),
            )
        )
    if status in ProposalStatus._value2member_map_:
        query = query.where(Proposal.status == status)
    if advertiser:
        query = query.where(Proposal.advertiser_id == advertiser)
    return query.order_by(Proposal.updated_at.desc(), Proposal.id.desc())


def contact_choices(advertiser_id: int | None, agency_id: int | None) -> list[tuple[int, str, str]]:
    """The contacts of the advertiser and of the agency (the buyer is one of them) as (id, name,
    account's name), by account and name; none before an advertiser or agency is chosen."""
    accounts = [a for a in (advertiser_id, agency_id) if a]
    if not accounts:
        return []
    return db.session.execute(
        sa.select(Contact.id, Contact.name, Account.name)
        .join(Contact.account)
        .where(Contact.account_id.in_(accounts))
        .order_by(Account.name, Contact.name)
    ).all()


def usable_cards(user: User, today: date) -> list[RateCard]:
    """Active rate cards still valid that the user may price with, oldest first."""
    return [
        c
        for c in db.session.scalars(
            sa.select(RateCard).where(RateCard.valid_to >= today).order_by(RateCard.valid_from, RateCard.name)
        )
        if usable_card(c, user) and c.status == Status.ACTIVE.value
    ]


def possible_owners() -> list[User]:
    """Active sales reps and managers, by name."""
    owners = db.session.scalars(sa.select(User).where(User.active.is_(True)).order_by(User.name)).all()
    return [u for u in owners if u.has_role(Role.SALES_REP, Role.SALES_MANAGER)]


def products_for(proposal: Proposal) -> list[Product]:
    """Active products with a rate on the proposal's card, by name (for the line forms' choices: without
    their ad units, which the forms do not show)."""
    rated = sa.select(BaseRate.product_id).where(BaseRate.card_id == proposal.rate_card_id)
    chosen = (
        sa.select(Product)
        .where(Product.status == Status.ACTIVE.value, Product.id.in_(rated))
        .order_by(Product.name)
        .options(sa.orm.lazyload(Product.ad_unit_links))
    )
    return list(db.session.scalars(chosen))


def active_packages() -> list[Package]:
    return db.session.scalars(
        sa.select(Package).where(Package.status == Status.ACTIVE.value).order_by(Package.name)
    ).all()


def mails_about(proposal: Proposal) -> list[OutboxMessage]:
    """The last 50 e-mails sent about the proposal, newest first."""
    return db.session.scalars(
        sa.select(OutboxMessage)
        .where(OutboxMessage.related_type == "proposal", OutboxMessage.related_id == proposal.id)
        .order_by(OutboxMessage.id.desc())
        .limit(50)
    ).all()


def contacts_of(proposal: Proposal) -> list[Contact]:
    """The contacts of the proposal's advertiser and agency, by name."""
    return db.session.scalars(
        sa.select(Contact)
        .where(Contact.account_id.in_([a for a in (proposal.advertiser_id, proposal.agency_id) if a]))
        .order_by(Contact.name)
    ).all()
