"""Exact availability: a max-flow over supply atoms and the lines that contend for them.

Pure: no database, no Flask. An instance is a list of supply atoms (integer impressions) and a
list of lines, each covering some atoms with a quantity (impressions it must get) or a share of
voice (a sponsorship). DESIGN.md §3 defines the answer:

- Sponsorships take floor(share x impressions) of each of their atoms first, in the order given.
- The other lines form a transportation problem: line -> atom -> sink. The booked set is
  feasible when the max flow equals the sum of their quantities; otherwise the difference is
  the shortfall.
- Availability of a query = maxflow(lines + query with unbounded demand) - maxflow(lines): the
  most the query can get while every line keeps what it gets now.

Atoms that no line tells apart (same lines, same membership of the query) are merged before the
graph is built, and only the part of the instance the query can reach through shared atoms is
built at all. OR-Tools' max flow works in int64, so large publishers do not overflow it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from ortools.graph.python import max_flow
from scipy import sparse

#: OR-Tools capacities are int64; keep every sum of capacities well below its limit.
MAX_CAPACITY = 2**62


class InstanceError(ValueError):
    """The instance is malformed (unknown atom, negative quantity, share outside 0..1)."""


@dataclass(frozen=True)
class Line:
    """A booked or held line: `quantity` impressions, or a `share` of voice of its atoms."""

    id: str
    atoms: Sequence[int]
    quantity: int | None = None
    share: Fraction | None = None

    @property
    def is_sponsorship(self) -> bool:
        return self.share is not None


@dataclass
class Contention:
    id: str
    #: What the line must get over its whole flight (a sponsorship: what its share takes).
    needs: int
    #: How much of the query's supply it takes in the answer.
    takes_from_query: int
    is_sponsorship: bool


@dataclass
class QueryGroup:
    """A set of query atoms that the lines cannot tell apart, with how its supply is used."""

    atoms: np.ndarray
    capacity: int
    to_query: int
    #: line id -> impressions it takes from this group
    to_lines: dict[str, int] = field(default_factory=dict)

    @property
    def saturated(self) -> bool:
        return self.to_query + sum(self.to_lines.values()) >= self.capacity


@dataclass
class Answer:
    available: int
    #: Impressions of the query's atoms, before anything is taken.
    matched: int
    #: What the lines lack in all (the booked set is short when the forecast fell).
    shortfall: int
    contending: list[Contention]
    groups: list[QueryGroup]
    #: Size of the graph actually solved, for diagnostics and benchmarks.
    graph_nodes: int = 0
    graph_arcs: int = 0

    def as_json(self) -> dict:
        return {
            "available": self.available,
            "matched": self.matched,
            "shortfall": self.shortfall,
            "contending": [
                {"id": c.id, "needs": c.needs, "takes_from_query": c.takes_from_query, "sponsorship": c.is_sponsorship}
                for c in self.contending
            ],
        }


def _check(impressions: np.ndarray, lines: Sequence[Line], query: Sequence[int]) -> None:
    n = len(impressions)
    if n and impressions.min() < 0:
        raise InstanceError("an atom has negative impressions")
    if int(impressions.sum()) >= MAX_CAPACITY:
        raise InstanceError("the atoms hold more impressions than the solver can count")
    for line in lines:
        if (line.quantity is None) == (line.share is None):
            raise InstanceError(f"line {line.id} needs either a quantity or a share")
        if line.quantity is not None and not 0 <= line.quantity < MAX_CAPACITY:
            raise InstanceError(f"line {line.id} has a quantity out of range")
        if line.share is not None and not 0 <= line.share <= 1:
            raise InstanceError(f"line {line.id} has a share outside 0..1")
        if len(line.atoms) and (min(line.atoms) < 0 or max(line.atoms) >= n):
            raise InstanceError(f"line {line.id} covers an atom that does not exist")
    if len(query) and (min(query) < 0 or max(query) >= n):
        raise InstanceError("the query covers an atom that does not exist")


def _sponsorship_takes(
    impressions: np.ndarray, sponsorships: Sequence[Line]
) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Each sponsorship takes floor(share x impressions) of its atoms, in order, while supply lasts."""
    remaining = impressions.copy()
    takes: dict[str, np.ndarray] = {}
    shortfall = 0
    for line in sponsorships:
        atoms = np.unique(np.asarray(line.atoms, dtype=np.int64))
        wanted = (impressions[atoms] * line.share.numerator) // line.share.denominator
        got = np.minimum(wanted, remaining[atoms])
        remaining[atoms] -= got
        shortfall += int((wanted - got).sum())
        takes[line.id] = np.zeros(len(impressions), dtype=np.int64)
        takes[line.id][atoms] = got
    return remaining, takes, shortfall


