"""gunicorn settings for production: `gunicorn wsgi:app` reads this file from the working directory.

The app is loaded once in the master process and every cluster of booked lines is solved there
before the workers are forked (`app.inventory.warm`): no request pays for the first solve, and the
workers share the solved arrays copy-on-write instead of solving and holding a copy each. The master
reads the solution stored by the last start (or by `flask inventory warm`) when it is still current.
"""

import logging

preload_app = True
# A worker never solves everything on a request; 120 s still covers a slow PDF or a large export.
timeout = 120


def when_ready(server) -> None:
    from app.inventory.warm import warm_before_forking

    log = logging.getLogger("gunicorn.error")
    clusters = warm_before_forking(server.app.wsgi(), log)
    if clusters is not None:
        log.info("Solved %d clusters of booked lines before forking workers", clusters)
