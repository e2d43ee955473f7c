"""SLA timers under load: how late escalations land, and what timers cost a transition.

    python -m bench.timers [--tickets 1000] [--spread 60] [--workers 2] [--fork]
                           [--transitions 1000] [--url postgresql://...] [--redis-url ...]

1. Lag. `--tickets` tickets are opened through `services.open_ticket`, backdated so that
   their first-response clocks breach evenly spread over `--spread` seconds starting a few
   seconds after the setup; their timers are scheduled the way a web request does
   (`jobs.queues.schedule` after each commit). Then `--workers` RQ worker processes
   (`python -m jobs.worker --processes N`: RQ's `WorkerPool` of `TicketflowSimpleWorker`,
   the production default, or of the forking `TicketflowWorker` with `--fork`; one of
   them runs the scheduler) do the work.
   The breach step of the plan raises the priority, reassigns to Level 2 Support and fires
   `escalate`. Lag per ticket = when its step started (`sla_steps.done_at`) minus its due
   time, and = when its job ended (RQ's `ended_at`: after the commit and dispatch) minus
   its due time. p50/p99/max are printed; the target is p99 <= 2 s.
2. Cost per transition. `--transitions` tickets wait in `awaiting_customer` under a plan
   with a business calendar; the customer's answer (resolution clock resumes, next-response
   clock starts) is timed through `services.reply`, and then `jobs.queues.schedule` of its
   follow-ups (one pipelined round trip). The baseline is the same answer on tickets with
   no SLA plan (no clocks at all). Cost = (median with clocks - median without) + median
   scheduling; the target is under 1 ms. Wall time and this process's CPU time are both
   printed (on a busy machine wall time mostly measures waiting for a core), and the same
   `schedule` calls are timed again back to back, without database work in between.

Needs a dedicated PostgreSQL database (recreated: default ticketflow_bench_timers) and a
dedicated Redis database (flushed: default 127.0.0.1:6379/7).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Worker
from rq.job import Job
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.generate import ensure_database
from jobs import queues
from workflow import publishing, services
from workflow.db import make_engine
from workflow.models import (
    Base,
    Department,
    HelpTopic,
    Role,
    SlaCalendar,
    SlaPlan,
    SlaStep,
    Team,
    User,
    Workflow,
)
from workflow.reference import ensure_reference_data
from workflow.rules import Actor

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/ticketflow_bench_timers"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
LEAD_PER_TICKET = 0.02
"""Seconds of lead (between the start of the setup and the first due time) per ticket,
plus 5: opening and scheduling a ticket takes a few milliseconds."""
LAG_TARGET = 2.0
COST_TARGET_MS = 1.0
BREACH = [
    {
        "at": "breach",
        "actions": [{"raise_priority": 1}, {"reassign": "Level 2 Support"}, {"event": "escalate"}],
    }
]
OFFICE = {
    "timezone": "Europe/Berlin",
    "hours": {d: ["08:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "country": "DE",
}


@dataclass
class Desk:
    customer: Actor
    agent: Actor
    timed_topic: int
    office_topic: int
    bare_topic: int


def build(engine: Engine, now: datetime) -> Desk:
    """A fresh schema with one department, Level 2, an agent, a customer and three topics:
    a 24x7 breach-only plan (lag), a business-calendar plan and no plan (cost)."""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as s:
        ensure_reference_data(s)
        publishing.load_builtin(s, Actor.system(), now)
        dept = Department(name="Support")
        s.add(dept)
        s.flush()
        s.add(Team(name="Level 2 Support", department_id=dept.id))
        agent = User(email="a@bench.test", name="Agent", role=Role.AGENT, created_at=now)
        customer = User(email="c@bench.test", name="Customer", role=Role.END_USER, created_at=now)
        calendar = SlaCalendar(name="Office", definition=OFFICE)
        s.add_all([agent, customer, calendar])
        s.flush()
        timed = SlaPlan(name="Bench breach", first_response_minutes=30, escalation_policy=BREACH)
        office = SlaPlan(
            name="Bench office",
            first_response_minutes=120,
            next_response_minutes=240,
            resolution_minutes=16 * 60,
            at_risk_percent=80,
            calendar_id=calendar.id,
            escalation_policy=BREACH,
        )
        s.add_all([timed, office])
        s.flush()
        workflow_id = s.scalar(select(Workflow.id).where(Workflow.key == "support"))
        topics = [
            HelpTopic(
                name=name,
                department_id=dept.id,
                priority_id=2,
                sla_plan_id=plan,
                workflow_id=workflow_id,
            )
            for name, plan in (("timed", timed.id), ("office", office.id), ("bare", None))
        ]
        s.add_all(topics)
        s.commit()
        return Desk(
            services.actor_for(customer),
            services.actor_for(agent),
            *(t.id for t in topics),
        )


def _open(s: Session, desk: Desk, topic: int, now: datetime) -> services.Outcome:
    return services.open_ticket(
        s,
        requester_id=desk.customer.id,
        help_topic_id=topic,
        subject="The VPN drops",
        body="Every ten minutes.",
        actor=desk.customer,
        now=now,
    )


# ---- 1. lag ----------------------------------------------------------------------------------


def measure_lag(
    sessions: sessionmaker[Session],
    redis: Redis,
    desk: Desk,
    env: dict[str, str],
    n: int,
    spread: float,
    workers: int,
    fork: bool,
) -> dict[str, list[float]]:
    lead = 5 + LEAD_PER_TICKET * n
    first_due = datetime.now(UTC) + timedelta(seconds=lead)
    due: dict[int, datetime] = {}
    with sessions() as s:
        for i in range(n):
            at = first_due + timedelta(seconds=spread * i / n)
            outcome = _open(s, desk, desk.timed_topic, at - timedelta(minutes=30))
            queues.schedule(outcome.follow_ups, redis)  # as the web does after the commit
            due[outcome.ticket.id] = outcome.ticket.first_response_due_at
    setup_left = (first_due - datetime.now(UTC)).total_seconds()
    print(f"   {n:,} tickets opened and scheduled; first due in {setup_left:.1f} s")
    if setup_left < 3:
        raise SystemExit("The setup took too long for the lead time; use fewer tickets.")
    command = [sys.executable, "-m", "jobs.worker", "--processes", str(workers), "--no-cron"]
    command += ["--logging-level", "WARNING"] + (["--fork"] if fork else [])
    pool = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        _wait(lambda: len(Worker.all(connection=redis)) >= workers, 30, "workers to start")
        deadline = spread + lead + 60
        _wait(lambda: _breaches(sessions) >= n, deadline, "every breach to be escalated")
    finally:
        pool.terminate()
        pool.wait(timeout=30)
    with sessions() as s:
        rows = s.execute(select(SlaStep.ticket_id, SlaStep.due_at, SlaStep.done_at)).all()
    started = [(done - due_at).total_seconds() for _, due_at, done in rows]
    ids = [queues.timer_id(t, "first_response", "breach") for t in due]
    jobs = Job.fetch_many(ids, connection=redis)
    ended = [
        (job.ended_at.replace(tzinfo=UTC) - due[t]).total_seconds()
        for t, job in zip(due, jobs, strict=True)
        if job is not None and job.ended_at is not None
    ]
    runs = [
        (job.ended_at - job.started_at).total_seconds()
        for job in jobs
        if job is not None and job.ended_at is not None and job.started_at is not None
    ]
    return {"step started": started, "job ended": ended, "(job run time)": runs}


def _breaches(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(SlaStep)) or 0


def _wait(check, seconds: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit(f"Gave up waiting for {what}.")
        time.sleep(0.25)


# ---- 2. cost ---------------------------------------------------------------------------------


def measure_cost(
    sessions: sessionmaker[Session], redis: Redis, desk: Desk, n: int
) -> dict[str, list[float]]:
    """Milliseconds per customer answer with clocks, without, and for the scheduling."""
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday, the office is open
    waiting = {"office": [], "bare": []}
    with sessions() as s:
        for kind, topic in (("office", desk.office_topic), ("bare", desk.bare_topic)):
            for _ in range(n):
                ticket = _open(s, desk, topic, now).ticket
                for event, params in (("claim", {}), ("start", {})):
                    services.apply_event(s, ticket.id, event, desk.agent, now, **params)
                services.apply_event(
                    s, ticket.id, "request_info", desk.agent, now, reply="Which client?"
                )
                waiting[kind].append(ticket.id)
    times: dict[str, list[float]] = {
        f"{what} {clock}": [] for what in ("wall", "cpu") for clock in PARTS
    }
    answer = now + timedelta(hours=3)
    sets: list[list] = []
    with sessions() as s:
        for i, (office_id, bare_id) in enumerate(
            zip(waiting["office"], waiting["bare"], strict=True)
        ):
            # alternate the order, so drift on a busy machine hits both alike
            pairs = [(office_id, True), (bare_id, False)]
            for ticket_id, timed in pairs if i % 2 == 0 else reversed(pairs):
                wall, cpu = time.perf_counter(), time.process_time()
                outcome = services.reply(s, ticket_id, desk.customer, answer, "Version 5.2.")
                part = "with clocks" if timed else "without"
                times[f"wall {part}"].append((time.perf_counter() - wall) * 1000)
                times[f"cpu {part}"].append((time.process_time() - cpu) * 1000)
                if timed:
                    wall, cpu = time.perf_counter(), time.process_time()
                    queues.schedule(outcome.follow_ups, redis)
                    times["wall schedule"].append((time.perf_counter() - wall) * 1000)
                    times["cpu schedule"].append((time.process_time() - cpu) * 1000)
                    sets.append(outcome.follow_ups)
    for follow_ups in sets:  # the same calls back to back, without the database in between
        wall, cpu = time.perf_counter(), time.process_time()
        queues.schedule(follow_ups, redis)
        times["wall schedule alone"].append((time.perf_counter() - wall) * 1000)
        times["cpu schedule alone"].append((time.process_time() - cpu) * 1000)
    return times


PARTS = ("with clocks", "without", "schedule", "schedule alone")


# ---- report ----------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.timers",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds (default 60)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--fork", action="store_true", help="the forking worker class")
    parser.add_argument("--transitions", type=int, default=1000)
    parser.add_argument("--url", default=DEFAULT_URL, help="the (dedicated!) database")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="a dedicated Redis db")
    args = parser.parse_args(argv)
    ensure_database(args.url)
    engine = make_engine(args.url)
    redis = Redis.from_url(args.redis_url)
    redis.flushdb()
    env = {**os.environ, "DATABASE_URL": args.url, "REDIS_URL": args.redis_url}
    env.pop("MAIL_SERVER", None)
    try:
        desk = build(engine, datetime.now(UTC))
        sessions = sessionmaker(engine, expire_on_commit=False)
        kind = "TicketflowWorker (forking)" if args.fork else "TicketflowSimpleWorker"
        print(
            f"== lag: {args.tickets:,} breaches over {args.spread:.0f} s, {args.workers} x {kind}"
        )
        lags = measure_lag(
            sessions, redis, desk, env, args.tickets, args.spread, args.workers, args.fork
        )
        for name, values in lags.items():
            p99 = pct(values, 99)
            verdict = "PASS" if p99 <= LAG_TARGET else "MISS"
            target = "" if name.startswith("(") else f"   (target p99 <= 2 s: {verdict})"
            print(
                f"   due -> {name:<15} n={len(values):>5}  p50 {pct(values, 50):6.3f} s  "
                f"p99 {p99:6.3f} s  max {max(values):6.3f} s  min {min(values):6.3f} s{target}"
            )
        print(f"\n== cost per transition: {args.transitions:,} customer answers each way")
        cost = measure_cost(sessions, redis, desk, args.transitions)
        med = {k: statistics.median(v) for k, v in cost.items()}
        print(f"   {'median, ms':<40} {'wall':>8} {'client CPU':>11}")
        for label, key in (
            ("reply with clocks (business calendar)", "with clocks"),
            ("reply without an SLA plan (baseline)", "without"),
            ("schedule() after the commit", "schedule"),
            ("schedule(), the same calls back to back", "schedule alone"),
        ):
            print(f"   {label:<40} {med['wall ' + key]:8.3f} {med['cpu ' + key]:11.3f}")
        for what in ("wall", "cpu"):
            inside = med[f"{what} with clocks"] - med[f"{what} without"]
            total = inside + med[f"{what} schedule"]
            verdict = "PASS" if total < COST_TARGET_MS else "MISS"
            print(
                f"   {what:>4}: clock work in the transaction {inside:+.3f} ms + scheduling "
                f"{med[f'{what} schedule']:.3f} ms = {total:.3f} ms per transition "
                f"(target < {COST_TARGET_MS:.0f} ms: {verdict})"
            )
    finally:
        redis.flushdb()
        engine.dispose()


if __name__ == "__main__":
    main()
