"""Domain errors and their one mapping to HTTP.

Services raise these; views never build error responses by hand. A `ValidationFailed` carries
every field's messages at once so a form can show them all.
"""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.transaction import rollback


class DomainError(Exception):
    status_code = 400
    title = "Request not accepted"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class Forbidden(DomainError):
    status_code = 403
    title = "Not allowed"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class ValidationFailed(DomainError):
    """Bad input: `errors` maps a field name (or "" for the whole form) to its messages."""

    status_code = 400
    title = "Check the form"

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(f"{k}: {' '.join(v)}" if k else " ".join(v) for k, v in errors.items()))
        self.errors = errors

    @classmethod
    def on(cls, field: str, message: str) -> ValidationFailed:
        return cls({field: [message]})


class Errors:
    """Collects validation messages so a command can report all of them in one go."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


ERROR_TITLES = {
    400: ("Bad request", "The request could not be understood. Check what you sent and try again."),
    403: ("Not allowed", "Your account does not have access to this page."),
    404: ("Not found", "There is nothing at this address. It may have been moved or never existed."),
    405: ("Method not allowed", "This address does not accept that kind of request."),
    409: ("Conflict", "Someone changed this at the same time. Reload the page and try again."),
    413: ("File too large", "The file is larger than this form accepts."),
    500: ("Something went wrong", "The error has been logged. Nothing you entered was half-saved."),
}


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render_error(status: int, message: str | None = None):
    title, default_message = ERROR_TITLES.get(status, ("Error", ""))
    message = message or default_message
    if _wants_json():
        return {"error": title, "message": message}, status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        rollback(db.session)
        return render_error(exc.status_code, exc.message)

    @app.errorhandler(StaleDataError)
    def stale_data(exc: StaleDataError):
        # Two saves of one versioned row at the same moment: the second one loses, visibly.
        rollback(db.session)
        return render_error(
            409, "Someone else saved this at the same moment. Reload the page and make your change again."
        )

    @app.errorhandler(IntegrityError)
    def integrity_error(exc: IntegrityError):
        # A uniqueness check passed, then a concurrent request took the name or e-mail first.
        rollback(db.session)
        app.logger.warning("Integrity error on %s %s: %s", request.method, request.path, exc.orig)
        return render_error(
            409,
            "This clashes with a change saved at the same moment (the same name or e-mail, for example). "
            "Reload the page and try again.",
        )

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_error(
            400,
            "This form expired or was sent from another page, so nothing was saved. "
            "Go back, reload the page and send it again.",
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        # CSRF failures and other 400s carry a description worth showing.
        message = exc.description if exc.code == 400 else None
        return render_error(exc.code, message)

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        rollback(db.session)
        return render_error(500)
