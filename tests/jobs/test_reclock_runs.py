"""A big SLA plan change re-clocks its open tickets in background batches: the admin's request
does the first batch, a job the rest, each batch committing with the run's cursor, so every
ticket is re-clocked exactly once (a job run twice, a job killed mid-batch, Redis flushed)
with the clocks the synchronous path gives, and two changes in a row chain."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue, SimpleWorker
from sqlalchemy import func, select, update

from jobs import queues, reclock, runtime, sweep
from tests.jobs.conftest import work_burst
from workflow import plan_admin, services, ticket_settings
from workflow import reclock as reclocking
from workflow.models import ReclockRun, SlaPlan, Ticket, TransitionLog
from workflow.reclock import EVENT

H = timedelta(hours=1)
TICKETS = 10
BATCH = 4  # 10 tickets: two and a half batches


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr("workflow.reclock.BATCH", BATCH)


@pytest.fixture
def clock(monkeypatch, world):
    """The jobs' clock, frozen where the test puts it (by default the change's time)."""
    at = {"now": world.now + H}
    monkeypatch.setattr(runtime, "now", lambda: at["now"])
    return at


def open_many(world, n=TICKETS) -> list[Ticket]:
    """Tickets opened ten minutes apart on SEV C (around the clock, resolution 120 h)."""
    return [world.open(f"Ticket {i}", now=world.now - i * timedelta(minutes=10)) for i in range(n)]


def edit(world, at, **changes):
    row = world.session.scalar(select(SlaPlan).where(SlaPlan.name == "SEV C"))
    fields = dataclasses.replace(plan_admin.fields_for(row), **changes)
    return plan_admin.save_plan(world.session, world.actor(world.admin), at, fields, row.id)


def state(world, tickets):
    """Each ticket's resolution due time, version and number of re-clock log rows."""
    world.session.expire_all()
    logs = dict(
        world.session.execute(
            select(TransitionLog.ticket_id, func.count())
            .where(TransitionLog.event == EVENT)
            .group_by(TransitionLog.ticket_id)
        ).all()
    )
    return {
        t.id: (
            world.session.get(Ticket, t.id).resolution_due_at,
            world.session.get(Ticket, t.id).version,
            logs.get(t.id, 0),
        )
        for t in tickets
    }


def run_row(world, run_id) -> ReclockRun:
    world.session.expire_all()
    return world.session.get(ReclockRun, run_id)


def expected(tickets, target, version=2, logs=1):
    """What the synchronous path gives: around the clock, the time used is kept, so each
    ticket is due `target` after it opened."""
    return {t.id: (t.created_at + target, version, logs) for t in tickets}


def test_the_request_does_the_first_batch_and_leaves_a_run_for_the_rest(
    world, small_batches, job_env
):
    tickets = open_many(world)
    saved = edit(world, world.now + H, resolution="8h")
    assert (saved.tickets, saved.total) == (BATCH, TICKETS)
    run = run_row(world, saved.run_id)
    assert (run.last_ticket_id, run.done, run.total, run.finished_at) == (
        tickets[BATCH - 1].id,
        BATCH,
        TICKETS,
        None,
    )
    moved = state(world, tickets)
    assert [moved[t.id][1] for t in tickets] == [2] * BATCH + [1] * (TICKETS - BATCH)


def test_a_change_over_two_and_a_half_batches_reclocks_every_ticket_once(
    world, small_batches, job_env, redis, clock
):
    tickets = open_many(world)
    saved = edit(world, world.now + H, resolution="8h")
    said = reclock.continue_run(saved.run_id)
    assert said.startswith(f"run {saved.run_id}: finished ({TICKETS - BATCH} re-clocked"), said
    assert state(world, tickets) == expected(tickets, 8 * H)
    run = run_row(world, saved.run_id)
    assert (run.done, run.finished_at) == (TICKETS, world.now + H)
    last = tickets[-1]  # done by the job: its timers were handed to Redis after its batch
    assert queues.scheduled_at(redis, last.id, "resolution", "breach") == queues.run_at(
        last.created_at + 8 * H
    )


