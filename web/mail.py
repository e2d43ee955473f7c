"""Sending mail from a request (reset and invitation links). Composing and SMTP live in
`jobs.mail`, shared with the workers; this only reads the app's MAIL_* settings. Without
MAIL_SERVER (the demo), messages are written to the log and the outbox folder, so a reset
link can still be followed on a laptop with no mail server."""

from __future__ import annotations

from flask import current_app

from jobs.mail import MailNotSent, MailSettings, compose, deliver

__all__ = ["MailNotSent", "send_mail"]


def send_mail(to: str, subject: str, body: str) -> None:
    """Send a plain-text message; raise MailNotSent when the server fails."""
    settings = MailSettings.from_config(current_app.config)
    deliver(settings, compose(settings, to, subject, body))
