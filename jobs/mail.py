"""Mail: composing and sending over SMTP, and the RQ job that tells people about tickets.

Shared by the web (which enqueues password-reset and invitation links as `send_message`
jobs, web/mail.py) and the workers (the `send_notification` and `send_message` jobs), so
it lives here and never imports Flask: settings come in as a `MailSettings`. Without
MAIL_SERVER a message is written to the log and, when MAIL_OUTBOX names a folder
(`ticketflow run` sets instance/outbox for the demo), as an `.eml` file there, so it can
still be read on a laptop with no mail server.
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
from rq import Queue, get_current_job
from rq.job import Job
from sqlalchemy import select

from jobs import runtime
from jobs.queues import FAILURE_TTL, MAIL_RETRY, MAIL_TIMEOUT, RESULT_TTL
from workflow import group_notices
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
    server raises, so RQ retries the job later (jobs/queues.py MAIL_RETRY).

    Without a recipient, for a ticket left to a team or department (workflow/group_notices),
    it records the group's in-app notices and hands each person's mail to a job of its own,
    so a retried mail never goes twice to the others."""
    if recipient_id is None and kind in group_notices.KINDS:
        return _fan_out(kind, ticket_id)
    with runtime.session() as session:
        ticket = session.get(Ticket, ticket_id)
        person = session.get(User, recipient_id) if recipient_id is not None else None
        if ticket is None or person is None or not person.is_active:
            return "nobody to mail"
        subject, body = _text(session, kind, ticket, person)
    settings = MailSettings.from_config(runtime.config())
    deliver(settings, compose(settings, person.email, subject, body))
    return f"mailed {kind} about #{ticket.number} to user {person.id}"


def send_message(to: str, subject: str, body: str) -> str:
    """RQ job: send one composed message (a password link or an invitation, enqueued by the
    web after its commit). A failing server raises, so RQ retries it (MAIL_RETRY); the
    link inside stays valid until it expires or is used."""
    settings = MailSettings.from_config(runtime.config())
    deliver(settings, compose(settings, to, subject, body))
    return f"mailed {subject!r}"


def _fan_out(kind: str, ticket_id: int) -> str:
    """Record the group's notices, then one mail job per person (inline when this runs
    outside a worker, as in a test that calls the job directly)."""
    with runtime.session() as session:
        people = group_notices.fan_out(session, ticket_id, kind)
    if not people:
        return "nobody to tell"
    job = get_current_job()
    if job is None:
        for person in people:
            send_notification(kind, ticket_id, person)
        return f"mailed {kind} about ticket {ticket_id} to {len(people)} people"
    mail = Queue(job.origin, connection=job.connection)
    for person in people:
        job_id = f"{job.id}-{person}"  # a rerun of this job re-enqueues, never duplicates
        if Job.exists(job_id, connection=job.connection):
            continue
        mail.enqueue(
            send_notification,
            kind,
            ticket_id,
            person,
            job_id=job_id,
            job_timeout=MAIL_TIMEOUT,
            retry=MAIL_RETRY,
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
        )
    return f"queued {kind} mail about ticket {ticket_id} for {len(people)} people"


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
        row = group_notices.last_move(session, ticket.id)
        note = f"\n\nNote: {row.note}" if row is not None and row.note else ""
        return (
            f"[Ticketflow] {number} is now yours: {ticket.subject}",
            f"Hello {person.name},\n\nticket {number} ({ticket.subject}) was assigned to you."
            f"{note}\n",
        )
    if kind in group_notices.KINDS:
        move = group_notices.describe(session, ticket, kind, moved_on_ok=True)
        where = "your team" if kind == group_notices.TEAM_TRANSFER else "your department"
        text = group_notices.notice_text(ticket, move, kind) if move else f"{number} moved."
        return (
            f"[Ticketflow] {number} was handed to {where}: {ticket.subject}",
            f"Hello {person.name},\n\n{text}\n\nAnyone in it can claim the ticket.\n",
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