def test_a_job_run_twice_reclocks_nothing_twice(world, small_batches, job_env, redis, clock):
    tickets = open_many(world)
    saved = edit(world, world.now + H, resolution="8h")
    reclock.continue_run(saved.run_id)
    assert reclock.continue_run(saved.run_id).startswith(f"run {saved.run_id}: finished (0 ")
    assert state(world, tickets) == expected(tickets, 8 * H)


@pytest.mark.postgres
def test_two_copies_of_the_job_at_once_reclock_each_ticket_once(
    world, monkeypatch, job_env, redis, clock
):
    monkeypatch.setattr("workflow.reclock.BATCH", 2)
    tickets = open_many(world, 12)
    saved = edit(world, world.now + H, resolution="8h")
    errors: list[BaseException] = []

    def copy():
        try:
            reclock.continue_run(saved.run_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=copy) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert state(world, tickets) == expected(tickets, 8 * H)
    assert run_row(world, saved.run_id).done == 12


def test_a_job_killed_mid_batch_leaves_the_batch_undone_and_a_rerun_finishes_it(
    world, small_batches, job_env, redis, clock, monkeypatch
):
    tickets = open_many(world)
    saved = edit(world, world.now + H, resolution="8h")
    real, calls = reclocking._write, []

    def dies_on_the_second_ticket(*args, **kw):
        calls.append(args[1].id)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(*args, **kw)

    monkeypatch.setattr(reclocking, "_write", dies_on_the_second_ticket)
    with pytest.raises(RuntimeError):
        reclock.continue_run(saved.run_id)
    half = state(world, tickets)
    assert [half[t.id][1] for t in tickets] == [2] * BATCH + [1] * (TICKETS - BATCH)
    assert run_row(world, saved.run_id).last_ticket_id == tickets[BATCH - 1].id
    monkeypatch.setattr(reclocking, "_write", real)
    reclock.continue_run(saved.run_id)
    assert state(world, tickets) == expected(tickets, 8 * H)


def test_redis_flushed_the_sweep_resumes_the_run(world, small_batches, job_env, redis, clock):
    tickets = open_many(world)
    saved = edit(world, world.now + H, resolution="8h")
    reclock.enqueue(redis, saved.run_id, 0)
    redis.flushdb()  # the job is lost
    clock["now"] = world.now + H + reclock.STALL / 2
    assert "re-clock" not in sweep.sweep()  # not stalled yet: its job may still come
    clock["now"] = world.now + H + reclock.STALL
    assert sweep.sweep().endswith("resumed 1 re-clock run(s)."), "the sweep resumes it"
    sweep_queue = Queue(queues.SWEEP, connection=redis)
    assert sweep_queue.job_ids == [reclock.job_id(saved.run_id, tickets[BATCH - 1].id)]
    SimpleWorker([sweep_queue], connection=redis).work(burst=True)
    # a minute later on a 24x7 calendar: the time used is kept all the same
    assert state(world, tickets) == expected(tickets, 8 * H)
    assert run_row(world, saved.run_id).finished_at == world.now + H + reclock.STALL


def test_two_changes_in_a_row_chain_and_end_on_the_newest_terms(
    world, small_batches, job_env, redis, clock
):
    tickets = open_many(world)
    first = edit(world, world.now + H, resolution="8h")
    clock["now"] = world.now + 2 * H
    second = edit(world, world.now + 2 * H, resolution="4h")
    # the second change re-clocks only what the first has done: its first batch
    assert second.tickets == BATCH
    said = reclock.continue_run(second.run_id)
    assert "waiting for an earlier run" in said, said
    reclock.continue_run(first.run_id)  # finishes, and wakes the second
    assert Queue(queues.SWEEP, connection=redis).job_ids == [
        reclock.job_id(second.run_id, tickets[BATCH - 1].id)
    ]
    reclock.continue_run(second.run_id)
    assert state(world, tickets) == expected(tickets, 4 * H, version=3, logs=2)
    assert run_row(world, second.run_id).finished_at is not None


