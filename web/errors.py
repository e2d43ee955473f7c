"""Map domain errors to HTTP answers a person understands: never a traceback."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

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


def _messages(exc: Exception) -> list[str]:
    if isinstance(exc, TransitionRejected):
        return exc.reasons
    if isinstance(exc, InvalidInput):
        return exc.messages
    if isinstance(exc, InvalidDefinition):
        return [str(p) for p in exc.problems]
    return [str(exc)]


def _answer(status: int, title: str, messages: list[str]):
    if request.accept_mimetypes.best == "application/json":
        return {"error": title, "messages": messages}, status
    return render_template("error.html", status=status, title=title, messages=messages), status


def register_error_handlers(app: Flask) -> None:
    for exc_type, status in STATUS.items():
        app.register_error_handler(
            exc_type,
            lambda exc, status=status: _answer(status, "That did not work", _messages(exc)),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _answer(exc.code or 500, exc.name, [exc.description or ""])

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("Unhandled error")
        return _answer(
            500,
            "Something went wrong on our side",
            ["The error was logged. Nothing you sent was lost; please try again."],
        )
