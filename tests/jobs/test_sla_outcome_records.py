"""A stopped next-response clock's outcome is recorded with the reply, whatever Redis does
after the commit; an escalation step records the plan and team it happened
under, before its own reassignment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis import Redis
from sqlalchemy import select

from jobs.dispatch import dispatch
from tests.jobs.conftest import steps, use_plan
from workflow import escalating, services
from workflow.models import SlaOutcome, Ticket

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_reply_in_time_is_recorded_as_met_even_with_redis_down(world):
    """The outcome commits with the reply: dispatching to an unreachable Redis afterwards
    (what the route does after its commit) loses timers until the sweep, never the record."""
    s = world.session
    ticket = world.open(now=START)
    services.apply_event(s, ticket.id, "claim", world.actor(world.agent), START)
    services.reply(s, ticket.id, world.actor(world.agent), START, "Which model?")
    services.reply(s, ticket.id, world.actor(world.customer), START + timedelta(minutes=1), "HP")
    replied = services.reply(
        s, ticket.id, world.actor(world.agent), START + timedelta(minutes=2), "Fixed."
    )

    down = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=None)
    assert dispatch(replied.follow_ups, down) is False
    s.expire_all()
    [row] = s.scalars(select(SlaOutcome).where(SlaOutcome.ticket_id == ticket.id)).all()
    assert (row.clock, row.outcome, row.ended_at) == (
        "next_response",
        "met",
        START + timedelta(minutes=2),
    )


def test_a_breach_step_records_the_team_it_happened_under_not_the_one_it_moved_to(world):
    use_plan(world, "SEV A")  # at breach: raise the priority, reassign to Level 2, escalate
    ticket = world.open(now=START)
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), START)
    escalating.run_due(world.session, ticket.id, START + timedelta(minutes=30))

    breach = [row for row in steps(world.session, ticket.id) if row.step == "breach"]
    moved = world.session.get(Ticket, ticket.id)
    assert moved.team_id == world.level2.id
    assert [(r.team_id, r.plan_id, r.department_id) for r in breach] == [
        (None, moved.sla_plan_id, world.department.id)
    ]
