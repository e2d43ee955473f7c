"""The agent's ticket page: header, the whole thread (notes and system events included),
the composer, and one action per workflow event, enabled or disabled with its reasons.

Which inputs an event's form shows comes from the guards the definition attaches to it
(a note guard asks for a note, a reply guard for a reply, a target guard for a receiver),
so an admin's new event gets a working form without template changes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from web.auth import staff_required
from web.extensions import db
from web.forms import ComposerForm, VersionForm
from workflow import services
from workflow.loading import compiled_version
from workflow.models import (
    Department,
    HelpTopic,
    Priority,
    Role,
    SlaPlan,
    Team,
    ThreadEntry,
    Ticket,
    TransitionLog,
    User,
    staff_departments,
)

GUARD_INPUTS = {
    "note_required": ("note",),
    "public_reply_required": ("reply",),
    "assignment_target_given": ("assignee_id", "team_id"),
    "assignment_target_differs": ("assignee_id", "team_id"),
    "transfer_target_differs": ("assignee_id", "team_id", "department_id"),
    "receiver_named": ("assignee_id", "team_id"),
}
TARGETS = ("assignee_id", "team_id", "department_id")


def visible_ticket(number: int) -> Ticket:
    """The ticket if this staff member may see it: admins and ops all, agents those of their
    departments or assigned to them. Anything else is a 404, never a hint."""
    query = select(Ticket).where(Ticket.number == number)
    user = current_user.user
    if user.role == Role.AGENT:
        mine = select(staff_departments.c.department_id).where(
            staff_departments.c.user_id == user.id
        )
        query = query.where(or_(Ticket.department_id.in_(mine), Ticket.assignee_id == user.id))
    ticket = db.session.scalar(query)
    if ticket is None:
        abort(404, "There is no such ticket, or it belongs to a department you do not work in.")
    return ticket


def _inputs(definition: Any, event: str) -> list[str]:
    fields: list[str] = []
    for t in definition.events[event].transitions:
        for guard in t.guards:
            for name in GUARD_INPUTS.get(guard.rule, ()):
                if name not in fields:
                    fields.append(name)
    return fields


def _thread(ticket: Ticket, definition: Any) -> list[dict[str, Any]]:
    """Entries and transition log rows, merged in time order."""
    entries = db.session.scalars(
        select(ThreadEntry).where(ThreadEntry.ticket_id == ticket.id).order_by(ThreadEntry.id)
    ).all()
    logs = db.session.scalars(
        select(TransitionLog).where(TransitionLog.ticket_id == ticket.id).order_by(TransitionLog.id)
    ).all()
    people = {e.author_id for e in entries} | {row.actor_id for row in logs}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(people))).all())
    items = [
        {
            "at": e.created_at,
            "kind": e.kind.value,
            "who": names.get(e.author_id, "Ticketflow"),
            "body": e.body,
            "order": (e.created_at, 0, e.id),
        }
        for e in entries
    ]
    labels = {s.id: s.label for s in definition.states.values()}
    for row in logs:
        event = definition.events.get(row.event)
        items.append(
            {
                "at": row.at,
                "kind": "system_event",
                "who": names.get(row.actor_id, "Ticketflow"),
                "body": None,
                "note": row.note,
                "event": event.label if event else row.event,
                "from": labels.get(row.from_state, row.from_state),
                "to": labels.get(row.to_state, row.to_state),
                "order": (row.at, 1, row.id),
            }
        )
    return sorted(items, key=lambda item: item["order"])


@staff_required()
def ticket_page(number: int):
    """Everything about one ticket, and what this person may do with it now."""
    ticket = visible_ticket(number)
    definition = compiled_version(db.session, ticket.workflow_version_id).definition
    actor = current_user.actor
    decisions = services.explain(db.session, ticket, actor, datetime.now(UTC))
    lookups = {
        "agents": db.session.execute(
            select(User.id, User.name)
            .where(User.is_active, User.role.in_([Role.AGENT, Role.ADMIN]))
            .order_by(User.name)
        ).all(),
        "teams": db.session.execute(select(Team.id, Team.name).order_by(Team.name)).all(),
        "departments": db.session.execute(
            select(Department.id, Department.name).order_by(Department.name)
        ).all(),
    }
    return render_template(
        "staff/ticket.html",
        ticket=ticket,
        state=definition.states[ticket.state],
        decisions=decisions,
        inputs={d.event: _inputs(definition, d.event) for d in decisions},
        thread=_thread(ticket, definition),
        lookups=lookups,
        names={
            "requester": db.session.get(User, ticket.requester_id),
            "assignee": db.session.get(User, ticket.assignee_id) if ticket.assignee_id else None,
            "team": db.session.get(Team, ticket.team_id) if ticket.team_id else None,
            "department": db.session.get(Department, ticket.department_id),
            "topic": db.session.get(HelpTopic, ticket.help_topic_id)
            if ticket.help_topic_id
            else None,
            "priority": db.session.get(Priority, ticket.priority_id),
            "plan": db.session.get(SlaPlan, ticket.sla_plan_id) if ticket.sla_plan_id else None,
        },
        composer=ComposerForm(version=ticket.version),
        button=VersionForm(version=ticket.version),
    )


@staff_required(Role.AGENT, Role.ADMIN)
def fire_event(number: int, event: str):
    """Fire one workflow event with what the form sent; refusals answer 422 with reasons."""
    ticket = visible_ticket(number)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400, "The form was incomplete; reload the page and try again.")
    params = {k: request.form[k] for k in TARGETS if request.form.get(k)}
    if request.form.get("reply"):
        params["reply"] = request.form["reply"]
    services.apply_event(
        db.session,
        ticket.id,
        event,
        current_user.actor,
        datetime.now(UTC),
        note=request.form.get("note") or None,
        expected_version=form.version.data,
        **params,
    )
    flash("Done.")
    return redirect(url_for("staff.ticket", number=number), 303)


@staff_required(Role.AGENT, Role.ADMIN, Role.OPS)
def compose(number: int):
    """A public reply to the customer, or an internal note for staff."""
    ticket = visible_ticket(number)
    form = ComposerForm()
    if not form.validate_on_submit():
        abort(422, " ".join(e for errors in form.errors.values() for e in errors))
    now, actor = datetime.now(UTC), current_user.actor
    if form.mode.data == "note":
        services.add_note(
            db.session, ticket.id, actor, now, form.body.data, expected_version=form.version.data
        )
        flash("Internal note added.")
    else:
        services.reply(
            db.session, ticket.id, actor, now, form.body.data, expected_version=form.version.data
        )
        flash("Reply sent to the customer.")
    return redirect(url_for("staff.ticket", number=number), 303)
