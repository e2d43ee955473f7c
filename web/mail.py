"""Sending mail over SMTP. Without MAIL_SERVER (the demo), messages are written to the log,
so a reset link can still be followed on a laptop with no mail server."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app

SMTP_TIMEOUT = 5  # seconds: a slow mail server must not hold a request for long


class MailNotSent(RuntimeError):
    """The mail server could not be reached or refused the message."""


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text message; raise MailNotSent when the server fails."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    server = current_app.config.get("MAIL_SERVER")
    if not server:
        current_app.logger.warning("MAIL_SERVER is not set; mail not sent:\n%s", message)
        return
    try:
        with smtplib.SMTP(server, current_app.config["MAIL_PORT"], timeout=SMTP_TIMEOUT) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent(f"{exc.__class__.__name__}: {exc}") from exc
