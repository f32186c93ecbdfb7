"""The availability engine against hand-worked cases and against an LP oracle."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.inventory.solver import InstanceError, Line, availability, fits
from app.inventory.solver_json import solve
from tests.support.oracle import oracle_availability


def test_the_brief_example_gives_what_is_left_after_the_sponsorship_and_the_booking():
    """1,200 impressions; the sponsorship takes 25 % = 300 first; L1 needs 500; 400 are left."""
    result = solve(
        {
            "atoms": [{"id": "a1", "impressions": 1200}],
            "lines": [{"id": "L1", "quantity": 500, "atoms": ["a1"]}, {"id": "S1", "share": 0.25, "atoms": ["a1"]}],
            "query": {"atoms": ["a1"]},
        }
    )
    assert (result["available"], result["matched"], result["shortfall"]) == (400, 1200, 0)
    assert {c["id"]: c["needs"] for c in result["contending"]} == {"L1": 500, "S1": 300}


def test_a_line_moves_to_atoms_the_query_does_not_want():
    """a1 (100) is shared by L1 (needs 100) and the query; a2 (100) only L1 has. L1 moves to a2: 100 left."""
    answer = availability([100, 100], [Line("L1", [0, 1], quantity=100)], [0])
    assert answer.available == 100 and answer.shortfall == 0


def test_a_short_booked_set_reports_its_shortfall():
    """The forecast fell to 80 under two lines needing 60 each: 40 short, nothing available."""
    answer = availability([80], [Line("L1", [0], quantity=60), Line("L2", [0], quantity=60)], [0])
    assert answer.shortfall == 40 and answer.available == 0


def test_lines_out_of_the_querys_reach_still_count_for_the_shortfall():
    answer = availability([10, 100], [Line("far", [0], quantity=30)], [1])
    assert answer.available == 100 and answer.shortfall == 20
    assert answer.contending == []


def test_a_new_booking_fits_only_up_to_what_is_available():
    lines = [Line("L1", [0, 1], quantity=150)]
    assert fits([100, 100], lines, Line("new", [1], quantity=50))
    assert not fits([100, 100], lines, Line("new", [1], quantity=51))


def test_capacities_beyond_32_bits_are_counted_exactly():
    big = 3 * 2**31
    answer = availability([big, big], [Line("L1", [0], quantity=big - 5)], [0, 1])
    assert answer.available == big + 5


def test_malformed_instances_are_refused_with_a_reason():
    with pytest.raises(InstanceError, match="unknown atom"):
        solve({"atoms": [], "lines": [{"id": "L1", "quantity": 1, "atoms": ["x"]}], "query": {"atoms": []}})
    with pytest.raises(InstanceError, match="share outside"):
        solve({"atoms": [{"id": "a", "impressions": 1}], "lines": [{"id": "S", "share": 1.5, "atoms": ["a"]}]})
    with pytest.raises(InstanceError, match="whole number"):
        solve({"atoms": [{"id": "a", "impressions": 1.5}]})


@st.composite
def instances(draw):
    n_atoms = draw(st.integers(1, 8))
    impressions = draw(st.lists(st.integers(0, 1000), min_size=n_atoms, max_size=n_atoms))
    atom_sets = st.lists(st.integers(0, n_atoms - 1), min_size=1, max_size=n_atoms, unique=True)
    lines = []
    for i in range(draw(st.integers(0, 7))):
        atoms = draw(atom_sets)
        if draw(st.booleans()) and i % 3 == 0:
            lines.append(Line(f"S{i}", atoms, share=Fraction(draw(st.integers(0, 100)), 100)))
        else:
            lines.append(Line(f"L{i}", atoms, quantity=draw(st.integers(0, 1500))))
    query = draw(st.lists(st.integers(0, n_atoms - 1), max_size=n_atoms, unique=True))
    return impressions, lines, query


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_availability_equals_the_lp_oracle_to_the_impression(instance):
    impressions, lines, query = instance
    answer = availability(impressions, lines, query)
    assert (answer.available, answer.shortfall) == oracle_availability(impressions, lines, query)


@settings(max_examples=200, deadline=None)
@given(instances(), st.integers(0, 2000))
def test_an_accepted_booking_never_makes_the_booked_set_short(instance, quantity):
    impressions, lines, query = instance
    if not query:
        return
    new = Line("new", query, quantity=quantity)
    before = availability(impressions, lines, []).shortfall
    if fits(impressions, lines, new):
        assert availability(impressions, [*lines, new], []).shortfall == before
    else:
        assert quantity > availability(impressions, lines, query).available


def test_the_answer_is_json():
    answer = availability([5], [Line("L", [0], quantity=2)], [0])
    assert json.loads(json.dumps(answer.as_json()))["available"] == 3


@st.composite
def hub_instances(draw):
    """Cells with hubs: a line reaches its own cells and every cell of its hubs."""
    n_cells = draw(st.integers(1, 8))
    supply = draw(st.lists(st.integers(0, 1000), min_size=n_cells, max_size=n_cells))
    cell_sets = st.lists(st.integers(0, n_cells - 1), max_size=n_cells, unique=True)
    hubs = [sorted(draw(cell_sets)) for _ in range(draw(st.integers(0, 4)))]
    lines, line_hubs = [], []
    for i in range(draw(st.integers(0, 6))):
        own = draw(cell_sets)
        if draw(st.booleans()) and i % 3 == 0:
            lines.append(Line(f"S{i}", own or [0], share=Fraction(draw(st.integers(0, 100)), 100)))
            line_hubs.append([])
        else:
            lines.append(Line(f"L{i}", own, quantity=draw(st.integers(0, 1500))))
            line_hubs.append(draw(st.lists(st.integers(0, len(hubs) - 1), max_size=2, unique=True)) if hubs else [])
    query = draw(st.lists(st.integers(0, n_cells - 1), max_size=n_cells, unique=True))
    return supply, lines, line_hubs, hubs, query


@pytest.mark.parametrize("document", [{"atoms": [1]}, {"lines": "L1"}, {"query": [1]}, [], {"atoms": [{"id": "a"}]}])
def test_instances_of_the_wrong_shape_are_refused_with_a_reason(document):
    with pytest.raises(InstanceError):
        solve(document)


def _split(supply, lines, line_hubs, hubs, parts):
    """The instance with each part's cell cut in two (the part, then the rest), sponsorships applied."""
    cells_of = {}  # old cell -> new cells
    new_supply, query = [], []
    capacity = {cell: cap for cell, cap in parts}
    for cell, amount in enumerate(supply):
        if cell in capacity:
            cells_of[cell] = [len(new_supply), len(new_supply) + 1]
            query.append(len(new_supply))
            new_supply += [capacity[cell], amount - capacity[cell]]
        else:
            cells_of[cell] = [len(new_supply)]
            new_supply.append(amount)
    expanded = [
        Line(
            line.id,
            sorted({n for c in set(line.atoms) | {c for h in line_hubs[i] for c in hubs[h]} for n in cells_of[c]}),
            quantity=line.quantity,
        )
        for i, line in enumerate(lines)
        if not line.is_sponsorship
    ]
    return new_supply, expanded, query


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hub_instances(), min_size=1, max_size=2), st.data())
def test_a_query_augmenting_the_solved_booked_set_gets_what_a_full_solve_gives(instances, data):
    """The booked set is solved once; a query reaching part of some cells augments its residual
    graph. That equals the oracle on the instance with those cells cut in two, and the booked
    set's shortfall is the oracle's."""
    from app.inventory.incremental import augment, solve_booked

    networks, parts, expected = [], [], 0
    for k, (supply, lines, line_hubs, hubs, _) in enumerate(instances):
        net = solve_booked(supply, lines, hubs=[np.array(h, dtype=np.int64) for h in hubs], line_hubs=line_hubs)
        assert (
            net.shortfall
            == oracle_availability(supply, [_expand(line, line_hubs, hubs, i) for i, line in enumerate(lines)], [])[1]
        )
        chosen = data.draw(st.lists(st.integers(0, len(supply) - 1), unique=True, max_size=len(supply)))
        mine = [(c, data.draw(st.integers(0, int(net.remaining[c])))) for c in chosen]
        parts += [(k, c, cap) for c, cap in mine]
        split_supply, split_lines, query = _split(list(net.remaining), lines, line_hubs, hubs, mine)
        expected += oracle_availability(split_supply, split_lines, query)[0]
        networks.append(net)
    network, cell, capacity = (np.array([p[k] for p in parts], dtype=np.int64) for k in range(3))
    result = augment(networks, network, cell, capacity)
    assert result.available == expected
    for i, got in enumerate(result.to_query):
        assert got + sum(result.to_lines.get(i, {}).values()) <= capacity[i]


