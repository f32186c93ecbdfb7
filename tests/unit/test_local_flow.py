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


@pytest.mark.parametrize("seed", range(20))
def test_a_networks_arcs_are_read_back_from_its_tables(seed):
    """Arc ends and capacities are not kept per arc: they are derived from the line, hub and cell
    tables. Derived, they are the arcs the network was solved on: every one the description of the
    lines asks for, once, and the booked flow is feasible on them."""
    rng = random.Random(seed)
    n_cells = rng.randint(10, 60)
    supply = np.array([rng.randint(0, 500) for _ in range(n_cells)], dtype=np.int64)
    hubs = [np.array(sorted(rng.sample(range(n_cells), rng.randint(1, 5))), dtype=np.int64) for _ in range(12)]
    lines, line_hubs = [], []
    for i in range(rng.randint(3, 25)):
        if rng.random() < 0.4:  # a line on its own cells (line -> cell arcs)
            lines.append(
                Line(f"D{i}", sorted(rng.sample(range(n_cells), rng.randint(1, 6))), quantity=rng.randint(1, 900))
            )
            line_hubs.append([])
        else:
            lines.append(Line(f"H{i}", [], quantity=rng.randint(1, 900)))
            line_hubs.append(sorted(rng.sample(range(len(hubs)), rng.randint(1, 3))))
    net = solve_booked(supply, lines, hubs=hubs, line_hubs=line_hubs)

    n_lines, n_hubs = len(net.flow_lines), net.n_hubs
    line_node = {line.id: 2 + k for k, line in enumerate(net.flow_lines)}
    hub_node, cell_node = 2 + n_lines, 2 + n_lines + n_hubs
    expected = []
    for line, on_hubs in zip(lines, line_hubs, strict=True):
        expected.append((0, line_node[line.id], line.quantity))
        expected += [(line_node[line.id], cell_node + c, int(net.remaining[c])) for c in line.atoms]
        expected += [(line_node[line.id], hub_node + h, line.quantity) for h in on_hubs]
    for h, cells in enumerate(hubs):
        expected += [(hub_node + h, cell_node + c, int(net.remaining[c])) for c in cells]
    expected += [(cell_node + c, 1, int(net.remaining[c])) for c in range(n_cells)]
    tail, head, capacity = net.tail, net.head, net.capacity
    assert sorted(zip(tail.tolist(), head.tolist(), capacity.tolist(), strict=True)) == sorted(expected)

    some = np.array(sorted(rng.sample(range(net.n_arcs), rng.randint(1, net.n_arcs))), dtype=np.int64)
    assert (net.arc_ends(some)[0] == tail[some]).all() and (net.arc_ends(some)[1] == head[some]).all()
    assert (net.arc_capacity(some) == capacity[some]).all()
    assert ((net.flow >= 0) & (net.flow <= capacity)).all()
    balance = np.zeros(cell_node + n_cells, dtype=np.int64)
    np.add.at(balance, head, net.flow)
    np.subtract.at(balance, tail, net.flow)
    assert (balance[2:] == 0).all() and balance[1] == net.booked == -balance[0]
