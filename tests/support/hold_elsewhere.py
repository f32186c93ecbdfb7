"""Make and commit one hold from a process of its own:
`python -m tests.support.hold_elsewhere URL SLOT START END QUANTITY TODAY`.

The freshness test runs it beside a process that has already solved the hold's cluster.
"""

from __future__ import annotations

import sys
from datetime import date

from app import create_app
from app.db import utcnow
from app.extensions import db
from app.inventory.models import ReservationKind
from app.inventory.reservations import reserve
from app.inventory.supply import Box


def main(url: str, slot: str, start: str, end: str, quantity: str, today: str) -> None:
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        box = Box((int(slot),), date.fromisoformat(start), date.fromisoformat(end))
        reserve(
            ReservationKind.HOLD,
            box,
            label="Held elsewhere",
            quantity=int(quantity),
            actor=None,
            now=utcnow(),
            today=date.fromisoformat(today),
            margin_pct=10,
            hold_days=7,
        )
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:])
