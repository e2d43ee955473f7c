"""Load a ticket together with its compiled workflow, in one query on the hot path."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.errors import NotFound, StaleTicket
from workflow.machines import Compiled, compiled
from workflow.models import Ticket, WorkflowVersion
from workflow.rules import Actor


def compiled_version(session: Session, version_id: int, checksum: str | None = None) -> Compiled:
    """The compiled workflow of a version; the source is only read on a cache miss."""
    if checksum is None:
        checksum = session.scalar(
            select(WorkflowVersion.checksum).where(WorkflowVersion.id == version_id)
        )
        if checksum is None:
            raise NotFound(f"There is no workflow version {version_id}.")

    def source() -> str:
        return session.scalar(
            select(WorkflowVersion.source).where(WorkflowVersion.id == version_id)
        )

    return compiled(checksum, source)


def load_ticket(
    session: Session, ticket_id: int, actor: Actor, expected_version: int | None = None
) -> tuple[Ticket, Compiled]:
    """The ticket and its workflow; an end user asking for someone else's ticket gets NotFound
    (never a hint that it exists); a stale `expected_version` raises StaleTicket."""
    row = session.execute(
        select(Ticket, WorkflowVersion.checksum)
        .join(WorkflowVersion, Ticket.workflow_version_id == WorkflowVersion.id)
        .where(Ticket.id == ticket_id)
    ).one_or_none()
    if row is None or (actor.role == "end_user" and row[0].requester_id != actor.id):
        raise NotFound("There is no such ticket.")
    ticket, checksum = row
    if expected_version is not None and ticket.version != expected_version:
        raise StaleTicket(ticket.number, expected_version, ticket.version)
    return ticket, compiled_version(session, ticket.workflow_version_id, checksum)
