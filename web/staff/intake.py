"""Opening a ticket on a customer's behalf: choose them by email, or create them."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from web.auth import staff_required
from web.extensions import db
from web.followups import after_commit
from web.forms import IntakeForm
from workflow import services
from workflow.errors import InvalidInput
from workflow.models import HelpTopic, Role
from workflow.people import requester_for


@staff_required(Role.AGENT, Role.ADMIN)
def open_for_customer():
    """The ticket is the customer's (they see it in the Support Center); the log shows who
    opened it."""
    form = IntakeForm()
    topics = db.session.scalars(
        select(HelpTopic).where(HelpTopic.is_active).order_by(HelpTopic.name)
    ).all()
    form.help_topic_id.choices = [SelectChoice(t.id, t.name) for t in topics]
    if form.validate_on_submit():
        now = datetime.now(UTC)
        try:
            customer = requester_for(db.session, form.email.data, form.name.data, now)
            outcome = services.open_ticket(
                db.session,
                requester_id=customer.id,
                help_topic_id=form.help_topic_id.data,
                subject=form.subject.data,
                body=form.body.data,
                actor=current_user.actor,
                now=now,
            )
        except InvalidInput as exc:
            db.session.rollback()
            form.email.errors.extend(exc.messages)
        else:
            after_commit(outcome)
            flash(f"Ticket #{outcome.ticket.number} is open for {customer.name}.")
            return redirect(url_for("staff.ticket", number=outcome.ticket.number))
    status = 422 if form.is_submitted() else 200
    return render_template("staff/intake.html", form=form), status
