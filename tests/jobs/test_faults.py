"""Faults, with real Redis, real PostgreSQL (or SQLite where it does not matter) and real RQ
worker processes (`python -m jobs.worker`: RQ workers with the scheduler, and the cron
that enqueues the sweep): every due step is escalated exactly once, whatever breaks."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue, Worker
from rq.job import Job
from sqlalchemy import func, select, text

from jobs import queues
from jobs.connection import for_requests
from jobs.dispatch import dispatch
from tests.jobs.conftest import breach_only_plan, open_due_in, steps, use_plan, wait_for
from workflow import services
from workflow.models import Ticket, TransitionLog

SWEEP_EVERY = "2"  # seconds, so the sweep's tests take seconds, not minutes


def escalations(world, ticket_id: int) -> int:
    world.session.expire_all()
    return world.session.scalar(
        select(func.count())
        .select_from(TransitionLog)
        .where(TransitionLog.ticket_id == ticket_id, TransitionLog.event == "escalate")
    )


def breach_of(world, ticket_id: int, clock: str = "first_response"):
    rows = [r for r in steps(world.session, ticket_id, "breach") if r.clock == clock]
    return rows[0] if len(rows) == 1 else rows or None


def test_a_breach_is_escalated_at_its_second_by_a_worker(world, workers, redis):
    use_plan(world, "SEV A")
    ticket, follow_ups = open_due_in(world, seconds=4)
    workers.start("--no-cron")
    assert dispatch(follow_ups, redis)
    row = wait_for(lambda: breach_of(world, ticket.id), 30)
    assert row, workers.log_text()
    lag = (row.done_at - ticket.first_response_due_at).total_seconds()
    assert 0 <= lag < 3, lag  # scheduled at the due second rounded up, never before it
    time.sleep(2)
    assert len(steps(world.session, ticket.id, "breach")) == 1
    assert escalations(world, ticket.id) == 1


def test_redis_flushed_after_scheduling_the_sweep_escalates_exactly_once(world, workers, redis):
    use_plan(world, "SEV A")
    ticket, follow_ups = open_due_in(world, seconds=2)
    assert dispatch(follow_ups, redis)
    assert queues.scheduled_at(redis, ticket.id, "first_response", "at_risk") is not None
    redis.flushdb()  # every timer job is gone
    # two workers, each with its own cron (two schedulers by mistake): two sweeps every
    # interval, and still one escalation
    workers.start("--sweep-interval", SWEEP_EVERY)
    workers.start("--sweep-interval", SWEEP_EVERY)
    row = wait_for(lambda: breach_of(world, ticket.id), 40)
    assert row, workers.log_text()
    # the sweep acts on steps due for more than its grace of 5 s, within one interval
    assert (row.done_at - ticket.first_response_due_at).total_seconds() < 5 + 2 + 3
    time.sleep(3 * int(SWEEP_EVERY))  # more sweeps run: none runs the step again
    assert len(steps(world.session, ticket.id, "breach")) == 1
    assert escalations(world, ticket.id) == 1
    assert world.session.get(Ticket, ticket.id).escalation_level == 1


@pytest.mark.postgres
def test_a_worker_killed_mid_escalation_completes_it_exactly_once(world, workers, redis):
    """The step's transaction is held open (the test holds the ticket's row, so the
    escalation blocks in its UPDATE), the worker running it is SIGKILLed with its work
    horse and scheduler, as a dead host would be; PostgreSQL rolls the half-done step back,
    and RQ's abandoned-job cleanup on the other worker retries it within two minutes."""
    breach_only_plan(world)
    ticket, follow_ups = open_due_in(world, seconds=3)
    job_id = queues.timer_id(ticket.id, "first_response", "breach")
    workers.start("--no-cron")  # no sweep: this is RQ's own retry at work
    workers.start("--no-cron")
    with world.session.bind.connect() as holder:
        holder.execute(text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"), {"id": ticket.id})
        dispatch(follow_ups, redis)
        assert wait_for(lambda: blocked_backends(world) >= 1, 30), workers.log_text()
        job = Job.fetch(job_id, connection=redis)
        [victim] = [w for w in Worker.all(connection=redis) if w.name == job.worker_name]
        [process] = [p for p in workers.started if p.pid == victim.pid]
        workers.kill_tree(process)
        killed_at = time.monotonic()
        holder.rollback()  # the killed backend now finds its client gone and rolls back
    assert wait_for(lambda: blocked_backends(world) == 0, 10)
    assert breach_of(world, ticket.id) is None  # nothing of the half-done step remains
    row = wait_for(lambda: breach_of(world, ticket.id), 150, every=1)
    assert row, workers.log_text()
    assert time.monotonic() - killed_at < 120
    time.sleep(2)
    assert len(steps(world.session, ticket.id, "breach")) == 1
    assert escalations(world, ticket.id) == 1


@pytest.mark.postgres
def test_the_same_job_twice_on_two_workers_gives_one_escalation(world, workers, redis):
    """Both copies run at the same moment: the test holds the ticket's row so the first
    blocks mid-step and the second queues behind its unique step row; then both go on."""
    breach_only_plan(world)
    ticket, _ = open_due_in(world, seconds=-1)  # due already
    workers.start("--no-cron")
    workers.start("--no-cron")
    q = Queue(queues.TIMERS, connection=redis)
    with world.session.bind.connect() as holder:
        holder.execute(text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"), {"id": ticket.id})
        for _ in range(2):
            q.enqueue(
                queues.FIRE_TIMER,
                ticket.id,
                "first_response",
                "breach",
                job_id=queues.timer_id(ticket.id, "first_response", "breach"),
            )
        assert wait_for(lambda: blocked_backends(world) == 2, 30), workers.log_text()
        holder.rollback()
    assert wait_for(lambda: q.count == 0 and blocked_backends(world) == 0, 30)
    time.sleep(2)
    assert len(steps(world.session, ticket.id, "breach")) == 1
    assert escalations(world, ticket.id) == 1


def test_many_copies_of_a_job_on_two_workers_give_one_escalation(world, workers, redis):
    use_plan(world, "SEV A")
    ticket, _ = open_due_in(world, seconds=-1)
    q = Queue(queues.TIMERS, connection=redis)
    for _ in range(6):
        q.enqueue(queues.FIRE_TIMER, ticket.id, "first_response", "breach")
    workers.start("--no-cron")
    workers.start("--no-cron")
    assert wait_for(lambda: q.count == 0 and q.started_job_registry.count == 0, 30)
    time.sleep(1)
    assert len(steps(world.session, ticket.id, "breach")) == 1
    assert escalations(world, ticket.id) == 1


def test_redis_down_while_an_agent_works_commits_fast_and_the_sweep_sets_the_timers(
    world, workers, redis
):
    use_plan(world, "SEV A")
    down = for_requests("redis://127.0.0.1:1/0")  # nothing listens on port 1
    ticket, follow_ups = open_due_in(world, seconds=25)
    started = time.perf_counter()
    assert dispatch(follow_ups, down) is False
    outcome = services.apply_event(
        world.session, ticket.id, "claim", world.actor(world.agent), datetime.now(UTC)
    )
    assert dispatch(outcome.follow_ups, down) is False
    assert time.perf_counter() - started < 1.0  # the agent was not kept waiting
    world.session.expire_all()
    assert world.session.get(Ticket, ticket.id).state == "assigned"  # committed
    assert queues.scheduled_at(redis, ticket.id, "first_response", "breach") is None

    workers.start("--sweep-interval", SWEEP_EVERY)  # Redis is back, with a worker
    due = ticket.first_response_due_at
    assert wait_for(
        lambda: queues.scheduled_at(redis, ticket.id, "first_response", "breach"), 20
    ) == queues.run_at(due), workers.log_text()
    at_risk = wait_for(lambda: steps(world.session, ticket.id, "at_risk"), 10)
    assert at_risk, "the at-risk step, long due, was run by the sweep"
    row = wait_for(lambda: breach_of(world, ticket.id), 40)
    assert row, workers.log_text()
    assert (row.done_at - due).total_seconds() < 3  # at its second, by its timer job


def test_a_paused_ticket_is_not_escalated_and_its_deadline_moves_by_the_pause(
    world, workers, redis
):
    plan = use_plan(world, "SEV A")  # resolution 4 hours
    s, agent = world.session, world.actor(world.agent)
    opened = datetime.now(UTC) - timedelta(minutes=plan.resolution_minutes, seconds=-12)
    ticket = services.open_ticket(
        s,
        requester_id=world.customer.id,
        help_topic_id=world.topic.id,
        subject="Printer offline",
        body="Since Monday.",
        actor=world.actor(world.customer),
        now=opened,
    ).ticket
    due = ticket.resolution_due_at  # 12 s from now
    for event, params in (("claim", {}), ("start", {}), ("request_info", {"reply": "Model?"})):
        outcome = services.apply_event(s, ticket.id, event, agent, datetime.now(UTC), **params)
        dispatch(outcome.follow_ups, redis)
    s.expire_all()
    paused_at = s.get(Ticket, ticket.id).resolution_paused_at
    assert paused_at is not None
    workers.start("--sweep-interval", SWEEP_EVERY)
    time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()) + 5 + 3 * 2)
    assert [r for r in steps(s, ticket.id) if r.clock == "resolution"] == []  # paused

    answered = datetime.now(UTC)
    outcome = services.reply(s, ticket.id, world.actor(world.customer), answered, "A LaserJet.")
    dispatch(outcome.follow_ups, redis)
    moved = outcome.ticket.resolution_due_at
    assert moved == due + (answered - paused_at)  # around the clock: by the paused time
    row = wait_for(lambda: breach_of(world, ticket.id, "resolution"), 40)
    assert row, workers.log_text()
    assert row.due_at == moved and 0 <= (row.done_at - moved).total_seconds() < 3


def blocked_backends(world) -> int:
    """Backends of this test database waiting for a lock (a held row, a unique key)."""
    with world.session.bind.connect() as conn:
        return conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            )
        )
