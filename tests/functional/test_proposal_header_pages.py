"""The proposal header's pages: the draft PDF (marked DRAFT, no version, nothing written), the
flight check under the dates, and the buyer list that follows the advertiser and agency."""

from __future__ import annotations

import io
import re

import pypdf
import sqlalchemy as sa

from app.accounts.models import Account, Contact
from app.audit.models import AuditEvent
from app.extensions import db
from app.proposals.models import ProposalVersion
from app.ratecards.models import RateCard
from tests.functional.test_proposal_pages import header, ids


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text().split()) for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def rows(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(ProposalVersion)),
            db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)),
        )


def test_a_rep_downloads_the_draft_as_a_pdf_marked_draft_and_no_version_is_made(app, client, auth):
    auth.login_as("sales_rep")
    v = ids(app)
    notes = {"buyer_notes": "Creative by 20 January.", "notes": "They will go to 10 % if pushed."}
    response = client.post("/proposals/new", data=header(v, budget_goal="5000", **notes))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    proposal_id = int(response.location.rsplit("/", 1)[1])
    client.post(f"/proposals/{proposal_id}/lines", data={"product": v["sport"], "quantity": "500,000"})
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert re.search(rf'href="/proposals/{proposal_id}/draft.pdf"[^>]*>Download draft PDF<', page)

    before = rows(app)
    download = client.get(f"/proposals/{proposal_id}/draft.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert "-draft.pdf" in download.headers["Content-Disposition"]
    assert download.headers["Cache-Control"] == "private, no-store"
    text = text_of(download.data)
    assert "DRAFT" in text and "Draft — not for signature" in text and "Sport Display" in text
    assert "£4,200.00" in text and "Creative by 20 January." in text
    assert "if pushed" not in text and "budget goal" not in text.lower() and "Signature" not in text
    assert rows(app) == before  # no version made, nothing recorded: a GET never writes


def test_the_draft_pdf_needs_a_signed_in_reader(app, client, auth):
    auth.login_as("sales_rep")
    response = client.post("/proposals/new", data=header(ids(app)))
    proposal_id = int(response.location.rsplit("/", 1)[1])
    auth.logout()
    response = client.get(f"/proposals/{proposal_id}/draft.pdf")
    assert response.status_code == 302 and "/login" in response.location


def test_the_flight_check_names_both_cards_when_the_flight_crosses_the_year_end(app, client, auth):
    auth.login_as("sales_rep")
    v = ids(app)
    year = v["year"] - 1  # this year: its card ends on 31 Dec and next year's card starts on 1 Jan
    with app.app_context():
        v["card"] = db.session.scalar(sa.select(RateCard.id).where(RateCard.name == f"Standard {year}"))
    spanning = client.get(
        "/proposals/flight-check",
        query_string={"rate_card_id": v["card"], "start_day": f"{year}-12-14", "end_day": f"{year + 1}-01-10"},
    ).get_data(as_text=True)
    assert "spans more than one rate card" in spanning
    assert f"Standard {year} covers 14 Dec {year} to 31 Dec {year}" in spanning
    assert f"Standard {year + 1} covers 1 Jan {year + 1} to 10 Jan {year + 1}" in spanning
    assert f"end the flight by 31 Dec {year}" in spanning
    fits = client.get(
        "/proposals/flight-check",
        query_string={"rate_card_id": v["card"], "start_day": f"{year}-12-14", "end_day": f"{year}-12-31"},
    ).get_data(as_text=True)
    assert 'data-testid="flight-check"' not in fits
    # the same message on save, on its field
    response = client.post("/proposals/new", data=header(v, start_day=f"{year}-12-14", end_day=f"{year + 1}-01-10"))
    assert response.status_code == 400 and "spans more than one rate card" in response.get_data(as_text=True)
    # hostile input answers with nothing to say, never a 500
    for hostile in (
        {"rate_card_id": "x", "start_day": "2026-13-40"},
        {"start_day": "9999-12-31", "end_day": "0001-01-01"},
    ):
        assert client.get("/proposals/flight-check", query_string=hostile).status_code == 200


def test_the_buyer_list_offers_only_the_advertisers_and_the_agencys_contacts(app, client, auth):
    auth.login_as("sales_rep")
    with app.app_context():
        with_contacts = db.session.scalars(
            sa.select(Account).where(Account.id.in_(sa.select(Contact.account_id))).order_by(Account.name)
        ).all()
        advertiser = next(a for a in with_contacts if a.kind == "advertiser")
        agency = next(a for a in with_contacts if a.kind == "agency")
        advertiser_contacts = {c.name for c in advertiser.contacts}
        own = advertiser_contacts | {c.name for c in agency.contacts}
        others = set(
            db.session.scalars(sa.select(Contact.name).where(Contact.account_id.not_in([advertiser.id, agency.id])))
        )
        ids_ = advertiser.id, agency.id
    html = client.get(
        "/proposals/buyer-choices", query_string={"advertiser_id": ids_[0], "agency_id": ids_[1]}
    ).get_data(as_text=True)
    offered = set(re.findall(r'<option value="\d+">(.+?) \(', html))
    assert offered == own and not offered & (others - own)
    assert re.findall(r"<option", client.get("/proposals/buyer-choices").get_data(as_text=True)) == ["<option"]
    # the new form opened from an advertiser offers its contacts (no agency chosen yet)
    form = client.get(f"/proposals/new?advertiser={ids_[0]}").get_data(as_text=True)
    buyers = form.split('id="buyer_contact_id"')[1].split("</select>")[0]
    assert set(re.findall(r'<option value="\d+">(.+?) \(', buyers)) == advertiser_contacts
