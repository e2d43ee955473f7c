"""Queue health for the ops view: workers alive, jobs waiting, scheduled and failed (with
their errors), and retrying a failed job. Read from RQ's own keys and registries.

Built for the request path: the caller passes the short-timeout client
(`jobs.connection.for_requests`) and gets `RedisError` when Redis cannot be reached. Four
pipelined round trips whatever the number of queues, workers and failed jobs shown.

Workers are read from their registration keys, not through `Worker.all`: constructing an
RQ `Worker` raises its connection pool's socket timeout to the worker's long dequeue
timeout (`BaseWorker._set_connection`), which would quietly undo the short timeouts of the
web process's shared client for every later request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from redis import Redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.results import Result
from rq.scheduler import RQScheduler
from rq.worker import Worker

from jobs.queues import QUEUES

FAILED_SHOWN = 50
JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    hostname: str | None
    pid: int | None
    state: str
    queues: tuple[str, ...]
    current_job: str | None
    last_heartbeat: datetime | None
    started_at: datetime | None
    successful: int
    failed: int


@dataclass(frozen=True)
class QueueCounts:
    name: str
    waiting: int
    scheduled: int
    running: int
    failed: int
    scheduler: str | None
    """Who holds the queue's scheduler lock (scheduled jobs move only while one does)."""


@dataclass(frozen=True)
class FailedJob:
    id: str
    queue: str
    description: str
    failed_at: datetime | None
    error: str
    """The last line of the traceback: what went wrong, in one line."""
    traceback: str


@dataclass(frozen=True)
class Health:
    workers: tuple[WorkerInfo, ...]
    queues: tuple[QueueCounts, ...]
    failed_jobs: tuple[FailedJob, ...]
    """The newest failed jobs, at most FAILED_SHOWN."""

    @property
    def scheduled(self) -> int:
        return sum(q.scheduled for q in self.queues)

    @property
    def failed(self) -> int:
        return sum(q.failed for q in self.queues)


class RetryRefused(Exception):
    """A failed job that cannot be retried; the message says why in a sentence."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def snapshot(connection: Redis, now: datetime, limit: int = FAILED_SHOWN) -> Health:
    """Workers, per-queue counts and the newest failed jobs. Raises RedisError."""
    queues = [Queue(name, connection=connection) for name in QUEUES]
    stamp = now.timestamp()
    with connection.pipeline(transaction=False) as pipe:
        pipe.smembers(Worker.redis_workers_keys)
        for q in queues:
            pipe.llen(q.key)
            pipe.zcard(ScheduledJobRegistry(queue=q).key)
            pipe.zcount(StartedJobRegistry(queue=q).key, stamp, "+inf")
            pipe.zcount(FailedJobRegistry(queue=q).key, stamp, "+inf")
            pipe.zrevrangebyscore(
                FailedJobRegistry(queue=q).key, "+inf", stamp, start=0, num=limit, withscores=True
            )
            pipe.get(RQScheduler.get_locking_key(q.name))
        worker_keys, *per_queue = pipe.execute()
    counts, newest = [], []
    for i, q in enumerate(queues):
        waiting, scheduled, running, failed, ids, lock = per_queue[6 * i : 6 * i + 6]
        counts.append(QueueCounts(q.name, waiting, scheduled, running, failed, _text(lock) or None))
        newest += [(score, _text(job_id), q.name) for job_id, score in ids]
    newest = sorted(newest, reverse=True)[:limit]
    return Health(
        _workers(connection, sorted(_text(k) for k in worker_keys)),
        tuple(counts),
        _failed(connection, [(job_id, queue) for _, job_id, queue in newest]),
    )


def retry(connection: Redis, job_id: str) -> str:
    """Put a failed job back on its queue (RQ's `requeue`); returns the queue's name.
    Raises RetryRefused (404: no such job any more; 409: not failed any more)."""
    if not JOB_ID.fullmatch(job_id or ""):
        raise RetryRefused("There is no job with that id.", 404)
    try:
        job = Job.fetch(job_id, connection=connection)
    except NoSuchJobError:
        raise RetryRefused(
            "That job is no longer kept: failed jobs are deleted after seven days.", 404
        ) from None
    registry = FailedJobRegistry(job.origin, connection=connection)
    try:
        registry.requeue(job)
    except InvalidJobOperation:
        raise RetryRefused(
            "That job is not among the failed jobs any more; it was probably retried already.",
            409,
        ) from None
    return job.origin


def _workers(connection: Redis, keys: list[str]) -> tuple[WorkerInfo, ...]:
    """Every registered worker whose key has not expired (a dead worker's key expires
    after its TTL, so what is listed is alive)."""
    if not keys:
        return ()
    with connection.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.hgetall(key)
        hashes = pipe.execute()
    prefix = Worker.redis_worker_namespace_prefix
    found = []
    for key, raw in zip(keys, hashes, strict=True):
        if not raw:
            continue
        data = {_text(k): _text(v) for k, v in raw.items()}
        found.append(
            WorkerInfo(
                name=key.removeprefix(prefix),
                hostname=data.get("hostname") or None,
                pid=int(data["pid"]) if data.get("pid", "").isdecimal() else None,
                state=data.get("state") or "unknown",
                queues=tuple(q for q in (data.get("queues") or "").split(",") if q),
                current_job=data.get("current_job") or None,
                last_heartbeat=_time(data.get("last_heartbeat")),
                started_at=_time(data.get("birth")),
                successful=int(data.get("successful_job_count") or 0),
                failed=int(data.get("failed_job_count") or 0),
            )
        )
    return tuple(found)


def _failed(connection: Redis, ids: list[tuple[str, str]]) -> tuple[FailedJob, ...]:
    """The failed jobs with their latest result's traceback (two round trips)."""
    if not ids:
        return ()
    jobs = Job.fetch_many([job_id for job_id, _ in ids], connection=connection)
    with connection.pipeline(transaction=False) as pipe:
        for job_id, _ in ids:
            pipe.xrevrange(Result.get_key(job_id), "+", "-", count=1)
        latest = pipe.execute()
    out = []
    for (job_id, queue), job, result in zip(ids, jobs, latest, strict=True):
        if job is None:  # expired between the two reads
            continue
        trace = ""
        if result:
            result_id, payload = result[0]
            restored = Result.restore(job_id, _text(result_id), payload, connection=connection)
            trace = (restored.exc_string or "").strip()
        out.append(
            FailedJob(
                id=job_id,
                queue=queue,
                description=job.description or job_id,
                failed_at=_aware(job.ended_at),
                error=summary(trace),
                traceback=trace,
            )
        )
    return tuple(out)


def summary(trace: str, limit: int = 300) -> str:
    """What went wrong, from a traceback: the final exception's message (the lines after
    the last indented frame line), without SQLAlchemy's "Background on this error" link."""
    lines = [line for line in trace.splitlines() if line.strip()]
    last_frame = max((i for i, line in enumerate(lines) if line.startswith(" ")), default=-1)
    message = [
        line.strip()
        for line in lines[last_frame + 1 :]
        if not line.startswith("(Background on this error")
    ]
    text = " ".join(message) or (lines[-1].strip() if lines else "")
    if not text:
        return "No error was recorded for this job."
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return _aware(parsed)
