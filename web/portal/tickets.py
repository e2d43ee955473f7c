"""The Support Center's ticket pages: open a ticket, list mine, read the thread (never the
internal notes), reply, and confirm or reject a resolution.

Every query is scoped to the signed-in customer, so another person's ticket is a 404; every
change goes through one service call, which checks the version the person saw.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from web import clock, uploads
from web.auth import end_user_required
from web.extensions import db
from web.followups import after_commit
from web.forms import OpenTicketForm, ReopenForm, ReplyForm, VersionForm
from workflow import attachments, services
from workflow.attachments import UploadRefused
from workflow.errors import StaleTicket
from workflow.loading import compiled_version
from workflow.models import EntryKind, HelpTopic, ThreadEntry, Ticket, User

PUBLIC_KINDS = (EntryKind.CUSTOMER_MESSAGE, EntryKind.PUBLIC_REPLY)
PAGE_SIZE = 50
INCOMPLETE = "The form was incomplete; reload the page and try again."
REOPENED = "We reopened the ticket and will look at it again."


def _mine(number: int) -> Ticket:
    ticket = db.session.scalar(
        select(Ticket).where(Ticket.number == number, Ticket.requester_id == current_user.user.id)
    )
    if ticket is None:
        abort(404, "There is no such ticket among yours.")
    return ticket


def _labels(ticket: Ticket) -> dict[str, str]:
    definition = compiled_version(db.session, ticket.workflow_version_id).definition
    return {s.id: s.customer_label for s in definition.states.values()}


@end_user_required
def my_tickets():
    """My tickets, most recently active first, with their states in customer words."""
    tickets = db.session.scalars(
        select(Ticket)
        .where(Ticket.requester_id == current_user.user.id)
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
        .limit(PAGE_SIZE)
    ).all()
    labels: dict[int, dict[str, str]] = {}
    for t in tickets:
        labels.setdefault(t.workflow_version_id, _labels(t))
    return render_template("portal/tickets.html", tickets=tickets, labels=labels)


@end_user_required
def open_ticket():
    """Open a ticket: the help topic decides department, priority, SLA plan and workflow."""
    form = OpenTicketForm()
    topics = db.session.scalars(
        select(HelpTopic).where(HelpTopic.is_active).order_by(HelpTopic.name)
    ).all()
    form.help_topic_id.choices = [SelectChoice(t.id, t.name) for t in topics]
    attachment_errors: list[str] = []
    if form.validate_on_submit():
        actor, now = current_user.actor, clock.now()
        try:  # the files are saved with the ticket's first message, or nothing is
            with attachments.staged(uploads.store(), uploads.from_request()) as files:
                outcome = services.open_ticket(
                    db.session,
                    requester_id=actor.id,
                    help_topic_id=form.help_topic_id.data,
                    subject=form.subject.data,
                    body=form.body.data,
                    actor=actor,
                    now=now,
                    attachments=files,
                )
        except UploadRefused as exc:
            attachment_errors = exc.messages
        else:
            after_commit(outcome)
            flash(f"Ticket #{outcome.ticket.number} is open. We will answer here and by mail.")
            return redirect(url_for("portal.ticket", number=outcome.ticket.number))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "portal/open_ticket.html",
        form=form,
        attachment_errors=attachment_errors,
        attachment_limits=uploads.limits(),
    ), status


def page_context(t: Ticket) -> dict[str, Any]:
    """What the page and its live fragments (the template's blocks) render from."""
    entries = db.session.execute(
        select(ThreadEntry, User.name)
        .join(User, User.id == ThreadEntry.author_id, isouter=True)
        .where(ThreadEntry.ticket_id == t.id, ThreadEntry.kind.in_(PUBLIC_KINDS))
        .order_by(ThreadEntry.id)
    ).all()
    allowed = {
        d.event
        for d in services.explain(db.session, t, current_user.actor, clock.now())
        if d.allowed
    }
    return dict(
        ticket=t,
        entries=entries,
        labels=_labels(t),
        reply=ReplyForm(formdata=None, version=t.version),
        button=VersionForm(formdata=None, version=t.version),
        reopen=ReopenForm(formdata=None, version=t.version),
        allowed=allowed,
        attachments=attachments.listing(db.session, t.id, public_only=True),
        attachment_limits=uploads.limits(),
    )


@end_user_required
def ticket(number: int):
    """One of my tickets: the public thread and what I can do now."""
    return render_template("portal/ticket.html", **page_context(_mine(number)))


@end_user_required
def reply(number: int):
    """Reply on the thread; the workflow decides whether it moves the ticket."""
    t = _mine(number)
    form = ReplyForm()
    if not form.validate_on_submit():
        if form.version.errors:
            abort(400, INCOMPLETE)
        # The error goes next to the reply box, which keeps what was typed; the page shows
        # the ticket as it is now, so the form carries the version on show.
        form.version.data = t.version
        context = page_context(t) | {"reply": form}
        return render_template("portal/ticket.html", **context), 422
    actor, now = current_user.actor, clock.now()
    try:
        with attachments.staged(uploads.store(), uploads.from_request()) as files:
            outcome = services.reply(
                db.session,
                t.id,
                actor,
                now,
                form.body.data,
                expected_version=form.version.data,
                attachments=files,
            )
    except StaleTicket:
        return _reply_again(number, form, bool(files))
    after_commit(outcome)
    if outcome.ticket.id != t.id:
        flash(f"This ticket was closed, so your message opened ticket #{outcome.ticket.number}.")
    return redirect(url_for("portal.ticket", number=outcome.ticket.number), 303)


def _reply_again(number: int, form: ReplyForm, had_files: bool) -> Any:
    """The ticket changed while the customer was writing (an agent replied, resolved...):
    nothing was sent. The page shows the ticket as it is now, with the message still in the
    reply box and the version on show, so one more Send sends it if it still applies (409)."""
    t = _mine(number)
    form.version.data = t.version
    again = "Your message was not sent: the ticket changed while you were writing (see above)."
    again += " It is still here; send it again if it still applies."
    if had_files:
        again += " Attach your files again too."
    form.body.errors = [*form.body.errors, again]
    return render_template("portal/ticket.html", **(page_context(t) | {"reply": form})), 409


def _fire(t: Ticket, form: VersionForm, event: str, message: str):
    outcome = services.apply_event(
        db.session,
        t.id,
        event,
        current_user.actor,
        clock.now(),
        expected_version=form.version.data,
    )
    after_commit(outcome)
    flash(message)
    return redirect(url_for("portal.ticket", number=t.number), 303)


@end_user_required
def confirm(number: int):
    """ "Yes, my issue is resolved": the agent may now close the ticket."""
    t, form = _mine(number), VersionForm()
    if not form.validate_on_submit():
        abort(400, INCOMPLETE)
    return _fire(t, form, "confirm", "Thank you for confirming. We will close the ticket.")


@end_user_required
def reopen(number: int):
    """ "It is still a problem": the ticket goes back to the agent. What the customer wrote
    in "What is still wrong?" goes on the thread through services.reply, whose customer
    message fires `reopen` on a resolved ticket: one path, sanitized like any reply. It is
    only taken when `reopen` is allowed now, so a message never lands without reopening (a
    refusal answers 422 with its reasons, through apply_event, and nothing is stored)."""
    t, form = _mine(number), ReopenForm()
    if not form.validate_on_submit():
        abort(400, INCOMPLETE)
    why = (form.message.data or "").strip()
    actor, now = current_user.actor, clock.now()
    if not why or not any(
        d.event == "reopen" and d.allowed for d in services.explain(db.session, t, actor, now)
    ):
        return _fire(t, form, "reopen", REOPENED)
    outcome = services.reply(db.session, t.id, actor, now, why, expected_version=form.version.data)
    after_commit(outcome)
    flash(REOPENED)
    return redirect(url_for("portal.ticket", number=number), 303)
