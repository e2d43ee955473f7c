"""Queue names, job settings, and turning timer follow-ups into scheduled RQ jobs.

One job per ticket, clock and step, with a deterministic id (`sla-<ticket>-<clock>-<step>`):
scheduling it again with a new due time moves it instead of adding a second one, and a
stopped clock deletes it. RQ's scheduler keeps whole seconds and truncates, so a job is
scheduled at its due time rounded *up* to the next second and never finds its step not yet
due. All of one call's timers go to Redis in one pipelined round trip (RQ's own
`enqueue_at` makes an extra round trip per job), which is what keeps a transition's timer
cost well under a millisecond.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from contextlib import nullcontext
from datetime import UTC, datetime

from redis import Redis
from redis.client import Pipeline
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from workflow.followups import CancelTimer, FollowUp, Notify, ScheduleTimer

TIMERS = "ticketflow-timers"
"""SLA steps: latency matters (at the due second), so workers take this queue first."""
MAIL = "ticketflow-mail"
SWEEP = "ticketflow-sweep"
QUEUES = (TIMERS, MAIL, SWEEP)
"""In the order a worker takes them."""

FIRE_TIMER = "jobs.sla.fire_timer"
SEND_MAIL = "jobs.mail.send_notification"
"""Takes a mail-outbox row id (workflow/outbox.py)."""
MAIL_TIMEOUT = 60
MAIL_RETRY = Retry(max=5, interval=[10, 60, 300, 900, 3600])
"""A mail server that is down for a while still gets the message later."""
TIMER_TIMEOUT = 30
"""Seconds a step may take. A killed horse's heartbeat TTL is min(this, the monitoring
interval) + 60 s, which bounds how soon an abandoned job is noticed (jobs/worker.py)."""
TIMER_RETRY = Retry(max=3, interval=[0, 10, 30])
"""A failed or abandoned step runs again soon: the step itself is idempotent."""
RESULT_TTL = 600
FAILURE_TTL = 7 * 24 * 3600
log = logging.getLogger(__name__)


def timer_id(ticket_id: int, clock: str, step: str) -> str:
    """The job id of one step (letters, digits, `_` and `-` only, as RQ requires)."""
    return f"sla-{ticket_id}-{clock}-{step}"


def run_at(due: datetime) -> datetime:
    """`due` rounded up to the next whole second (unchanged when already whole)."""
    ts = due.timestamp()
    return datetime.fromtimestamp(math.ceil(ts), UTC)


def queue(connection: Redis, name: str = TIMERS) -> Queue:
    return Queue(name, connection=connection)


def schedule(
    follow_ups: Iterable[FollowUp], connection: Redis, into: Pipeline | None = None
) -> int:
    """Schedule (or move) and cancel the timer jobs of `follow_ups`, and enqueue a mail job
    per notification (its id from the outbox row's, `mail_id`), in one round trip; returns
    how many jobs were touched. Raises RedisError when Redis cannot be reached (callers on
    the request path catch it: the sweep sets the timers and mail later). With `into`, the
    commands are added to the caller's pipeline, which the caller executes (jobs.dispatch:
    one round trip for everything)."""
    items = [f for f in follow_ups if isinstance(f, ScheduleTimer | CancelTimer | Notify)]
    if not items:
        return 0
    q = queue(connection)
    registry = ScheduledJobRegistry(queue=q).key
    touched = 0
    owned = connection.pipeline(transaction=False) if into is None else nullcontext(into)
    with owned as pipe:
        pipe.sadd(Queue.redis_queues_keys, q.key)
        for item in items:
            if isinstance(item, ScheduleTimer):
                _schedule(pipe, q, registry, item)
                touched += 1
            elif isinstance(item, Notify):
                if item.outbox_id is None:  # every service records its notices (workflow/outbox)
                    log.error("A notice not in the mail outbox was not enqueued: %s", item)
                    continue
                _mail(pipe, connection, item.outbox_id)
                touched += 1
            else:
                for step in item.steps:
                    job_id = timer_id(item.ticket_id, item.clock, step)
                    pipe.zrem(registry, job_id)
                    pipe.delete(Job.key_for(job_id))
                    touched += 1
        if into is None:
            pipe.execute()
    return touched


def _schedule(pipe: Pipeline, q: Queue, registry: str, item: ScheduleTimer) -> None:
    """What `Queue.schedule_job` does, but entirely inside the pipeline."""
    job = q.create_job(
        FIRE_TIMER,
        args=(item.ticket_id, item.clock, item.step),
        job_id=timer_id(item.ticket_id, item.clock, item.step),
        timeout=TIMER_TIMEOUT,
        retry=TIMER_RETRY,
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        status=JobStatus.SCHEDULED,
    )
    job.save(pipeline=pipe)
    pipe.persist(job.key)  # a cancelled job's key may still be expiring: this one stays
    pipe.zadd(registry, {job.id: int(run_at(item.due_at).timestamp())})


def mail_id(outbox_id: int) -> str:
    """The job id of one outbox row's mail: enqueuing the row twice names the same job, and
    a second run of it finds the row sent (jobs/mail.py) and mails nothing."""
    return f"mail-{outbox_id}"


def _mail(pipe: Pipeline, connection: Redis, outbox_id: int) -> None:
    mail = queue(connection, MAIL)
    job = mail.create_job(
        SEND_MAIL,
        args=(outbox_id,),
        job_id=mail_id(outbox_id),
        timeout=MAIL_TIMEOUT,
        retry=MAIL_RETRY,
        result_ttl=RESULT_TTL,
        failure_ttl=FAILURE_TTL,
        status=JobStatus.QUEUED,
    )
    pipe.sadd(Queue.redis_queues_keys, mail.key)
    job.save(pipeline=pipe)
    pipe.rpush(mail.key, job.id)


def enqueue_mail(outbox_ids: Iterable[int], connection: Redis) -> int:
    """Enqueue the mail job of each outbox row (the sweep, a group notice's people) in one
    round trip; returns how many."""
    ids = list(outbox_ids)
    if not ids:
        return 0
    with connection.pipeline(transaction=False) as pipe:
        for outbox_id in ids:
            _mail(pipe, connection, outbox_id)
        pipe.execute()
    return len(ids)


def scheduled_at(connection: Redis, ticket_id: int, clock: str, step: str) -> datetime | None:
    """When the job of one step will run (None when it is not scheduled): for tests and ops."""
    registry = ScheduledJobRegistry(queue=queue(connection)).key
    score = connection.zscore(registry, timer_id(ticket_id, clock, step))
    return None if score is None else datetime.fromtimestamp(score, UTC)
