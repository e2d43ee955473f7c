"""Opening a ticket on a customer's behalf: choose them by email, or create them, and attach
what they sent (a photo of the error, a PDF), with the Support Center's limits and checks."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from web import clock, uploads
from web.auth import staff_required
from web.extensions import db
from web.followups import after_commit
from web.forms import IntakeForm
from workflow import attachments, services
from workflow.attachments import UploadRefused
from workflow.errors import InvalidInput
from workflow.models import HelpTopic, Role
from workflow.people import requester_for


@staff_required(Role.AGENT, Role.ADMIN)
def open_for_customer():
    """The ticket is the customer's (they see it, and its files, in the Support Center); the
    log shows who opened it and the files who uploaded them."""
    form = IntakeForm()
    topics = db.session.scalars(
        select(HelpTopic).where(HelpTopic.is_active).order_by(HelpTopic.name)
    ).all()
    form.help_topic_id.choices = [SelectChoice(t.id, t.name) for t in topics]
    attachment_errors: list[str] = []
    if form.validate_on_submit():
        now = clock.now()
        try:  # the files are saved with the ticket's first message, or nothing is
            with attachments.staged(uploads.store(), uploads.from_request()) as files:
                customer = requester_for(db.session, form.email.data, form.name.data, now)
                outcome = services.open_ticket(
                    db.session,
                    requester_id=customer.id,
                    help_topic_id=form.help_topic_id.data,
                    subject=form.subject.data,
                    body=form.body.data,
                    actor=current_user.actor,
                    now=now,
                    attachments=files,
                )
        except UploadRefused as exc:
            db.session.rollback()
            attachment_errors = exc.messages
        except InvalidInput as exc:
            db.session.rollback()
            form.email.errors.extend(exc.messages)
        else:
            after_commit(outcome)
            flash(f"Ticket #{outcome.ticket.number} is open for {customer.name}.")
            return redirect(url_for("staff.ticket", number=outcome.ticket.number))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "staff/intake.html",
        form=form,
        attachment_errors=attachment_errors,
        attachment_limits=uploads.limits(),
    ), status
