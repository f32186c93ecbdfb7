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
