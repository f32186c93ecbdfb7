"""The builder at scale (issue 17): the page holds no line form (each loads when opened), saving or
holding a line answers with that line alone and the totals out of band, and the approval rules are
evaluated once per answer. The 500-line proposal, on both databases, is in
tests/integration/test_builder_at_scale.py."""

from __future__ import annotations

import re

from app.extensions import db
from app.proposals import registry
from app.proposals.lines import COPIED_COLUMNS
from app.proposals.models import Proposal, ProposalLine
from tests.functional.test_proposal_pages import create, ids

HX = {"HX-Request": "true"}
ROW = 'data-testid="line"'
FORM = 'data-testid="line-form"'


def proposal_with_lines(app, client, count: int) -> tuple[int, list[int]]:
    """A new proposal with `count` priced lines (the first added through the builder, the others its
    copies stored directly: quicker than pricing each)."""
    proposal_id = create(app, client)
    v = ids(app)
    assert (
        client.post(f"/proposals/{proposal_id}/lines", data={"product": v["sport"], "quantity": "500000"}).status_code
        == 200
    )
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        first = proposal.lines[0]
        for n in range(1, count):
            proposal.lines.append(
                ProposalLine(
                    position=n + 1, updated_at=first.updated_at, **{c: getattr(first, c) for c in COPIED_COLUMNS}
                )
            )
        db.session.commit()
        return proposal_id, [line.id for line in proposal.lines]


def seen(app, line_id: int) -> str:
    with app.app_context():
        return db.session.get(ProposalLine, line_id).updated_at.isoformat()


def save_form(app, line_id: int, **changes) -> dict:
    v = ids(app)
    return {"product": v["sport"], "pricing_model": "cpm", "quantity": "600000", "seen": seen(app, line_id)} | changes


def count_plans(monkeypatch) -> list[int]:
    """How many times the approval rules were evaluated (workflow's builder panel)."""
    calls = []
    provider = registry.builder_panels["workflow"]

    def counted(*args, **kwargs):
        calls.append(1)
        return provider(*args, **kwargs)

    monkeypatch.setitem(registry.builder_panels, "workflow", counted)
    return calls


def test_the_page_holds_no_line_form_and_each_opens_on_its_own(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id, line_ids = proposal_with_lines(app, client, 3)
    html = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    assert html.count(ROW) == 3 and FORM not in html
    # each line's "Edit line N" says it is closed, and where its form comes from
    for n, line_id in enumerate(line_ids, start=1):
        control = re.search(
            rf'<button[^>]*data-line-edit="[^"]*/lines/{line_id}/form"[^>]*>Edit line {n}</button>', html
        )
        assert control and 'aria-expanded="false"' in control.group(0), n
    # the form, fetched when opened: its fields, what it saw, its preview
    response = client.get(f"/proposals/{proposal_id}/lines/{line_ids[1]}/form")
    form = response.get_data(as_text=True)
    assert response.status_code == 200 and form.count(FORM) == 1
    assert f'id="l{line_ids[1]}-quantity"' in form and f'name="seen" value="{seen(app, line_ids[1])}"' in form
    assert f"/lines/{line_ids[1]}/preview" in form
    # without JavaScript, "Edit line 2" opens the page with that line's form open, and only that one
    page = client.get(f"/proposals/{proposal_id}?edit={line_ids[1]}").get_data(as_text=True)
    assert page.count(FORM) == 1 and f'id="line-form-{line_ids[1]}"' in page
    assert re.search(rf'aria-expanded="true" aria-controls="line-edit-{line_ids[1]}"', page)


def test_a_lines_form_is_only_for_those_who_may_edit_it(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id, line_ids = proposal_with_lines(app, client, 1)
    auth.logout()
    auth.login_as("finance")
    assert client.get(f"/proposals/{proposal_id}/lines/{line_ids[0]}/form").status_code == 403


def test_saving_a_line_answers_with_that_line_and_the_totals_not_the_builder(app, client, auth, monkeypatch):
    auth.login_as("sales_rep")
    proposal_id, line_ids = proposal_with_lines(app, client, 5)
    plans = count_plans(monkeypatch)
    line_id = line_ids[2]
    response = client.post(f"/proposals/{proposal_id}/lines/{line_id}", data=save_form(app, line_id), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count(ROW) == 1 and f'id="line-{line_id}"' in html and 'id="builder"' not in html
    assert response.headers["HX-Retarget"] == f"#line-{line_id}"
    assert 'data-testid="line-rate">£8.40<' in html and html.count(FORM) == 1  # it stays open, saved
    # out of band: the totals (4 x 4,200.00 + 600 x 8.40), what submitting needs, the messages, the state
    totals = re.search(r'<div[^>]*id="totals"[^>]*>', html).group(0)
    assert 'hx-swap-oob="true"' in totals and 'data-testid="total-gross">£21,840.00<' in html
    assert re.search(r'<div id="submit-area" hx-swap-oob="true">\s*<section id="submit"', html)
    assert '<div id="builder-messages" hx-swap-oob="true">' in html and 'id="proposal-state"' in html
    assert len(plans) == 1
    with app.app_context():
        assert db.session.get(ProposalLine, line_id).quantity == 600_000


def test_a_refused_save_answers_with_the_line_its_messages_and_what_was_typed(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id, line_ids = proposal_with_lines(app, client, 3)
    line_id = line_ids[1]
    form = save_form(app, line_id, quantity="900000", line_discount_pct="250", geo="london")
    response = client.post(f"/proposals/{proposal_id}/lines/{line_id}", data=form, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and html.count(ROW) == 1 and html.count(FORM) == 1
    assert re.search(rf'id="l{line_id}-discount" aria-invalid="true"', html)
    assert 'data-field-error="line_discount_pct"' in html
    assert re.search(rf'<input[^>]*id="l{line_id}-quantity"[^>]*value="900000"', html)
    assert re.search(r'<option value="london" selected>', html)
    # a stale form: the line as it is now, open, with the message out of band
    form = save_form(app, line_id, seen="2020-01-01T00:00:00+00:00")
    response = client.post(f"/proposals/{proposal_id}/lines/{line_id}", data=form, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and html.count(ROW) == 1 and "Someone else changed line 2" in html


def test_holding_a_line_answers_with_that_line_the_others_redraw_the_lines_without_forms(
    app, client, auth, monkeypatch
):
    auth.login_as("sales_rep")
    proposal_id, line_ids = proposal_with_lines(app, client, 3)
    plans = count_plans(monkeypatch)
    response = client.post(f"/proposals/{proposal_id}/lines/{line_ids[0]}/hold", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count(ROW) == 1 and 'data-testid="hold-badge"' in html
    assert response.headers["HX-Retarget"] == f"#line-{line_ids[0]}" and "Line 1 held until" in html
    assert len(plans) == 1
    for action, rows in (("copy", 4), ("down", 4), ("remove", 3)):
        response = client.post(f"/proposals/{proposal_id}/lines/{line_ids[1]}/{action}", headers=HX)
        html = response.get_data(as_text=True)
        assert response.status_code == 200 and html.count(ROW) == rows and FORM not in html, action
    assert len(plans) == 4  # once per answer
