"""`/staff`: the queues agents work from, each with its count, most urgent ticket on top."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, request, url_for
from flask_login import current_user

from web import clock, htmx
from web.auth import roles_of, staff_required
from web.extensions import db
from web.live.cursor import queue_cursor
from web.staff import choices, queue_counts, queue_sorts, queues
from workflow.loading import compiled_version


def _sort() -> queue_sorts.Sort | None:
    """The `sort` parameter; a column the dashboard does not have is a 400 that names the
    ones it has (a silent fallback would show an order the heading does not claim)."""
    try:
        return queue_sorts.parse(request.args.get("sort", "")[:40])
    except ValueError as exc:
        abort(400, str(exc))


def _after(sort: queue_sorts.Sort | None) -> tuple | None:
    """The keyset of the previous page's last row: `priority,due-iso,id` in the default
    order, `[value, id]` (JSON) in a column's."""
    raw = request.args.get("after")
    if not raw:
        return None
    if sort is not None:
        try:
            return queue_sorts.decode(sort, raw)
        except ValueError:
            abort(400, queue_sorts.PAGE_LINK_BROKEN)
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
    queue = request.args.get("queue") or _first_queue()
    if queue not in queues.QUEUE_KEYS:
        abort(404, f"There is no queue called {queue!r}.")
    cursor = queue_cursor(db.session)
    if htmx.wants_fragment() and request.args.get("since") == cursor:
        return htmx.unchanged()
    user = current_user.user
    filters = _filters()
    wanted = _sort()
    counts = queue_counts.counts(db.session, user, filters)
    # A column sort reads the whole queue (web/staff/queue_sorts.py): only when it is counted
    # exactly, i.e. small; a bigger one keeps the default order and says so.
    sort = wanted if wanted is not None and not counts[queue].endswith("+") else None
    page = queues.rows(db.session, user, queue, _after(sort), filters, sort)
    states = {}
    for row in page:
        version = row.Ticket.workflow_version_id
        if version not in states:
            states[version] = compiled_version(db.session, version).definition.states
    next_after = None
    if len(page) == queues.PAGE_SIZE and sort is not None:
        next_after = queue_sorts.encode(sort, page[-1])
    elif len(page) == queues.PAGE_SIZE:
        priority, due, ticket_id = queues.sort_key(page[-1].Ticket)
        next_after = f"{priority},{due.isoformat()},{ticket_id}"
    kept = {"sort": wanted.param} if wanted is not None else {}
    return htmx.page_or_blocks(
        "staff/dashboard.html",
        {"queue-refresh": "queue_refresh", "queue-nav": "queue_nav", "queue-table": "queue_table"},
        cursor=cursor,
        queues=queues.QUEUES,
        current=queue,
        counts=counts,
        filters=filters,
        kept=kept,
        link_args={**filters.args(), **kept},
        headings=_headings(queue, filters, sort),
        sort_note=_sort_note(wanted) if wanted is not None and sort is None else None,
        here=url_for("staff.dashboard", **{k: v for k, v in request.args.lists() if k != "since"}),
        choices=_choices(),
        rows=page,
        states=states,
        now=clock.now(),
        next_after=next_after,
        may_open_for_customer=current_user.role in roles_of("staff.open_for_customer"),
    )


def _first_queue() -> str:
    """Where the dashboard opens: "My tickets" for those who take tickets; ops hold none,
    so theirs would always be empty, and they start at "All open"."""
    return "mine" if current_user.role in choices.ASSIGNABLE else "open"


def _choices() -> dict[str, list]:
    """The options of the filter form (small reference tables), in one statement."""
    return choices.filters(db.session)


def _headings(queue: str, filters: queues.Filters, sort: queue_sorts.Sort | None) -> list[dict]:
    """The column headings: each links to its sort (the first page, filters kept) and says
    whether the table is sorted by it (aria-sort, an arrow)."""
    headings = []
    for column in queue_sorts.COLUMNS.values():
        active = sort is not None and sort.column.key == column.key
        descending = active and sort is not None and sort.descending
        headings.append(
            {
                "label": column.label,
                "url": url_for(
                    "staff.dashboard",
                    queue=queue,
                    sort=queue_sorts.heading_param(sort, column.key),
                    **filters.args(),
                ),
                "aria": ("descending" if descending else "ascending") if active else None,
                "arrow": (" ↓" if descending else " ↑") if active else "",
            }
        )
    return headings


def _sort_note(wanted: queue_sorts.Sort) -> str:
    return (
        f"Sorting by “{wanted.column.label}” works on queues of up to "
        f"{queues.COUNT_CAP:,} tickets; this one has more, so it shows the most urgent "
        "first. Narrow it with a filter or a search to sort it."
    )
