"""`ArcTable` keeps only each arc's far end, and reads like the (rows, 3) array it stands for."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from app.inventory.incremental import ArcTable, solve_booked
from app.inventory.solver import Line


def _pair() -> tuple[ArcTable, np.ndarray]:
    rng = np.random.default_rng(5)
    starts = np.sort(rng.integers(0, 9, size=40))
    ends = rng.integers(0, 50, size=40)
    table = ArcTable(100, starts, ends, 9)
    return table, np.column_stack([100 + np.arange(40), starts, ends])


def test_every_way_the_engine_indexes_it_reads_as_the_array_does():
    table, array = _pair()
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 40, size=15)
    mask = rng.random(40) < 0.5
    keys = [
        slice(None),
        slice(3, 17),
        slice(None, 30),
        slice(None, None, -1),
        rows,
        -1 - rows,
        mask,
        np.zeros(0, dtype=np.int64),
    ]
    for key in keys:
        assert np.array_equal(table[key], array[key]), key
        for column in (0, 1, 2, -1, np.int64(2)):
            assert np.array_equal(table[key, column], array[key, column]), (key, column)
        assert np.array_equal(table[key, 1:], array[key, 1:]), key
    assert len(table) == len(array) and table.shape == array.shape
    assert np.array_equal(table.astype(np.int64), array)


def test_what_it_cannot_read_like_the_array_it_refuses():
    table, _ = _pair()
    with pytest.raises(TypeError):
        table[3]
    with pytest.raises(IndexError):
        table[np.ones(7, dtype=bool)]
    with pytest.raises(ValueError, match="grouped"):
        ArcTable(0, np.array([2, 0, 1]), np.array([5, 6, 7]), 3)


def test_grouped_rows_keep_one_offset_per_start_and_an_empty_table_reads_empty():
    table, _ = _pair()
    assert len(table.offsets) == 10 and table.ends.dtype == np.int32
    empty = ArcTable(0, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 4)
    assert len(empty) == 0 and empty[:].shape == (0, 3) and empty[:, 1].shape == (0,)


def test_a_stored_network_leaves_out_what_requests_fill_in_lazily():
    net = solve_booked(np.array([100, 100]), [Line("L1", [0, 1], quantity=150)])
    assert [line.id for line in net.flow_lines] == ["L1"]  # cached on the network now
    copy = pickle.loads(pickle.dumps(net))
    assert "flow_lines" not in copy.__dict__ and [line.id for line in copy.flow_lines] == ["L1"]
    assert np.array_equal(copy.flow, net.flow) and np.array_equal(copy.hub_out[:], net.hub_out[:])
