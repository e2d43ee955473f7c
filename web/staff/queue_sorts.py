"""The dashboard's column sorts: `sort=subject` ascending, `sort=-subject` descending.

Each sort orders by its column, then by the ticket id in the same direction, so the order is
total and a page continues exactly where the last one ended (a keyset of `[value, id]`,
never OFFSET). NULLs (no number yet, no SLA clock, nobody assigned) count as larger than
every value, PostgreSQL's own rule: last when ascending, first when descending. SQLite puts
them the other way round, so the order says NULLS LAST / NULLS FIRST on both. State sorts
by the state's id (as the workflow names it), priority by its id (its rank: higher is more
urgent), names in the database's collation (the keyset compares in the same one).

What a sort costs: only the default order (no `sort`) has indexes in its order (the
`ix_tickets_*_queue` partial indexes), so its page is the first 50 index entries at any
size. Every column sort reads the whole queue through those same indexes and keeps the top
50 (a bounded top-N heapsort in memory; the names add one primary-key lookup per row of the
queue). That is why the dashboard only column-sorts a queue whose capped count is exact
(at most `queues.COUNT_CAP` tickets, or `SEARCH_COUNT_CAP` under a search): a page then
reads at most about a thousand rows, a few milliseconds, and no sort needs an index of its
own. A bigger queue keeps the default order and says so; a filter or search narrows it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, or_

from workflow.models import Ticket

PAGE_LINK_BROKEN = "That page link is broken; go back to the first page of the queue."


@dataclass(frozen=True)
class Column:
    """A sortable column: its URL name, what the heading says, the value's kind (for the
    page link), whether it can be NULL, and where its value lives in a row."""

    key: str
    label: str
    kind: str  # "int", "text" or "time"
    nullable: bool
    value: Callable[[Any], Any]


COLUMNS = {
    c.key: c
    for c in (
        Column("number", "#", "int", True, lambda row: row.Ticket.number),
        Column("subject", "Subject", "text", False, lambda row: row.Ticket.subject),
        Column("requester", "Requester", "text", False, lambda row: row.requester_name),
        Column("state", "State", "text", False, lambda row: row.Ticket.state),
        Column("priority", "Priority", "int", False, lambda row: row.Ticket.priority_id),
        Column("due", "SLA", "time", True, lambda row: row.Ticket.next_due_at),
        Column("assignee", "Assignee", "text", True, lambda row: row.assignee_name),
        Column("updated_at", "Last activity", "time", False, lambda row: row.Ticket.updated_at),
    )
}


@dataclass(frozen=True)
class Sort:
    column: Column
    descending: bool

    @property
    def param(self) -> str:
        return f"-{self.column.key}" if self.descending else self.column.key


def parse(raw: str) -> Sort | None:
    """The `sort` parameter; "" is the default order (None). Raises ValueError with a
    sentence for a column the dashboard does not have."""
    name = raw.strip()
    if not name:
        return None
    column = COLUMNS.get(name.removeprefix("-"))
    if column is None:
        known = ", ".join(COLUMNS)
        raise ValueError(f"The queue cannot be sorted by {name!r}; pick one of: {known}.")
    return Sort(column, name.startswith("-"))


def heading_param(current: Sort | None, key: str) -> str:
    """What a column heading links to: ascending, or descending when already ascending."""
    if current is not None and current.column.key == key and not current.descending:
        return f"-{key}"
    return key


def order(sort: Sort, expression: Any) -> tuple[Any, ...]:
    """ORDER BY for `sort` on `expression` (the column, or the joined name)."""
    if sort.descending:
        return (expression.desc().nulls_first(), Ticket.id.desc())
    return (expression.asc().nulls_last(), Ticket.id.asc())


def after(sort: Sort, expression: Any, value: Any, ticket_id: int) -> Any:
    """Rows after (value, id) in `order(sort, expression)`; NULL is the largest value."""
    nullable = sort.column.nullable
    if sort.descending:
        if value is None:
            return or_(expression.is_not(None), and_(expression.is_(None), Ticket.id < ticket_id))
        return or_(expression < value, and_(expression == value, Ticket.id < ticket_id))
    if value is None:
        return and_(expression.is_(None), Ticket.id > ticket_id)
    later = [expression > value, and_(expression == value, Ticket.id > ticket_id)]
    if nullable:
        later.append(expression.is_(None))
    return or_(*later)


def encode(sort: Sort, row: Any) -> str:
    """The page link's keyset for the last row: JSON `[value, id]` (a subject may hold any
    character, so no separator would do)."""
    value = sort.column.value(row)
    if isinstance(value, datetime):
        value = value.isoformat()
    return json.dumps([value, row.Ticket.id], separators=(",", ":"))


def decode(sort: Sort, raw: str) -> tuple[Any, int]:
    """`encode`'s inverse; anything else raises ValueError (the caller answers 400)."""
    try:
        value, ticket_id = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise ValueError(PAGE_LINK_BROKEN) from exc
    if type(ticket_id) is not int:
        raise ValueError(PAGE_LINK_BROKEN)
    kind = sort.column.kind
    if value is None and sort.column.nullable:
        return None, ticket_id
    if kind == "int" and type(value) is int:
        return value, ticket_id
    if kind == "text" and isinstance(value, str):
        return value, ticket_id
    if kind == "time" and isinstance(value, str):
        when = datetime.fromisoformat(value)  # ValueError for a malformed one
        if when.tzinfo is None:
            raise ValueError(PAGE_LINK_BROKEN)
        return when.astimezone(UTC), ticket_id
    raise ValueError(PAGE_LINK_BROKEN)
