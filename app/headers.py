"""Security headers on every answer, set in one place (an after_request hook)."""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from flask.sessions import SecureCookieSessionInterface

#: No inline script or style anywhere (app.js and app.css hold what templates once had inline);
#: Bootstrap's icons are data: images; nothing may frame a page.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
#: Files people download (proposal PDFs, CSV and XLSX exports, mail attachments): no shared or disk cache.
PRIVATE_FILES = (
    "application/pdf",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"  # frame-ancestors for browsers that predate it
    # The buyer's signing link carries its token in the path: it must not leak to any other site.
    signing = request.path.startswith("/sign/")
    headers["Referrer-Policy"] = "no-referrer" if signing else "strict-origin-when-cross-origin"
    if signing or response.mimetype in PRIVATE_FILES or "attachment" in headers.get("Content-Disposition", ""):
        headers["Cache-Control"] = "private, no-store"
    if current_app.config["ENV_NAME"] == "production":
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except that static files (CSS, scripts, the favicon) never carry
    the session cookie: they need none, and a browser that fetches the favicon after a page has loaded
    would otherwise set again a cookie that was just cleared or replaced."""

    def should_set_cookie(self, app: Flask, session) -> bool:
        return request.endpoint != "static" and super().should_set_cookie(app, session)
