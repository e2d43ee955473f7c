"""The periodic safety net: steps whose job was lost, and timers Redis no longer has.

Every `INTERVAL` seconds (rq's cron, started by `ticketflow worker`) one sweep:

1. takes a lock (a PostgreSQL advisory lock held by its transaction; a Redis lock on SQLite),
   since rq's cron has no leader election: a second scheduler's sweep finds it taken and
   changes nothing;
2. finds tickets whose earliest pending step (`tickets.timer_due_at`, a partial index) has
   been due for more than `GRACE` seconds, which means its job was lost (Redis flushed or
   down when it was set, a worker killed), and runs their steps: a few inline, a backlog
   fanned out to every worker as one job per ticket. Each step runs once whoever gets
   there first (workflow/escalating.py), so racing a late timer job is harmless;
3. reconciles: schedules again the timers of every ticket with a step due within
   `HORIZON`, so timers lost while Redis was away still fire at their second;
4. resumes the background re-clock runs of big SLA plan or calendar changes that made no
   progress for `jobs.reclock.STALL` (their job lost with Redis, or its worker killed);
5. enqueues again the mail of outbox rows still unsent after `MAIL_GRACE` whose job Redis
   no longer has (Redis was down at the commit, or the process died before the enqueue):
   `resend_lost_mail`.

Due steps are acted on within INTERVAL + GRACE seconds (35 s) of their due time.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from redis import Redis
from rq.job import Job
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from jobs import escalation, queues, reclock, runtime
from workflow import escalating, outbox
from workflow.errors import NotFound
from workflow.models import Ticket

INTERVAL = 30
GRACE = timedelta(seconds=5)
HORIZON = timedelta(seconds=2 * INTERVAL)
BATCH = 2000
INLINE = 50
BUDGET = 20.0
"""Seconds one sweep spends; what is left waits for the next one (or runs fanned out)."""
LOCK_ID = 0x5F7C_0001
REDIS_LOCK = "ticketflow:sweep-lock"
FIRE_DUE = "jobs.sla.fire_due"
MAIL_GRACE = timedelta(minutes=2)
"""An unsent outbox row younger than this is most likely still on its way (queued, or being
sent); an older one whose job Redis does not have was lost."""
MAIL_MAX_AGE = timedelta(days=1)
"""Older unsent rows are left alone: their job failed for good (RQ keeps a failed job for
`queues.FAILURE_TTL`, an operator's matter), and a day-late notice would mislead."""
MAIL_BATCH = 500
MAIL_LIMIT = 5000
"""Unsent rows one sweep looks at; the rest wait for the next sweep."""

DUE = (
    select(Ticket.id)
    .where(Ticket.timer_due_at <= bindparam("before"))
    .order_by(Ticket.timer_due_at)
    .limit(bindparam("limit"))
)
"""The sweep's query: an index range scan of `ix_tickets_timer_due_at` (bench/sweep.py)."""
UPCOMING = (
    select(Ticket.id)
    .where(Ticket.timer_due_at > bindparam("after"), Ticket.timer_due_at <= bindparam("until"))
    .order_by(Ticket.timer_due_at)
    .limit(bindparam("limit"))
)


def find_due(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Tickets with a step due for longer than GRACE (their job should have run by now)."""
    return list(session.scalars(DUE, {"before": now - GRACE, "limit": limit}))


def find_upcoming(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    return list(session.scalars(UPCOMING, {"after": now, "until": now + HORIZON, "limit": limit}))


def sweep() -> str:
    """RQ job: one sweep (see the module's docstring). Returns what it did, in words."""
    started = time.monotonic()
    with runtime.session() as session, _lock(session) as held:
        if not held:
            return "Another sweep holds the lock; nothing done."
        now = runtime.now()
        due = find_due(session, now)
        ran = fanned = 0
        for ticket_id in due[:INLINE]:
            if time.monotonic() - started > BUDGET:
                break
            ran += len(escalation.run(ticket_id, runtime.now()).ran)
        if len(due) > INLINE:
            fanned = fan_out(due[INLINE:])
        upcoming = find_upcoming(session, runtime.now())
        reconciled = reconcile(session, upcoming, runtime.now())
        resumed = reclock.resume_stalled(session, runtime.redis(), runtime.now())
        mailed = resend_lost_mail(session, runtime.redis(), runtime.now())
    return (
        f"{len(due)} ticket(s) overdue: ran {ran} step(s) inline, fanned out {fanned}; "
        f"set {reconciled} timer(s) due within {HORIZON.seconds} s"
        + (f"; resumed {resumed} re-clock run(s)" if resumed else "")
        + (f"; enqueued {mailed} lost mail(s)." if mailed else ".")
    )


def fan_out(ticket_ids: list[int]) -> int:
    """One `fire_due` job per ticket, so every worker helps with a backlog."""
    q = queues.queue(runtime.redis())
    with runtime.redis().pipeline(transaction=False) as pipe:
        for ticket_id in ticket_ids:
            q.enqueue(
                FIRE_DUE,
                ticket_id,
                job_id=f"sla-{ticket_id}-sweep",
                job_timeout=queues.TIMER_TIMEOUT,
                result_ttl=queues.RESULT_TTL,
                pipeline=pipe,
            )
        pipe.execute()
    return len(ticket_ids)


def reconcile(session: Session, ticket_ids: list[int], now: datetime) -> int:
    """Schedule again the next step of each running clock of these tickets (moving a job
    that exists to the same second changes nothing; a lost one comes back)."""
    follow_ups = []
    for ticket_id in ticket_ids:
        try:
            timeline, done = escalating.preview(session, ticket_id, now)
        except NotFound:
            continue
        follow_ups += escalating.next_timers(ticket_id, timeline, done)
    return queues.schedule(follow_ups, runtime.redis()) if follow_ups else 0


def resend_lost_mail(session: Session, connection: Redis, now: datetime) -> int:
    """Enqueue again the mail of unsent outbox rows created between MAIL_MAX_AGE and
    MAIL_GRACE ago whose job Redis does not have, in batches of MAIL_BATCH (one query and
    one pipelined round trip each), at most MAIL_LIMIT rows. A job still queued, waiting
    for a retry or failed is RQ's: the sweep replaces lost jobs, it adds no retries. Safe to
    run twice: the job ids are the rows' (`queues.mail_id`), and a sent row is not resent."""
    since, enqueued, seen = (now - MAIL_MAX_AGE, 0), 0, 0
    while seen < MAIL_LIMIT:
        rows = outbox.unsent(session, since, now - MAIL_GRACE, MAIL_BATCH)
        if not rows:
            break
        seen, since = seen + len(rows), rows[-1]
        ids = [row_id for _, row_id in rows]
        with connection.pipeline(transaction=False) as pipe:
            for row_id in ids:
                pipe.exists(Job.key_for(queues.mail_id(row_id)))
            present = pipe.execute()
        enqueued += queues.enqueue_mail(
            [i for i, p in zip(ids, present, strict=True) if not p], connection
        )
        if len(rows) < MAIL_BATCH:
            break
    return enqueued


@contextmanager
def _lock(session: Session) -> Iterator[bool]:
    """Held until the block ends. PostgreSQL: a transaction-level advisory lock on the
    sweep's own session (released by its rollback, or by the server if the worker dies).
    Elsewhere: a Redis lock that expires on its own."""
    if session.get_bind().dialect.name == "postgresql":
        try:
            yield bool(session.scalar(select(func.pg_try_advisory_xact_lock(LOCK_ID))))
        finally:
            session.rollback()
        return
    lock = runtime.redis().lock(REDIS_LOCK, timeout=BUDGET + 60, blocking=False)
    held = lock.acquire()
    try:
        yield held
    finally:
        if held:
            lock.release()
