"""`ticketflow worker`: RQ workers with the scheduler, and the cron that starts the sweep.

    ticketflow worker [--processes 2] [--fork] [--no-cron] [--sweep-interval 30]
    python -m jobs.worker ...            (the same, without the Flask CLI around it)

(The demo's `ticketflow run` starts it as a child through `jobs.worker_process`, which
imports nothing from here: this module loads rq and redis.)

What runs:

* `--processes` RQ workers (a `WorkerPool` when more than one, which restarts a worker
  that dies), each with RQ's scheduler (`work(with_scheduler=True)`): one of them holds the
  scheduler lock and moves due timer jobs onto the queue every second. RQ's worker cannot
  run in a thread (it installs signal handlers), so these are processes. The default class
  is `TicketflowSimpleWorker`: jobs run in the worker process, which keeps its database
  connections and compiled workflows between jobs (a step takes milliseconds; bench/timers.py
  measures both). `--fork` uses RQ's forking worker instead (a work horse per job, warmed up
  before it forks): isolation for a job that leaks or crashes, at about 100 ms per job.
* one cron process (rq's `CronScheduler`) enqueueing the sweep every `--sweep-interval`
  seconds. It keeps its schedule in memory, so a flushed Redis gets the sweep again at the
  next interval; a Redis outage makes it wait and retry. rq's cron has no leader election:
  two `ticketflow worker` hosts both enqueue sweeps, and the sweep's own lock makes the
  second one do nothing.

Abandoned jobs (a worker SIGKILLed mid-job): RQ keeps a started job in its registry with a
heartbeat TTL of min(job timeout, job monitoring interval) + 60 s, and a worker's maintenance
(every `maintenance_interval`, checked at least once per dequeue timeout = worker TTL - 15 s)
moves an expired one to its retry. `TicketflowWorker` sets 10 s monitoring, 30 s maintenance
and a 45 s worker TTL, so a killed worker's job runs again within about 100 s (RQ's
defaults: 30 s, 10 min, and a 405 s dequeue timeout, so up to 17 minutes).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import time
from collections.abc import Sequence
from typing import Any

import click
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker
from rq.cron import CronScheduler
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.scheduler import RQScheduler
from rq.worker_pool import WorkerPool
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from jobs import queues, runtime
from jobs.connection import for_workers
from workflow.models import Ticket, VersionStatus, WorkflowVersion

JOB_MONITORING_INTERVAL = 10
MAINTENANCE_INTERVAL = 30
WORKER_TTL = 45
SCHEDULER_INTERVAL = 0.25
SWEEP_TIMEOUT = 60
log = logging.getLogger(__name__)


class TicketflowScheduler(RQScheduler):
    """RQ's scheduler, polling every SCHEDULER_INTERVAL seconds instead of every second:
    a timer waits for the due second rounded up (up to 1 s) and then for the next poll, so
    a 1 s poll alone could make a step 2 s late. (`interval` stays 1: RQ also derives its
    lock TTLs from it, and Redis takes whole seconds there.)"""

    def work(self) -> None:
        """rq 2.12's `RQScheduler.work` with the shorter sleep."""
        self._install_signal_handlers()
        self.register_birth()
        while True:
            if self._stop_requested:
                self.stop()
                break
            if self.should_reacquire_locks:
                self.acquire_locks()
            self.heartbeat()
            self.enqueue_scheduled_jobs()
            time.sleep(SCHEDULER_INTERVAL)


class _Tuned:
    """The settings both worker classes share (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("job_monitoring_interval", JOB_MONITORING_INTERVAL)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        super().__init__(*args, **kwargs)

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        """rq 2.12's `BaseWorker._start_scheduler`, with TicketflowScheduler (rq has no
        setting for the scheduler's interval)."""
        self.scheduler = TicketflowScheduler(
            self.queues,  # type: ignore[attr-defined]
            connection=self.connection,  # type: ignore[attr-defined]
            logging_level=logging_level if logging_level is not None else "INFO",
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,  # type: ignore[attr-defined]
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()


class TicketflowSimpleWorker(_Tuned, SimpleWorker):
    """RQ's SimpleWorker (jobs run in the worker process: no fork per job, connections and
    caches kept) with abandoned-job cleanup and the scheduler tuned as the module docstring
    says. A job that hangs is still stopped by its timeout (SIGALRM). Also usable as
    `rq worker --worker-class jobs.worker.TicketflowSimpleWorker`."""


class TicketflowWorker(_Tuned, Worker):
    """The same on RQ's forking worker (a work horse per job: a job that leaks or crashes
    takes only its horse with it)."""


def warm_up() -> None:
    """Before any work horse forks: compile the published workflows and run the step's
    reads once, so each horse inherits warm caches (python-statemachine classes, compiled
    SQL) instead of building them for every job; then close the parent's connections."""
    from workflow import escalating
    from workflow.loading import compiled_version

    try:
        with runtime.session() as session:
            published = session.execute(
                select(WorkflowVersion.id, WorkflowVersion.checksum).where(
                    WorkflowVersion.status == VersionStatus.PUBLISHED
                )
            )
            for version_id, checksum in published:
                compiled_version(session, version_id, checksum)
            sample = session.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1))
            if sample is not None:
                escalating.preview(session, sample, runtime.now())
            session.rollback()
    except SQLAlchemyError as exc:  # a database that is not there yet: jobs will say so
        log.warning("Warm-up skipped: %s", exc)
    if runtime.engine.cache_info().currsize:
        runtime.engine().dispose()


