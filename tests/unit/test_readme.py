"""The README's opening says what Flightdeck does today, not what it did in an early wave."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def opening() -> str:
    text = README.read_text(encoding="utf-8")
    return " ".join(text.split("\n\n", 2)[1].split())  # the paragraph under the title


def test_the_readmes_opening_names_every_step_of_a_deal_and_no_early_so_far():
    words = opening()
    assert "So far" not in words
    for step in (
        "rate cards",
        "availability",
        "proposals with versions and a PDF",
        "approval",
        "signature",
        "ad server",
        "delivery",
        "make-goods",
        "booked and recognised revenue",
    ):
        assert step in words, step
