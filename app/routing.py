"""URL handling shared by every blueprint."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, abort, redirect, request, url_for
from werkzeug.routing import IntegerConverter

from app.access import public
from app.validation import MAX_ID


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: ids past MAX_ID are simply not found (404), never a database error."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def refuse_nul_bytes() -> None:
    """before_request: no browser sends NUL in a form or query; PostgreSQL refuses to store it."""
    values = [*request.args.values(), *request.form.values(), request.path]
    if any("\x00" in value for value in values):
        abort(400, description="The request contains a NUL character, which no field accepts. Nothing was saved.")


@public
def favicon():
    """Browsers ask every site for /favicon.ico: Flightdeck's icon is an SVG (static/favicon.svg, also
    named by every page's <link rel="icon">)."""
    return redirect(url_for("static", filename="favicon.svg"))


def install(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    app.add_url_rule("/favicon.ico", "favicon", favicon)


def safe_next(target: str | None, default: str) -> str:
    """A same-site path to go back to after a form, or `default` (never another site)."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return default