def _incidence(n_atoms: int, lines: Sequence[Line]) -> sparse.csr_matrix:
    """Lines x atoms, 1 where a line covers an atom."""
    rows = np.concatenate([np.full(len(line.atoms), i, dtype=np.int64) for i, line in enumerate(lines)] or [[]])
    cols = np.concatenate([np.asarray(line.atoms, dtype=np.int64) for line in lines] or [[]])
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows.astype(np.int64), cols.astype(np.int64))),
        shape=(len(lines), n_atoms),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def _reachable(incidence: sparse.csr_matrix, query_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Atoms and lines connected to the query through shared atoms (only they can change its answer)."""
    by_atom = incidence.T.tocsr()
    atoms = query_mask.copy()
    lines = np.zeros(incidence.shape[0], dtype=bool)
    frontier = atoms
    while frontier.any():
        new_lines = (by_atom[frontier].sum(axis=0).A1 > 0) & ~lines
        if not new_lines.any():
            break
        lines |= new_lines
        new_atoms = (incidence[new_lines].sum(axis=0).A1 > 0) & ~atoms
        atoms |= new_atoms
        frontier = new_atoms
    return atoms, lines


def availability(impressions: Sequence[int] | np.ndarray, lines: Sequence[Line], query: Sequence[int]) -> Answer:
    """The exact availability of `query` (atom indices) next to `lines`."""
    impressions = np.asarray(impressions, dtype=np.int64)
    _check(impressions, lines, query)
    n = len(impressions)
    query_atoms = np.unique(np.asarray(query, dtype=np.int64))
    query_mask = np.zeros(n, dtype=bool)
    query_mask[query_atoms] = True
    matched = int(impressions[query_mask].sum())

    sponsorships = [line for line in lines if line.is_sponsorship]
    flow_lines = [line for line in lines if not line.is_sponsorship]
    supply, takes, sponsor_short = _sponsorship_takes(impressions, sponsorships)
    contending = [
        Contention(line.id, int(takes[line.id].sum()), int(takes[line.id][query_mask].sum()), True)
        for line in sponsorships
        if takes[line.id][query_mask].any() or (query_mask[np.asarray(line.atoms, dtype=np.int64)].any())
    ]

    incidence = _incidence(n, flow_lines)
    region, active = _reachable(incidence, query_mask)
    # Lines outside the query's reach still count for the shortfall: solve them on their own.
    outside = [flow_lines[i] for i in np.flatnonzero(~active)]
    outside_short = _shortfall_alone(supply, outside, n) if outside else 0

    inside_idx = np.flatnonzero(active)
    inside = [flow_lines[i] for i in inside_idx]
    sub = incidence[inside_idx][:, region] if len(inside_idx) else sparse.csr_matrix((0, int(region.sum())))
    region_atoms = np.flatnonzero(region)

    # Merge atoms with the same signature: the same lines, and in or out of the query.
    rng = np.random.default_rng(20261122)
    keys = rng.integers(1, 2**63 - 1, size=len(inside) + 1, dtype=np.uint64)
    signature = np.zeros(len(region_atoms), dtype=np.uint64)
    if len(inside):
        coo = sub.tocoo()
        np.add.at(signature, coo.col, keys[coo.row])
    signature += np.where(query_mask[region_atoms], keys[-1], np.uint64(0))
    _, group_of, _ = np.unique(signature, return_inverse=True, return_counts=True)
    n_groups = int(group_of.max()) + 1 if len(group_of) else 0
    capacity = np.zeros(n_groups, dtype=np.int64)
    np.add.at(capacity, group_of, supply[region_atoms])
    group_in_query = np.zeros(n_groups, dtype=bool)
    group_in_query[group_of[query_mask[region_atoms]]] = True

    # line -> group arcs
    coo = sub.tocoo()
    pairs = (
        np.unique(np.stack([coo.row.astype(np.int64), group_of[coo.col]], axis=1), axis=0)
        if coo.nnz
        else (np.zeros((0, 2), dtype=np.int64))
    )
    demand = np.array([line.quantity for line in inside], dtype=np.int64)

    # Nodes: 0 source, 1 sink, 2 query, then lines, then groups.
    source, sink, query_node = 0, 1, 2
    line_node = 3 + np.arange(len(inside), dtype=np.int64)
    group_node = 3 + len(inside) + np.arange(n_groups, dtype=np.int64)
    query_groups = np.flatnonzero(group_in_query)
    query_cap = int(capacity[query_groups].sum())

    def solve(with_query: bool) -> tuple[int, max_flow.SimpleMaxFlow, int]:
        graph = max_flow.SimpleMaxFlow()
        graph.add_arcs_with_capacity(np.full(len(inside), source), line_node, demand)
        graph.add_arcs_with_capacity(line_node[pairs[:, 0]], group_node[pairs[:, 1]], capacity[pairs[:, 1]])
        first_query_arc = graph.num_arcs()
        graph.add_arcs_with_capacity(
            np.full(len(query_groups), query_node), group_node[query_groups], capacity[query_groups]
        )
        graph.add_arc_with_capacity(source, query_node, query_cap if with_query else 0)
        graph.add_arcs_with_capacity(group_node, np.full(n_groups, sink), capacity)
        status = graph.solve(source, sink)
        if status != graph.OPTIMAL:
            raise RuntimeError(f"max flow failed: {status}")
        return graph.optimal_flow(), graph, first_query_arc

    booked_flow, _, _ = solve(False)
    total_flow, graph, first_query_arc = solve(True)
    flows = graph.flows(np.arange(graph.num_arcs()))
    line_arcs = flows[len(inside) : len(inside) + len(pairs)]
    query_arcs = flows[first_query_arc : first_query_arc + len(query_groups)]

    groups = []
    position = {int(g): i for i, g in enumerate(query_groups)}
    for i, g in enumerate(query_groups):
        groups.append(
            QueryGroup(
                atoms=region_atoms[group_of == g], capacity=int(capacity[g]), to_query=int(query_arcs[i]), to_lines={}
            )
        )
    takes_from_query = np.zeros(len(inside), dtype=np.int64)
    for (line_i, g), flow in zip(pairs, line_arcs, strict=True):
        if flow and int(g) in position:
            group = groups[position[int(g)]]
            line_id = inside[line_i].id
            group.to_lines[line_id] = group.to_lines.get(line_id, 0) + int(flow)
            takes_from_query[line_i] += flow
    touching = np.zeros(len(inside), dtype=bool)
    if len(pairs):
        touching[pairs[group_in_query[pairs[:, 1]], 0]] = True
    contending += [
        Contention(line.id, int(line.quantity), int(takes_from_query[i]), False)
        for i, line in enumerate(inside)
        if touching[i]
    ]
    contending.sort(key=lambda c: (-c.takes_from_query, c.id))
    shortfall = int(demand.sum()) - booked_flow + outside_short + sponsor_short
    return Answer(
        available=total_flow - booked_flow,
        matched=matched,
        shortfall=shortfall,
        contending=contending,
        groups=groups,
        graph_nodes=3 + len(inside) + n_groups,
        graph_arcs=graph.num_arcs(),
    )


def _shortfall_alone(supply: np.ndarray, lines: Sequence[Line], n: int) -> int:
    """What `lines` lack when solved on `supply` by themselves."""
    incidence = _incidence(n, lines).tocoo()
    graph = max_flow.SimpleMaxFlow()
    source, sink = 0, 1
    demand = np.array([line.quantity for line in lines], dtype=np.int64)
    graph.add_arcs_with_capacity(np.zeros(len(lines), dtype=np.int64), 2 + np.arange(len(lines)), demand)
    atom_node = 2 + len(lines) + np.arange(n, dtype=np.int64)
    graph.add_arcs_with_capacity(2 + incidence.row.astype(np.int64), atom_node[incidence.col], supply[incidence.col])
    used = np.unique(incidence.col)
    graph.add_arcs_with_capacity(atom_node[used], np.full(len(used), sink), supply[used])
    graph.solve(source, sink)
    return int(demand.sum()) - graph.optimal_flow()


def fits(impressions: Sequence[int] | np.ndarray, lines: Sequence[Line], new: Line) -> bool:
    """Whether `new` can be added while every line keeps what it gets now."""
    if new.is_sponsorship:
        before = availability(impressions, lines, new.atoms)
        after = availability(impressions, [*lines, new], [])
        return after.shortfall <= before.shortfall
    return new.quantity <= availability(impressions, lines, new.atoms).available
