"""What a service asks its caller to do after the commit: timers, notifications, live updates.

Services never talk to Redis; they return these values and the web layer or a job hands
them to `jobs.queues` once the transaction has committed (a job enqueued earlier could run
before the row exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ScheduleTimer:
    """Set (or move) the timer of one SLA clock of a ticket to `due_at`."""

    ticket_id: int
    clock: str
    due_at: datetime


@dataclass(frozen=True)
class CancelTimer:
    """The clock stopped or paused: its timer must not fire."""

    ticket_id: int
    clock: str


@dataclass(frozen=True)
class Notify:
    """Tell a person about something that happened to a ticket (mail, in-app)."""

    kind: str
    ticket_id: int
    recipient_id: int | None


@dataclass(frozen=True)
class LiveUpdate:
    """Every open page that shows this ticket should refresh it."""

    ticket_id: int
    number: int | None
    version: int


FollowUp = ScheduleTimer | CancelTimer | Notify | LiveUpdate
