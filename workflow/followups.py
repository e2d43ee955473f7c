"""What a service asks its caller to do after the commit: timers, notifications, live updates.

Services never talk to Redis; they return these values and the web layer or a job hands
them to `jobs.queues` once the transaction has committed (a job enqueued earlier could run
before the row exists). A `Notify` is also a mail-outbox row committed with the change, so
losing the hand-over to Redis only delays the mail until the sweep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ScheduleTimer:
    """Set (or move) the timer of one step of one SLA clock of a ticket to `due_at`. A step
    is `at_risk`, `breach` or `breach_N` (workflow.escalation.Step.key); one job per ticket,
    clock and step, so a new due time moves the job instead of adding one."""

    ticket_id: int
    clock: str
    due_at: datetime
    step: str = "breach"


@dataclass(frozen=True)
class CancelTimer:
    """The clock stopped or paused: the timers of these steps must not fire."""

    ticket_id: int
    clock: str
    steps: tuple[str, ...] = ("at_risk", "breach")


@dataclass(frozen=True)
class Notify:
    """Tell a person (or, with no recipient, the team or department `group_id`) about
    something that happened to a ticket. The service writes it to the mail outbox in its
    transaction (workflow/outbox.py), which sets `outbox_id`: the mail job takes that id."""

    kind: str
    ticket_id: int
    recipient_id: int | None
    group_id: int | None = None
    outbox_id: int | None = None


@dataclass(frozen=True)
class LiveUpdate:
    """Every open page that shows this ticket should refresh it."""

    ticket_id: int
    number: int | None
    version: int


FollowUp = ScheduleTimer | CancelTimer | Notify | LiveUpdate
