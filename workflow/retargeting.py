"""Moving one ticket's SLA clocks from a plan's old terms to its new terms, from `now` on.

Each clock keeps the business time it has already used (measured on the old calendar) and
gets the new target and calendar for the rest:

- a running clock is due once the new target's remaining business time has passed from
  `now` on the new calendar; a paused one keeps its pause, and its due time is set so that
  resuming (workflow/clocks.py) finds exactly the remaining business time left;
- a clock that has used more than its new target is due at once (at `now`, or when it
  paused); a clock already breached stays breached at its due time, as a pause does;
- a target the plan no longer has stops that clock; a target the plan gains starts now for
  tickets that still owe it (first response, resolution; next response starts at the next
  customer message, as always).

Then `clocks.recompute` pauses what the ticket's state pauses and refreshes `next_due_at`;
`timers` moves `timer_due_at` to the earliest step not done yet and gives every step of
every clock a timer follow-up: scheduled anew (a job with the same id moves), or cancelled
when the new terms have no such step. Pure: it works on the ticket's columns and the two
terms and never touches the database, so the rules read apart from the batching and
writing in workflow/reclock.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from workflow import clocks, escalation, sla
from workflow.definition_types import CLOCKS
from workflow.followups import CancelTimer, FollowUp, ScheduleTimer
from workflow.plan_terms import Terms

if TYPE_CHECKING:
    from workflow.definition import Definition

_ZERO = timedelta(0)

Done = set[tuple[str, int, str]]
"""The SLA steps a ticket has run already: (clock, cycle, step)."""


def retarget(
    ticket: Any,
    before: Terms,
    after: Terms,
    definition: Definition,
    now: datetime,
    since: datetime | None = None,
) -> None:
    """Move the ticket's clocks from the `before` terms to the `after` terms as of `now`
    (the rules of the module docstring), then let `clocks.recompute` pause what its state
    pauses and refresh `next_due_at`. Changes only the ticket's columns. A next-response
    clock started at or after `since` is on the `after` terms already and keeps its time."""
    for clock in CLOCKS:
        if clock == "next_response" and _started_since(ticket, since):
            continue
        _retarget(ticket, clock, before, after, now)
    clocks.recompute(ticket, definition, now, after)


def timers(
    ticket: Any, definition: Definition, before: Terms, after: Terms, now: datetime, done: Done
) -> list[FollowUp]:
    """Every clock's timers under the `after` terms (steps already done left out), with
    cancellations for the steps the new terms no longer have; sets `timer_due_at` to the
    earliest step not done yet."""
    timeline = clocks.timeline(ticket, definition, after, now)
    ticket.timer_due_at = escalation.next_pending(timeline, done)
    out: list[FollowUp] = []
    known = set(before.policy.step_keys()) | set(after.policy.step_keys())
    for clock in CLOCKS:
        cycle = clocks.cycle(ticket, clock)
        mine = [t for t in timeline if t.clock == clock and t.record_key not in done]
        out += [ScheduleTimer(ticket.id, clock, t.at, t.step) for t in mine]
        kept = {t.step for t in mine} | {s for c, n, s in done if c == clock and n == cycle}
        if stale := sorted(known - kept):
            out.append(CancelTimer(ticket.id, clock, tuple(stale)))
    return out


def _retarget(ticket: Any, clock: str, before: Terms, after: Terms, now: datetime) -> None:
    due = getattr(ticket, f"{clock}_due_at")
    target = after.targets.get(clock)
    if not clocks.active(ticket, clock):
        if target and due is None and _starts_now(ticket, clock):
            setattr(ticket, f"{clock}_due_at", sla.deadline(after.calendar, now, target))
        return
    if target is None:  # the plan dropped this target: the clock stops
        setattr(ticket, f"{clock}_due_at", None)
        setattr(ticket, f"{clock}_paused_at", None)
        if clock == "next_response":
            ticket.next_response_started_at = None
        return
    was = before.targets.get(clock)
    if was == target and before.calendar == after.calendar:
        return
    at = getattr(ticket, f"{clock}_paused_at") or now
    if due <= at:
        return  # breached already: new terms do not undo a breach
    left = sla.elapsed(before.calendar, at, due)
    used = max((was if was is not None else left) - left, _ZERO)
    rest = target - used
    setattr(
        ticket, f"{clock}_due_at", sla.deadline(after.calendar, at, rest) if rest > _ZERO else at
    )


def _started_since(ticket: Any, since: datetime | None) -> bool:
    started = getattr(ticket, "next_response_started_at", None)
    return since is not None and started is not None and started >= since


def _starts_now(ticket: Any, clock: str) -> bool:
    if clock == "first_response":
        return ticket.first_responded_at is None
    return clock == "resolution"
