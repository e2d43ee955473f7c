"""A changed SLA plan or calendar applies to the open tickets on it, from now on.

For each open ticket on a changed plan, each clock keeps the business time it has already
used (measured on the old calendar) and gets the new target and calendar for the rest:

- a running clock is due once the new target's remaining business time has passed from
  `now` on the new calendar; a paused one keeps its pause, and its due time is set so that
  resuming (workflow/clocks.py) finds exactly the remaining business time left;
- a clock that has used more than its new target is due at once (at `now`, or when it
  paused); a clock already breached stays breached at its due time, as a pause does;
- a target the plan no longer has stops that clock; a target the plan gains starts now for
  tickets that still owe it (first response, resolution; next response starts at the next
  customer message, as always).

Then `clocks.recompute` pauses what the ticket's state pauses and refreshes `next_due_at`,
`timer_due_at` moves to the earliest step not done yet, and every step of every clock gets
a timer follow-up: scheduled anew (a job with the same id moves), or cancelled when the
new terms have no such step. Each ticket is written through the services' write path
(version-checked, version bumped, a log row saying what moved); one that a concurrent
writer changed first is read again and done again. Tickets are read in batches by id, all
inside the caller's transaction, so the change and every ticket's new clocks commit together
or not at all; the caller dispatches the follow-ups after its commit.

`reclock_batch` does one batch of ids after a cursor: an admin's change re-clocks its first
batch in the request and leaves the rest to a background run (workflow/reclock_runs.py),
whose batches each commit together with the run's cursor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workflow import clocks, escalation, sla
from workflow.definition_types import CLOCKS
from workflow.errors import NotFound, StaleTicket
from workflow.followups import CancelTimer, FollowUp, LiveUpdate, ScheduleTimer
from workflow.loading import compiled_version
from workflow.models import SlaStep, TransitionLog, WorkflowVersion
from workflow.outcome import log_row
from workflow.plan_terms import Terms
from workflow.rules import Actor
from workflow.ticket_record import COLUMNS, TICKETS, TicketChange, TicketRecord, load_record
from workflow.ticket_settings import CHANGE_SLA_PLAN

if TYPE_CHECKING:
    from workflow.definition import Definition

BATCH = 500
ATTEMPTS = 3
EVENT = "sla_terms_changed"
"""The transition log's name for "this ticket's plan changed under it" (no state change)."""
_ZERO = timedelta(0)
NO_BOUND = 2**62

Changes = Mapping[int, tuple[Terms, Terms]]
"""Plan id -> (its terms before the change, its terms after)."""
Done = set[tuple[str, int, str]]

_OPEN_ON_PLANS = (
    select(TICKETS, WorkflowVersion.checksum)
    .join(WorkflowVersion, TICKETS.c.workflow_version_id == WorkflowVersion.id)
    .where(
        TICKETS.c.sla_plan_id.in_(bindparam("plans", expanding=True)),
        TICKETS.c.closed_at.is_(None),
        TICKETS.c.id > bindparam("after"),
        TICKETS.c.id <= bindparam("upto"),
    )
    .order_by(TICKETS.c.id)
    .limit(bindparam("limit"))
)


@dataclass
class Reclocked:
    """How many open tickets got new clocks, and the follow-ups to dispatch after commit;
    `last_id` is the highest ticket id read (a run's cursor), `read` how many were read."""

    tickets: int = 0
    follow_ups: list[FollowUp] = field(default_factory=list)
    last_id: int = 0
    read: int = 0


def reclock(
    session: Session,
    changes: Changes,
    actor: Actor,
    now: datetime,
    note: str,
    batch: int | None = None,
) -> Reclocked:
    """Give every open ticket on the plans in `changes` its clocks under the new terms
    (see the module docstring). Writes inside the caller's transaction and never commits;
    `note` goes into each ticket's log row. Raises StaleTicket only when one ticket kept
    changing under it ATTEMPTS times (the caller's rollback then undoes everything)."""
    result = Reclocked()
    batch = batch or BATCH
    while changes:
        part = reclock_batch(session, changes, actor, now, note, result.last_id, batch=batch)
        result.tickets += part.tickets
        result.follow_ups += part.follow_ups
        result.read += part.read
        if part.read < batch:
            break
        result.last_id = part.last_id
    return result


