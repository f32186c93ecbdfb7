"""A proposal of 500 lines (the most it may have), on SQLite and PostgreSQL: its page holds no line
form and stays under 1 MB, and saving one of its lines answers with that line alone, the approval
rules evaluated once for each."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.proposals.lines import MAX_LINES
from app.proposals.models import ProposalLine
from tests.functional.test_builder_at_scale import FORM, HX, ROW, count_plans, proposal_with_lines, save_form


def test_a_500_line_proposals_page_is_under_a_megabyte_and_a_save_answers_with_one_line(app, client, auth, monkeypatch):
    auth.login_as("sales_rep")
    proposal_id, line_ids = proposal_with_lines(app, client, MAX_LINES)
    plans = count_plans(monkeypatch)
    response = client.get(f"/proposals/{proposal_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count(ROW) == MAX_LINES and FORM not in html
    assert len(response.data) < 1_000_000, len(response.data)
    line_id = line_ids[MAX_LINES // 2]
    response = client.post(f"/proposals/{proposal_id}/lines/{line_id}", data=save_form(app, line_id), headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.count(ROW) == 1 and f'id="line-{line_id}"' in html
    assert 'data-testid="total-gross">£2,100,840.00<' in html  # 499 x 4,200.00 + 600 x 8.40
    assert len(plans) == 2  # once for the page, once for the save
    with app.app_context():
        count = sa.select(sa.func.count()).where(ProposalLine.proposal_id == proposal_id)
        assert db.session.scalar(count) == MAX_LINES
        assert db.session.get(ProposalLine, line_id).quantity == 600_000
