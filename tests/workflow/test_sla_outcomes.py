"""The next-response clock's outcome is recorded when a reply stops it (met at or before the
due second, breached after), in the reply's own transaction, once per run, for the plan and
team of that moment; compliance counts recorded rows where they happened, even after the
ticket moved to another team."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from workflow import services, sla_outcomes
from workflow.compliance import compliance
from workflow.escalation import BREACH
from workflow.models import SlaOutcome, SlaPlan, SlaStep, Ticket

UTC = ZoneInfo("UTC")


def waiting_for_an_answer(world):
    """A ticket whose first response was given, then the customer wrote again: the
    next-response clock runs. Returns the ticket and its next-response due time."""
    s, now = world.session, world.now
    ticket = world.open(now=now)
    services.apply_event(s, ticket.id, "claim", world.actor(world.agent), now)
    services.reply(s, ticket.id, world.actor(world.agent), now, "Which printer model?")
    asked = now + timedelta(minutes=5)
    services.reply(s, ticket.id, world.actor(world.customer), asked, "The HP on floor 3.")
    s.expire_all()
    fresh = s.get(Ticket, ticket.id)
    assert fresh.next_response_due_at is not None and fresh.next_response_started_at == asked
    return fresh, fresh.next_response_due_at


def outcomes(world):
    return world.session.scalars(select(SlaOutcome).order_by(SlaOutcome.id)).all()


def answer(world, ticket, at):
    """The agent's public reply at `at`; the outcome rows it recorded (nothing else runs:
    no job, no Redis, so a row here was written by the reply's own transaction)."""
    before = {row.id for row in outcomes(world)}
    services.reply(world.session, ticket.id, world.actor(world.agent), at, "Fixed.")
    world.session.expire_all()
    return [row for row in outcomes(world) if row.id not in before]


@pytest.mark.parametrize(
    ("late", "expected"),
    [
        (timedelta(seconds=-1), "met"),
        (timedelta(0), "met"),  # the due second itself: the reply took exactly the target
        (timedelta(seconds=1), "breached"),
    ],
)
def test_a_reply_records_the_next_response_as_met_up_to_the_due_second(world, late, expected):
    ticket, due = waiting_for_an_answer(world)
    started, plan_id, team_id = (
        ticket.next_response_started_at,
        ticket.sla_plan_id,
        ticket.team_id,
    )
    [row] = answer(world, ticket, due + late)

    assert (row.due_at, row.ended_at) == (due, due + late)
    assert (row.clock, row.outcome, row.due_at) == ("next_response", expected, due)
    assert (row.plan_id, row.team_id) == (plan_id, team_id)
    assert row.cycle == int(started.timestamp())


def test_recording_the_same_run_twice_keeps_one_row(world):
    ticket, due = waiting_for_an_answer(world)
    [row] = answer(world, ticket, due - timedelta(minutes=1))
    same_run = sla_outcomes.ClockStopped(
        row.ticket_id, row.clock, row.cycle, row.due_at, row.ended_at, None, None, None
    )
    assert sla_outcomes.record(world.session, same_run) is False
    world.session.commit()
    assert len(outcomes(world)) == 1


def test_a_reply_with_no_running_next_response_clock_records_nothing(world):
    ticket = world.open(now=world.now)
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), world.now)
    assert answer(world, ticket, world.now + timedelta(minutes=1)) == []  # a first response


def test_compliance_counts_a_met_next_response_on_the_day_of_the_reply(world):
    ticket, due = waiting_for_an_answer(world)
    answer(world, ticket, due)
    figures = compliance(world.session, due + timedelta(minutes=1), UTC)
    assert (figures.today["next_response"].met, figures.today["next_response"].breached) == (1, 0)


def test_a_late_reply_after_a_recorded_breach_counts_once(world):
    """The timer recorded the breach; the late reply's outcome replaces it, not adds to it."""
    ticket, due = waiting_for_an_answer(world)
    breach_step(world, ticket, due)
    answer(world, ticket, due + timedelta(minutes=10))
    figures = compliance(world.session, due + timedelta(minutes=11), UTC)
    assert (figures.today["next_response"].met, figures.today["next_response"].breached) == (0, 1)


def test_a_reply_at_the_due_second_is_met_even_if_the_breach_job_ran_first(world):
    ticket, due = waiting_for_an_answer(world)
    breach_step(world, ticket, due)
    answer(world, ticket, due)
    figures = compliance(world.session, due + timedelta(minutes=1), UTC)
    assert (figures.today["next_response"].met, figures.today["next_response"].breached) == (1, 0)


def breach_step(world, ticket, due):
    world.session.add(
        SlaStep(
            ticket_id=ticket.id,
            clock="next_response",
            cycle=int(ticket.next_response_started_at.timestamp()),
            step=BREACH,
            due_at=due,
            done_at=due,
            plan_id=ticket.sla_plan_id,
            team_id=ticket.team_id,
            department_id=ticket.department_id,
        )
    )
    world.session.commit()


def test_a_breach_counts_for_the_team_and_plan_it_happened_under(world):
    """Breached under SEV C with no team, then moved to Level 2 on SEV A: the breach and the
    late reply still count for SEV C with no team, not for where the ticket is now."""
    ticket, due = waiting_for_an_answer(world)
    breach_step(world, ticket, due)
    sev_c = ticket.sla_plan_id
    sev_a = world.session.scalar(select(SlaPlan.id).where(SlaPlan.name == "SEV A"))
    world.session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id)
        .values(team_id=world.level2.id, sla_plan_id=sev_a)
    )
    world.session.commit()
    answer(world, ticket, due + timedelta(minutes=10))
    [row] = outcomes(world)
    assert (row.plan_id, row.team_id) == (sev_c, None)  # the breach's, not the ticket's now

    figures = compliance(world.session, due + timedelta(minutes=11), UTC)
    rows = {(r.plan, r.team): r.today["next_response"] for r in figures.rows}
    assert (rows[("SEV C", None)].met, rows[("SEV C", None)].breached) == (0, 1)
    now_at = rows.get(("SEV A", "Level 2 Support"))  # the first response counts there (met)
    assert now_at is None or (now_at.met, now_at.breached) == (0, 0)
