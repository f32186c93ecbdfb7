"""The query's max flow solved on the subgraph it reaches equals the max flow on the whole residual graph."""

from __future__ import annotations

import random

import numpy as np
import pytest
from ortools.graph.python import max_flow

from app.inventory import local_flow
from app.inventory.incremental import solve_booked
from app.inventory.solver import Line


def _instance(seed: int):
    """A booked set on hubs (as `supply.build_cells` makes them) with lines tight enough to contend."""
    rng = random.Random(seed)
    n_cells = rng.randint(30, 120)
    supply = np.array([rng.randint(0, 400) for _ in range(n_cells)], dtype=np.int64)
    hubs = [np.array(sorted(rng.sample(range(n_cells), rng.randint(1, 8))), dtype=np.int64) for _ in range(40)]
    lines, line_hubs = [], []
    for i in range(rng.randint(5, 60)):
        lines.append(Line(f"L{i}", [], quantity=rng.randint(50, 1_500)))
        line_hubs.append(sorted(rng.sample(range(len(hubs)), rng.randint(1, 4))))
    return solve_booked(supply, lines, hubs=hubs, line_hubs=line_hubs), rng


def _whole_graph_max_flow(net, cells: np.ndarray, capacity: np.ndarray) -> int:
    """The query's max flow on the whole residual graph, the source's arcs included: node 2 is the
    query, and the network's nodes from 2 on move up by one."""
    shift = lambda nodes: np.where(nodes <= 1, nodes, nodes + 1)  # noqa: E731
    tail = np.concatenate([shift(net.tail), shift(net.head), [0], np.full(len(cells), 2)])
    head = np.concatenate([shift(net.head), shift(net.tail), [2], shift(net.cell_node(cells))])
    cap = np.concatenate([net.capacity - net.flow, net.flow, [int(capacity.sum())], capacity])
    keep = cap > 0
    graph = max_flow.SimpleMaxFlow()
    graph.add_arcs_with_capacity(tail[keep].astype(np.int64), head[keep].astype(np.int64), cap[keep])
    assert graph.solve(0, 1) == graph.OPTIMAL
    return int(graph.optimal_flow())


def _query(net, rng):
    cells = np.array(sorted(rng.sample(range(net.n_cells), rng.randint(1, net.n_cells))), dtype=np.int64)
    return cells, np.array([rng.randint(0, int(net.remaining[c])) for c in cells], dtype=np.int64)


def _rounds(net, cells, capacity, monkeypatch) -> tuple[local_flow.LocalFlow, int]:
    """The query's flow, and how many subgraphs it took."""
    subgraph, count = local_flow._subgraph, []
    monkeypatch.setattr(local_flow, "_subgraph", lambda *args: count.append(1) or subgraph(*args))
    got = local_flow.query_max_flow([net], np.zeros(len(cells), dtype=np.int64), cells, capacity)
    monkeypatch.setattr(local_flow, "_subgraph", subgraph)
    return got, len(count)


@pytest.mark.parametrize("seed", range(120))
def test_the_subgraph_max_flow_equals_the_whole_graphs_and_is_a_feasible_flow(seed, monkeypatch):
    net, rng = _instance(seed)
    cells, capacity = _query(net, rng)

    got, _ = _rounds(net, cells, capacity, monkeypatch)

    assert got.value == _whole_graph_max_flow(net, cells, capacity)
    assert got.value == int(got.to_parts.sum())
    assert (got.to_parts <= capacity).all()
    final = got.final[0]
    assert ((final >= 0) & (final <= net.capacity)).all()
    # Every line, hub and cell balances: what comes in goes out (the query's arcs into the cells included).
    balance = np.zeros(2 + len(net.flow_lines) + net.n_hubs + net.n_cells, dtype=np.int64)
    np.add.at(balance, net.head, final)
    np.subtract.at(balance, net.tail, final)
    balance[net.cell_node(cells)] += got.to_parts
    assert not balance[2:].any()
    # Lines keep what they had: the query only moves them.
    assert (final[: len(net.flow_lines)] == net.flow[: len(net.flow_lines)]).all()


def test_the_instances_above_make_the_subgraph_grow(monkeypatch):
    """Enough of those instances need more than one subgraph, so that the growth and its stopping
    rule are what the test above checks, not only a first try that happened to be enough."""
    grew = 0
    for seed in range(120):
        net, rng = _instance(seed)
        grew += _rounds(net, *_query(net, rng), monkeypatch)[1] > 1
    assert grew >= 20
