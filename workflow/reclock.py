"""A changed SLA plan or calendar applies to the open tickets on it, from now on.

For each open ticket on a changed plan, each clock keeps the business time it has already
used and gets the new target and calendar for the rest: the rules, and the timers that
follow from them, are workflow/retargeting.py (pure, on one ticket's columns). This module
finds the tickets and writes them.

Each ticket is written through the services' write path (version-checked, version bumped,
a log row saying what moved); one that a concurrent writer changed first is read again and
done again. Tickets are read in batches by id, all inside the caller's transaction, so the
change and every ticket's new clocks commit together or not at all; the caller dispatches
the follow-ups after its commit.

`reclock_batch` does one batch of ids after a cursor: an admin's change re-clocks its first
batch in the request and leaves the rest to a background run (workflow/reclock_runs.py),
whose batches each commit together with the run's cursor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workflow.definition_types import CLOCKS
from workflow.errors import NotFound, StaleTicket
from workflow.followups import FollowUp, LiveUpdate
from workflow.loading import compiled_version
from workflow.models import SlaStep, TransitionLog, WorkflowVersion
from workflow.outcome import log_row
from workflow.plan_terms import Terms
from workflow.retargeting import Done, retarget, timers
from workflow.rules import Actor
from workflow.ticket_record import COLUMNS, TICKETS, TicketChange, TicketRecord, load_record
from workflow.ticket_settings import CHANGE_SLA_PLAN

if TYPE_CHECKING:
    from workflow.definition import Definition

BATCH = 500
ATTEMPTS = 3
EVENT = "sla_terms_changed"
"""The transition log's name for "this ticket's plan changed under it" (no state change)."""
NO_BOUND = 2**62

Changes = Mapping[int, tuple[Terms, Terms]]
"""Plan id -> (its terms before the change, its terms after)."""

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
        # updated_at stays: an admin's plan edit is not activity on the ticket ("Last
        # activity" would otherwise jump on every open ticket); the version still moves on
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
