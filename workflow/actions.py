"""The named actions a workflow definition may attach to an event.

Actions do the work of a transition (guards only decide). Each takes the ticket and an
`ActionContext` and returns the thread entries it wants added; the engine runs them after
the state changed, inside the same transaction, in the order the definition lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from workflow import clocks
from workflow.models import EntryKind, ThreadEntry, Ticket
from workflow.rules import GuardContext
from workflow.sanitize import clean_html

Action = Callable[[Ticket, GuardContext], list[ThreadEntry]]
REGISTRY: dict[str, Action] = {}


def action(fn: Action) -> Action:
    """Register an action under its function name."""
    REGISTRY[fn.__name__] = fn
    return fn


def _int(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


@action
def assign_to_actor(ticket: Ticket, ctx: GuardContext) -> list[ThreadEntry]:
    """Claim: the acting agent becomes the assignee."""
    ticket.assignee_id = ctx.actor.id
    return []


@action
def assign_to_target(ticket: Ticket, ctx: GuardContext) -> list[ThreadEntry]:
    """Assign or transfer to the agent, team and/or department in the event's parameters.
    Naming a team without an agent leaves the ticket to the team (no agent owns it)."""
    agent, team = _int(ctx.params.get("assignee_id")), _int(ctx.params.get("team_id"))
    department = _int(ctx.params.get("department_id"))
    if team is not None:
        ticket.team_id = team
        ticket.assignee_id = agent
    elif agent is not None:
        ticket.assignee_id = agent
        if department is not None and department != ticket.department_id:
            ticket.team_id = None  # a team of the old department does not follow the ticket
    elif department is not None:  # to another department's intake queue: nobody owns it
        ticket.assignee_id = ticket.team_id = None
    if department is not None:
        ticket.department_id = department
    return []


@action
def post_public_reply(ticket: Ticket, ctx: GuardContext) -> list[ThreadEntry]:
    """Send the event's `reply` to the customer: the first one stops the first-response
    clock, and any one stops the next-response clock."""
    reply = str(ctx.params.get("reply") or "").strip()
    if not reply:
        return []  # nothing to send; `public_reply_required` is how an event demands one
    clocks.public_reply(ticket, ctx.now)
    return [
        ThreadEntry(
            kind=EntryKind.PUBLIC_REPLY,
            author_id=ctx.actor.id,
            body=clean_html(reply),
            created_at=ctx.now,
        )
    ]


@action
def record_resolution(ticket: Ticket, ctx: GuardContext) -> list[ThreadEntry]:
    """Remember when the fix was proposed, and forget any earlier confirmation: it confirmed
    an earlier fix. Order of events, not clock readings, decides what a confirmation covers
    (two hosts' clocks may disagree, and one batch may share one `now`)."""
    ticket.resolved_at = ctx.now
    ticket.confirmed_at = None
    return []


@action
def record_confirmation(ticket: Ticket, ctx: GuardContext) -> list[ThreadEntry]:
    """The customer confirmed the issue is resolved."""
    ticket.confirmed_at = ctx.now
    return []


@action
def record_escalation(ticket: Ticket, ctx: GuardContext) -> list[ThreadEntry]:
    """Count the escalation; the SLA plan's policy decides its further effects."""
    ticket.escalation_level = (ticket.escalation_level or 0) + 1
    ticket.escalated_at = ctx.now
    return []
