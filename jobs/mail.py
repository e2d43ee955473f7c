"""Mail: composing and sending over SMTP, and the RQ job that tells people about tickets.

Shared by the web (which enqueues password-reset and invitation links as `send_message`
jobs, web/mail.py) and the workers (the `send_notification` job, which mails one row of the
mail outbox, and `send_message`), so it lives here and never imports Flask: settings come
in as a `MailSettings`. Without MAIL_SERVER a message is written to the log and, when
MAIL_OUTBOX names a folder (`ticketflow run` sets instance/outbox for the demo), as an
`.eml` file there, so it can still be read on a laptop with no mail server.
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

from rq import get_current_job
from sqlalchemy.orm import Session

from jobs import queues, runtime
from workflow import group_notices, notices, outbox
from workflow.followups import Notify
from workflow.models import OutboxMail, Ticket, User

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
    public_url: str | None = None
    """PUBLIC_URL: the address people open Ticketflow at; notices link to their ticket there."""

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
            public_url=get("PUBLIC_URL"),
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


def send_notification(outbox_id: int, *before_outbox: Any) -> str:
    """RQ job: mail the notice of one mail-outbox row (workflow/outbox.py), at least once.

    A job enqueued by a release before the outbox carries (kind, ticket id, recipient id)
    instead: it still reaches its reader (`_from_an_older_release`), so the mail queue need not
    be drained before an upgrade.

    Loads the row locked for this job (a second run at the same moment skips it); a row
    already sent returns "already sent", so a job run twice, or a row enqueued twice (its
    job id is `queues.mail_id`), sends one mail. Otherwise it sends and marks the row sent
    in its own commit. A crash between the server's answer and that commit sends the mail
    again on the next run: delivery is at-least-once, the right side to err on, since a
    duplicate notice costs a reader a second glance while a lost one can leave a ticket
    unanswered, and no mail protocol lets us make the two steps one. A failing server
    records the error on the row and raises, so RQ retries the job (MAIL_RETRY); a person
    or ticket that is gone, or inactive, gets nothing (the row counts as sent).

    A group notice (no recipient) records the group's in-app notices and one child row per
    person in one commit with its own `sent_at`, then enqueues the children's jobs: each
    person's mail is a row of its own, so a retried mail never goes twice to the others
    and a child whose enqueue was lost is found by the sweep like any other row."""
    if before_outbox:
        return _from_an_older_release(outbox_id, *before_outbox)
    with runtime.session() as session:
        row = outbox.claim(session, outbox_id)
        if row is None:
            there = outbox.exists(session, outbox_id)
            return "being sent by another job" if there else "no such notice"
        if row.sent_at is not None:
            return "already sent"
        if row.recipient_id is None and row.kind in group_notices.KINDS:
            return _fan_out(session, row)
        ticket = session.get(Ticket, row.ticket_id)
        person = session.get(User, row.recipient_id) if row.recipient_id is not None else None
        if ticket is None or person is None or not person.is_active:
            _done(session, row)
            return "nobody to mail"
        settings = MailSettings.from_config(runtime.config())
        link = ticket_link(settings.public_url, ticket.number, person.is_staff)
        subject, body = notices.mail_text(session, row, ticket, person, link)
        try:
            deliver(settings, compose(settings, person.email, subject, body))
        except MailNotSent as exc:
            _done(session, row, str(exc)[:1000])
            raise
        _done(session, row)
        return f"mailed {row.kind} about #{ticket.number} to user {person.id}"


STAFF_TICKET = "/staff/tickets/{number}"
CUSTOMER_TICKET = "/tickets/{number}"
"""The ticket's page for staff and in the Support Center (web/staff, web/portal: jobs/ does
not import web/, so tests/jobs/test_mail.py checks these against the app's routes)."""


def ticket_link(public_url: str | None, number: int, staff: bool) -> str | None:
    """Where the reader opens the ticket: the staff page or the Support Center's; None when
    PUBLIC_URL is not set (the mail then names the ticket without a link)."""
    if not public_url:
        return None
    path = STAFF_TICKET if staff else CUSTOMER_TICKET
    return public_url.rstrip("/") + path.format(number=number)


def _from_an_older_release(kind: Any, ticket_id: int, recipient_id: int | None) -> str:
    """An older release's job: write its notice to the outbox now (unpinned: the mail tells
    of the ticket's latest move or reply, as that release did), then send that row."""
    with runtime.session() as session:
        [notice] = outbox.record(
            session, [Notify(str(kind), ticket_id, recipient_id)], runtime.now(), pin=False
        )
        session.commit()
    assert isinstance(notice, Notify) and notice.outbox_id is not None
    return send_notification(notice.outbox_id)


def send_message(to: str, subject: str, body: str) -> str:
    """RQ job: send one composed message (a password link or an invitation, enqueued by the
    web after its commit). A failing server raises, so RQ retries it (MAIL_RETRY); the
    link inside stays valid until it expires or is used."""
    settings = MailSettings.from_config(runtime.config())
    deliver(settings, compose(settings, to, subject, body))
    return f"mailed {subject!r}"


def _fan_out(session: Session, row: OutboxMail) -> str:
    """Record the group's notices and its people's rows, mark the group's row sent, commit,
    then enqueue each person's mail (run inline when this runs outside a worker, as in a
    test that calls the job directly)."""
    people = group_notices.fan_out(session, row.ticket_id, row.kind, row.group_id, row.log_id)
    children = outbox.add_people(session, row, people, runtime.now())
    _done(session, row)
    if not children:
        return "nobody to tell"
    ids = [child.id for child in children]
    job = get_current_job()
    if job is None:
        for child in ids:
            send_notification(child)
        return f"mailed {row.kind} about ticket {row.ticket_id} to {len(ids)} people"
    queues.enqueue_mail(ids, job.connection)  # lost on a crash here: the sweep finds them
    return f"queued {row.kind} mail about ticket {row.ticket_id} for {len(ids)} people"


def _done(session: Session, row: OutboxMail, error: str | None = None) -> None:
    """Count the attempt and mark the row sent (or note the error) in one UPDATE, then
    commit. One: a second UPDATE of a row this transaction already changed would make
    PostgreSQL check its ticket key again, waiting on anyone who holds the ticket's row."""
    row.attempts += 1
    if error is None:
        row.sent_at, row.last_error = runtime.now(), None
    else:
        row.last_error = error
    session.commit()
