"""SLA clocks of a ticket, as wall-clock targets from its plan.

This is the interim model the lifecycle needs: the state's `sla` setting says whether a
clock runs, pauses or stops there, a paused resolution clock is moved on by the pause, and
`next_due_at` is the nearest running deadline. Business calendars arrive with the SLA work
(workflow/sla.py); this module keeps the same entry point, `recompute`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflow.definition import Definition
from workflow.followups import CancelTimer, FollowUp, ScheduleTimer
from workflow.models import SlaPlan, Ticket


def start(ticket: Ticket, plan: SlaPlan | None, now: datetime) -> None:
    """Set the targets of a new ticket (or of a ticket whose plan changed) from `now`."""
    if plan is None:
        ticket.first_response_due_at = ticket.resolution_due_at = None
        return
    if plan.first_response_minutes and ticket.first_responded_at is None:
        ticket.first_response_due_at = now + timedelta(minutes=plan.first_response_minutes)
    if plan.resolution_minutes:
        ticket.resolution_due_at = now + timedelta(minutes=plan.resolution_minutes)


def _running(ticket: Ticket, definition: Definition) -> dict[str, datetime | None]:
    """Each clock's due time while it runs in the ticket's state, else None."""
    sla = definition.states[ticket.state].sla
    return {
        "first_response": ticket.first_response_due_at
        if sla["first_response"] == "run" and ticket.first_responded_at is None
        else None,
        "resolution": ticket.resolution_due_at if sla["resolution"] == "run" else None,
    }


def recompute(ticket: Ticket, definition: Definition, now: datetime) -> None:
    """Apply the state's SLA behaviour (pause or resume the resolution clock) and refresh
    `next_due_at`, the nearest running deadline that the queues sort by."""
    resolution = definition.states[ticket.state].sla["resolution"]
    paused_at = ticket.resolution_paused_at
    if resolution == "pause" and paused_at is None:
        ticket.resolution_paused_at = now
    elif resolution != "pause" and paused_at is not None:
        if ticket.resolution_due_at is not None:
            ticket.resolution_due_at = ticket.resolution_due_at + (now - paused_at)
        ticket.resolution_paused_at = None
    due = [d for d in _running(ticket, definition).values() if d is not None]
    ticket.next_due_at = min(due) if due else None


def timers(ticket: Ticket, definition: Definition) -> list[FollowUp]:
    """The timer follow-ups for the ticket's clocks as they stand (after `recompute`)."""
    return [
        ScheduleTimer(ticket.id, clock, due) if due is not None else CancelTimer(ticket.id, clock)
        for clock, due in _running(ticket, definition).items()
    ]
