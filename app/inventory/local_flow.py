"""A query's max flow on the residual graphs of solved clusters, found on the part of them it can reach.

`incremental.augment` needs the most a query can add to the booked max flows: a max flow from the
query to the sink on their residual graphs. A cluster of a large publisher has well over a million
arcs, and a query reaches few of them before it meets cells with supply to spare. So the max flow
is solved on a subgraph that starts with the query's own cells and grows:

1. Solve the max flow from the query on the arcs between the nodes taken so far.
2. Find the nodes the query still reaches in that residual graph (the query's side of its min cut).
3. Take every node those reach by a residual arc of the whole graph that was not taken yet. When
   there is none, the query's side is closed in the whole residual graph too: no augmenting path
   is left anywhere, and the subgraph's flow is a max flow of the whole graph (max-flow min-cut).

The source and its arcs to the lines are left out. That changes nothing: the booked flow is a max
flow, so what the source reaches in the residual graph never reaches the sink, and adding it to the
query's side of any cut does not make the cut dearer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import max_flow

SINK = 1


@dataclass
class ArcIndex:
    """A solved network's arcs by the nodes at their ends, to gather a node's arcs at once (CSR)."""

    #: arcs line -> cell and line -> hub by line; hub -> cell by hub (all built sorted so)
    direct_by_line: np.ndarray
    hub_in_by_line: np.ndarray
    hub_out_by_hub: np.ndarray
    #: hub -> cell arcs by cell, line -> hub arcs by hub, line -> cell arcs by cell: orders and offsets
    hub_out_by_cell: tuple[np.ndarray, np.ndarray]
    hub_in_by_hub: tuple[np.ndarray, np.ndarray]
    direct_by_cell: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, net) -> ArcIndex:

        def offsets(column: np.ndarray, n: int) -> np.ndarray:
            # Row numbers fit 32 bits (as arc numbers do): the index is kept with the network.
            return np.searchsorted(column, np.arange(n + 1)).astype(np.int32)

        def by(column: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
            order = np.argsort(column, kind="stable").astype(np.int32)
            return order, offsets(column[order], n)

        return cls(
            # The tables keep their rows grouped by where they start, with these offsets.
            direct_by_line=net.direct.offsets,
            hub_in_by_line=net.hub_in.offsets,
            hub_out_by_hub=net.hub_out.offsets,
            hub_out_by_cell=by(net.hub_out[:, 2], net.n_cells),
            hub_in_by_hub=by(net.hub_in[:, 2], net.n_hubs),
            direct_by_cell=by(net.direct[:, 2], net.n_cells),
        )


def ranges(offsets: np.ndarray, nodes: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """The positions of the rows of `nodes` in a table grouped by node (`offsets`), in one array."""
    starts, ends = offsets[nodes].astype(np.int64), offsets[nodes + 1].astype(np.int64)
    lengths = ends - starts
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    at = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
    return at if order is None else order[at].astype(np.int64)


class _Taken:
    """The nodes of one network taken into the subgraph, as masks over its lines, hubs and cells."""

    def __init__(self, net, index: ArcIndex) -> None:
        self.net, self.index = net, index
        self.n_lines = len(net.flow_lines)
        self.line = np.zeros(self.n_lines, dtype=bool)
        self.hub = np.zeros(net.n_hubs, dtype=bool)
        self.cell = np.zeros(net.n_cells, dtype=bool)
        #: the booked flow plus the query's so far, once the query moved any (copied on first use)
        self.flow: np.ndarray | None = None
        # Nodes the booked flow's source reaches (kept by `solve_booked`) are never taken.
        dead = net.dead
        self.dead_line = dead[2 : 2 + self.n_lines]
        self.dead_hub = dead[2 + self.n_lines : 2 + self.n_lines + net.n_hubs]
        self.dead_cell = dead[2 + self.n_lines + net.n_hubs :]

    def residual(self, arcs: np.ndarray) -> np.ndarray:
        """The booked flow's residual capacities of `arcs` (arcs outside the subgraph still carry it)."""
        return self.net.arc_capacity(arcs) - self.net.flow[arcs]

    def add_flow(self, forward: np.ndarray, sent: np.ndarray, backward: np.ndarray, returned: np.ndarray) -> None:
        """Add a subgraph's flow: `sent` along `forward` arcs, `returned` back along `backward` ones."""
        if not (sent.any() or returned.any()):
            return
        if self.flow is None:
            self.flow = self.net.flow.copy()
        self.flow[forward] += sent
        self.flow[backward] -= returned

    def arcs(self) -> np.ndarray:
        """The network's arcs between taken nodes, and the taken cells' arcs to the sink."""
        net, index = self.net, self.index
        lines = np.flatnonzero(self.line)
        direct = ranges(index.direct_by_line, lines)
        direct = direct[self.cell[net.direct[direct, 2]]]
        hub_in = ranges(index.hub_in_by_line, lines)
        hub_in = hub_in[self.hub[net.hub_in[hub_in, 2]]]
        hub_out = ranges(index.hub_out_by_hub, np.flatnonzero(self.hub))
        hub_out = hub_out[self.cell[net.hub_out[hub_out, 2]]]
        sink = net.n_arcs - net.n_cells + np.flatnonzero(self.cell)
        return np.concatenate([net.direct[direct, 0], net.hub_in[hub_in, 0], net.hub_out[hub_out, 0], sink]).astype(
            np.int64
        )

    def grow(self, lines: np.ndarray, hubs: np.ndarray, cells: np.ndarray, levels: int = 1) -> bool:
        """Take what the reached lines, hubs and cells reach by a residual arc; whether anything was
        new. With `levels` above one, also what those new nodes reach, and so on: a guess that the
        query will reach them too, which saves a max flow per level when it does."""
        grew = False
        for _ in range(levels):
            lines, hubs, cells = self._step(lines, hubs, cells)
            if not (len(lines) or len(hubs) or len(cells)):
                break
            grew = True
        return grew

    def _step(self, lines: np.ndarray, hubs: np.ndarray, cells: np.ndarray):
        """One level of `grow`: the nodes newly taken, as (lines, hubs, cells). The arcs followed
        lead to nodes not taken yet, so they were in no subgraph: the booked flow is theirs."""
        net, index, flow, residual = self.net, self.index, self.net.flow, self.residual
        found_lines, found_hubs, found_cells = [], [], []
        if len(cells):  # back along the arcs that bring the cells flow
            into = ranges(index.hub_out_by_cell[1], cells, index.hub_out_by_cell[0])
            found_hubs.append(net.hub_out[into[flow[net.hub_out[into, 0]] > 0], 1])
            into = ranges(index.direct_by_cell[1], cells, index.direct_by_cell[0])
            found_lines.append(net.direct[into[flow[net.direct[into, 0]] > 0], 1])
        if len(hubs):  # forward to the hub's cells, back to the lines that feed it
            out = ranges(index.hub_out_by_hub, hubs)
            found_cells.append(net.hub_out[out[residual(net.hub_out[out, 0]) > 0], 2])
            into = ranges(index.hub_in_by_hub[1], hubs, index.hub_in_by_hub[0])
            found_lines.append(net.hub_in[into[flow[net.hub_in[into, 0]] > 0], 1])
        if len(lines):  # forward to the line's cells and hubs
            out = ranges(index.direct_by_line, lines)
            found_cells.append(net.direct[out[residual(net.direct[out, 0]) > 0], 2])
            out = ranges(index.hub_in_by_line, lines)
            found_hubs.append(net.hub_in[out[residual(net.hub_in[out, 0]) > 0], 2])
        taken = []
        for mask, dead, found in (
            (self.line, self.dead_line, found_lines),
            (self.hub, self.dead_hub, found_hubs),
            (self.cell, self.dead_cell, found_cells),
        ):
            fresh = np.zeros(len(mask), dtype=bool)
            if found:
                fresh[np.concatenate(found)] = True
            fresh &= ~mask & ~dead
            mask |= fresh
            taken.append(np.flatnonzero(fresh))
        return tuple(taken)


