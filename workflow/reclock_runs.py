"""A big SLA plan or calendar change re-clocks its open tickets in background batches.

Re-clocking costs about 0.6 ms per ticket, so a change to a plan with 100,000 open tickets
cannot run inside the admin's request. `begin` re-clocks the first batch (`reclock.BATCH`
tickets by id) in the request's transaction, so a small deployment sees the change at once;
when more tickets remain it writes a `ReclockRun` in that same transaction, and the caller
enqueues its job after the commit (jobs/reclock.py). `advance` then re-clocks one batch at
a time in its own transaction **together with** moving the run's cursor: a job that runs
twice, or dies mid-batch, re-clocks no ticket twice (the run's row is locked, and the cursor
moves only if nobody moved it meanwhile).

Each ticket is re-clocked at the time its batch runs (its clocks ran on the old terms until
then, and the business time used so far is measured on the calendar it ran on). Only tickets
up to the newest open one at the change are re-clocked (later ones started on the new terms),
and a next-response clock started after the change is left alone for the same reason.

Two changes in a row to the same plan (or to a calendar under it) **chain**: a run
re-clocks only tickets an earlier unfinished run on any of its plans has already done, so
each ticket goes from the oldest terms to the middle ones and then to the newest, each move
measuring the business time used on the calendar the ticket actually ran on. Re-clocking
the first run's remaining tickets straight from the oldest terms to the newest would give
the same clocks only while the job runs without a lag; the chain is right whatever the lag,
and each ticket's log shows both changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from workflow import plan_terms, reclock
from workflow.followups import FollowUp
from workflow.models import ReclockRun, SlaCalendar, SlaPlan, Ticket
from workflow.plan_terms import Terms
from workflow.rules import Actor

Snapshot = dict[str, Any]
"""A plan's terms as JSON: its target and at-risk columns, escalation policy, calendar."""
_PLAN_COLUMNS = (
    *plan_terms.TARGET_COLUMNS.values(),
    "at_risk_percent",
    "at_risk_minutes",
    "escalation_policy",
)


@dataclass
class Began:
    """The first batch done in the request; `run_id` when a background run does the rest."""

    reclocked: reclock.Reclocked
    run_id: int | None = None
    total: int = 0


@dataclass
class Advanced:
    """One background batch: what it re-clocked, and whether the run is now finished or
    must wait for an earlier run on the same plans to get further first."""

    tickets: int = 0
    follow_ups: list[FollowUp] = field(default_factory=list)
    finished: bool = False
    blocked: bool = False
    cursor: int = 0


def snapshot(plan: SlaPlan, calendar: SlaCalendar | Mapping[str, Any] | None) -> Snapshot:
    """The terms of a plan row with its calendar (a row or the document), as JSON."""
    document = calendar.definition if isinstance(calendar, SlaCalendar) else calendar
    return {
        **{column: getattr(plan, column) for column in _PLAN_COLUMNS},
        "calendar": dict(document) if document else None,
    }


def terms(plan_id: int, shot: Snapshot) -> Terms:
    """The `Terms` a snapshot stands for (parsed calendars and policies are cached)."""
    plan = SlaPlan(id=plan_id, **{column: shot.get(column) for column in _PLAN_COLUMNS})
    return plan_terms.from_rows(plan, shot.get("calendar"))


def changes_of(run: ReclockRun) -> reclock.Changes:
    return {
        int(plan_id): (terms(int(plan_id), pair["before"]), terms(int(plan_id), pair["after"]))
        for plan_id, pair in run.changes.items()
    }


def begin(
    session: Session,
    shots: Mapping[int, tuple[Snapshot, Snapshot]],
    kind: str,
    subject_id: int,
    subject: str,
    actor: Actor,
    now: datetime,
    note: str,
) -> Began:
    """Re-clock the first batch of a change inside the caller's transaction and, when more
    tickets remain, add the run that re-clocks the rest (never commits). `shots` maps each
    plan id to its terms before and after, as `snapshot` gives them."""
    changes = {p: (terms(p, before), terms(p, after)) for p, (before, after) in shots.items()}
    if not changes:
        return Began(reclock.Reclocked())
    plans = sorted(changes)
    newest = session.scalar(select(func.max(Ticket.id)).where(*_open_on(plans))) or 0
    upto = min(newest, _earlier_cursor(session, plans, None))
    done = reclock.reclock_batch(session, changes, actor, now, note, 0, upto)
    if not _left(session, plans, done.last_id, newest):
        return Began(done, total=done.tickets)
    total = session.scalar(
        select(func.count()).select_from(Ticket).where(*_open_on(plans), Ticket.id <= newest)
    )
    run = ReclockRun(
        kind=kind,
        subject_id=subject_id,
        subject=subject,
        changes={str(p): {"before": b, "after": a} for p, (b, a) in shots.items()},
        last_ticket_id=done.last_id,
        up_to_ticket_id=newest,
        total=total or 0,
        done=done.tickets,
        actor_id=actor.id,
        actor_role=actor.role,
        note=note,
        started_at=now,
        progressed_at=now,
    )
    session.add(run)
    session.flush()
    return Began(done, run.id, total or 0)


