"""The tickets table's indexes that serve reads: the dashboard's queues and counts, and the
ops and admin pages that find decided clocks and open tickets per plan.

Kept apart from the `Ticket` columns because each index is shaped by one page's query; the
comments say which. `tickets.py` attaches them: the queue and department ones through
`__table_args__`, the others (which name the table's columns) once the table exists.
"""

from __future__ import annotations

from sqlalchemy import Index, Table, text

from workflow.models.base import partial_index

LIVE = "closed_at IS NULL"
SCOPE = ("department_id", "assignee_id")
"""What an agent's scope (their departments, or assigned to them) filters on."""


def queue_index(name: str, *leading: str, where: str, include: tuple[str, ...]) -> Index:
    """An index for the dashboard's queues: `leading` equality columns, then the queue order
    (priority DESC, the due time ascending with PostgreSQL's NULLS LAST, id), partial on the
    queue's `where`, so the first page is the first 50 entries. INCLUDE (PostgreSQL only)
    carries what the agent scope filters on, so a capped count is an index-only scan."""
    return partial_index(
        name,
        *leading,
        text("priority_id DESC"),
        "next_due_at",
        "id",
        where=where,
        postgresql_include=list(include),
    )


def queue_indexes() -> tuple[Index, ...]:
    """One `queue_index` per dashboard queue (web/staff/queues.py)."""
    return (
        queue_index("ix_tickets_open_queue", where=LIVE, include=SCOPE + ("team_id",)),
        queue_index("ix_tickets_closed_queue", where="closed_at IS NOT NULL", include=SCOPE),
        queue_index(
            "ix_tickets_unassigned_queue",
            where=f"{LIVE} AND assignee_id IS NULL AND team_id IS NULL",
            include=SCOPE,
        ),
        queue_index(
            "ix_tickets_assignee_queue", "assignee_id", where=LIVE, include=("department_id",)
        ),
        queue_index("ix_tickets_team_queue", "team_id", where=LIVE, include=SCOPE),
        queue_index("ix_tickets_state_queue", "state", where=LIVE, include=SCOPE),
    )


def department_indexes() -> tuple[Index, ...]:
    """An agent's capped queue counts (web/staff/queue_counts.py): the department first, so
    `department_id IN (...)` reads exactly the queue's entries in the agent's departments,
    and the agent's tickets by department, so those outside them are ranges too."""
    unassigned = f"{LIVE} AND assignee_id IS NULL AND team_id IS NULL"
    closed = "closed_at IS NOT NULL"
    return (
        partial_index(
            "ix_tickets_department_live",
            "department_id",
            "state",
            where=LIVE,
        ),
        partial_index(
            "ix_tickets_department_unassigned",
            "department_id",
            where=unassigned,
        ),
        partial_index(
            "ix_tickets_department_closed",
            "department_id",
            where=closed,
        ),
        Index("ix_tickets_assignee_department", "assignee_id", "department_id"),
    )


# SLA compliance (workflow/compliance.py) finds the clocks decided in a window through these:
# a met clock by its stop (the first reply, the resolution), a breached one by its due time.
# They change only together with `next_due_at` (already indexed), so they cost no HOT update.


def _when_set(table: Table, column: str) -> Index:
    where = text(f"{column} IS NOT NULL")
    return partial_index(
        f"ix_tickets_{column}",
        table.c[column],
        where=where,
    )


def decided_clock_indexes(table: Table) -> tuple[Index, ...]:
    """Attach to `table` (tickets) one partial index per clock column compliance reads."""
    return tuple(
        _when_set(table, column)
        for column in (
            "first_response_due_at",
            "first_responded_at",
            "resolution_due_at",
            "resolved_at",
        )
    )


def open_by_plan_index(table: Table) -> Index:
    """The admin's plan list counts open tickets per plan, and a change of a plan's terms
    re-clocks exactly those tickets (workflow/reclock.py): both read this index."""
    return partial_index(
        "ix_tickets_open_sla_plan",
        table.c.sla_plan_id,
        where="closed_at IS NULL",
    )
