"""Who is told about a ticket change by mail: the `Notify` follow-ups a service adds.

End users hear about public replies on their ticket and about a proposed resolution (and
get a receipt when it opens: workflow/opening.py); staff hear about a ticket assigned or
transferred to them by someone else, and about escalations (workflow/escalating.py). A
ticket left to a team with nobody assigned tells the team's members, and one left in a
department's intake queue tells its manager (workflow/group_notices.py: the job finds the
people). The mail itself goes out through an RQ job after the commit (jobs/mail.py);
nobody is told about their own action.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from workflow.followups import Notify
from workflow.group_notices import DEPARTMENT_TRANSFER, TEAM_TRANSFER
from workflow.models import EntryKind, ThreadEntry
from workflow.rules import Actor

ASSIGNED = "assigned"
PUBLIC_REPLY = "public_reply"
RESOLUTION_REQUEST = "resolution_request"


def after_event(
    ticket: Any,
    actor: Actor,
    assignee_before: int | None,
    resolved_before: datetime | None,
    entries: Sequence[ThreadEntry],
) -> list[Notify]:
    """Notices for one fired event: a new assignee, and a public reply the event posted
    (a resolution request when the event also proposed the fix)."""
    out = []
    assignee = ticket.assignee_id
    if assignee is not None and assignee != assignee_before and assignee != actor.id:
        out.append(Notify(ASSIGNED, ticket.id, assignee))
    if actor.id is not None:  # a system event: the escalation policy says whom it tells
        out += _left_to_a_group(ticket, assignee_before)
    if any(e.kind == EntryKind.PUBLIC_REPLY for e in entries):
        resolved = ticket.resolved_at is not None and ticket.resolved_at != resolved_before
        out += public_reply(ticket, actor, RESOLUTION_REQUEST if resolved else PUBLIC_REPLY)
    return out


def _left_to_a_group(ticket: Any, assignee_before: int | None) -> list[Notify]:
    """The event left the ticket to a team (or a department's intake queue) with nobody
    assigned: one notice for the whole group, whose members the mail job looks up."""
    if ticket.assignee_id is not None:
        return []
    changes = getattr(ticket, "changes", None)  # a loaded record knows what it changed
    changed = changes().keys() if changes is not None else ()
    moved = assignee_before is not None or "team_id" in changed or "department_id" in changed
    if not moved:
        return []
    if ticket.team_id is not None:
        return [Notify(TEAM_TRANSFER, ticket.id, None)]
    if ticket.department_id is not None:
        return [Notify(DEPARTMENT_TRANSFER, ticket.id, None)]
    return []


def public_reply(ticket: Any, actor: Actor, kind: str = PUBLIC_REPLY) -> list[Notify]:
    """The requester hears about a public reply (unless they wrote it)."""
    if ticket.requester_id is None or ticket.requester_id == actor.id:
        return []
    return [Notify(kind, ticket.id, ticket.requester_id)]
