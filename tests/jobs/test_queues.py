"""Timer follow-ups become RQ jobs: one per ticket, clock and step, at the due second rounded
up, moved rather than duplicated, deleted when the clock stops; against real Redis."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from jobs import queues
from jobs.connection import for_requests
from jobs.dispatch import dispatch
from tests.jobs.conftest import open_due_in, use_plan
from workflow import services
from workflow.followups import CancelTimer, LiveUpdate, Notify, ScheduleTimer

DUE = datetime(2030, 1, 2, 3, 4, 5, 250_000, tzinfo=UTC)


def scheduled(redis) -> dict[str, float]:
    key = ScheduledJobRegistry(queue=Queue(queues.TIMERS, connection=redis)).key
    return {m.decode(): s for m, s in redis.zrange(key, 0, -1, withscores=True)}


def test_a_timer_is_scheduled_at_its_due_time_rounded_up_to_the_second(redis):
    queues.schedule([ScheduleTimer(7, "resolution", DUE, "breach")], redis)
    assert scheduled(redis) == {
        "sla-7-resolution-breach": DUE.replace(microsecond=0).timestamp() + 1
    }
    job = Job.fetch("sla-7-resolution-breach", connection=redis)
    assert (job.func_name, job.args) == ("jobs.sla.fire_timer", (7, "resolution", "breach"))
    assert job.retries_left == 3 and job.timeout == queues.TIMER_TIMEOUT


def test_a_whole_second_is_not_rounded(redis):
    whole = DUE.replace(microsecond=0)
    assert queues.run_at(whole) == whole
    assert queues.run_at(whole + timedelta(microseconds=1)) == whole + timedelta(seconds=1)


def test_a_new_due_time_moves_the_job_instead_of_adding_one(redis):
    queues.schedule([ScheduleTimer(7, "resolution", DUE, "breach")], redis)
    later = DUE + timedelta(hours=2)
    queues.schedule([ScheduleTimer(7, "resolution", later, "breach")], redis)
    assert scheduled(redis) == {"sla-7-resolution-breach": queues.run_at(later).timestamp()}


def test_steps_are_separate_jobs_and_a_stopped_clock_cancels_them_all(redis):
    queues.schedule(
        [
            ScheduleTimer(7, "resolution", DUE - timedelta(hours=1), "at_risk"),
            ScheduleTimer(7, "resolution", DUE, "breach"),
            ScheduleTimer(7, "resolution", DUE + timedelta(minutes=30), "breach_30"),
            ScheduleTimer(7, "first_response", DUE, "breach"),
        ],
        redis,
    )
    assert len(scheduled(redis)) == 4
    queues.schedule([CancelTimer(7, "resolution", ("at_risk", "breach", "breach_30"))], redis)
    assert list(scheduled(redis)) == ["sla-7-first_response-breach"]
    assert not Job.exists("sla-7-resolution-breach", connection=redis)


def test_notifications_become_mail_jobs_named_after_their_outbox_row(redis):
    queues.schedule([Notify("sla.resolution.breach", 7, 3, outbox_id=41)], redis)
    queues.schedule([Notify("sla.resolution.breach", 7, 3, outbox_id=41)], redis)
    jobs = Queue(queues.MAIL, connection=redis).get_jobs()
    assert {(job.id, job.func_name, job.args) for job in jobs} == {
        ("mail-41", "jobs.mail.send_notification", (41,))
    }


def test_opening_a_ticket_schedules_the_first_step_of_each_running_clock(world, redis):
    """One job per clock at a time: each step's job sets the next one's."""
    use_plan(world, "SEV A")
    ticket, follow_ups = open_due_in(world, seconds=600)
    assert dispatch(follow_ups, redis)
    assert set(scheduled(redis)) == {
        f"sla-{ticket.id}-first_response-at_risk",
        f"sla-{ticket.id}-resolution-at_risk",
    }
    at_risk = ticket.first_response_due_at - timedelta(minutes=6)  # 80% of 30 minutes
    assert scheduled(redis)[f"sla-{ticket.id}-first_response-at_risk"] == (
        queues.run_at(at_risk).timestamp()
    )


def test_a_claim_leaves_the_timers_alone(world, redis):
    """A transition that changes no clock returns no timer follow-ups (and reads no plan)."""
    use_plan(world, "SEV A")
    ticket, _ = open_due_in(world, seconds=600)
    outcome = services.apply_event(
        world.session, ticket.id, "claim", world.actor(world.agent), datetime.now(UTC)
    )
    assert [type(f) for f in outcome.follow_ups] == [LiveUpdate]


def test_asking_the_customer_cancels_the_paused_clocks_timers(world, redis):
    use_plan(world, "SEV A")
    ticket, follow_ups = open_due_in(world, seconds=600)
    dispatch(follow_ups, redis)
    s, agent, at = world.session, world.actor(world.agent), datetime.now(UTC)
    services.apply_event(s, ticket.id, "claim", agent, at)
    services.apply_event(s, ticket.id, "start", agent, at)
    outcome = services.apply_event(
        s, ticket.id, "request_info", agent, at, reply="Which VPN client version?"
    )
    dispatch(outcome.follow_ups, redis)
    assert scheduled(redis) == {}  # first response given, resolution paused


@pytest.fixture
def silent_redis():
    """A port that accepts connections and never answers: the worst kind of outage."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("outage", ["refused", "silent"])
def test_dispatch_during_a_redis_outage_returns_quickly_and_says_so(outage, silent_redis):
    if outage == "refused":
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"  # bound, not listening
    else:
        url = silent_redis
    follow_ups = [
        ScheduleTimer(7, "resolution", DUE, "breach"),
        ScheduleTimer(7, "resolution", DUE, "at_risk"),
        LiveUpdate(7, 100007, 3),
    ]
    started = time.perf_counter()
    assert dispatch(follow_ups, for_requests(url)) is False
    assert time.perf_counter() - started < 1.0  # one short timeout, not one per follow-up
    if outage == "refused":
        probe.close()
