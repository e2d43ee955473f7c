"""The background half of a big SLA plan or calendar change (workflow/reclock_runs.py).

`continue_run` re-clocks batch after batch, each in its own transaction together with the
run's cursor, and hands each batch's timers and live updates to Redis after its commit. It
stops after `BUDGET` seconds and enqueues its continuation, so a long run never holds a
worker away from the SLA timers for long (its jobs go to the sweep's queue, which workers
take last). Job ids are deterministic per run and cursor (`reclock-<run>-<cursor>`): a job
that runs twice enqueues the same continuation, and a copy that finds the cursor moved
changes nothing. When a run finishes it wakes the runs chained behind it; the sweep
(jobs/sweep.py) enqueues again any run that made no progress for `STALL` (its job lost with
Redis, or its worker killed).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from rq.job import Job, JobStatus
from sqlalchemy.orm import Session

from jobs import queues, runtime
from jobs.dispatch import dispatch
from workflow import reclock_runs

JOB = "jobs.reclock.continue_run"
BUDGET = 10.0
"""Seconds one job spends before handing over to its continuation."""
TIMEOUT = 120
STALL = timedelta(seconds=60)
"""A run with no batch committed for this long has lost its job: the sweep enqueues it."""
_ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def job_id(run_id: int, cursor: int) -> str:
    return f"reclock-{run_id}-{cursor}"


def enqueue(connection: Redis, run_id: int, cursor: int) -> str:
    """Enqueue the run's job from `cursor` unless that very job is already waiting or
    running (called after the commit that wrote the run or moved its cursor)."""
    name = job_id(run_id, cursor)
    try:
        if Job.fetch(name, connection=connection).get_status() in _ALIVE:
            return name
    except Exception:  # noqa: BLE001 - no such job (rq raises NoSuchJobError), or unreadable
        pass
    queues.queue(connection, queues.SWEEP).enqueue(
        JOB,
        run_id,
        job_id=name,
        job_timeout=TIMEOUT,
        result_ttl=queues.RESULT_TTL,
        failure_ttl=queues.FAILURE_TTL,
    )
    return name


def continue_run(run_id: int) -> str:
    """RQ job: re-clock the run's batches until it finishes, must wait for an earlier run,
    or has spent BUDGET seconds (then it enqueues its continuation). Safe to run twice."""
    started = time.monotonic()
    connection = runtime.redis()
    tickets = 0
    while True:
        with runtime.session() as session:
            step = reclock_runs.advance(session, run_id, runtime.now())
        tickets += step.tickets
        if step.follow_ups:
            dispatch(step.follow_ups, connection, runtime.config().LIVE_CHANNEL)
        if step.finished:
            woken = _wake_followers(connection)
            return f"run {run_id}: finished ({tickets} re-clocked now; woke {woken})"
        if step.blocked:
            return f"run {run_id}: {tickets} re-clocked; waiting for an earlier run"
        if time.monotonic() - started > BUDGET:
            enqueue(connection, run_id, step.cursor)
            return f"run {run_id}: {tickets} re-clocked; continues after ticket {step.cursor}"


def resume_stalled(session: Session, connection: Redis, now: datetime) -> int:
    """The sweep's part: enqueue again every unfinished run without progress for STALL."""
    resumed = 0
    for run in reclock_runs.unfinished(session):
        if run.progressed_at <= now - STALL:
            enqueue(connection, run.id, run.last_ticket_id)
            resumed += 1
    return resumed


def _wake_followers(connection: Redis) -> int:
    """Enqueue the unfinished runs (those chained behind the one that finished)."""
    try:
        with runtime.session() as session:
            runs = [(r.id, r.last_ticket_id) for r in reclock_runs.unfinished(session)]
        for run_id, cursor in runs:
            enqueue(connection, run_id, cursor)
    except RedisError:  # the sweep resumes them
        return 0
    return len(runs)
