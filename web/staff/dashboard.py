"""`/staff`: the queues agents work from, each with its count, most urgent ticket on top."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from web.auth import staff_required
from web.extensions import db
from web.staff import queues
from workflow.loading import compiled_version
from workflow.models import Department, HelpTopic, Priority, Role, User


def _after() -> tuple | None:
    """The keyset of the previous page's last row: `priority,due-iso,id`."""
    raw = request.args.get("after")
    if not raw:
        return None
    try:
        priority, due, ticket_id = raw.split(",")
        return int(priority), datetime.fromisoformat(due).astimezone(UTC), int(ticket_id)
    except ValueError:
        abort(400, "That page link is broken; go back to the first page of the queue.")


def _filters() -> queues.Filters:
    """Filters from the query string; a malformed one is a clear 400, never a 500."""
    values: dict[str, object] = {}
    for name in ("department_id", "help_topic_id", "priority_id", "assignee_id"):
        raw = request.args.get(name, "").strip()
        if raw:
            if not raw.isdigit():
                abort(
                    400,
                    f"The filter {name.removesuffix('_id').replace('_', ' ')} must be "
                    "chosen from the list.",
                )
            values[name] = int(raw)
    state = request.args.get("state", "").strip()
    if state:
        values["state"] = state
    values["q"] = request.args.get("q", "").strip()[:200]
    return queues.Filters(**values)


@staff_required()
def dashboard():
    """One queue's page of tickets, the counts of every queue."""
    queue = request.args.get("queue", "mine")
    if queue not in queues.QUEUE_KEYS:
        abort(404, f"There is no queue called {queue!r}.")
    user = current_user.user
    filters = _filters()
    page = queues.rows(db.session, user, queue, _after(), filters)
    states = {}
    for row in page:
        version = row.Ticket.workflow_version_id
        if version not in states:
            states[version] = compiled_version(db.session, version).definition.states
    next_after = None
    if len(page) == queues.PAGE_SIZE:
        priority, due, ticket_id = queues.sort_key(page[-1].Ticket)
        next_after = f"{priority},{due.isoformat()},{ticket_id}"
    return render_template(
        "staff/dashboard.html",
        queues=queues.QUEUES,
        current=queue,
        counts=queues.counts(db.session, user, filters),
        filters=filters,
        choices=_choices(),
        rows=page,
        states=states,
        now=datetime.now(UTC),
        next_after=next_after,
    )


def _choices() -> dict[str, list]:
    """The options of the filter form (small reference tables)."""
    return {
        "departments": db.session.execute(
            select(Department.id, Department.name).order_by(Department.name)
        ).all(),
        "topics": db.session.execute(
            select(HelpTopic.id, HelpTopic.name).order_by(HelpTopic.name)
        ).all(),
        "priorities": db.session.execute(
            select(Priority.id, Priority.name).order_by(Priority.id.desc())
        ).all(),
        "agents": db.session.execute(
            select(User.id, User.name)
            .where(User.is_active, User.role.in_([Role.AGENT, Role.ADMIN]))
            .order_by(User.name)
        ).all(),
    }