@dataclass
class LocalFlow:
    #: the query's max flow
    value: int
    #: what it sends into each part
    to_parts: np.ndarray
    #: each network's flow after it (the booked flow where the query changed nothing)
    final: list[np.ndarray]


def query_max_flow(networks: Sequence, part_net: np.ndarray, part_cell: np.ndarray, part_cap: np.ndarray) -> LocalFlow:
    """The max flow from a query into the parts `(part_net, part_cell, part_cap)` of solved networks,
    on their residual graphs, solved on the subgraph the query reaches (see the module's text).

    Each larger subgraph starts from the flow found on the one before: only what it adds is solved
    (the residual graph of that flow), and an arc gets into a subgraph only once both its ends
    are taken, so arcs outside it still carry the booked flow."""
    taken = [_Taken(net, arc_index(net)) for net in networks]
    for k, t in enumerate(taken):
        cells = part_cell[part_net == k]
        t.cell[cells[~t.dead_cell[cells]]] = True
    if not any(t.cell.any() for t in taken):
        # Every cell of the query is one the booked flow's source reaches: it gets none of them.
        return LocalFlow(0, np.zeros(len(part_cell), dtype=np.int64), [t.net.flow for t in taken])
    to_parts = np.zeros(len(part_cell), dtype=np.int64)
    value = 0
    while True:
        graph, arcs, first_node = _subgraph(taken, part_net, part_cell, part_cap - to_parts)
        if graph.solve(_QUERY, SINK) != graph.OPTIMAL:
            raise RuntimeError("max flow failed")
        value += int(graph.optimal_flow())
        flows = graph.flows(np.arange(graph.num_arcs(), dtype=np.int64))
        at = 0
        for t, (forward, backward) in zip(taken, arcs, strict=True):
            t.add_flow(
                forward,
                flows[at : at + len(forward)],
                backward,
                flows[at + len(forward) : at + len(forward) + len(backward)],
            )
            at += len(forward) + len(backward)
        to_parts += flows[at:]
        reached = np.asarray(graph.get_source_side_min_cut(), dtype=np.int64)
        grew = False
        for k, t in enumerate(taken):
            local = reached - first_node[k]
            local = local[(local >= 0) & (local < 2 + t.n_lines + t.net.n_hubs + t.net.n_cells)] - 2
            lines = local[(local >= 0) & (local < t.n_lines)]
            hubs = local[(local >= t.n_lines) & (local < t.n_lines + t.net.n_hubs)] - t.n_lines
            cells = local[local >= t.n_lines + t.net.n_hubs] - t.n_lines - t.net.n_hubs
            grew |= t.grow(lines, hubs, cells, LOOKAHEAD)
        if not grew:
            break
    return LocalFlow(value, to_parts, [t.flow if t.flow is not None else t.net.flow for t in taken])


