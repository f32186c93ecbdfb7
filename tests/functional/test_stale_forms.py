"""Optimistic locking cannot be bypassed: a form that carries a version (or a builder line's `seen`)
and arrives without it, or with a malformed one, is refused like a stale one and changes nothing."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from app.accounts.models import Account
from app.catalog.models import Product
from app.extensions import db
from app.proposals.models import Proposal
from app.ratecards.models import RateCard
from app.workflow.models import ApprovalRule


class _Forms(HTMLParser):
    """Every form of a page as the browser would send it: (action, [(name, value), ...])."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append((a.get("action") or "", []))
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            if a.get("type") not in ("submit", "button"):
                self.forms[-1][1].append((a["name"], a.get("value") or ""))
        elif tag == "select":
            self._select, self._options = a.get("name"), []
            self._multiple = "multiple" in a
        elif tag == "option" and self._select:
            # an option without a value sends its text (filled in by handle_data)
            self._options.append((a.get("value"), "selected" in a))
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.forms[-1][1].append((self._textarea, ""))

    def handle_data(self, data):
        if self._select and self._options and self._options[-1][0] is None:
            self._options[-1] = (data.strip(), self._options[-1][1])
        if self._textarea and self.forms:
            name, value = self.forms[-1][1].pop()
            self.forms[-1][1].append((name, value + data))

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select and self.forms:
            chosen = [v for v, selected in self._options if selected]
            if not chosen and self._options and not self._multiple:
                chosen = [self._options[0][0]]
            self.forms[-1][1].extend((self._select, v) for v in chosen)
            self._select = None


def form_with(client, url: str, field: str) -> tuple[str, list[tuple[str, str]]]:
    """The form on the page at `url` that carries `field`, with every value it would send."""
    parser = _Forms()
    parser.feed(client.get(url).get_data(as_text=True))
    matches = [(action, fields) for action, fields in parser.forms if any(name == field for name, _ in fields)]
    assert matches, f"no form with {field} on {url}"
    return matches[0]


def first_id(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(model.id).where(*where).order_by(model.id).limit(1))


def value_of(app, model, id_: int, column: str):
    with app.app_context():
        return getattr(db.session.get(model, id_), column)


# (role, page, model, what to change, version field)
FORMS = {
    "account": ("sales_manager", "/accounts/{id}/edit", Account, "notes", "version"),
    "product": ("admin", "/catalog/products/{id}/edit", Product, "description", "version"),
    "rate card": ("admin", "/rate-cards/{id}/edit", RateCard, "description", "version"),
    "approval rule": ("admin", "/workflow/rules/{id}/edit", ApprovalRule, "message", "version"),
    "proposal": ("sales_rep", "/proposals/{id}/edit", Proposal, "notes", "version"),
}


@pytest.mark.parametrize("kind", list(FORMS))
@pytest.mark.parametrize("sent", ["missing", "", "abc", "1.0", "-1", "99999999999999999999"])
def test_a_form_without_its_version_or_with_a_malformed_one_is_refused_as_a_conflict(app, client, auth, kind, sent):
    role, page, model, column, version = FORMS[kind]
    auth.login_as(role)
    id_ = first_id(app, model)
    before = value_of(app, model, id_, column)
    action, fields = form_with(client, page.format(id=id_), version)
    data = [(name, value) for name, value in fields if name not in (version, column)]
    data.append((column, "Overwritten without a version."))
    if sent != "missing":
        data.append((version, sent))
    response = client.post(action or page.format(id=id_), data=MultiDict(data))
    assert response.status_code == 409, response.get_data(as_text=True)[:2000]
    assert "Reload" in response.get_data(as_text=True)
    assert value_of(app, model, id_, column) == before


@pytest.mark.parametrize("kind", list(FORMS))
def test_the_same_form_with_its_version_saves(app, client, auth, kind):
    role, page, model, column, version = FORMS[kind]
    auth.login_as(role)
    id_ = first_id(app, model)
    action, fields = form_with(client, page.format(id=id_), version)
    data = [(name, value) for name, value in fields if name != column]
    data.append((column, "Saved with its version."))
    response = client.post(action or page.format(id=id_), data=MultiDict(data))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert value_of(app, model, id_, column) == "Saved with its version."


@pytest.mark.parametrize("sent", ["missing", "", "yesterday", "2020-01-01T00:00:00+00:00"])
def test_a_builder_line_saved_without_what_it_saw_or_with_a_malformed_one_is_refused(app, client, auth, sent):
    auth.login_as("sales_rep")
    with app.app_context():
        proposal = db.session.scalar(sa.select(Proposal).where(Proposal.campaign_name == "Summer drive"))
        line = proposal.lines[0]
        pid, lid, before = proposal.id, line.id, line.quantity
    action, fields = form_with(client, f"/proposals/{pid}?edit={lid}", "seen")  # the line's form open
    assert action.endswith(f"/lines/{lid}")
    data = [(name, value) for name, value in fields if name not in ("seen", "quantity", "budget")]
    data.append(("quantity", str(before + 1000)))
    if sent != "missing":
        data.append(("seen", sent))
    response = client.post(action, data=MultiDict(data), headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert "Someone else changed line" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Proposal, pid).lines[0].quantity == before


def test_two_saves_of_a_cards_feature_rules_from_pages_opened_at_one_version_the_second_is_a_conflict(
    app, client, auth
):
    from app.catalog.models import DimensionKey

    auth.login_as("admin")
    card = first_id(app, RateCard)
    geo, device = f"combine_{DimensionKey.GEO.value}", f"combine_{DimensionKey.DEVICE.value}"
    action, fields = form_with(client, f"/rate-cards/{card}", geo)
    assert action.endswith("/feature-rules")
    was = dict(fields)

    def flipped(name: str) -> MultiDict:
        other = "sum" if was[name] == "highest" else "highest"
        return MultiDict([(n, v) for n, v in fields if n != name] + [(name, other)])

    assert client.post(action, data=flipped(geo)).status_code == 302
    response = client.post(action, data=flipped(device))  # opened at the same version
    assert response.status_code == 409 and "Reload" in response.get_data(as_text=True)
    with app.app_context():
        card = db.session.get(RateCard, card)
        assert card.combine_for(DimensionKey.GEO.value) != was[geo]
        assert card.combine_for(DimensionKey.DEVICE.value) == was[device]
