"""What every service returns, and the transaction wrapper they share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from workflow.errors import StaleTicket
from workflow.followups import FollowUp
from workflow.rules import Actor, TicketView


@dataclass
class Outcome:
    """The changed ticket and what the caller must do once the transaction has committed."""

    ticket: Any  # the ORM Ticket for a new ticket, a TicketRecord for a changed one
    follow_ups: list[FollowUp] = field(default_factory=list)


@dataclass
class Seen:
    """What the call read of its ticket, to name it if a concurrent writer wins."""

    number: int | None = None
    version: int | None = None

    def ticket(self, ticket: Any) -> None:
        self.number, self.version = ticket.number, ticket.version


@contextmanager
def transaction(session: Session) -> Iterator[Seen]:
    """Commit on success; on any error roll back so nothing of the call remains.
    A concurrent write that bumped the version first surfaces as StaleTicket."""
    seen = Seen()
    try:
        yield seen
        session.commit()
    except StaleDataError:
        session.rollback()
        raise StaleTicket(seen.number, seen.version, None) from None
    except BaseException:
        session.rollback()
        raise


def log_row(
    ticket: TicketView,
    actor: Actor,
    now: datetime,
    event: str,
    from_state: str | None,
    to_state: str,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One row of the transition log, as values (inserted in bulk by the write path)."""
    return {
        "ticket_id": ticket.id,  # type: ignore[attr-defined]
        "actor_id": actor.id,
        "actor_role": actor.role,
        "at": now,
        "event": event,
        "from_state": from_state,
        "to_state": to_state,
        "workflow_version_id": ticket.workflow_version_id,  # type: ignore[attr-defined]
        "note": note,
        "data": data,
    }
