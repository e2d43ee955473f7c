"""Admins change calendars and SLA plans: each field's problem in a sentence, nothing saved
when anything is wrong, and a change that moves deadlines moves the open tickets' clocks
from now on (business time already used is kept) with their timers."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from workflow import calendar_admin, clocks, plan_admin, reclock_runs, services
from workflow.calendar_input import (
    CalendarFields,
    calendar_from_fields,
    calendar_from_yaml,
    fields_of,
    preview,
    yaml_of,
)
from workflow.errors import PermissionDenied
from workflow.followups import CancelTimer, LiveUpdate, ScheduleTimer
from workflow.models import (
    AdminChange,
    SlaCalendar,
    SlaPlan,
    SlaStep,
    Ticket,
    TransitionLog,
)
from workflow.plan_input import InvalidFields, PlanFields, plan_values
from workflow.reclock import EVENT

H = timedelta(hours=1)
OFFICE = {d: "09:00-17:00" for d in ("mon", "tue", "wed", "thu", "fri")}


def plan(world, name="SEV C") -> SlaPlan:
    return world.session.scalar(select(SlaPlan).where(SlaPlan.name == name))


def fresh(world, ticket) -> Ticket:
    world.session.expire_all()
    return world.session.get(Ticket, ticket.id)


def edit(world, at, plan_name="SEV C", **changes):
    """Save plan `plan_name` with some fields changed, as the admin, at `at`."""
    row = plan(world, plan_name)
    fields = dataclasses.replace(plan_admin.fields_for(row), **changes)
    return plan_admin.save_plan(world.session, world.actor(world.admin), at, fields, row.id)


def timers(saved, ticket=None):
    return {
        (f.clock, f.step): f.due_at
        for f in saved.follow_ups
        if isinstance(f, ScheduleTimer) and (ticket is None or f.ticket_id == ticket.id)
    }


def cancelled(saved):
    return {(f.clock, s) for f in saved.follow_ups if isinstance(f, CancelTimer) for s in f.steps}


def problems_of(call) -> dict[str, list[str]]:
    with pytest.raises(InvalidFields) as caught:
        call()
    return caught.value.fields


# ---- what the forms accept -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "where", "message"),
    [
        (
            CalendarFields(timezone="Mars/Olympus", hours=OFFICE),
            "timezone",
            "`Mars/Olympus` is not a known time zone; use an IANA name such as Europe/Berlin.",
        ),
        (
            CalendarFields(timezone="UTC", hours={"tue": "09:00-12:00, 11:00-17:00"}),
            "tue",
            "The ranges 09:00-12:00 and 11:00-17:00 on tue overlap.",
        ),
        (
            CalendarFields(timezone="UTC", hours={"fri": "22:00-06:00"}),
            "fri",
            "The range `22:00-06:00` on fri ends before it starts; a range cannot cross "
            "midnight, so split it at 24:00 and 00:00 of the next day.",
        ),
        (
            CalendarFields(timezone="UTC", hours={"mon": "9 to 5"}),
            "mon",
            "The range `9 to 5` on mon is not written as HH:MM-HH:MM.",
        ),
        (
            CalendarFields(timezone="UTC", hours={}),
            "hours",
            "The calendar is never open: give at least one weekday an opening range.",
        ),
        (
            CalendarFields(timezone="UTC", hours=OFFICE, holidays="2026-12-25, 25.12.2026"),
            "holidays",
            "`holidays` lists `25.12.2026`, which is not a date written as YYYY-MM-DD.",
        ),
        (
            CalendarFields(timezone="UTC", hours=OFFICE, country="XX"),
            "country",
            "`XX` is not a country whose public holidays are known; use a two-letter ISO "
            "3166 code such as DE or US.",
        ),
        (
            CalendarFields(timezone="UTC", hours=OFFICE, subdivision="BY"),
            "subdivision",
            "A `subdivision` needs a `country` to belong to.",
        ),
    ],
)
def test_each_calendar_problem_is_the_parsers_sentence_next_to_its_field(fields, where, message):
    assert problems_of(lambda: calendar_from_fields(fields)) == {where: [message]}


def test_problems_in_several_fields_are_all_reported():
    fields = CalendarFields(timezone="Nowhere", hours={"mon": "10:00-09:00", "wed": "x"})
    assert set(problems_of(lambda: calendar_from_fields(fields))) == {"timezone", "mon", "wed"}


def test_fields_and_yaml_make_the_same_calendar_file_shape():
    fields = CalendarFields(
        timezone="Europe/Berlin",
        hours={**OFFICE, "tue": "09:00-12:00; 13:00-17:00"},
        holidays="2026-04-03\n2026-12-25",
        country="de",
        subdivision="by",
    )
    document = calendar_from_fields(fields)
    assert document["hours"]["tue"] == ["09:00-12:00", "13:00-17:00"]
    assert document["hours"]["sat"] == []
    assert (document["country"], document["subdivision"]) == ("DE", "BY")
    assert calendar_from_yaml(yaml_of(document)) == document
    assert calendar_from_fields(fields_of(document)) == document
    around = calendar_from_fields(CalendarFields(timezone="UTC", always_open=True))
    assert around == {"timezone": "UTC", "hours": "24x7"}
    assert calendar_from_yaml(yaml_of(around)) == around


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("timezone: UTC\nhours: [", "The calendar is not valid YAML at line 2."),
        ("timezone: UTC\nhours: {monday: []}\n", "`hours` names an unknown weekday `monday`"),
        ("", "Paste a calendar in YAML, or fill in the fields instead."),
    ],
)
def test_pasted_yaml_is_refused_with_the_parsers_sentence(text, message):
    assert problems_of(lambda: calendar_from_yaml(text))["yaml"][0].startswith(message)


def test_the_preview_gives_the_next_opening_and_an_example_deadline():
    document = calendar_from_fields(CalendarFields(timezone="Europe/Berlin", hours=OFFICE))
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    shown = preview(document, saturday, "8h")
    assert not shown.open_now
    assert shown.next_opening.isoformat() == "2026-11-30T09:00:00+01:00"
    assert shown.due.isoformat() == "2026-11-30T17:00:00+01:00"
    assert problems_of(lambda: preview(document, saturday, "1.5h")) == {
        "example_target": [
            "`1.5h` is not a target; write whole minutes or hours such as 90m or 8h."
        ]
    }


@pytest.mark.parametrize(
    ("changes", "where", "message"),
    [
        (
            {"resolution": "1.5h"},
            "resolution",
            "`1.5h` is not a target; write whole minutes or hours such as 90m or 8h.",
        ),
        ({"first_response": "0m"}, "first_response", "The target `0m` is zero"),
        ({"next_response": "-8h"}, "next_response", "The target `-8h` is negative"),
        (
            {"first_response": "", "next_response": "", "resolution": ""},
            "targets",
            "Give the plan at least one target",
        ),
        (
            {"at_risk_percent": "80", "at_risk_minutes": "30"},
            "at_risk_minutes",
            "Give the at-risk threshold as a percentage of the target or as minutes before "
            "the due time, not both.",
        ),
        ({"at_risk_percent": "120"}, "at_risk_percent", "The at-risk percentage is a whole"),
        (
            {"policy": [{"at": "breach+x", "actions": [{"notify": "assignee"}]}]},
            "escalation",
            "Step 1: `at` must be at_risk, breach or breach+N",
        ),
        (
            {"policy": [{"at": "breach", "actions": [{"raise_priority": 9}]}]},
            "escalation",
            "Step 1 (breach), action 1: `raise_priority` takes a number of levels from 1 to 3",
        ),
    ],
)
def test_each_plan_problem_is_a_sentence_next_to_its_field(changes, where, message):
    fields = dataclasses.replace(
        PlanFields(name="SEV D", first_response="1h", resolution="8h"), **changes
    )
    _, problems = plan_values(fields)
    assert list(problems) == [where]
    assert problems[where][0].startswith(message)


def test_a_plan_is_refused_whole_and_nothing_changes(world):
    before = plan_admin.fields_for(plan(world))
    fields = dataclasses.replace(
        before,
        name="SEV A",
        resolution="soon",
        calendar_id=12345,
        policy=[{"at": "breach", "actions": [{"reassign": "Level 3"}]}],
    )
    problems = problems_of(
        lambda: plan_admin.save_plan(
            world.session, world.actor(world.admin), world.now, fields, plan(world).id
        )
    )
    assert problems["name"] == ["There is already an SLA plan called “SEV A”; choose another name."]
    assert set(problems) == {"name", "resolution", "calendar_id", "escalation"}
    assert problems["escalation"] == [
        "Step 1 (breach), action 1: there is no team called “Level 3”; "
        "the teams are Level 2 Support."
    ]
    world.session.expire_all()
    assert plan_admin.fields_for(plan(world)) == before
    assert world.session.scalar(select(func.count()).select_from(AdminChange)) == 0


def test_only_admins_change_plans_and_calendars(world):
    with pytest.raises(PermissionDenied):
        edit_as = plan_admin.fields_for(plan(world))
        plan_admin.save_plan(world.session, world.actor(world.agent), world.now, edit_as)
    with pytest.raises(PermissionDenied):
        calendar_admin.save_calendar(
            world.session, world.actor(world.ops), world.now, "X", {"timezone": "UTC"}
        )


# ---- open tickets follow the change ----------------------------------------------------------


def test_a_shorter_target_moves_the_due_time_keeping_the_time_already_used(world):
    ticket = world.open()  # SEV C, around the clock: resolution 120 h from 09:00
    saved = edit(world, world.now + H, resolution="8h")
    moved = fresh(world, ticket)
    # one hour used, seven left from now: due eight hours after opening
    assert moved.resolution_due_at == world.now + 8 * H
    assert moved.first_response_due_at == world.now + 8 * H  # unchanged target
    assert moved.version == 2
    assert moved.updated_at == ticket.updated_at  # an admin's edit is not the ticket's activity
    assert saved.tickets == 1
    assert timers(saved, ticket)[("resolution", "breach")] == world.now + 8 * H
    # at risk once 80% is used: 6 h 24 min after opening
    assert timers(saved, ticket)[("resolution", "at_risk")] == world.now + timedelta(minutes=384)
    assert LiveUpdate(ticket.id, ticket.number, 2) in saved.follow_ups
    assert moved.next_due_at == world.now + 8 * H
    assert moved.timer_due_at == world.now + timedelta(minutes=384)
    log = world.session.scalars(
        select(TransitionLog).where(
            TransitionLog.event == EVENT, TransitionLog.ticket_id == ticket.id
        )
    ).one()
    assert log.data == {
        "resolution_due_at": [(world.now + 120 * H).isoformat(), (world.now + 8 * H).isoformat()]
    }
    history = world.session.scalars(select(AdminChange)).one()
    assert (history.kind, history.subject) == ("sla_plan.update", "SEV C")
    assert history.summary == (
        "Changed the SLA plan SEV C: resolution 120h → 8h; "
        "the clocks of 1 open ticket recomputed from now."
    )
    assert history.actor_id == world.admin.id


def test_a_target_already_used_up_is_due_now_and_a_breach_stays_a_breach(world):
    early = world.open("Used up")
    late = world.open("Breached", now=world.now - 10 * H)  # first response due 2 h ago
    saved = edit(world, world.now + 5 * H, first_response="4h")
    assert fresh(world, early).first_response_due_at == world.now + 5 * H
    assert fresh(world, late).first_response_due_at == world.now - 2 * H
    assert timers(saved, early)[("first_response", "breach")] == world.now + 5 * H


def test_a_paused_clock_stays_paused_and_resumes_with_what_the_new_target_leaves(world):
    ticket = world.open()
    agent = world.actor(world.admin)
    services.apply_event(world.session, ticket.id, "claim", agent, world.now)
    services.apply_event(
        world.session, ticket.id, "request_info", agent, world.now + H, reply="Which printer?"
    )
    saved = edit(world, world.now + 3 * H, resolution="8h")
    paused = fresh(world, ticket)
    assert paused.resolution_paused_at == world.now + H
    assert ("resolution", "breach") not in timers(saved)  # a paused clock has no timer
    assert ("resolution", "breach") in cancelled(saved)
    services.reply(
        world.session, ticket.id, world.actor(world.customer), world.now + 5 * H, "Floor 3."
    )
    # one hour used before the pause, seven left from the answer
    assert fresh(world, ticket).resolution_due_at == world.now + 12 * H


def test_a_dropped_target_stops_its_clock_and_a_new_one_starts_now(world):
    ticket = world.open()
    saved = edit(world, world.now + H, first_response="")
    stopped = fresh(world, ticket)
    assert stopped.first_response_due_at is None
    assert {("first_response", "at_risk"), ("first_response", "breach")} <= cancelled(saved)
    edit(world, world.now + 2 * H, first_response="30m")
    assert fresh(world, ticket).first_response_due_at == world.now + 2 * H + timedelta(minutes=30)


def test_new_escalation_steps_get_timers_and_removed_ones_are_cancelled(world):
    ticket = world.open()
    policy = [
        *plan(world).escalation_policy,
        {"at": "breach+30", "actions": [{"notify": "manager"}]},
    ]
    saved = edit(world, world.now + H, policy=policy)
    assert fresh(world, ticket).resolution_due_at == world.now + 120 * H  # no due time moved
    assert timers(saved)[("resolution", "breach_30")] == world.now + 120 * H + timedelta(minutes=30)
    saved = edit(world, world.now + 2 * H, policy=policy[:-1])
    assert ("resolution", "breach_30") in cancelled(saved)
    assert ("resolution", "breach_30") not in timers(saved)


def test_a_step_already_done_is_not_scheduled_again(world):
    ticket = world.open()
    record = fresh(world, ticket)
    world.session.add(
        SlaStep(
            ticket_id=ticket.id,
            clock="first_response",
            cycle=clocks.cycle(record, "first_response"),
            step="at_risk",
            due_at=world.now,
            done_at=world.now,
        )
    )
    world.session.commit()
    saved = edit(world, world.now + H, first_response="10h")
    assert ("first_response", "at_risk") not in timers(saved)
    assert ("first_response", "at_risk") not in cancelled(saved)
    assert timers(saved)[("first_response", "breach")] == world.now + 10 * H
    assert fresh(world, ticket).timer_due_at == world.now + 10 * H


def test_closed_tickets_and_other_plans_are_left_alone(world):
    mine, other, closed = world.open("Mine"), world.open("Other plan"), world.open("Closed")
    world.session.execute(
        update(Ticket).where(Ticket.id == other.id).values(sla_plan_id=plan(world, "SEV A").id)
    )
    world.session.execute(update(Ticket).where(Ticket.id == closed.id).values(closed_at=world.now))
    world.session.commit()
    saved = edit(world, world.now + H, resolution="8h")
    assert saved.tickets == 1
    assert {f.ticket_id for f in saved.follow_ups} == {mine.id}
    assert fresh(world, other).version == fresh(world, closed).version == 1


def test_a_rename_alone_moves_no_clock(world):
    ticket = world.open()
    saved = edit(world, world.now + H, name="Standard")
    assert (saved.tickets, saved.follow_ups) == (0, [])
    assert fresh(world, ticket).version == 1
    again = edit(world, world.now + H, plan_name="Standard", name="Standard")
    assert again.changed == []  # nothing to save


def test_many_tickets_are_done_in_batches(world, monkeypatch):
    tickets = [world.open(f"Ticket {i}") for i in range(7)]
    monkeypatch.setattr("workflow.reclock.BATCH", 3)
    saved = edit(world, world.now + H, resolution="8h")
    assert (saved.tickets, saved.total) == (3, 7)  # the first batch now, the rest in a run
    while not reclock_runs.advance(world.session, saved.run_id, world.now + H).finished:
        pass
    assert {fresh(world, t).resolution_due_at for t in tickets} == {world.now + 8 * H}


# ---- calendars ---------------------------------------------------------------------------------


def test_a_calendar_change_moves_the_clocks_of_every_plan_on_it(world):
    admin = world.actor(world.admin)
    office = calendar_from_fields(CalendarFields(timezone="Europe/Berlin", hours=OFFICE))
    cal = calendar_admin.save_calendar(world.session, admin, world.now, "Berlin office", office)
    assert cal.created
    edit(world, world.now, first_response="4h", resolution="8h", calendar_id=cal.id)
    ticket = world.open()  # Monday 09:00 UTC = 10:00 in Berlin
    opened = fresh(world, ticket)
    assert opened.resolution_due_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    mornings = calendar_from_fields(
        CalendarFields(timezone="Europe/Berlin", hours={d: "09:00-13:00" for d in OFFICE})
    )
    saved = calendar_admin.save_calendar(
        world.session, admin, world.now + 2 * H, "Berlin office", mornings, cal.id
    )
    moved = fresh(world, ticket)
    # two hours used; the rest in the new hours (08:00-12:00 UTC) from 11:00 UTC
    assert moved.first_response_due_at == datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    assert moved.resolution_due_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert timers(saved)[("resolution", "breach")] == moved.resolution_due_at
    assert world.session.get(SlaCalendar, cal.id).definition == mornings
    history = world.session.scalars(
        select(AdminChange).where(AdminChange.kind == "calendar.update")
    ).one()
    assert history.summary == (
        "Changed the calendar Berlin office: weekly hours; "
        "the clocks of 1 open ticket recomputed from now."
    )
    assert history.details["definition"] == {"from": office, "to": mornings}


def test_a_calendar_name_is_required_and_unique(world):
    admin = world.actor(world.admin)
    document = {"timezone": "UTC", "hours": "24x7"}
    calendar_admin.save_calendar(world.session, admin, world.now, "Around the clock", document)
    assert problems_of(
        lambda: calendar_admin.save_calendar(
            world.session, admin, world.now, "around the CLOCK", document
        )
    ) == {"name": ["There is already a calendar called “around the CLOCK”; choose another name."]}
    assert problems_of(
        lambda: calendar_admin.save_calendar(world.session, admin, world.now, "  ", document)
    ) == {"name": ["Give the calendar a name."]}


# ---- a concurrent writer -----------------------------------------------------------------------


@pytest.mark.postgres
def test_a_ticket_written_meanwhile_is_read_again_and_both_changes_stay(world, session_factory):
    if world.session.get_bind().dialect.name != "postgresql":
        pytest.fail("run this test on PostgreSQL (row locks make it real)")
    ticket = world.open()
    other: Session = session_factory()
    other.execute(  # an agent's write that has not committed yet: it holds the row
        update(Ticket)
        .where(Ticket.id == ticket.id)
        .values(priority_id=3, version=Ticket.version + 1)
    )
    outcome: dict = {}

    def admin_saves():
        with session_factory() as mine:
            row = mine.scalar(select(SlaPlan).where(SlaPlan.name == "SEV C"))
            fields = dataclasses.replace(plan_admin.fields_for(row), resolution="8h")
            outcome["saved"] = plan_admin.save_plan(
                mine, world.actor(world.admin), world.now + H, fields, row.id
            )

    thread = threading.Thread(target=admin_saves)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # wait until the admin's UPDATE waits for the row
        waiting = world.session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
        world.session.rollback()
        if waiting:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the admin's write never waited for the agent's")
    other.commit()
    other.close()
    thread.join(10)
    assert outcome["saved"].tickets == 1
    done = fresh(world, ticket)
    assert (done.priority_id, done.version) == (3, 3)
    assert done.resolution_due_at == world.now + 8 * H
