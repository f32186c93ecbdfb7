"""Every cluster of the live set solved before the first request, so that no request pays for it.

gunicorn loads the app once in its master process (`preload_app` in `gunicorn.conf.py`), calls
`warm` there, and then forks the workers: each starts with the solved clusters already in its
memory, shared with the others copy-on-write, and only brings them up to date with what was
reserved or released since (`booked.clusters_for`).

`warm` starts from the solution stored on disk when there is one for today and the current
forecast (`stored`), so a restart costs seconds, not a solve from nothing, and it stores what it
solved or caught up for the next start. `flask inventory warm` runs it alone (after midnight and
after a forecast run, so that a restart that day finds a stored solution).
"""

from __future__ import annotations

from datetime import timedelta

from app.db import utcnow
from app.extensions import current_clock, current_settings, db
from app.inventory import booked
from app.inventory.availability import solved_clusters
from app.inventory.live import live_held
from app.inventory.supply import Box


def warm(app) -> int:
    """Solve and keep every cluster of the live set; the number of clusters. The database
    connections are closed afterwards: forked workers must open their own."""
    with app.app_context():
        try:
            today = current_clock().today()
            live = live_held(utcnow(), today)
            # A box on no slot wants no cluster: a first request solves them all anyway.
            nowhere = Box((), today, today + timedelta(days=1))
            solved_clusters(nowhere, live, today=today, margin_pct=current_settings().safety_margin_pct, cached=True)
            kept = booked._stores.get(str(db.session.get_bind().url))
            return sum(1 for entry in kept.entries if entry.solved is not None) if kept else 0
        finally:
            db.session.remove()
            db.engine.dispose()


def warm_before_forking(app, log) -> int | None:
    """`warm`, for gunicorn's master: the number of clusters solved, or None when it failed (the
    database unreachable or not migrated yet). Warming only saves the first requests a solve, so
    a failure is logged and the server starts all the same: each worker then solves on its first
    availability answer, as without gunicorn."""
    try:
        return warm(app)
    except Exception:
        log.exception("Could not solve the booked lines before forking: each worker solves them on its first request")
        return None
