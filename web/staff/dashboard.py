"""`/staff`: the queues agents work from, each with its count, most urgent ticket on top."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, render_template, request
from flask_login import current_user

from web.auth import staff_required
from web.extensions import db
from web.staff import queues
from workflow.loading import compiled_version


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


@staff_required()
def dashboard():
    """One queue's page of tickets, the counts of every queue."""
    queue = request.args.get("queue", "mine")
    if queue not in queues.QUEUE_KEYS:
        abort(404, f"There is no queue called {queue!r}.")
    user = current_user.user
    page = queues.rows(db.session, user, queue, _after())
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
        counts=queues.counts(db.session, user),
        rows=page,
        states=states,
        now=datetime.now(UTC),
        next_after=next_after,
    )