def test_a_ticket_opened_after_the_change_keeps_the_clocks_it_started_with(
    world, small_batches, job_env, redis, clock
):
    tickets = open_many(world)
    saved = edit(world, world.now + H, resolution="8h")
    late = world.open("After the change", now=world.now + H)
    assert late.resolution_due_at == world.now + 9 * H
    reclock.continue_run(saved.run_id)
    assert state(world, [late]) == {late.id: (world.now + 9 * H, 1, 0)}
    assert state(world, tickets) == expected(tickets, 8 * H)


def test_a_ticket_closed_meanwhile_is_left_alone(world, small_batches, job_env, redis, clock):
    tickets = open_many(world)
    saved = edit(world, world.now + H, resolution="8h")
    world.session.execute(
        update(Ticket).where(Ticket.id == tickets[-1].id).values(closed_at=world.now + H)
    )
    world.session.commit()
    reclock.continue_run(saved.run_id)
    assert state(world, tickets[-1:])[tickets[-1].id][1:] == (1, 0)
    assert run_row(world, saved.run_id).done == TICKETS - 1


def test_a_ticket_put_under_the_plan_after_the_change_keeps_its_restarted_clocks(
    world, small_batches, job_env, redis, clock
):
    tickets = open_many(world)
    mover = tickets[-2]  # among the tickets the job re-clocks
    sev_a = world.session.scalar(select(SlaPlan).where(SlaPlan.name == "SEV A"))
    sev_c = world.session.scalar(select(SlaPlan).where(SlaPlan.name == "SEV C"))
    admin = world.actor(world.admin)
    ticket_settings.change_sla_plan(world.session, mover.id, sev_a.id, admin, world.now)
    saved = edit(world, world.now + H, resolution="8h")
    ticket_settings.change_sla_plan(world.session, mover.id, sev_c.id, admin, world.now + H)
    reclock.continue_run(saved.run_id)
    # restarted on the new terms at the change: due 8 h later, not re-clocked again
    assert state(world, [mover]) == {mover.id: (world.now + 9 * H, 3, 0)}
    others = [t for t in tickets if t is not mover]
    assert state(world, others) == expected(others, 8 * H)


def test_a_next_response_clock_started_after_the_change_keeps_its_new_target(
    world, small_batches, job_env, redis, clock
):
    tickets = open_many(world)
    waiting = tickets[-1]  # among the tickets the job re-clocks
    agent, customer = world.actor(world.agent), world.actor(world.customer)
    services.apply_event(world.session, waiting.id, "claim", agent, world.now)
    services.reply(world.session, waiting.id, agent, world.now, "Which printer?")
    saved = edit(world, world.now + H, next_response="2h")
    services.reply(world.session, waiting.id, customer, world.now + 2 * H, "Floor 3.")
    clock["now"] = world.now + 3 * H
    reclock.continue_run(saved.run_id)
    world.session.expire_all()
    # started on the new two hours at the customer's message, not re-clocked from 8 h
    assert world.session.get(Ticket, waiting.id).next_response_due_at == world.now + 4 * H


def test_a_real_worker_finishes_the_run_the_request_started(world, small_batches, job_env, redis):
    opened = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    tickets = [world.open(f"Ticket {i}", now=opened) for i in range(TICKETS)]
    saved = edit(world, datetime.now(UTC), resolution="8h")
    reclock.enqueue(redis, saved.run_id, 0)
    work_burst(job_env)
    # on a 24x7 calendar the ten minutes used are kept whenever the batch runs
    assert state(world, tickets) == expected(tickets, 8 * H)
    assert run_row(world, saved.run_id).finished_at is not None
    assert queues.scheduled_at(redis, tickets[-1].id, "resolution", "breach") == queues.run_at(
        opened + 8 * H
    )