# ---- the cron --------------------------------------------------------------------------------


def run_cron(url: str, interval: int) -> None:
    """Enqueue the sweep every `interval` seconds until stopped (SIGTERM/SIGINT)."""
    from jobs.sweep import sweep

    cron = CronScheduler(connection=for_workers(url), name=f"ticketflow-cron-{os.getpid()}")
    cron.register(
        sweep, queues.SWEEP, interval=interval, job_timeout=SWEEP_TIMEOUT, name="sla-sweep"
    )
    while True:
        try:
            cron.start()  # returns when asked to stop
            return
        except RedisError as exc:
            log.warning("The cron lost Redis (%s); trying again in 5 s.", exc)
            time.sleep(5)


def _start_cron(url: str, interval: int) -> multiprocessing.process.BaseProcess:
    process = multiprocessing.get_context("fork").Process(
        target=run_cron, args=(url, interval), name="ticketflow cron", daemon=True
    )
    process.start()
    return process


# ---- the command -----------------------------------------------------------------------------


def work(
    processes: int = 1,
    fork: bool = False,
    cron: bool = True,
    sweep_interval: int = 30,
    burst: bool = False,
    logging_level: str = "INFO",
) -> None:
    """Run until stopped (or, with `burst`, until the queues are empty)."""
    url = runtime.config().REDIS_URL
    if not url:
        raise click.UsageError("REDIS_URL is not set: the workers need Redis.")
    import jobs.mail  # noqa: F401 - loaded once here, not in every forked work horse
    import jobs.sla  # noqa: F401
    import jobs.sweep  # noqa: F401

    if fork:
        warm_up()
    worker_class = TicketflowWorker if fork else TicketflowSimpleWorker
    connection = for_workers(url)
    cron_process = _start_cron(url, sweep_interval) if cron and not burst else None
    try:
        if processes == 1:
            worker = worker_class(list(queues.QUEUES), connection=connection)
            worker.work(burst=burst, with_scheduler=True, logging_level=logging_level)
        else:
            pool = WorkerPool(
                list(queues.QUEUES),
                connection=connection,
                num_workers=processes,
                worker_class=worker_class,
            )
            pool.start(burst=burst, logging_level=logging_level)
    finally:
        if cron_process is not None and cron_process.is_alive():
            cron_process.terminate()
            cron_process.join(timeout=5)


@click.command("worker")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--fork", is_flag=True, help="Fork a work horse per job (RQ's default worker).")
@click.option("--no-cron", "no_cron", is_flag=True, help="Do not enqueue the periodic sweep.")
@click.option("--sweep-interval", default=30, show_default=True, type=click.IntRange(1, 3600))
@click.option("--burst", is_flag=True, help="Work until the queues are empty, then stop.")
@click.option("--logging-level", default="INFO", show_default=True)
def worker_command(
    processes: int,
    fork: bool,
    no_cron: bool,
    sweep_interval: int,
    burst: bool,
    logging_level: str,
) -> None:
    """Run RQ workers with the scheduler (SLA timers, escalations, mail) and the sweep."""
    work(processes, fork, not no_cron, sweep_interval, burst, logging_level)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.worker", description=__doc__)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--fork", action="store_true")
    parser.add_argument("--no-cron", action="store_true")
    parser.add_argument("--sweep-interval", type=int, default=30)
    parser.add_argument("--burst", action="store_true")
    parser.add_argument("--logging-level", default="INFO")
    args = parser.parse_args(argv)
    work(
        args.processes,
        args.fork,
        not args.no_cron,
        args.sweep_interval,
        args.burst,
        args.logging_level,
    )


if __name__ == "__main__":
    main()
