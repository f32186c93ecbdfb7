"""Optimistic locking lives in the services, not only in the pages: every update says which
version it changes, and a missing one is refused like a stale one (the API that comes later
cannot forget it). Only a caller that genuinely has no version (a CSV import, the demo) says so
by name, with ANY_VERSION."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.accounts import service as accounts
from app.catalog import products
from app.db import ANY_VERSION
from app.errors import Conflict
from app.extensions import db
from app.proposals import service as proposals
from app.ratecards import service as ratecards
from app.workflow import approval_rules as workflow
from app.workflow.models import ApprovalRule
from tests.conftest import DEMO_USERS, now, user
from tests.integration.test_accounts import account_owned_by
from tests.integration.test_catalog import product
from tests.integration.test_proposals import new_proposal, rep, settings
from tests.integration.test_rate_cards import card_data, standard


def admin():
    return user(DEMO_USERS["admin"])


def updates():
    """(update(expected_version), what the update changes) for every versioned record."""
    account = account_owned_by(DEMO_USERS["sales_rep"])
    found = product("Sport Display")
    card = standard()
    rule = db.session.scalars(sa.select(ApprovalRule).order_by(ApprovalRule.id)).first()
    proposal = new_proposal()

    def account_update(version):
        data = accounts.AccountData(**{f: getattr(account, f) for f in accounts.FIELD_LABELS})
        data.notes = "Changed"
        accounts.update_account(account, data, expected_version=version, actor=admin(), now=now())

    def product_update(version):
        data = products.product_data(found)
        data.description = "Changed"
        products.update_product(found, data, expected_version=version, actor=admin(), now=now())

    def card_update(version):
        ratecards.update_card(
            card, card_data(card, description="Changed"), expected_version=version, actor=admin(), now=now()
        )

    def rule_update(version):
        data = workflow.RuleData(**{k: getattr(rule, k) for k in workflow.RULE_LABELS})
        data.message = "Changed"
        workflow.save_rule(rule, data, expected_version=version, actor=admin(), now=now())

    def proposal_update(version):
        data = proposals.ProposalData(**{k: getattr(proposal, k) for k in proposals.FIELD_LABELS})
        data.notes = "Changed"
        proposals.update_proposal(proposal, data, expected_version=version, actor=rep(), **settings())

    return [
        (account_update, account),
        (product_update, found),
        (card_update, card),
        (rule_update, rule),
        (proposal_update, proposal),
    ]


def test_an_update_without_a_version_is_refused_like_a_stale_one(ctx):
    for update, record in updates():
        before = record.version
        with pytest.raises(Conflict):
            update(None)
        assert record.version == before, type(record).__name__


def test_an_update_must_say_which_version_it_changes(ctx):
    for service_call in (
        accounts.update_account,
        products.update_product,
        ratecards.update_card,
        workflow.save_rule,
        proposals.update_proposal,
    ):
        with pytest.raises(TypeError, match="expected_version"):
            service_call(None, None, actor=None, now=None)


def test_an_update_at_the_current_version_or_any_version_by_name_goes_through(ctx):
    for update, record in updates():
        update(record.version)
        db.session.flush()
        update(ANY_VERSION)
