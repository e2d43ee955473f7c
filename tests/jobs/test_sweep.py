"""The sweep: an indexed query for overdue steps, a lock so a second scheduler changes
nothing, a fan-out for backlogs, and timers set again for what is due soon."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from rq import Queue
from sqlalchemy import text, update

from jobs import queues, sweep
from tests.jobs.conftest import open_due_in, steps, use_plan, work_burst
from workflow.models import Ticket


def overdue(world, n: int, seconds: float = -30) -> list[int]:
    use_plan(world, "SEV A")
    return [open_due_in(world, seconds=seconds, subject=f"Ticket {i}")[0].id for i in range(n)]


def test_the_sweep_finds_steps_overdue_beyond_its_grace_oldest_first(world, job_env):
    late = overdue(world, 2, seconds=-60)
    just_due = open_due_in(world, seconds=-1, subject="just due")[0].id
    future = open_due_in(world, seconds=600, subject="later")[0].id
    now = datetime.now(UTC)
    world.session.execute(
        update(Ticket)
        .where(Ticket.id.in_([*late, just_due, future]))
        .values(timer_due_at=Ticket.first_response_due_at)
    )
    world.session.commit()
    assert sweep.find_due(world.session, now) == late  # the just-due one is its job's
    assert sweep.find_upcoming(world.session, now) == []  # 600 s is beyond the horizon
    assert just_due not in sweep.find_due(world.session, now)


@contextmanager
def lock_held_elsewhere(world, redis):
    """Hold the lock a sweep takes, as a second scheduler's sweep would."""
    if world.session.bind.dialect.name == "postgresql":
        with world.session.bind.connect() as other:
            other.execute(text("SELECT pg_advisory_lock(:id)"), {"id": sweep.LOCK_ID})
            try:
                yield
            finally:
                other.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": sweep.LOCK_ID})
        return
    lock = redis.lock(sweep.REDIS_LOCK, timeout=60)
    assert lock.acquire(blocking=False)
    try:
        yield
    finally:
        lock.release()


def test_a_sweep_that_finds_the_lock_taken_changes_nothing(world, job_env, redis):
    [ticket_id] = overdue(world, 1)
    with lock_held_elsewhere(world, redis):
        assert sweep.sweep() == "Another sweep holds the lock; nothing done."
        assert steps(world.session, ticket_id) == []
    done = sweep.sweep()
    assert done.startswith("1 ticket(s) overdue: ran 2 step(s) inline"), done  # at risk, breach
    assert [r.step for r in steps(world.session, ticket_id)] == ["at_risk", "breach"]
    sweep.sweep()
    assert len(steps(world.session, ticket_id)) == 2  # nothing twice


def test_a_backlog_is_fanned_out_to_every_worker(world, job_env, redis, workers):
    ids = overdue(world, sweep.INLINE + 6)
    result = sweep.sweep()
    assert "fanned out 6" in result, result
    assert Queue(queues.TIMERS, connection=redis).count == 6
    work_burst(job_env)
    for ticket_id in ids:
        assert [r.step for r in steps(world.session, ticket_id, "breach")] == ["breach"]
    assert sweep.find_due(world.session, datetime.now(UTC)) == []


def test_timers_due_soon_are_set_again_after_a_flush(world, job_env, redis):
    use_plan(world, "SEV A")
    ticket, _ = open_due_in(world, seconds=40)  # at risk long past, breach in 40 s
    sweep.sweep()  # runs the at-risk step; the breach is within the horizon
    assert queues.scheduled_at(redis, ticket.id, "first_response", "breach") == queues.run_at(
        ticket.first_response_due_at
    )
    redis.flushdb()
    sweep.sweep()
    assert queues.scheduled_at(redis, ticket.id, "first_response", "breach") is not None


def test_the_sweep_query_is_an_index_range_scan(world, is_postgres):
    if not is_postgres:
        plan = world.session.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT id FROM tickets WHERE timer_due_at <= :before "
                "ORDER BY timer_due_at LIMIT 10"
            ),
            {"before": datetime.now(UTC).isoformat()},
        ).all()
        assert "ix_tickets_timer_due_at" in str(plan)
        return
    world.session.execute(text("SET enable_seqscan = off"))  # an empty table: ask the planner
    plan = world.session.execute(
        text(
            "EXPLAIN SELECT id FROM tickets WHERE timer_due_at <= :before "
            "ORDER BY timer_due_at LIMIT 10"
        ),
        {"before": datetime.now(UTC) - timedelta(seconds=5)},
    ).scalars()
    assert "ix_tickets_timer_due_at" in "\n".join(plan)
    world.session.rollback()