_QUERY = 0
#: levels taken at each growth (`_Taken.grow`): 1 takes only what the query reaches now
LOOKAHEAD = 3


def arc_index(net) -> ArcIndex:
    """The network's arc index, built on first use and kept with it (a solved network never changes)."""
    index = getattr(net, "_arc_index", None)
    if index is None:
        index = ArcIndex.of(net)
        net._arc_index = index
    return index


def _subgraph(taken: list[_Taken], part_net, part_cell, part_left):
    """The residual graph between the taken nodes (of the flow found so far), plus the query and
    its arcs into its parts with what is left of each.

    Node 0 is the query and 1 the sink; each network's nodes follow, numbered as in the network
    from `first_node[k]` (its source and sink numbers unused). Arcs: each network's forward then
    backward residual arcs, then the query's."""
    tails, heads, caps, arcs, first_node = [], [], [], [], []
    at = 2
    for t in taken:
        net = t.net
        chosen = t.arcs() if t.cell.any() else np.zeros(0, dtype=np.int64)
        first_node.append(at)
        tail, head = net.arc_ends(chosen)
        tail = np.where(tail == SINK, SINK, tail + at)
        head = np.where(head == SINK, SINK, head + at)
        carried = (t.flow if t.flow is not None else net.flow)[chosen]
        residual = net.arc_capacity(chosen) - carried
        fwd, bwd = residual > 0, carried > 0
        tails += [tail[fwd], head[bwd]]
        heads += [head[fwd], tail[bwd]]
        caps += [residual[fwd], carried[bwd]]
        arcs.append((chosen[fwd], chosen[bwd]))
        at += 2 + t.n_lines + net.n_hubs + net.n_cells
    first = np.array(first_node, dtype=np.int64)
    n_lines = np.array([t.n_lines for t in taken], dtype=np.int64)
    n_hubs = np.array([t.net.n_hubs for t in taken], dtype=np.int64)
    part_node = first[part_net] + 2 + n_lines[part_net] + n_hubs[part_net] + part_cell
    graph = max_flow.SimpleMaxFlow()
    graph.add_arcs_with_capacity(
        np.concatenate([*tails, np.full(len(part_cell), _QUERY)]),
        np.concatenate([*heads, part_node]),
        np.concatenate([*caps, part_left]).astype(np.int64),
    )
    return graph, arcs, first
