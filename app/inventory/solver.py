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
from scipy.sparse.csgraph import connected_components

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
    #: all the flow the group carries (to the query and to lines)
    used: int = 0

    @property
    def saturated(self) -> bool:
        return self.used >= self.capacity


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
    covered = atom_pairs([line.atoms for line in lines])
    bad = (covered[:, 1] < 0) | (covered[:, 1] >= n)
    if bad.any():
        raise InstanceError(f"line {lines[int(covered[bad][0, 0])].id} covers an atom that does not exist")
    if len(query) and (min(query) < 0 or max(query) >= n):
        raise InstanceError("the query covers an atom that does not exist")


def sponsorship_takes(
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
    pairs = atom_pairs([line.atoms for line in lines])
    matrix = sparse.csr_matrix(
        (np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(len(lines), n_atoms)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    return matrix


def _reachable(incidence: sparse.csr_matrix, query_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Atoms and lines connected to the query through shared atoms (only they can change its answer)."""
    n_lines = incidence.shape[0]
    graph = sparse.bmat([[None, incidence], [incidence.T, None]], format="csr") if n_lines else None
    if graph is None or not query_mask.any():
        return query_mask.copy(), np.zeros(n_lines, dtype=bool)
    _, labels = connected_components(graph, directed=False)
    reached = np.isin(labels, np.unique(labels[n_lines:][query_mask]))
    return reached[n_lines:], reached[:n_lines]


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
    supply, takes, sponsor_short = sponsorship_takes(impressions, sponsorships)
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
    # Unique (line, group) pairs, through one int64 key per pair (much faster than unique rows).
    width = max(n_groups, 1)
    pair_keys = np.unique(coo.row.astype(np.int64) * width + group_of[coo.col])
    pairs = np.stack([pair_keys // width, pair_keys % width], axis=1)
    flow = _solve_network(inside, capacity, pairs, group_in_query, atoms_of=lambda g: region_atoms[group_of == g])
    return Answer(
        available=flow.total - flow.booked,
        matched=matched,
        shortfall=int(sum(line.quantity for line in inside)) - flow.booked + outside_short + sponsor_short,
        contending=sorted(contending + flow.contending, key=lambda c: (-c.takes_from_query, c.id)),
        groups=flow.groups,
        graph_nodes=flow.nodes,
        graph_arcs=flow.arcs,
    )


@dataclass
class _Flow:
    booked: int
    total: int
    groups: list[QueryGroup]
    contending: list[Contention]
    nodes: int
    arcs: int


_NO_PAIRS = np.zeros((0, 2), dtype=np.int64)


def _solve_network(
    lines: Sequence[Line],
    capacity: np.ndarray,
    pairs: np.ndarray,
    group_in_query: np.ndarray,
    *,
    atoms_of,
) -> _Flow:
    """Max flow without and with the query, on groups of supply (`pairs`: line, group)."""
    n_lines, n_groups = len(lines), len(capacity)
    demand = np.array([line.quantity for line in lines], dtype=np.int64)
    source, sink, query_node = 0, 1, 2
    line_node = 3 + np.arange(n_lines, dtype=np.int64)
    group_node = 3 + n_lines + np.arange(n_groups, dtype=np.int64)
    query_groups = np.flatnonzero(group_in_query)
    query_cap = int(capacity[query_groups].sum())

    def solve(query_supply: int) -> tuple[int, max_flow.SimpleMaxFlow]:
        graph = max_flow.SimpleMaxFlow()
        graph.add_arcs_with_capacity(np.full(n_lines, source), line_node, demand)
        graph.add_arcs_with_capacity(line_node[pairs[:, 0]], group_node[pairs[:, 1]], capacity[pairs[:, 1]])
        graph.add_arcs_with_capacity(
            np.full(len(query_groups), query_node), group_node[query_groups], capacity[query_groups]
        )
        graph.add_arc_with_capacity(source, query_node, query_supply)
        graph.add_arcs_with_capacity(group_node, np.full(n_groups, sink), capacity)
        status = graph.solve(source, sink)
        if status != graph.OPTIMAL:
            raise RuntimeError(f"max flow failed: {status}")
        return graph.optimal_flow(), graph

    booked, _ = solve(0)
    total, _ = solve(query_cap)
    # A max flow may hand the query what the lines had: solve once more with the query capped at
    # what is available, so the report shows each line keeping its flow and the query the rest.
    _, graph = solve(total - booked)
    flows = graph.flows(np.arange(graph.num_arcs()))
    at = n_lines
    direct = flows[at : at + len(pairs)]
    at += len(pairs)
    to_query = flows[at : at + len(query_groups)]
    at += len(query_groups) + 1
    to_sink = flows[at : at + n_groups]

    position = {int(g): i for i, g in enumerate(query_groups)}
    groups = [
        QueryGroup(
            atoms=atoms_of(g),
            capacity=int(capacity[g]),
            to_query=int(to_query[i]),
            to_lines={},
            used=int(to_sink[g]),
        )
        for i, g in enumerate(query_groups)
    ]
    takes = np.zeros(n_lines, dtype=np.int64)
    touching = np.zeros(n_lines, dtype=bool)

    def credit(line_i: int, g: int, amount: int) -> None:
        group = groups[position[g]]
        line_id = lines[line_i].id
        group.to_lines[line_id] = group.to_lines.get(line_id, 0) + amount
        takes[line_i] += amount

    # Only arcs into the query's groups matter for the report: select them first (numpy), then loop.
    in_query = group_in_query[pairs[:, 1]] if len(pairs) else np.zeros(0, dtype=bool)
    touching[pairs[in_query, 0]] = True
    for (line_i, g), amount in zip(pairs[in_query], direct[in_query], strict=True):
        if amount:
            credit(int(line_i), int(g), int(amount))
    contending = [
        Contention(line.id, int(line.quantity), int(takes[i]), False) for i, line in enumerate(lines) if touching[i]
    ]
    return _Flow(booked, total, groups, contending, 3 + n_lines + n_groups, graph.num_arcs())


def atom_pairs(groups: Sequence[Sequence[int]]) -> np.ndarray:
    """(owner, member) rows for lists of members, built in one go."""
    if not groups:
        return _NO_PAIRS
    lengths = np.fromiter((len(g) for g in groups), dtype=np.int64, count=len(groups))
    owners = np.repeat(np.arange(len(groups), dtype=np.int64), lengths)
    members = np.concatenate([np.asarray(g, dtype=np.int64) for g in groups]) if lengths.sum() else owners
    return np.stack([owners, members], axis=1)


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
