"""SLA clocks on a business calendar, through the services: deadlines in opening hours, a
pause that gives back exactly the business time it took, at-risk and breach+N steps counted
in business time, and new runs of a clock when its plan changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from workflow import clocks, escalating, plan_terms, services, ticket_settings
from workflow.calendar_format import calendar_to_data, parse_calendar
from workflow.followups import CancelTimer, ScheduleTimer
from workflow.loading import compiled_version
from workflow.models import SlaCalendar, SlaPlan, SlaStep, Ticket

BERLIN = ZoneInfo("Europe/Berlin")
OFFICE = {
    "timezone": "Europe/Berlin",
    "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
    "holidays": ["2026-12-25"],
}
MON = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)  # a Monday
H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.fixture
def office_plan(world):
    calendar = SlaCalendar(name="Berlin office", definition=OFFICE)
    world.session.add(calendar)
    world.session.flush()
    plan = SlaPlan(
        name="Office",
        first_response_minutes=120,
        next_response_minutes=240,
        resolution_minutes=8 * 60,
        at_risk_percent=80,
        calendar_id=calendar.id,
        escalation_policy=[{"at": "breach+30", "actions": [{"notify": "assignee"}]}],
    )
    world.session.add(plan)
    world.session.flush()
    world.topic.sla_plan_id = plan.id
    world.session.commit()
    return plan


def test_the_calendar_is_stored_in_the_shape_of_a_calendar_file(world, office_plan):
    stored = world.session.scalar(select(SlaCalendar.definition))
    assert stored == OFFICE  # JSON in, the same JSON out: shareable with other tools
    assert parse_calendar(calendar_to_data(parse_calendar(stored))) == parse_calendar(OFFICE)


def test_a_deadline_counts_only_opening_hours(world, office_plan):
    friday = MON + timedelta(days=4, hours=7)  # Friday 16:00
    ticket = world.open(now=friday)
    assert ticket.first_response_due_at == MON + timedelta(days=7, hours=1)  # Monday 10:00
    assert ticket.resolution_due_at == MON + timedelta(days=7, hours=7)  # Monday 16:00


def test_a_ticket_opened_when_closed_starts_at_the_next_opening(world, office_plan):
    saturday = MON + timedelta(days=5, hours=3)
    ticket = world.open(now=saturday)
    assert ticket.first_response_due_at == MON + timedelta(days=7, hours=2)  # Monday 11:00


def test_a_pause_gives_back_exactly_the_business_time_it_took(world, office_plan):
    s, agent = world.session, world.actor(world.agent)
    ticket = world.open(now=MON)  # resolution due Monday 17:00
    services.apply_event(s, ticket.id, "claim", agent, MON)
    services.apply_event(s, ticket.id, "start", agent, MON)
    asked = MON + 6 * H  # 15:00, two business hours left
    services.apply_event(s, ticket.id, "request_info", agent, asked, reply="Which model?")
    answered = MON + timedelta(days=1, hours=1)  # Tuesday 10:00
    ticket = services.reply(s, ticket.id, world.actor(world.customer), answered, "The 4250.").ticket
    assert ticket.resolution_paused_at is None
    assert ticket.resolution_due_at == answered + 2 * H  # Tuesday 12:00


def test_at_risk_and_breach_plus_n_are_counted_in_business_time(world, office_plan):
    ticket = world.open(now=MON)
    terms = plan_terms.load(world.session, office_plan.id)
    record = world.session.get(Ticket, ticket.id)
    wf_definition = compiled_version(world.session, record.workflow_version_id).definition
    timeline = {
        (t.clock, t.step): t.at.astimezone(BERLIN)
        for t in clocks.timeline(record, wf_definition, terms, MON)
    }
    assert timeline[("resolution", "at_risk")] == MON + timedelta(hours=6, minutes=24)
    assert timeline[("resolution", "breach")] == MON + 8 * H  # Monday 17:00
    assert timeline[("resolution", "breach_30")] == MON + timedelta(days=1, minutes=30)
    assert timeline[("first_response", "at_risk")] == MON + timedelta(minutes=96)


def test_a_clock_paused_after_its_breach_stays_breached_at_its_deadline(world, office_plan):
    s, agent = world.session, world.actor(world.agent)
    ticket = world.open(now=MON)
    services.apply_event(s, ticket.id, "claim", agent, MON)
    services.apply_event(s, ticket.id, "start", agent, MON)
    late = MON + timedelta(days=1, hours=2)  # Tuesday 11:00, resolution was due Mon 17:00
    services.apply_event(s, ticket.id, "request_info", agent, late, reply="Still broken?")
    ticket = services.reply(s, ticket.id, world.actor(world.customer), late + 3 * H, "Yes.").ticket
    assert ticket.resolution_due_at == MON + 8 * H


def test_a_new_plan_starts_new_runs_of_its_clocks(world, office_plan):
    s, agent = world.session, world.actor(world.agent)
    world.agent.departments.append(world.department)
    s.commit()
    ticket = world.open(now=MON)
    services.apply_event(s, ticket.id, "claim", agent, MON)
    escalating.run_due(s, ticket.id, MON + 2 * H)  # first response at risk and breached
    sev_a = s.scalar(select(SlaPlan).where(SlaPlan.name == "SEV A"))
    changed = MON + 3 * H
    outcome = ticket_settings.change_sla_plan(s, ticket.id, sev_a.id, agent, changed)
    assert ScheduleTimer(ticket.id, "first_response", changed + 24 * M, "at_risk") in (
        outcome.follow_ups
    )
    run = escalating.run_due(s, ticket.id, changed + 30 * M)
    assert [(t.clock, t.step) for t in run.ran] == [
        ("first_response", "at_risk"),
        ("first_response", "breach"),
    ]
    cycles = {r.cycle for r in s.scalars(select(SlaStep).where(SlaStep.clock == "first_response"))}
    assert len(cycles) == 2


def test_resolving_sets_the_auto_close_timer_and_reopening_cancels_it(world, office_plan):
    s, agent = world.session, world.actor(world.agent)
    ticket = world.open(now=MON)
    services.apply_event(s, ticket.id, "claim", agent, MON)
    services.apply_event(s, ticket.id, "start", agent, MON)
    resolved = MON + H
    outcome = services.apply_event(s, ticket.id, "resolve", agent, resolved, reply="Done.")
    assert ScheduleTimer(ticket.id, "silence", resolved + timedelta(days=7), "auto_close") in (
        outcome.follow_ups
    )
    outcome = services.apply_event(
        s, ticket.id, "reopen", world.actor(world.customer), resolved + H
    )
    assert CancelTimer(ticket.id, "silence", ("auto_close",)) in outcome.follow_ups