def reclock_batch(
    session: Session,
    changes: Changes,
    actor: Actor,
    now: datetime,
    note: str,
    after: int = 0,
    upto: int | None = None,
    batch: int | None = None,
    since: datetime | None = None,
) -> Reclocked:
    """One batch of `reclock`: the open tickets on the plans with `after` < id <= `upto`,
    at most `batch` (default BATCH) of them, in id order; `last_id` is where the next batch
    starts. `since` (a background run's change time) leaves alone what started on the new
    terms already: a next-response clock started at or after it, and a ticket put under
    its plan (clocks restarted) at or after it."""
    result = Reclocked(last_id=after)
    if not changes:
        return result
    rows = session.execute(
        _OPEN_ON_PLANS,
        {
            "plans": sorted(changes),
            "after": after,
            "upto": NO_BOUND if upto is None else upto,
            "limit": batch or BATCH,
        },
    ).all()
    if not rows:
        return result
    done = _done(session, [row.id for row in rows])
    restarted = _plan_set_since(session, [row.id for row in rows], since)
    for row in rows:
        if row.id in restarted:
            continue
        values = dict(zip((*COLUMNS, "checksum"), row, strict=True))
        record = TicketRecord(values)
        definition = compiled_version(
            session, record.workflow_version_id, values["checksum"]
        ).definition
        follow_ups = _write(session, record, definition, changes, done, actor, now, note, since)
        if follow_ups is not None:
            result.tickets += 1
            result.follow_ups += follow_ups
    result.read = len(rows)
    result.last_id = rows[-1].id
    return result


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


# ---- one ticket ------------------------------------------------------------------------------


def _write(
    session: Session,
    record: TicketRecord,
    definition: Definition,
    changes: Changes,
    done: Mapping[int, Done],
    actor: Actor,
    now: datetime,
    note: str,
    since: datetime | None = None,
) -> list[FollowUp] | None:
    """Retarget, log and save one ticket; read it again when a concurrent writer got there
    first. None when it was closed or moved to another plan meanwhile."""
    for attempt in range(1, ATTEMPTS + 1):
        if record.closed_at is not None or record.sla_plan_id not in changes:
            return None
        before, after = changes[record.sla_plan_id]
        old = {c: getattr(record, f"{c}_due_at") for c in CLOCKS}
        retarget(record, before, after, definition, now, since)
        follow_ups = timers(record, definition, before, after, now, done.get(record.id, set()))
        record.updated_at = now
        moved = {
            f"{c}_due_at": [_iso(old[c]), _iso(getattr(record, f"{c}_due_at"))]
            for c in CLOCKS
            if getattr(record, f"{c}_due_at") != old[c]
        }
        change = TicketChange(record)
        change.logs.append(
            log_row(record, actor, now, EVENT, record.state, record.state, note, moved or None)
        )
        try:
            change.save(session)
        except StaleTicket:
            if attempt == ATTEMPTS:
                raise
            try:
                record, wf = load_record(session, record.id, Actor.system())
            except NotFound:
                return None
            definition = wf.definition
            done = {record.id: _done(session, [record.id]).get(record.id, set())}
            continue
        return [*follow_ups, LiveUpdate(record.id, record.number, record.version)]
    return None  # pragma: no cover - the loop returns or raises


def _retarget(ticket: Any, clock: str, before: Terms, after: Terms, now: datetime) -> None:
    due = getattr(ticket, f"{clock}_due_at")
    target = after.targets.get(clock)
    if not _owed(ticket, clock):
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


def _owed(ticket: Any, clock: str) -> bool:
    """The clock has a deadline not met yet, running or paused (as clocks.py reads it)."""
    if getattr(ticket, f"{clock}_due_at") is None:
        return False
    if clock == "first_response":
        return ticket.first_responded_at is None
    return ticket.closed_at is None


def _starts_now(ticket: Any, clock: str) -> bool:
    if clock == "first_response":
        return ticket.first_responded_at is None
    return clock == "resolution"


def _done(session: Session, ticket_ids: Sequence[int]) -> dict[int, Done]:
    """The SLA steps already run, per ticket (one query per batch)."""
    found: dict[int, Done] = {}
    rows = session.execute(
        select(SlaStep.ticket_id, SlaStep.clock, SlaStep.cycle, SlaStep.step).where(
            SlaStep.ticket_id.in_(ticket_ids)
        )
    )
    for ticket_id, clock, cycle, step in rows:
        found.setdefault(ticket_id, set()).add((clock, cycle, step))
    return found


def _plan_set_since(session: Session, ticket_ids: Sequence[int], since: datetime | None) -> set:
    """Tickets put under a plan at or after `since` (their log; one query per batch)."""
    if since is None:
        return set()
    return set(
        session.scalars(
            select(TransitionLog.ticket_id).where(
                TransitionLog.ticket_id.in_(ticket_ids),
                TransitionLog.event == CHANGE_SLA_PLAN,
                TransitionLog.at >= since,
            )
        )
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