def advance(session: Session, run_id: int, now: datetime, batch: int | None = None) -> Advanced:
    """Re-clock the run's next batch and move its cursor, in one transaction of its own
    (committed here). A finished run, or one whose cursor another job moved first, changes
    nothing; on any error everything of the batch rolls back and the cursor stays."""
    try:
        run = session.scalars(
            select(ReclockRun)
            .where(ReclockRun.id == run_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if run is None or run.finished_at is not None:
            session.rollback()
            return Advanced(finished=True, cursor=run.last_ticket_id if run else 0)
        cursor, changes = run.last_ticket_id, changes_of(run)
        plans = sorted(changes)
        upto = min(run.up_to_ticket_id, _earlier_cursor(session, plans, run.id))
        actor = Actor(id=run.actor_id, role=run.actor_role)
        done = reclock.reclock_batch(
            session, changes, actor, now, run.note, cursor, upto, batch, since=run.started_at
        )
        left = _left(session, plans, done.last_id, run.up_to_ticket_id)
        moved = session.execute(
            update(ReclockRun)
            .where(ReclockRun.id == run.id, ReclockRun.last_ticket_id == cursor)
            .values(
                last_ticket_id=done.last_id,
                done=ReclockRun.done + done.tickets,
                progressed_at=now,
                finished_at=None if left else now,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        if moved != 1:  # another copy of the job got there first: undo this one
            session.rollback()
            return Advanced(cursor=cursor)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    blocked = left and done.read == 0
    return Advanced(done.tickets, done.follow_ups, not left, blocked, done.last_id)


def unfinished(session: Session) -> list[ReclockRun]:
    """Runs not finished yet, oldest first (a partial index keeps this cheap)."""
    return list(
        session.scalars(
            select(ReclockRun).where(ReclockRun.finished_at.is_(None)).order_by(ReclockRun.id)
        )
    )


def progress(session: Session, kind: str, subject_id: int) -> ReclockRun | None:
    """The unfinished run of one plan or calendar, if any (for the admin's page)."""
    return session.scalars(
        select(ReclockRun)
        .where(
            ReclockRun.finished_at.is_(None),
            ReclockRun.kind == kind,
            ReclockRun.subject_id == subject_id,
        )
        .order_by(ReclockRun.id.desc())
        .limit(1)
    ).first()


def runs_on_plan(session: Session, plan_id: int) -> list[ReclockRun]:
    """Unfinished runs that re-clock a plan's tickets (its own, or its calendar's)."""
    return [run for run in unfinished(session) if str(plan_id) in run.changes]


# ---- helpers ---------------------------------------------------------------------------------


def _open_on(plans: list[int]) -> tuple[Any, ...]:
    return (Ticket.sla_plan_id.in_(plans), Ticket.closed_at.is_(None))


def _earlier_cursor(session: Session, plans: list[int], before: int | None) -> int:
    """How far a run may go: not past the cursor of an earlier unfinished run that
    re-clocks any of the same plans (the chain of the module docstring)."""
    wanted = {str(p) for p in plans}
    cursors = [
        run.last_ticket_id
        for run in unfinished(session)
        if (before is None or run.id < before) and wanted & set(run.changes)
    ]
    return min(cursors, default=reclock.NO_BOUND)


def _left(session: Session, plans: list[int], after: int, upto: int) -> bool:
    """Whether any open ticket on the plans with after < id <= upto remains."""
    found = session.scalar(
        select(Ticket.id).where(*_open_on(plans), Ticket.id > after, Ticket.id <= upto).limit(1)
    )
    return found is not None
