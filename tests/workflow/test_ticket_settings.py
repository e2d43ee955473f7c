"""Priority and SLA plan of a ticket: one transaction each, a log row saying what changed,
clocks restarted under a new plan, refusals that change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from workflow import services, ticket_settings
from workflow.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleTicket,
    TransitionRejected,
)
from workflow.followups import CancelTimer, LiveUpdate, ScheduleTimer
from workflow.models import SlaPlan, Ticket, TransitionLog

NORMAL, HIGH = 2, 3


@pytest.fixture
def ticket(world):
    world.agent.departments.append(world.department)
    world.session.commit()
    return world.open()


def plan(world, name):
    return world.session.scalar(select(SlaPlan).where(SlaPlan.name == name))


def fresh(world, ticket):
    world.session.expire_all()
    return world.session.get(Ticket, ticket.id)


def scheduled(outcome):
    """(clock, due) of the timers set (follow-ups name steps too; the SLA work owns those)."""
    return {(f.clock, f.due_at) for f in outcome.follow_ups if isinstance(f, ScheduleTimer)}


def cancelled(outcome):
    return {f.clock for f in outcome.follow_ups if isinstance(f, CancelTimer)}


def logs(world, ticket):
    return world.session.scalars(
        select(TransitionLog).where(TransitionLog.ticket_id == ticket.id).order_by(TransitionLog.id)
    ).all()


def test_an_agent_raises_the_priority_and_the_log_says_from_what_to_what(world, ticket):
    later = world.now + timedelta(minutes=5)
    outcome = ticket_settings.change_priority(
        world.session, ticket.id, HIGH, world.actor(world.agent), later, expected_version=1
    )
    changed = fresh(world, ticket)
    assert (changed.priority_id, changed.version, changed.updated_at) == (HIGH, 2, later)
    assert changed.state == "new"  # not a transition: the state stays
    row = logs(world, ticket)[-1]
    assert (row.event, row.actor_id, row.from_state, row.to_state) == (
        "change_priority",
        world.agent.id,
        "new",
        "new",
    )
    assert row.note == "Priority changed from Normal to High."
    assert row.data == {"priority_id": [NORMAL, HIGH]}
    assert outcome.follow_ups == [LiveUpdate(ticket.id, ticket.number, 2)]


@pytest.mark.parametrize(
    ("priority", "message"),
    [(NORMAL, "already has Normal priority"), (99, "Choose one of the priorities offered.")],
)
def test_an_unchanged_or_unknown_priority_is_refused_and_changes_nothing(
    world, ticket, priority, message
):
    before = len(logs(world, ticket))
    with pytest.raises(InvalidInput, match=message):
        ticket_settings.change_priority(
            world.session, ticket.id, priority, world.actor(world.agent), world.now
        )
    assert (fresh(world, ticket).version, len(logs(world, ticket))) == (1, before)


def test_a_stale_version_is_refused(world, ticket):
    services.add_note(world.session, ticket.id, world.actor(world.admin), world.now, "Seen.")
    with pytest.raises(StaleTicket, match="changed by someone else"):
        ticket_settings.change_priority(
            world.session, ticket.id, HIGH, world.actor(world.agent), world.now, expected_version=1
        )
    assert fresh(world, ticket).priority_id == NORMAL


def test_closed_tickets_keep_their_priority_and_plan(world, ticket):
    services.apply_event(
        world.session, ticket.id, "discard", world.actor(world.admin), world.now, note="Spam."
    )
    admin = world.actor(world.admin)
    with pytest.raises(TransitionRejected, match="is closed"):
        ticket_settings.change_priority(world.session, ticket.id, HIGH, admin, world.now)
    with pytest.raises(TransitionRejected, match="is closed"):
        ticket_settings.change_sla_plan(
            world.session, ticket.id, plan(world, "SEV A").id, admin, world.now
        )
    assert fresh(world, ticket).priority_id == NORMAL


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("colleague", NotFound),  # an agent of no department of this ticket
        ("ops", PermissionDenied),
        ("customer", PermissionDenied),
    ],
)
def test_only_agents_who_see_the_ticket_and_admins_change_it(world, ticket, who, error):
    with pytest.raises(error):
        ticket_settings.change_priority(
            world.session, ticket.id, HIGH, world.actor(getattr(world, who)), world.now
        )
    ticket_settings.change_priority(
        world.session, ticket.id, HIGH, world.actor(world.admin), world.now
    )
    assert fresh(world, ticket).priority_id == HIGH


def test_the_assignee_may_change_it_outside_their_departments(world, ticket):
    admin = world.actor(world.admin)
    services.apply_event(
        world.session, ticket.id, "assign", admin, world.now, assignee_id=world.colleague.id
    )
    ticket_settings.change_priority(
        world.session, ticket.id, HIGH, world.actor(world.colleague), world.now
    )
    assert fresh(world, ticket).priority_id == HIGH


def test_a_new_sla_plan_restarts_the_clocks_from_now(world, ticket):
    sev_a = plan(world, "SEV A")  # 30 minutes to first response, 4 hours to resolution
    later = world.now + timedelta(hours=1)
    outcome = ticket_settings.change_sla_plan(
        world.session, ticket.id, sev_a.id, world.actor(world.agent), later
    )
    changed = fresh(world, ticket)
    assert changed.sla_plan_id == sev_a.id
    assert changed.first_response_due_at == later + timedelta(minutes=30)
    assert changed.resolution_due_at == later + timedelta(hours=4)
    assert changed.next_due_at == later + timedelta(minutes=30)
    # the breach timers of the new plan (its at-risk and escalation steps come with them)
    # one timer per running clock, for its first step (SEV A: at risk at 80%)
    assert scheduled(outcome) == {
        ("first_response", later + timedelta(minutes=24)),
        ("resolution", later + timedelta(minutes=192)),
    }
    assert LiveUpdate(ticket.id, ticket.number, 2) in outcome.follow_ups
    row = logs(world, ticket)[-1]
    assert row.event == "change_sla_plan"
    assert row.note == "SLA plan changed from SEV C to SEV A; its clocks restart now."
    assert row.data == {"sla_plan_id": [plan(world, "SEV C").id, sev_a.id]}


def test_a_first_response_already_given_stays_given(world, ticket):
    agent = world.actor(world.agent)
    services.reply(world.session, ticket.id, agent, world.now, "Hello Carol, on it.")
    responded = fresh(world, ticket)
    first_due = responded.first_response_due_at
    later = world.now + timedelta(hours=2)
    outcome = ticket_settings.change_sla_plan(
        world.session, ticket.id, plan(world, "SEV A").id, agent, later
    )
    changed = fresh(world, ticket)
    assert changed.first_response_due_at == first_due  # the record of the old target
    assert changed.next_due_at == later + timedelta(hours=4)
    assert "first_response" in cancelled(outcome)
    assert "first_response" not in {clock for clock, _ in scheduled(outcome)}


def test_no_plan_stops_every_clock(world, ticket):
    outcome = ticket_settings.change_sla_plan(
        world.session, ticket.id, None, world.actor(world.agent), world.now
    )
    changed = fresh(world, ticket)
    assert (changed.sla_plan_id, changed.next_due_at, changed.resolution_due_at) == (
        None,
        None,
        None,
    )
    assert {"first_response", "resolution"} <= cancelled(outcome)
    assert scheduled(outcome) == set()
    with pytest.raises(InvalidInput, match="already under no SLA plan"):
        ticket_settings.change_sla_plan(
            world.session, ticket.id, None, world.actor(world.agent), world.now
        )


def test_a_paused_resolution_clock_restarts_paused(world, ticket):
    agent = world.actor(world.agent)
    services.apply_event(world.session, ticket.id, "claim", agent, world.now)
    services.apply_event(
        world.session, ticket.id, "request_info", agent, world.now, reply="Which printer?"
    )
    changed_at = world.now + timedelta(hours=1)
    ticket_settings.change_sla_plan(
        world.session, ticket.id, plan(world, "SEV A").id, agent, changed_at
    )
    answered_at = changed_at + timedelta(hours=2)
    services.reply(
        world.session, ticket.id, world.actor(world.customer), answered_at, "The one on floor 3."
    )
    resumed = fresh(world, ticket)
    assert resumed.state == "in_progress"
    # the new plan's 4 hours run from the customer's answer, not from the change
    assert resumed.resolution_due_at == answered_at + timedelta(hours=4)


def test_an_unknown_plan_is_refused_and_changes_nothing(world, ticket):
    with pytest.raises(InvalidInput, match="Choose one of the SLA plans offered."):
        ticket_settings.change_sla_plan(
            world.session, ticket.id, 12345, world.actor(world.agent), world.now
        )
    count = world.session.scalar(
        select(func.count()).select_from(TransitionLog).where(TransitionLog.ticket_id == ticket.id)
    )
    assert (fresh(world, ticket).version, count) == (1, 1)
