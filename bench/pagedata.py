"""What the page benchmarks look at: tickets with a 50-entry thread, and the list of pages
(every queue as an agent and as an admin, the ticket page) with the SQL that is each
page's main statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from bench import dataset
from web.staff import queues
from workflow.models import EntryKind, ThreadEntry, Ticket

THREAD_ENTRIES = 50
THREAD_TICKETS = 10
KINDS = (EntryKind.CUSTOMER_MESSAGE, EntryKind.PUBLIC_REPLY, EntryKind.INTERNAL_NOTE)
QUEUE_ROWS = "ORDER BY tickets.priority_id DESC"
"""Marks the queue's page query (web/staff/queues.rows) among a page's statements."""
THREAD_ROWS = "FROM thread_entries"


@dataclass(frozen=True)
class Page:
    """One page to time: who asks, the paths (taken in turn), its main statement's mark."""

    name: str
    role: str
    paths: tuple[str, ...]
    main: str


def ensure_threads(engine: Engine, department_id: int) -> list[int]:
    """Give the first THREAD_TICKETS open tickets of the department THREAD_ENTRIES thread
    entries each (customer messages, replies and internal notes in turn, ten minutes
    apart); returns their numbers. Idempotent: a rerun adds nothing."""
    with Session(engine) as session:
        tickets = session.execute(
            select(Ticket.id, Ticket.number, Ticket.created_at, Ticket.requester_id)
            .where(Ticket.department_id == department_id, Ticket.closed_at.is_(None))
            .order_by(Ticket.id)
            .limit(THREAD_TICKETS)
        ).all()
        ids = [t.id for t in tickets]
        have = dict(
            session.execute(
                select(ThreadEntry.ticket_id, func.count())
                .where(ThreadEntry.ticket_id.in_(ids))
                .group_by(ThreadEntry.ticket_id)
            ).all()
        )
        agent = session.scalar(
            select(ThreadEntry.author_id).where(
                ThreadEntry.ticket_id.in_(ids), ThreadEntry.kind == EntryKind.PUBLIC_REPLY
            )
        )
        texts = (dataset.MESSAGES, dataset.REPLIES, dataset.NOTES)
        rows = [
            {
                "ticket_id": t.id,
                "kind": KINDS[k % 3],
                "author_id": t.requester_id if k % 3 == 0 else agent,
                "body": texts[k % 3][k % len(texts[k % 3])],
                "created_at": t.created_at + timedelta(minutes=10 * (k + 1)),
            }
            for t in tickets
            for k in range(have.get(t.id, 0), THREAD_ENTRIES)
        ]
        if rows:
            session.execute(insert(ThreadEntry), rows)
            session.commit()
    return [t.number for t in tickets]


def pages(thread_numbers: list[int]) -> list[Page]:
    """Every queue's first page (default order) as an agent and as an admin, and the ticket
    page of the 50-entry tickets (taken in turn) for both."""
    found = []
    for role in ("agent", "admin"):
        for q in queues.QUEUES:
            found.append(Page(f"{role:5} {q.label}", role, (f"/staff?queue={q.key}",), QUEUE_ROWS))
        found.append(
            Page(
                f"{role:5} ticket page ({THREAD_ENTRIES} entries)",
                role,
                tuple(f"/staff/tickets/{n}" for n in thread_numbers),
                THREAD_ROWS,
            )
        )
    return found
