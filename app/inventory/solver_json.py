"""The engine's JSON instance format, for `flask inventory solve` and for examining cases by hand.

{"atoms": [{"id": "a1", "impressions": 1200}],
 "lines": [{"id": "L1", "quantity": 500, "atoms": ["a1"]},
           {"id": "S1", "share": 0.25, "atoms": ["a1"]}],
 "query": {"atoms": ["a1"]}}
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from app.inventory.solver import Answer, InstanceError, Line, availability


def _share(raw: Any, line_id: str) -> Fraction:
    try:
        value = Fraction(Decimal(str(raw)))
    except (InvalidOperation, ValueError, TypeError):
        raise InstanceError(f"line {line_id}: share {raw!r} is not a number") from None
    return value


def parse(document: dict) -> tuple[list[int], list[Line], list[int], list[str]]:
    """(impressions, lines, query atom indices, atom ids) from a JSON document."""
    if not isinstance(document, dict):
        raise InstanceError("the instance is a JSON object with atoms, lines and query")
    atoms = document.get("atoms") or []
    for key in ("atoms", "lines"):
        if not isinstance(document.get(key) or [], list) or not all(
            isinstance(item, dict) for item in document.get(key) or []
        ):
            raise InstanceError(f"“{key}” is a list of objects")
    if not isinstance(document.get("query") or {}, dict):
        raise InstanceError("“query” is an object with a list of atoms")
    index: dict[str, int] = {}
    impressions: list[int] = []
    for atom in atoms:
        atom_id = str(atom.get("id"))
        if atom_id in index:
            raise InstanceError(f"atom {atom_id} appears twice")
        value = atom.get("impressions")
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InstanceError(f"atom {atom_id}: impressions must be a whole number of 0 or more")
        index[atom_id] = len(impressions)
        impressions.append(value)

    def indices(ids: list, owner: str) -> list[int]:
        try:
            return [index[str(a)] for a in ids]
        except KeyError as exc:
            raise InstanceError(f"{owner} covers unknown atom {exc.args[0]}") from None

    lines = []
    for raw in document.get("lines") or []:
        line_id = str(raw.get("id"))
        covered = indices(raw.get("atoms") or [], f"line {line_id}")
        if "share" in raw:
            lines.append(Line(line_id, covered, share=_share(raw["share"], line_id)))
        else:
            quantity = raw.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool):
                raise InstanceError(f"line {line_id}: quantity must be a whole number")
            lines.append(Line(line_id, covered, quantity=quantity))
    query = indices((document.get("query") or {}).get("atoms") or [], "the query")
    return impressions, lines, query, list(index)


def solve(document: dict) -> dict:
    impressions, lines, query, atom_ids = parse(document)
    answer: Answer = availability(impressions, lines, query)
    result = answer.as_json()
    result["query_groups"] = [
        {
            "atoms": [atom_ids[i] for i in group.atoms],
            "capacity": group.capacity,
            "to_query": group.to_query,
            "to_lines": group.to_lines,
        }
        for group in answer.groups
    ]
    return result
