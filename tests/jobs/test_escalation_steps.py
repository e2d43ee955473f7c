"""The verb the timer jobs run (workflow.escalating.run_due), called directly with `now`:
each due step runs once, does what the plan's policy says, and shows in thread and log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from tests.jobs.conftest import steps
from workflow import escalating, services
from workflow.followups import Notify, ScheduleTimer
from workflow.models import (
    Department,
    EntryKind,
    Notification,
    Priority,
    SlaPlan,
    ThreadEntry,
    Ticket,
    TransitionLog,
)

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def open_sev(world, name="SEV A", at=START):
    plan = world.session.scalar(select(SlaPlan).where(SlaPlan.name == name))
    world.topic.sla_plan_id = plan.id
    world.session.commit()
    return world.open(now=at)


def claimed(world, name="SEV A"):
    ticket = open_sev(world, name)
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), START)
    return world.session.get(Ticket, ticket.id)


def fresh(world, ticket_id):
    world.session.expire_all()
    return world.session.get(Ticket, ticket_id)


def test_nothing_runs_before_a_step_is_due(world):
    ticket = claimed(world)  # SEV A: first response 30 min, at risk at 80% = 24 min
    run = escalating.run_due(world.session, ticket.id, START + 24 * MIN - timedelta(seconds=1))
    assert run.ran == [] and steps(world.session, ticket.id) == []


def test_at_risk_notifies_the_assignee_once(world):
    ticket = claimed(world)
    at = START + 24 * MIN
    run = escalating.run_due(world.session, ticket.id, at)
    assert [(t.clock, t.step) for t in run.ran] == [("first_response", "at_risk")]
    again = escalating.run_due(world.session, ticket.id, at + MIN)
    assert again.ran == [] and not [f for f in again.follow_ups if isinstance(f, Notify)]
    assert ScheduleTimer(ticket.id, "first_response", START + 30 * MIN, "breach") in (
        again.follow_ups  # each step's job sets the timer of the clock's next step
    )
    [row] = steps(world.session, ticket.id)
    assert (row.clock, row.step, row.due_at, row.done_at) == (
        "first_response",
        "at_risk",
        at,
        at,
    )
    notices = world.session.scalars(select(Notification)).all()
    assert [(n.user_id, n.kind) for n in notices] == [
        (world.agent.id, "sla.first_response.at_risk")
    ]
    assert "is at risk: due 2026-11-23 09:30 UTC" in notices[0].body
    assert any(getattr(f, "recipient_id", None) == world.agent.id for f in run.follow_ups)


def test_a_breach_runs_the_sev_a_policy_in_the_thread_and_the_log(world):
    ticket = claimed(world)
    breach = START + 30 * MIN
    run = escalating.run_due(world.session, ticket.id, breach)
    # at risk was lost (no job ran it): it runs first, then the breach
    assert [t.step for t in run.ran] == ["at_risk", "breach"]
    ticket = fresh(world, ticket.id)
    high = world.session.scalar(select(Priority.id).where(Priority.name == "High"))
    assert (ticket.priority_id, ticket.team_id, ticket.assignee_id) == (high, world.level2.id, None)
    assert ticket.escalation_level == 1 and ticket.escalated_at == breach
    assert ticket.timer_due_at == START + 60 * MIN  # breach+30 is next
    entries = world.session.scalars(
        select(ThreadEntry)
        .where(ThreadEntry.ticket_id == ticket.id, ThreadEntry.kind == EntryKind.SYSTEM_EVENT)
        .order_by(ThreadEntry.id)
    ).all()
    assert entries[-1].body == (
        "The first-response target was missed: it was due 2026-11-23 09:30 UTC. "
        "Priority raised to High. Reassigned to the team Level 2 Support. "
        "Notified Bob Level2. Fired `escalate`."
    )
    log = world.session.scalars(
        select(TransitionLog).where(TransitionLog.ticket_id == ticket.id).order_by(TransitionLog.id)
    ).all()
    assert [r.event for r in log[-3:]] == ["sla_step", "escalate", "sla_step"]
    assert log[-1].data == {
        "clock": "first_response",
        "step": "breach",
        "priority_id": [2, high],
        "team_id": [None, world.level2.id],
    }
    assert log[-1].actor_role == "system"


def test_breach_plus_30_reaches_the_department_manager(world):
    world.session.execute(
        update(Department)
        .where(Department.id == world.department.id)
        .values(manager_id=world.admin.id)
    )
    world.session.commit()
    ticket = claimed(world)
    escalating.run_due(world.session, ticket.id, START + 30 * MIN)
    run = escalating.run_due(world.session, ticket.id, START + 60 * MIN)
    assert [t.step for t in run.ran] == ["breach_30"]
    assert world.session.scalars(
        select(Notification.user_id).where(Notification.kind == "sla.first_response.breach_30")
    ).all() == [world.admin.id]


def test_a_missing_team_or_manager_is_said_not_failed(world):
    ticket = claimed(world)
    world.session.execute(update(Ticket).values(team_id=None))
    world.level2.name = "Level 2 (old)"
    world.session.commit()
    escalating.run_due(world.session, ticket.id, START + 61 * MIN)
    [*_, breach, later] = steps(world.session, ticket.id)
    assert "There is no team called Level 2 Support, so the ticket stays where it is." in (
        breach.actions
    )
    assert later.actions == ["Nobody to notify: its department has no manager."]


def test_a_stopped_clock_runs_nothing(world):
    ticket = claimed(world)
    services.reply(
        world.session, ticket.id, world.actor(world.agent), START + 10 * MIN, "Looking into it."
    )
    run = escalating.run_due(world.session, ticket.id, START + 31 * MIN)
    assert [t.clock for t in run.ran] == []  # first response given; resolution not yet due
    assert steps(world.session, ticket.id) == []


def test_the_next_response_clock_starts_at_a_customer_message_and_stops_at_a_reply(world):
    ticket = claimed(world)  # SEV A: next response 60 min
    s = world.session
    services.reply(s, ticket.id, world.actor(world.agent), START + 5 * MIN, "On it.")
    asked = START + 20 * MIN
    ticket = services.reply(s, ticket.id, world.actor(world.customer), asked, "Any news?").ticket
    assert ticket.next_response_due_at == asked + 60 * MIN
    assert ticket.next_due_at == asked + 60 * MIN  # before resolution (4 h)
    run = escalating.run_due(s, ticket.id, asked + 60 * MIN)
    assert [(t.clock, t.step) for t in run.ran] == [
        ("next_response", "at_risk"),
        ("next_response", "breach"),
    ]
    ticket = services.reply(
        s, ticket.id, world.actor(world.colleague), asked + 70 * MIN, "Fixed?"
    ).ticket
    assert ticket.next_response_due_at is None
    again = asked + 2 * 60 * MIN
    ticket = services.reply(s, ticket.id, world.actor(world.customer), again, "Not yet.").ticket
    assert ticket.next_response_due_at == again + 60 * MIN  # a new run of the clock
    run = escalating.run_due(s, ticket.id, again + 60 * MIN)
    assert [(t.clock, t.step) for t in run.ran if t.clock == "next_response"] == [
        ("next_response", "at_risk"),
        ("next_response", "breach"),
    ]
    assert len({r.cycle for r in steps(s, ticket.id) if r.clock == "next_response"}) == 2


def test_auto_close_runs_on_the_same_machinery_after_seven_silent_days(world):
    ticket = claimed(world, "SEV C")
    s, agent = world.session, world.actor(world.agent)
    services.apply_event(s, ticket.id, "start", agent, START)
    resolved = START + 60 * MIN
    services.apply_event(s, ticket.id, "resolve", agent, resolved, reply="Replaced the toner.")
    assert fresh(world, ticket.id).timer_due_at == resolved + timedelta(days=7)
    assert escalating.run_due(s, ticket.id, resolved + timedelta(days=7) - MIN).ran == []
    run = escalating.run_due(s, ticket.id, resolved + timedelta(days=7))
    assert [(t.clock, t.step) for t in run.ran] == [("silence", "auto_close")]
    ticket = fresh(world, ticket.id)
    assert ticket.state == "closed" and ticket.timer_due_at is None
    assert escalating.run_due(s, ticket.id, resolved + timedelta(days=8)).ran == []


def test_a_reopened_ticket_is_not_auto_closed(world):
    ticket = claimed(world, "SEV C")
    s, agent = world.session, world.actor(world.agent)
    services.apply_event(s, ticket.id, "start", agent, START)
    services.apply_event(s, ticket.id, "resolve", agent, START + MIN, reply="Done.")
    services.apply_event(s, ticket.id, "reopen", world.actor(world.customer), START + 2 * MIN)
    run = escalating.run_due(s, ticket.id, START + timedelta(days=8))
    assert "silence" not in {t.clock for t in run.ran}
    assert fresh(world, ticket.id).state != "closed"
