"""Choosing values in a searchable picker (Tom Select) as a person does: from the keyboard."""

from __future__ import annotations

from playwright.sync_api import expect


def choose(scope, label: str, *names: str) -> None:
    """In the picker labelled `label` inside `scope`, type the start of each name and press Enter.

    Like a person, it waits for the list to show what was typed before pressing Enter, and for the
    list to close after Escape, so that nothing it does next lands on an open list."""
    box = scope.get_by_role("combobox", name=label, exact=True)
    box.click()
    page = getattr(scope, "page", scope)
    listbox = page.locator("#" + box.get_attribute("aria-controls"))
    for name in names:
        box.press_sequentially(name)
        expect(listbox.get_by_role("option").first).to_contain_text(name, ignore_case=True)
        box.press("Enter")
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
