"""The builder's line forms: a refused Add keeps what was typed, the add form offers the chosen
product's pricing models and targeting, and the line preview says how much is available."""

from __future__ import annotations

import re

from tests.functional.test_proposal_pages import create, ids


def selected(html: str, select_id: str) -> list[str]:
    """The values selected in one <select> of the page."""
    match = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert match, f"no select #{select_id}"
    return re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', match.group(1))


def line_form_of(client, proposal_id: int) -> tuple[str, str]:
    """The first line's id and its form, as "Edit line 1" fetches it (the page holds no line form)."""
    page = client.get(f"/proposals/{proposal_id}").get_data(as_text=True)
    line_id = re.search(rf"/proposals/{proposal_id}/lines/(\d+)/form", page).group(1)
    return line_id, client.get(f"/proposals/{proposal_id}/lines/{line_id}/form").get_data(as_text=True)


def value_of(html: str, input_id: str) -> str:
    match = re.search(rf'<input[^>]*id="{input_id}"[^>]*>', html)
    assert match, f"no input #{input_id}"
    found = re.search(r'value="([^"]*)"', match.group(0))
    return found.group(1) if found else ""


def test_a_refused_add_shows_the_message_and_keeps_every_field_typed(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    v = ids(app)
    typed = {
        "product": v["sport"],
        "pricing_model": "cpm",
        "start": f"{v['year']}-02-03",
        "end": f"{v['year']}-02-10",
        "quantity": "half a million",
        "budget": "",
        "line_discount_pct": "7.5",
        "geo": ["london", "scotland"],
        "device": ["mobile"],
    }
    response = client.post(f"/proposals/{proposal_id}/lines", data=typed, headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-field-error="quantity"' in html
    assert re.search(r'id="new-quantity" aria-invalid="true" aria-describedby="new-quantity-error"', html)
    assert selected(html, "new-product") == [str(v["sport"])]
    assert selected(html, "new-model") == ["cpm"]
    assert sorted(selected(html, "new-geo")) == ["london", "scotland"]
    assert selected(html, "new-device") == ["mobile"]
    assert value_of(html, "new-start") == f"{v['year']}-02-03"
    assert value_of(html, "new-end") == f"{v['year']}-02-10"
    assert value_of(html, "new-quantity") == "half a million"
    assert value_of(html, "new-discount") == "7.5"
    # an accepted Add starts the next line from a clean form again
    typed["quantity"] = "500000"
    html = client.post(f"/proposals/{proposal_id}/lines", data=typed, headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert value_of(html, "new-quantity") == "" and selected(html, "new-product") == []


def test_a_refused_save_of_a_line_keeps_what_was_typed_in_its_form(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    v = ids(app)
    client.post(f"/proposals/{proposal_id}/lines", data={"product": v["sport"], "quantity": "500000"})
    line_id, html = line_form_of(client, proposal_id)
    seen = re.search(r'name="seen" value="([^"]+)"', html).group(1)
    response = client.post(
        f"/proposals/{proposal_id}/lines/{line_id}",
        data={"product": v["sport"], "pricing_model": "cpm", "quantity": "900000", "line_discount_pct": "250"}
        | {"geo": "london", "seen": seen},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and 'data-field-error="line_discount_pct"' in html
    assert value_of(html, f"l{line_id}-quantity") == "900000"
    assert value_of(html, f"l{line_id}-discount") == "250"
    assert selected(html, f"l{line_id}-geo") == ["london"]


def test_choosing_a_product_in_the_add_form_offers_its_pricing_models_and_targeting(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    v = ids(app)
    response = client.get(
        f"/proposals/{proposal_id}/new-line", query_string={"product": v["sport"], "quantity": "250000"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for field in ("new-model", "new-geo", "new-device", "new-key_value", "new-frequency_cap"):
        assert f'id="{field}"' in html, field
    assert 'id="new-audience"' not in html  # Sport Display does not let a rep choose audiences
    assert value_of(html, "new-quantity") == "250000"
    auth.logout()
    auth.login_as("finance")
    assert client.get(f"/proposals/{proposal_id}/new-line", query_string={"product": v["sport"]}).status_code == 403


def test_the_line_preview_says_how_many_impressions_are_available_of_those_asked(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    v = ids(app)
    client.post(f"/proposals/{proposal_id}/lines", data={"product": v["sport"], "quantity": "500000"})
    line_id, html = line_form_of(client, proposal_id)
    response = client.get(
        f"/proposals/{proposal_id}/lines/{line_id}/preview",
        query_string={
            "product": v["sport"],
            "pricing_model": "cpm",
            "start": f"{v['year']}-02-01",
            "end": f"{v['year']}-02-14",
            "quantity": "2000000",
            "geo": "london",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    found = re.search(r'data-testid="availability">\s*([\d,]+) available of 2,000,000 asked', body)
    assert found, body[:3000]
    # the saved line's preview already says it before the rep changes anything
    assert re.search(r'data-testid="availability">\s*[\d,]+ available of 500,000 asked', html)


def test_choosing_another_product_in_a_lines_form_offers_that_products_models_and_targeting(app, client, auth):
    auth.login_as("sales_rep")
    proposal_id = create(app, client)
    v = ids(app)
    client.post(f"/proposals/{proposal_id}/lines", data={"product": v["sport"], "quantity": "500000"})
    line_id, html = line_form_of(client, proposal_id)
    sponsorship = re.search(r'<option value="(\d+)"[^>]*>Football Section Sponsorship', html).group(1)
    response = client.get(
        f"/proposals/{proposal_id}/lines/{line_id}/fields",
        query_string={"product": sponsorship, "pricing_model": "cpm", "quantity": "500000", "geo": "london"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    models = re.search(rf'<select[^>]*id="l{line_id}-model"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="([^"]+)"', models) == ["cpd", "flat"]
    assert selected(html, f"l{line_id}-geo") == ["london"] and f'id="l{line_id}-device"' not in html
    assert value_of(html, f"l{line_id}-quantity") == "500000"
