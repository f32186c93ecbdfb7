"""An LP oracle for availability: scipy's linprog (HiGHS) on the same instance, no max-flow code."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import lil_matrix

from app.inventory.solver import Line


def _max_assignment(supply: np.ndarray, lines: list[Line], query: list[int] | None) -> int:
    """max sum of x[l,a] (+ q[a]) with x[l,a] <= per-line quantity in total and per-atom supply."""
    variables = [(i, a) for i, line in enumerate(lines) for a in sorted(set(line.atoms))]
    query_vars = sorted(set(query or []))
    n_vars = len(variables) + len(query_vars)
    if n_vars == 0:
        return 0
    rows = len(lines) + len(supply)
    a_ub = lil_matrix((rows, n_vars))
    b_ub = np.zeros(rows)
    for v, (i, a) in enumerate(variables):
        a_ub[i, v] = 1
        a_ub[len(lines) + a, v] = 1
    for k, a in enumerate(query_vars):
        a_ub[len(lines) + a, len(variables) + k] = 1
    for i, line in enumerate(lines):
        b_ub[i] = line.quantity
    b_ub[len(lines) :] = supply
    result = linprog(-np.ones(n_vars), A_ub=a_ub.tocsr(), b_ub=b_ub, bounds=(0, None), method="highs")
    assert result.status == 0, result.message
    return round(-result.fun)


def oracle_availability(impressions: list[int], lines: list[Line], query: list[int]) -> tuple[int, int]:
    """(available, shortfall) by linear programming."""
    supply = np.asarray(impressions, dtype=np.int64).copy()
    shortfall = 0
    for line in (line for line in lines if line.share is not None):
        for a in sorted(set(line.atoms)):
            wanted = impressions[a] * line.share.numerator // line.share.denominator
            got = min(wanted, supply[a])
            supply[a] -= got
            shortfall += wanted - got
    flow_lines = [line for line in lines if line.share is None]
    booked = _max_assignment(supply, flow_lines, None)
    with_query = _max_assignment(supply, flow_lines, query)
    return with_query - booked, sum(line.quantity for line in flow_lines) - booked + shortfall
