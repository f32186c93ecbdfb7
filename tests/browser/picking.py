"""Choosing values in a searchable picker (Tom Select) as a person does: from the keyboard."""

from __future__ import annotations


def choose(scope, label: str, *names: str) -> None:
    """In the picker labelled `label` inside `scope`, type the start of each name and press Enter."""
    box = scope.get_by_role("combobox", name=label, exact=True)
    box.click()
    for name in names:
        box.press_sequentially(name)
        box.press("Enter")
    box.press("Escape")
