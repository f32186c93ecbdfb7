"""The worker makes the orders of accepted proposals one by one: one that fails never stops the others."""

from __future__ import annotations

from datetime import date, datetime

from app.workflow import signing


def test_an_order_that_cannot_be_made_is_logged_and_the_others_are_made(monkeypatch, caplog):
    def make_order_once(proposal_id: int, **_kw) -> bool:
        if proposal_id == 2:
            raise RuntimeError("the ad unit vanished")
        return True

    monkeypatch.setattr(signing, "make_order_once", make_order_once)

    made = signing.make_orders(
        [1, 2, 3], and_waiting=False, now=datetime(2027, 1, 4, 9), today=date(2027, 1, 4), margin_pct=10, settings=None
    )

    assert made == [1, 3]
    assert "Making the order of proposal 2 failed" in caplog.text


def test_an_order_that_failed_rests_and_the_acceptances_after_it_are_taken_meanwhile(monkeypatch):
    """The worker takes the oldest acceptances first, a batch at a time: one whose order keeps failing
    is left out of the next runs for a while, so that it never keeps the newer ones waiting."""
    monkeypatch.setattr(signing, "make_order_once", lambda proposal_id, **_kw: proposal_id != 2 or 1 / 0)
    signing.make_orders(
        [2], and_waiting=False, now=datetime(2027, 1, 4, 9), today=date(2027, 1, 4), margin_pct=10, settings=None
    )
    assert signing._failed_orders.resting() == [2]
    signing._failed_orders.seconds = 0  # the rest is over
    assert signing._failed_orders.resting() == []