def _expand(line, line_hubs, hubs, i):
    cells = sorted(set(line.atoms) | {c for h in line_hubs[i] for c in hubs[h]})
    return Line(line.id, cells, quantity=line.quantity, share=line.share)


def test_a_solved_network_keeps_its_flow_in_32_bits_unless_an_arc_can_carry_more():
    """The flow per arc is most of what a process keeps; it is halved whenever every capacity fits."""
    from app.inventory.incremental import augment, solve_booked

    small = solve_booked(np.array([1_000, 1_000]), [Line("L1", [0, 1], quantity=1_500)])
    assert small.flow.dtype == np.int32 and small.booked == 1_500
    big = 3 * 2**31
    large = solve_booked(np.array([big, big]), [Line("L1", [0, 1], quantity=big + 7)])
    assert large.flow.dtype == np.int64 and large.booked == big + 7 and large.shortfall == 0
    answer = augment([large], np.array([0]), np.array([1]), np.array([big]))
    assert answer.available == big - 7


def test_what_lines_take_of_a_request_is_counted_in_64_bits_when_the_flow_is_kept_in_32():
    """Two lines share a hub over two cells of 1.5 billion impressions each: sharing a hub's flow
    among its lines multiplies two flows, which overflows 32 bits."""
    from app.inventory.incremental import augment, solve_booked

    supply = np.array([1_500_000_000, 1_500_000_000])
    lines = [Line("L1", [], quantity=1_400_000_000), Line("L2", [], quantity=1_400_000_000)]
    net = solve_booked(supply, lines, hubs=[np.array([0, 1])], line_hubs=[[0], [0]])
    assert net.flow.dtype == np.int32
    answer = augment([net], np.array([0]), np.array([0]), np.array([1_500_000_000]))
    assert answer.available == 200_000_000
    taken = answer.to_lines[0]
    assert sum(taken.values()) == 1_300_000_000 and all(amount > 0 for amount in taken.values())
