"""Mail: composing and sending over SMTP, and the RQ job that tells people about tickets.

Shared by the web (password-reset and invitation links, sent inline) and the workers (the
`send_notification` job), so it lives here and never imports Flask: settings come in as a
`MailSettings`. Without MAIL_SERVER a message is written to the log and, when MAIL_OUTBOX
names a folder (`ticketflow run` sets instance/outbox for the demo), as an `.eml` file there,
so it can still be read on a laptop with no mail server.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import nh3
from sqlalchemy import select

from jobs import runtime
from workflow.models import EntryKind, Notification, ThreadEntry, Ticket, User

SMTP_TIMEOUT = 5  # seconds: a slow mail server must not hold a request for long
log = logging.getLogger(__name__)


class MailNotSent(RuntimeError):
    """The mail server could not be reached or refused the message."""


@dataclass(frozen=True)
class MailSettings:
    """Where mail goes: an SMTP server (optionally with TLS and a login), or the outbox."""

    sender: str = "Ticketflow <help@localhost>"
    server: str | None = None
    port: int = 25
    security: str = "none"  # none | starttls | tls
    username: str | None = None
    password: str | None = None
    outbox: str | None = None

    @classmethod
    def from_config(cls, config: Any) -> MailSettings:
        """From Flask's config or `config.Config` (same MAIL_* names)."""
        get = config.get if hasattr(config, "get") else lambda k, d=None: getattr(config, k, d)
        return cls(
            sender=get("MAIL_FROM") or cls.sender,
            server=get("MAIL_SERVER"),
            port=int(get("MAIL_PORT") or 25),
            security=get("MAIL_SECURITY") or "none",
            username=get("MAIL_USERNAME"),
            password=get("MAIL_PASSWORD"),
            outbox=get("MAIL_OUTBOX"),
        )


def compose(settings: MailSettings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    return message


def deliver(settings: MailSettings, message: EmailMessage) -> None:
    """Send `message`; raise MailNotSent when the server fails. Without a server, write it
    to the log and the outbox folder instead."""
    if not settings.server:
        if settings.outbox:
            folder = Path(settings.outbox)
            try:
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{uuid.uuid4().hex}.eml").write_bytes(bytes(message))
            except OSError as exc:
                log.warning("The outbox %s cannot be written (%s).", folder, exc)
        log.warning("MAIL_SERVER is not set; mail not sent:\n%s", message)
        return
    try:
        if settings.security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.server,
                settings.port,
                timeout=SMTP_TIMEOUT,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.server, settings.port, timeout=SMTP_TIMEOUT)
        with smtp:
            if settings.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailNotSent(f"{exc.__class__.__name__}: {exc}") from exc


# ---- the job ---------------------------------------------------------------------------------


def send_notification(kind: str, ticket_id: int, recipient_id: int | None) -> str:
    """RQ job: mail one person about one ticket. Reads everything again (the job takes ids,
    not objects); a person or ticket that is gone, or inactive, gets nothing. A failing
    server raises, so RQ retries the job later (jobs/queues.py MAIL_RETRY)."""
    with runtime.session() as session:
        ticket = session.get(Ticket, ticket_id)
        person = session.get(User, recipient_id) if recipient_id is not None else None
        if ticket is None or person is None or not person.is_active:
            return "nobody to mail"
        subject, body = _text(session, kind, ticket, person)
    settings = MailSettings.from_config(runtime.config())
    deliver(settings, compose(settings, person.email, subject, body))
    return f"mailed {kind} about #{ticket.number} to user {person.id}"


def _text(session: Any, kind: str, ticket: Ticket, person: User) -> tuple[str, str]:
    """Subject and body for one kind of notice."""
    number = f"#{ticket.number}"
    if kind.startswith("sla."):
        notice = session.scalar(
            select(Notification.body)
            .where(
                Notification.user_id == person.id,
                Notification.ticket_id == ticket.id,
                Notification.kind == kind,
            )
            .order_by(Notification.id.desc())
            .limit(1)
        )
        _, clock, step = kind.split(".", 2)
        what = "at risk" if step == "at_risk" else "overdue"
        subject = f"[Ticketflow] {number} {what}: {clock.replace('_', ' ')}"
        return subject, f"Hello {person.name},\n\n{notice or subject}\n"
    if kind == "assigned":
        return (
            f"[Ticketflow] {number} is now yours: {ticket.subject}",
            f"Hello {person.name},\n\nticket {number} ({ticket.subject}) was assigned to you.\n",
        )
    if kind in ("public_reply", "resolution_request"):
        reply = session.scalar(
            select(ThreadEntry.body)
            .where(ThreadEntry.ticket_id == ticket.id, ThreadEntry.kind == EntryKind.PUBLIC_REPLY)
            .order_by(ThreadEntry.id.desc())
            .limit(1)
        )
        text = nh3.clean(reply or "", tags=set()).strip()
        if kind == "resolution_request":
            return (
                f"[Ticketflow] {number}: is it solved? {ticket.subject}",
                f"Hello {person.name},\n\n{text}\n\nPlease confirm in the Support Center "
                "that this solves it, or tell us what is still wrong.\n",
            )
        return (
            f"[Ticketflow] {number}: a reply about {ticket.subject}",
            f"Hello {person.name},\n\n{text}\n\nYou can answer in the Support Center.\n",
        )
    if kind == "ticket_opened":
        return (
            f"[Ticketflow] We received your request {number}: {ticket.subject}",
            f"Hello {person.name},\n\nthank you for your message. Your request has the number "
            f"{number}; you can follow it and reply in the Support Center.\n",
        )
    return (
        f"[Ticketflow] {number} was updated: {ticket.subject}",
        f"Hello {person.name},\n\nticket {number} ({ticket.subject}) was updated.\n",
    )
