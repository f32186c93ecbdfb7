"""What the builder's line forms show in their fields: a saved line's values, or what the rep typed
(a refused Add or Save shows the form again as it was sent, not blank and not as saved)."""

from __future__ import annotations

from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from app.catalog.models import DIMENSION_LABELS
from app.formats import percent
from app.proposals.models import ProposalLine
from app.validation import parse_id

#: the most values per targeting dimension shown again (a form never sends more than it offers)
MAX_VALUES = 1000


@dataclass(frozen=True)
class LineFields:
    """The text of each field, as the form shows it."""

    product: int | None = None
    pricing_model: str = ""
    line_discount_pct: str = ""
    start: str = ""
    end: str = ""
    quantity: str = ""
    budget: str = ""
    #: the chosen values per targeting dimension
    targeting: dict[str, list[str]] = field(default_factory=dict)


def fields_of_line(line: ProposalLine) -> LineFields:
    return LineFields(
        product=line.product_id,
        pricing_model=line.pricing_model,
        line_discount_pct=percent(line.discount_pct).removesuffix(" %"),
        start=line.start_day.isoformat(),
        end=line.end_day.isoformat(),
        quantity="" if line.quantity is None else str(line.quantity),
        budget="" if line.budget is None else str(line.budget),
        targeting={k: list(v) for k, v in line.targeting.items()},
    )


def fields_typed(form: MultiDict, *, start: str = "", end: str = "") -> LineFields:
    """What a rep sent (a request's form or query string), every field as typed; `start` and `end`
    when the form has no day (the proposal's flight)."""

    def text(name: str) -> str:
        return (form.get(name) or "")[:200]

    return LineFields(
        product=parse_id(form.get("product") or ""),
        pricing_model=text("pricing_model"),
        line_discount_pct=text("line_discount_pct"),
        start=text("start") or start,
        end=text("end") or end,
        quantity=text("quantity"),
        budget=text("budget"),
        targeting={
            dim: [v for v in form.getlist(dim)[:MAX_VALUES] if v] for dim in DIMENSION_LABELS if form.getlist(dim)
        },
    )
