"""Incremental availability: the booked set solved once, each query augmenting from it.

The same answer as `app.inventory.solver.availability` (DESIGN.md §3), for many queries against one
booked set: the booked max flow is kept (`BookedNetwork`) and each query only augments it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from ortools.graph.python import max_flow

from app.inventory.local_flow import arc_index, query_max_flow, ranges
from app.inventory.solver import Line, atom_pairs, sponsorship_takes


class ArcTable:
    """One kind of arc of a solved network, as rows of (arc number, the node it starts from, the
    node it goes to), where both nodes count within their kind (line, hub or cell).

    Only the last column is stored. Arc numbers run on from `first`, one per row, and the rows
    come grouped by the node they start from (the network numbers its arcs so), so that column
    is kept as one offset per node: at 50,000 booked lines this keeps 4 bytes per arc instead of
    12 (about 110 MB less). Indexing reads like the (rows, 3) array it stands for:
    `table[rows]`, `table[rows, k]`, `table[:, 1:]`.
    """

    def __init__(self, first: int, starts: np.ndarray, ends: np.ndarray, n_starts: int) -> None:
        starts = np.asarray(starts, dtype=np.int64)
        if len(starts) and (np.diff(starts) < 0).any():
            raise ValueError("an ArcTable's rows come grouped by the node they start from")
        self.first = int(first)
        self.ends = np.asarray(ends).astype(np.int32)
        self.offsets = np.searchsorted(starts, np.arange(n_starts + 1)).astype(np.int32)

    def __len__(self) -> int:
        return len(self.ends)

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self), 3)

    def _rows(self, rows) -> np.ndarray | slice:
        if isinstance(rows, slice):
            return rows
        rows = np.asarray(rows)
        if rows.ndim != 1:
            raise TypeError("an ArcTable's rows are chosen by a slice, a mask or an array of row numbers")
        if rows.dtype == bool:
            if len(rows) != len(self):
                raise IndexError(f"a mask of {len(rows)} rows for a table of {len(self)}")
            return np.flatnonzero(rows)
        rows = rows.astype(np.int64, copy=False)
        return np.where(rows < 0, rows + len(self), rows) if len(rows) and rows.min() < 0 else rows

    def column(self, k: int, rows=slice(None)) -> np.ndarray:
        """Column `k` (0 arc number, 1 start, 2 end) of `rows`, as int64."""
        rows = self._rows(rows)
        if k == 2:
            return self.ends[rows].astype(np.int64)
        at = np.arange(len(self))[rows] if isinstance(rows, slice) else rows
        if k == 0:
            return self.first + at
        if isinstance(rows, slice) and rows == slice(None):
            return np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int64), np.diff(self.offsets))
        return np.searchsorted(self.offsets, at, side="right").astype(np.int64) - 1

    def __getitem__(self, key) -> np.ndarray:
        rows, columns = key if isinstance(key, tuple) else (key, slice(None))
        if isinstance(columns, int | np.integer):
            return self.column(range(3)[int(columns)], rows)
        rows = self._rows(rows)
        return np.column_stack([self.column(k, rows) for k in range(3)[columns]]).reshape(-1, len(range(3)[columns]))

    def astype(self, dtype) -> np.ndarray:
        return self[:].astype(dtype)


@dataclass
class BookedNetwork:
    """The booked set of a part of the inventory, solved: cells, lines and a max flow of them.

    Node 0 is the source, 1 the sink, then the lines, the hubs and the cells. The arcs come in
    that order too: source -> line (capacity: the line's quantity), line -> cell (`direct`), line
    -> hub (the line's quantity), hub -> cell (`hub_out`; the cell's remaining supply) and cell ->
    sink (the same). Arc k carries `flow[k]` in the booked max flow.

    Only the flow is kept per arc: where an arc starts and ends and what it can carry follow from
    the tables above (`arc_ends`, `arc_capacity`). At 50,000 lines a cluster has 1.6 million arcs,
    and ten clusters kept 260 MB of ends and capacities that said nothing the tables did not.
    """

    lines: list[Line]
    #: each cell's supply after the sponsorships took their share
    remaining: np.ndarray
    #: sponsorship id -> what it takes of each cell
    sponsor_takes: dict[str, np.ndarray]
    #: each flow line's quantity, in node order
    demand: np.ndarray
    flow: np.ndarray
    booked: int
    shortfall: int
    #: arcs line -> cell (`direct`), line -> hub (`hub_in`) and hub -> cell (`hub_out`), each as
    #: rows of (arc number, line or hub, cell or hub)
    direct: ArcTable
    hub_in: ArcTable
    hub_out: ArcTable
    n_hubs: int
    #: the nodes the source reaches in the residual graph of the booked max flow (by node number):
    #: no query's augmenting path needs them (`local_flow`)
    dead: np.ndarray | None = None

    @cached_property
    def flow_lines(self) -> list[Line]:
        """The lines that flow (all but the sponsorships), in node order."""
        return [line for line in self.lines if not line.is_sponsorship]

    def __getstate__(self) -> dict:
        # Without what requests fill in lazily (the flow lines, the arc index): taken at once, as
        # other threads may add those while the network is being stored (`booked.Cluster`).
        return {k: v for k, v in self.__dict__.copy().items() if k not in ("flow_lines", "_arc_index")}

    @property
    def n_cells(self) -> int:
        return len(self.remaining)

    def cell_node(self, cells: np.ndarray) -> np.ndarray:
        return 2 + len(self.lines) + self.n_hubs + cells

    @property
    def n_arcs(self) -> int:
        return len(self.flow)

    def _kinds(self, arcs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The arcs as int64, each one's kind (0 source -> line, 1 line -> cell, 2 line -> hub,
        3 hub -> cell, 4 cell -> sink) and where each kind starts."""
        arcs = np.asarray(arcs, dtype=np.int64)
        starts = np.cumsum([0, len(self.demand), len(self.direct), len(self.hub_in), len(self.hub_out)])
        return arcs, np.searchsorted(starts[1:], arcs, side="right"), starts

    def arc_ends(self, arcs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The node each of `arcs` starts from and the node it goes to."""
        arcs, kind, (_, direct, hub_in, hub_out, sink) = self._kinds(arcs)
        n_lines = len(self.demand)
        line, hub, cell = 2, 2 + n_lines, 2 + n_lines + self.n_hubs
        tail, head = np.zeros(len(arcs), dtype=np.int64), np.ones(len(arcs), dtype=np.int64)
        k = arcs[kind == 0]
        head[kind == 0] = line + k
        rows = self.direct[arcs[kind == 1] - direct]
        tail[kind == 1], head[kind == 1] = line + rows[:, 1], cell + rows[:, 2]
        rows = self.hub_in[arcs[kind == 2] - hub_in]
        tail[kind == 2], head[kind == 2] = line + rows[:, 1], hub + rows[:, 2]
        rows = self.hub_out[arcs[kind == 3] - hub_out]
        tail[kind == 3], head[kind == 3] = hub + rows[:, 1], cell + rows[:, 2]
        tail[kind == 4] = cell + arcs[kind == 4] - sink
        return tail, head

    def arc_capacity(self, arcs: np.ndarray) -> np.ndarray:
        """What each of `arcs` can carry."""
        arcs, kind, (_, direct, hub_in, hub_out, sink) = self._kinds(arcs)
        out = np.empty(len(arcs), dtype=np.int64)
        out[kind == 0] = self.demand[arcs[kind == 0]]
        out[kind == 1] = self.remaining[self.direct[arcs[kind == 1] - direct, 2]]
        out[kind == 2] = self.demand[self.hub_in[arcs[kind == 2] - hub_in, 1]]
        out[kind == 3] = self.remaining[self.hub_out[arcs[kind == 3] - hub_out, 2]]
        out[kind == 4] = self.remaining[arcs[kind == 4] - sink]
        return out

    @property
    def tail(self) -> np.ndarray:
        return self.arc_ends(np.arange(self.n_arcs))[0]

    @property
    def head(self) -> np.ndarray:
        return self.arc_ends(np.arange(self.n_arcs))[1]

    @property
    def capacity(self) -> np.ndarray:
        return self.arc_capacity(np.arange(self.n_arcs))


def solve_booked(
    supply: np.ndarray,
    lines: Sequence[Line],
    *,
    hubs: Sequence[np.ndarray] = (),
    line_hubs: Sequence[Sequence[int]] = (),
    hub_cells: np.ndarray | None = None,
    n_hubs: int = 0,
    box_hubs: np.ndarray | None = None,
    start=None,
) -> BookedNetwork:
    """Solve the booked set once: sponsorships take their share, the other lines flow to the cells.

    `start`, given the network with no flow, may return a feasible flow of it to start from (a
    solved network's flow carried over to a changed one): then only its residual graph is solved.

    Hubs come as lists (`hubs`: each hub's cells, `line_hubs`: each line's hubs) or, from
    `supply.build_cells`, as (hub, cell) rows `hub_cells` and (line, hub) rows `box_hubs`.
    """
    supply = np.asarray(supply, dtype=np.int64)
    n = len(supply)
    sponsorships = [line for line in lines if line.is_sponsorship]
    flow_idx = [i for i, line in enumerate(lines) if not line.is_sponsorship]
    flow_lines = [lines[i] for i in flow_idx]
    remaining, takes, sponsor_short = sponsorship_takes(supply, sponsorships)
    if hub_cells is None:
        hub_cells, n_hubs = atom_pairs(hubs), len(hubs)
        box_hubs = np.array(
            [(i, h) for i in range(len(lines)) for h in (line_hubs[i] if i < len(line_hubs) else ())], dtype=np.int64
        ).reshape(-1, 2)
    n_lines = len(flow_lines)
    line_node = 2 + np.arange(n_lines, dtype=np.int64)
    hub_node = 2 + n_lines + np.arange(n_hubs, dtype=np.int64)
    cell_node = 2 + n_lines + n_hubs + np.arange(n, dtype=np.int64)
    pairs = atom_pairs([line.atoms for line in flow_lines])
    flow_of_line = np.full(len(lines), -1, dtype=np.int64)
    flow_of_line[flow_idx] = np.arange(n_lines)
    box_hubs = np.asarray(box_hubs, dtype=np.int64).reshape(-1, 2)
    hub_in = np.column_stack([flow_of_line[box_hubs[:, 0]], box_hubs[:, 1]])
    hub_in = hub_in[hub_in[:, 0] >= 0]
    hub_out = np.asarray(hub_cells, dtype=np.int64).reshape(-1, 2)
    demand = np.array([line.quantity for line in flow_lines], dtype=np.int64)
    parts = [
        (np.zeros(n_lines, dtype=np.int64), line_node, demand),
        (line_node[pairs[:, 0]], cell_node[pairs[:, 1]], remaining[pairs[:, 1]]),
        # A line never sends more into its hubs than it gets, its quantity: that bound is exact,
        # and OR-Tools' push-relabel solves faster with it than with an unbounded arc.
        (line_node[hub_in[:, 0]], hub_node[hub_in[:, 1]], demand[hub_in[:, 0]]),
        (hub_node[hub_out[:, 0]], cell_node[hub_out[:, 1]], remaining[hub_out[:, 1]]),
        (cell_node, np.ones(n, dtype=np.int64), remaining),
    ]
    tail, head, capacity = (np.concatenate([p[k] for p in parts]).astype(np.int64, copy=False) for k in range(3))
    at = n_lines
    direct = ArcTable(at, pairs[:, 0], pairs[:, 1], n_lines)
    at += len(pairs)
    hub_in_arcs = ArcTable(at, hub_in[:, 0], hub_in[:, 1], n_lines)
    at += len(hub_in)
    hub_out_arcs = ArcTable(at, hub_out[:, 0], hub_out[:, 1], n_hubs)
    net = BookedNetwork(
        lines=list(lines),
        remaining=remaining,
        sponsor_takes=takes,
        demand=demand,
        flow=np.zeros(len(tail), dtype=np.int64),
        booked=0,
        shortfall=0,
        direct=direct,
        hub_in=hub_in_arcs,
        hub_out=hub_out_arcs,
        n_hubs=n_hubs,
    )
    initial = start(net) if start is not None else None
    flow, reached = _max_flow(tail, head, capacity, initial)
    # Kept per process: 32 bits per arc when no arc can carry more (half the memory), else 64.
    net.flow = flow.astype(np.int32) if not len(capacity) or capacity.max() <= np.iinfo(np.int32).max else flow
    net.dead = np.zeros(2 + n_lines + n_hubs + n, dtype=bool)
    net.dead[reached[reached < len(net.dead)]] = True
    del tail, head
    net.booked = int(net.flow[:n_lines].sum())
    net.shortfall = int(demand.sum()) - net.booked + sponsor_short
    return net


def _max_flow(
    tail: np.ndarray, head: np.ndarray, capacity: np.ndarray, initial: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """A maximum flow from node 0 to node 1, and the nodes the source still reaches in its
    residual graph (its side of the min cut: of no use to any query, see `local_flow`). From a
    feasible `initial` flow, by solving its residual graph."""
    if initial is None:
        graph = max_flow.SimpleMaxFlow()
        graph.add_arcs_with_capacity(tail, head, capacity)
        if graph.solve(0, 1) != graph.OPTIMAL:
            raise RuntimeError("max flow failed")
        flow = graph.flows(np.arange(len(tail), dtype=np.int64)).astype(np.int64, copy=False)
        return flow, np.asarray(graph.get_source_side_min_cut(), dtype=np.int64)
    m = len(tail)
    tails, heads = np.concatenate([tail, head]), np.concatenate([head, tail])
    caps = np.concatenate([capacity - initial, initial])
    keep = np.flatnonzero(caps > 0)
    if not (tails[keep] == 0).any():
        return initial, np.zeros(1, dtype=np.int64)  # nothing leaves the source: already maximum
    graph = max_flow.SimpleMaxFlow()
    graph.add_arcs_with_capacity(tails[keep], heads[keep], caps[keep])
    if graph.solve(0, 1) != graph.OPTIMAL:
        raise RuntimeError("max flow failed")
    added = np.zeros(2 * m, dtype=np.int64)
    added[keep] = graph.flows(np.arange(len(keep), dtype=np.int64))
    # The residual graph of the residual graph's max flow is that of the final flow: same reach.
    return initial + added[:m] - added[m:], np.asarray(graph.get_source_side_min_cut(), dtype=np.int64)


@dataclass
class Augmented:
    #: what the query gets from the booked networks' cells (free supply elsewhere is the caller's)
    available: int
    #: what the query gets of each part, in input order
    to_query: np.ndarray
    #: what lines must take of the parts, as rows: part index, line (index into `line_ids`), amount > 0
    taken_part: np.ndarray
    taken_line: np.ndarray
    taken_amount: np.ndarray
    #: the flow lines of the networks, in order
    line_ids: list[str]
    #: flow lines with an arc into a part's cell (line ids)
    touching: set[str]

    @property
    def to_lines(self) -> dict[int, dict[str, int]]:
        """Part index -> line id -> what the line must take of the part (parts no line needs: absent)."""
        out: dict[int, dict[str, int]] = {}
        for k, line, amount in zip(self.taken_part, self.taken_line, self.taken_amount, strict=True):
            taken = out.setdefault(int(k), {})
            taken[self.line_ids[line]] = taken.get(self.line_ids[line], 0) + int(amount)
        return out


def augment(
    networks: Sequence[BookedNetwork], network: np.ndarray, cell: np.ndarray, capacity: np.ndarray
) -> Augmented:
    """The most the query can add to the booked max flows: one max flow on their residual graphs
    (solved on the part of them the query reaches: `local_flow.query_max_flow`).

    The query has parts: `capacity[i]` impressions of cell `cell[i]` of `networks[network[i]]`
    (at most one part per cell). A cell's lines cannot tell its atoms apart,
    so a cell with a query part of capacity A behaves as the cell split in two (A and the rest):
    the lines use the rest first. By the residual-graph theorem, the max flow of (booked lines +
    query) is the booked max flow plus the max flow of the residual graph with the query added,
    so this equals maxflow(lines + query) - maxflow(lines) with no re-solve of the booked set.
    """
    part_net, part_cell, part_cap = (np.asarray(a, dtype=np.int64) for a in (network, cell, capacity))
    line_ids = [line.id for net in networks for line in net.flow_lines]
    nothing = np.zeros(0, np.int64)
    if not len(part_cell):
        return Augmented(0, nothing, nothing, nothing, nothing, line_ids, set())
    solved = query_max_flow(networks, part_net, part_cell, part_cap)
    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    touching: set[str] = set()
    first_line = 0
    for k, net in enumerate(networks):
        positions = np.flatnonzero(part_net == k)
        if len(positions):
            part, line, amount = _credit_lines(
                net, solved.final[k], part_cell[positions], part_cap[positions], touching
            )
            rows.append((positions[part], line + first_line, amount))
        first_line += len(net.flow_lines)
    part, line, amount = (np.concatenate([r[i] for r in rows] or [nothing]) for i in range(3))
    return Augmented(solved.value, solved.to_parts, part, line, amount, line_ids, touching)


def _credit_lines(net, final, cells, capacity, touching) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What lines take of each part: the cell's line flow beyond what the rest of the cell holds,
    shared among the lines in proportion to their flow into the cell (through a hub: in
    proportion to what each line sends into the hub). Vectorised: a query may cross thousands of
    cells. Rows of (index into `cells`, flow line, amount); `touching` gets the lines with an arc
    into the cells. The final flow `final` is the booked flow with the query's max flow added."""
    flow_lines = net.flow_lines
    part_of_cell = np.full(net.n_cells, -1, dtype=np.int64)
    part_of_cell[cells] = np.arange(len(cells))

    index = arc_index(net)
    direct = net.direct[ranges(index.direct_by_cell[1], cells, index.direct_by_cell[0])]
    out = net.hub_out[ranges(index.hub_out_by_cell[1], cells, index.hub_out_by_cell[0])]
    hubs = np.unique(out[:, 1]).astype(np.int64)
    senders = net.hub_in[ranges(index.hub_in_by_hub[1], hubs, index.hub_in_by_hub[0])]
    touching.update(flow_lines[i].id for i in np.unique(np.concatenate([direct[:, 1], senders[:, 1]])))

    # (part, line, flow) rows: direct arcs, then each hub arc shared among the hub's senders.
    # The flow may be kept in 32 bits: products of two flows need 64.
    sent = final[senders[:, 0]].astype(np.int64)
    hub_total = np.zeros(net.n_hubs, dtype=np.int64)
    np.add.at(hub_total, senders[:, 2], sent)
    order = np.argsort(senders[:, 2], kind="stable")
    by_hub = senders[order]
    sent = sent[order]
    start = np.searchsorted(by_hub[:, 2], np.arange(net.n_hubs))
    count = np.bincount(by_hub[:, 2], minlength=net.n_hubs)
    amount = final[out[:, 0]].astype(np.int64)
    live = (amount > 0) & (hub_total[out[:, 1]] > 0)
    out, amount = out[live], amount[live]
    repeat = count[out[:, 1]]
    row = np.repeat(np.arange(len(out)), repeat)
    within = np.arange(len(row)) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    sender = start[out[row, 1]] + within
    via_hub = amount[row] * sent[sender] // hub_total[out[row, 1]]
    part = np.concatenate([part_of_cell[direct[:, 2]], part_of_cell[out[row, 2]]])
    line = np.concatenate([direct[:, 1], by_hub[sender, 1]])
    flow = np.concatenate([final[direct[:, 0]].astype(np.int64), via_hub])
    keep = flow > 0
    part, line, flow = part[keep], line[keep], flow[keep]

    total = np.zeros(len(cells), dtype=np.int64)
    np.add.at(total, part, flow)
    rest = net.remaining[cells] - capacity
    in_part = np.maximum(0, total - rest)
    share = flow * in_part[part] // np.maximum(total[part], 1)
    some = share > 0
    return part[some], line[some], share[some]
