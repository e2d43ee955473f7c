"""The SLA timer jobs. Each re-reads the database and does nothing if the ticket moved on.

A job is scheduled at the second its step is due (jobs/queues.py); when it runs it reads
the clock, re-reads the ticket, and runs the step only if the clock still runs, the step is
due and it is not recorded yet: a job that fires after an agent stopped the clock, a second
copy of the same job, or a retry after a killed worker all end in "nothing due".
"""

from __future__ import annotations

from jobs import escalation, runtime


def fire_timer(ticket_id: int, clock: str, step: str) -> str:
    """Run step `step` of clock `clock` of a ticket if it is due now and not done yet (and
    any earlier step of that clock a lost job left undone, in order)."""
    result = escalation.run(ticket_id, runtime.now(), up_to=(clock, step))
    return escalation.summary(result)


def fire_due(ticket_id: int) -> str:
    """Run every step of a ticket that is due now and not done yet (the sweep fans its
    backlog out as these jobs)."""
    return escalation.summary(escalation.run(ticket_id, runtime.now()))
