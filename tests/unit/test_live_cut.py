"""The live list is cut once and kept until the next hold expires, and never answers past that."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from app.inventory.live import Held, _Kept

T0 = datetime(2027, 1, 4, 9, 0)


def _held(i: int, kind: str, expires: datetime | None) -> Held:
    return Held(i, kind, f"r{i}", (1,), (), (), date(2027, 1, 4), date(2027, 1, 31), 1_000, None, expires)


def test_the_live_list_is_kept_until_the_next_hold_expires_then_cut_again():
    kept = _Kept(
        version=((1, 1), date(2027, 1, 4)),
        sites={},
        held={
            1: _held(1, "booking", None),
            2: _held(2, "hold", T0 + timedelta(hours=1)),
            3: _held(3, "hold", T0 + timedelta(hours=2)),
            4: _held(4, "hold", T0 - timedelta(minutes=1)),
        },
    )
    first = kept.live_at(T0)
    assert first.ids == {1, 2, 3}
    assert kept.live_at(T0 + timedelta(minutes=59)) is first  # nothing expired: the same list, no new cut
    later = kept.live_at(T0 + timedelta(hours=1))
    assert later.ids == {1, 3}  # hold 2 expires at that instant
    assert kept.live_at(T0 + timedelta(hours=3)).ids == {1}
    # A request with an earlier clock than the last cut gets its own cut, never a later one's.
    assert kept.live_at(T0).ids == {1, 2, 3}


def test_the_kept_state_is_frozen_after_a_change_and_what_died_since_is_collected_at_the_next(monkeypatch):
    import gc
    import weakref

    from app.inventory import booked
    from app.inventory.booked import _out_of_the_collectors_way

    monkeypatch.setattr(booked, "_collected_at", None)

    class Node:
        pass

    cycle = Node()
    cycle.me = cycle
    try:
        _out_of_the_collectors_way()
        assert gc.get_freeze_count() > 0
        alive = weakref.ref(cycle)
        del cycle  # cyclic garbage now, and frozen: a later thaw frees it
        _out_of_the_collectors_way()  # within the minute: frozen again, not collected
        assert alive() is not None
        monkeypatch.setattr(booked, "_collected_at", booked._collected_at - booked.COLLECT_EVERY)
        _out_of_the_collectors_way()
        assert alive() is None
    finally:
        gc.unfreeze()
