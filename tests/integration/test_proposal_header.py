"""A new proposal's header: defaults that work together at the year end, a flight that spans two
cards refused with the message the form shows, the buyer from the advertiser's or agency's
contacts only, and notes for the buyer kept apart from internal notes (and the migration that
split them)."""

from __future__ import annotations

from datetime import date

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import current_app

from app.accounts.models import Account, Contact
from app.errors import ValidationFailed
from app.extensions import current_clock, db
from app.proposals import lines, service, versions
from app.proposals.models import Proposal
from app.ratecards.models import RateCard
from tests.conftest import now
from tests.integration.test_proposals import line_data, new_proposal, rep

#: the migration that added notes for the buyer
REVISION = "d4b7c1e9a3f6"


def card(name: str) -> RateCard:
    return db.session.scalar(sa.select(RateCard).where(RateCard.name == name))


def account(name: str) -> Account:
    return db.session.scalar(sa.select(Account).where(Account.name == name))


def test_at_the_year_end_the_default_card_prices_the_default_flight_and_the_first_line_is_accepted(ctx):
    year = current_clock().today().year  # the demo's cards: Standard <year>, Agency <year>, Standard <year + 1>
    today = date(year, 12, 7)
    defaults = service.header_defaults(actor=rep(), today=today)
    chosen = db.session.get(RateCard, defaults.rate_card_id)
    assert chosen.name in (f"Standard {year}", f"Standard {year + 1}")
    assert chosen.valid_from <= defaults.start_day and defaults.end_day <= chosen.valid_to
    assert defaults.start_day == date(year, 12, 7 + 7 - today.weekday()) or chosen.valid_from == defaults.start_day
    proposal = service.create_proposal(
        service.ProposalData(
            advertiser_id=account("Halden Auto Group").id,
            campaign_name="Year end",
            rate_card_id=defaults.rate_card_id,
            owner_id=rep().id,
            start_day=defaults.start_day,
            end_day=defaults.end_day,
            time_zone="Europe/London",
            expires_on=defaults.expires_on,
        ),
        actor=rep(),
        now=now(),
        today=today,
    )
    line = lines.add_line(proposal, line_data(proposal), actor=rep(), today=today, now=now(), margin_pct=10)
    assert line.price is not None and not [p for p in line.problems if "outside" in p]


def test_a_flight_across_two_cards_is_refused_on_save_with_the_message_the_form_shows(ctx):
    year = current_clock().today().year + 1
    start, end = date(year - 1, 12, 14), date(year, 1, 10)
    with pytest.raises(ValidationFailed) as failure:
        new_proposal(rate_card_id=card(f"Standard {year - 1}").id, start_day=start, end_day=end)
    shown = service.flight_check(card(f"Standard {year - 1}"), start, end, actor=rep(), today=current_clock().today())
    assert failure.value.errors["end_day"] == [shown]
    assert f"Standard {year - 1} covers" in shown and f"Standard {year} covers 1 Jan {year}" in shown
    # a flight before the card starts is refused too (it used to pass the header and fail each line)
    with pytest.raises(ValidationFailed) as failure:
        new_proposal(start_day=date(year - 1, 12, 20), end_day=date(year, 1, 10))
    assert "spans more than one rate card" in failure.value.errors["start_day"][0]


def test_the_buyer_is_a_contact_of_the_advertiser_or_the_agency_and_no_other(ctx):
    halden = account("Halden Auto Group")
    other = db.session.scalar(sa.select(Contact).where(Contact.account_id != halden.id))
    with pytest.raises(ValidationFailed) as failure:
        new_proposal(buyer_contact_id=other.id)
    assert failure.value.errors == {"buyer_contact_id": ["The buyer is a contact of the advertiser or of the agency."]}
    own = db.session.scalar(sa.select(Contact).where(Contact.account_id == halden.id))
    if own is not None:
        assert new_proposal(buyer_contact_id=own.id).buyer_contact_id == own.id


def test_notes_for_the_buyer_and_internal_notes_are_kept_apart_and_both_go_into_the_version(ctx):
    proposal = new_proposal(buyer_notes="Creative by 20 January.", notes="They will go to 10 % if pushed.")
    assert (proposal.buyer_notes, proposal.notes) == ("Creative by 20 January.", "They will go to 10 % if pushed.")
    frozen = versions.snapshot(proposal, number=1, now=now())
    assert (frozen.buyer_notes, frozen.notes) == ("Creative by 20 January.", "They will go to 10 % if pushed.")


def test_the_migration_keeps_existing_notes_as_internal_notes_and_gives_no_notes_for_the_buyer(app):
    with app.app_context():
        proposal_id = new_proposal(notes="Internal: credit check pending.").id
        db.session.commit()
        config = current_app.extensions["migrate"].migrate.get_config()
        from alembic.script import ScriptDirectory  # only this test needs Alembic's script reader

        before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
        db.session.remove()  # no open transaction of ours may hold a lock the migration waits for
        flask_migrate.downgrade(revision=before)
        assert "buyer_notes" not in {c["name"] for c in sa.inspect(db.engine).get_columns("proposals")}
        flask_migrate.upgrade()
        db.session.remove()
        proposal = db.session.get(Proposal, proposal_id)
        assert (proposal.notes, proposal.buyer_notes) == ("Internal: credit check pending.", "")
