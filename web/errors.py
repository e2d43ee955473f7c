"""Map domain errors to HTTP answers a person understands: never a traceback."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from web import htmx
from workflow.errors import (
    InvalidDefinition,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PublishRefused,
    StaleTicket,
    TransitionRejected,
)

STATUS = {
    TransitionRejected: 422,
    InvalidInput: 422,
    InvalidDefinition: 422,
    PublishRefused: 422,
    StaleTicket: 409,
    PermissionDenied: 403,
    NotFound: 404,
}


PLAIN_WORDS = {
    404: (
        "Page not found",
        "There is nothing at this address: it may be mistyped, or the page may have moved.",
    ),
    405: ("Not possible here", "This page cannot be used that way. Go back and try again."),
}
"""Titles and sentences for Werkzeug's errors that carry only its generic description."""


def _messages(exc: Exception) -> list[str]:
    if isinstance(exc, TransitionRejected):
        return exc.reasons
    if isinstance(exc, InvalidInput):
        return exc.messages
    if isinstance(exc, InvalidDefinition):
        return [str(p) for p in exc.problems]
    return [str(exc)]


def _reload_url() -> str | None:
    """The page the person came from on this site (path and query only), to offer reloading
    it after a stale version: htmx names it, a plain form post has it as the referrer."""
    raw = request.headers.get("HX-Current-URL") or request.referrer
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.netloc and parts.netloc != request.host:
        return None
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def answer(status: int, title: str, messages: list[str]):
    if request.accept_mimetypes.best == "application/json":
        return {"error": title, "messages": messages}, status
    reload_url = _reload_url()
    if htmx.wants_fragment():  # swapped next to the form that was sent (static/ticketflow.js)
        html = render_template("_errors.html", status=status, messages=messages, reload=reload_url)
        return htmx.fragment(html, status)
    return render_template(
        "error.html", status=status, title=title, messages=messages, reload=reload_url
    ), status


def stale_answer(exc: StaleTicket):
    """409 in words for people, never version numbers (the staff pages word it further, with
    who changed what: web/staff/stale.py, registered on their blueprint)."""
    number = exc.ticket_number
    which = f"Ticket #{number}" if number is not None else "This ticket"
    said = f"{which} was changed by someone else after you opened it, so nothing was saved."
    if _reload_url() is None:  # else the answer links the page to reload
        said += " Reload the page to see what changed, then try again."
    return answer(409, "That changed meanwhile", [said])


def register_error_handlers(app: Flask) -> None:
    for exc_type, status in STATUS.items():
        if exc_type is StaleTicket:
            app.register_error_handler(StaleTicket, stale_answer)
            continue
        app.register_error_handler(
            exc_type,
            lambda exc, status=status: answer(status, "That did not work", _messages(exc)),
        )

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return answer(
            400,
            "The form has expired",
            [
                "This form is too old or did not come from this site. Reload the page and "
                "try again.",
                exc.description or "",
            ],
        )

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        """Werkzeug stops reading a request over MAX_CONTENT_LENGTH: nothing was stored."""
        mb = app.config.get("ATTACHMENT_MAX_BYTES", 0) / (1024 * 1024)
        files = app.config.get("ATTACHMENT_MAX_FILES")
        return answer(
            413,
            "Too large to send",
            [
                f"What you sent is too large: attach at most {files} files of {mb:g} MB each. "
                "Nothing was saved; go back, remove a file or two, and send again."
            ],
        )

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def out_of_range(exc: Exception):
        """The database (PostgreSQL's DataError) or its driver (SQLite's OverflowError)
        refused a value, such as a number past its column's range: the request's input was
        wrong, not the server, and nothing was written."""
        from web.extensions import db

        db.session.rollback()
        return answer(
            400,
            "That value does not fit",
            ["A number or value you sent is out of range. Check it and try again."],
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        """Our own words where Werkzeug would give its generic ones (a mistyped address, a
        method the page does not take); a route's own description (abort(404, "...")) stays."""
        code = exc.code or 500
        plain = PLAIN_WORDS.get(code)
        if plain is not None and exc.description == type(exc).description:
            return answer(code, plain[0], [plain[1]])
        return answer(code, exc.name, [exc.description or ""])

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("Unhandled error")
        return answer(
            500,
            "Something went wrong on our side",
            ["The error was logged. Nothing you sent was lost; please try again."],
        )
