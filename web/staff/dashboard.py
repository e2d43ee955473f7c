"""`/staff`: the queues agents work from, each with its count, most urgent ticket on top."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, request
from flask_login import current_user

from web import htmx
from web.auth import staff_required
from web.extensions import db
from web.live.cursor import queue_cursor
from web.staff import choices, queues
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


def _filters() -> queues.Filters:
    """Filters from the query string; a malformed one is a clear 400, never a 500."""
    values: dict[str, object] = {}
    for name in ("department_id", "help_topic_id", "priority_id", "assignee_id"):
        raw = request.args.get(name, "").strip()
        if raw:
            if not raw.isdecimal():
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
    """One queue's page of tickets, the counts of every queue. HTMX (a live update or the
    polling fallback) gets the counts and the table; polling with `since` gets 204 while the
    help desk's cursor has not moved (one cheap query instead of the page's dozen)."""
    queue = request.args.get("queue", "mine")
    if queue not in queues.QUEUE_KEYS:
        abort(404, f"There is no queue called {queue!r}.")
    cursor = queue_cursor(db.session)
    if htmx.wants_fragment() and request.args.get("since") == cursor:
        return htmx.unchanged()
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
    return htmx.page_or_blocks(
        "staff/dashboard.html",
        {"queue-nav": "queue_nav", "queue-table": "queue_table"},
        cursor=cursor,
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
    """The options of the filter form (small reference tables), in one statement."""
    return choices.filters(db.session)
