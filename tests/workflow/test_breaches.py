"""The SLA breach queue: which running clocks are breached or at risk within the hour, how
late or how close each is, grouped by team and plan, most urgent first, in two queries.

Tickets are opened through the services at chosen times, so their clocks are the ones the
real lifecycle computes; `now` is passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from workflow import services
from workflow.breach_values import humanise
from workflow.breaches import breach_queue
from workflow.models import HelpTopic, SlaCalendar, SlaPlan, Ticket

T = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 09:00 UTC: the queue's `now`
MIN = timedelta(minutes=1)


def plan(world, name):
    return world.session.scalar(select(SlaPlan).where(SlaPlan.name == name))


@pytest.fixture
def sev_a(world):
    """SEV A: first response 30 min, resolution 4 h, at risk with 20% left (6 and 48 min)."""
    world.topic.sla_plan_id = plan(world, "SEV A").id
    world.session.commit()
    return world


def open_at(world, at, subject, topic=None):
    return services.open_ticket(
        world.session,
        requester_id=world.customer.id,
        help_topic_id=(topic or world.topic).id,
        subject=subject,
        body="Details.",
        actor=world.actor(world.customer),
        now=at,
    ).ticket


def answer(world, ticket, at):
    """A public reply by an admin: stops the first-response clock."""
    services.reply(world.session, ticket.id, world.actor(world.admin), at, "On it.")


def numbers(queue):
    return [e.number for e in queue.entries]


@pytest.mark.parametrize(
    ("delta", "said"),
    [
        (timedelta(seconds=30), "less than a minute"),
        (14 * MIN + timedelta(seconds=59), "14 min"),
        (59 * MIN, "59 min"),
        (60 * MIN, "1h 00m"),
        (125 * MIN, "2h 05m"),
        (timedelta(days=3, hours=4, minutes=59), "3d 4h"),
    ],
)
def test_durations_read_as_people_say_them_rounded_down(delta, said):
    assert humanise(delta) == said


def test_breached_first_longest_overdue_on_top_then_at_risk_by_time_left(sev_a):
    world = sev_a
    late_2h = open_at(world, T - timedelta(hours=2, minutes=30), "Late by two hours")
    late_5 = open_at(world, T - 35 * MIN, "Late by five minutes")
    at_risk_now = open_at(world, T - timedelta(hours=3, minutes=30), "Resolution due in 30")
    answer(world, at_risk_now, T - timedelta(hours=3, minutes=5))
    soon = open_at(world, T - timedelta(hours=2, minutes=20), "At risk in 52 minutes")
    answer(world, soon, T - timedelta(hours=2, minutes=10))
    far = open_at(world, T - timedelta(hours=2), "At risk only in 72 minutes")
    answer(world, far, T - timedelta(hours=1, minutes=55))

    queue = breach_queue(world.session, T)

    assert numbers(queue) == [late_2h.number, late_5.number, at_risk_now.number, soon.number]
    first, second, third, fourth = queue.entries
    assert (first.clock.clock, first.clock.status) == ("first_response", "late by 2h 00m")
    assert [(o.clock, o.status, o.risk) for o in first.others] == [
        ("resolution", "due in 1h 30m", "at risk in 42 min")
    ]
    assert (second.clock.status, second.others) == ("late by 5 min", ())
    assert (third.clock.clock, third.clock.status, third.clock.risk) == (
        "resolution",
        "due in 30 min",
        "at risk now",
    )
    assert (fourth.clock.status, fourth.clock.risk) == ("due in 1h 40m", "at risk in 52 min")
    assert first.clock.minutes_past_due == 120 and fourth.clock.minutes_past_due == -100
    assert (queue.breached, queue.at_risk, queue.truncated) == (2, 2, False)


def test_entries_are_grouped_by_team_and_plan_in_order_of_their_most_urgent(sev_a):
    world = sev_a
    sev_c = HelpTopic(
        name="Low urgency",
        department_id=world.department.id,
        priority_id=1,
        sla_plan_id=plan(world, "SEV C").id,
        workflow_id=world.topic.workflow_id,
    )
    world.session.add(sev_c)
    world.session.commit()
    a_late = open_at(world, T - timedelta(hours=2, minutes=30), "SEV A, no team, 2 h late")
    c_late = open_at(world, T - timedelta(hours=9), "SEV C, no team, 1 h late", sev_c)
    team_late = open_at(world, T - 50 * MIN, "SEV A, Level 2, 20 min late")
    a_later = open_at(world, T - 35 * MIN, "SEV A, no team, 5 min late")
    world.session.execute(
        update(Ticket).where(Ticket.id == team_late.id).values(team_id=world.level2.id)
    )
    world.session.commit()

    queue = breach_queue(world.session, T)

    groups = [(g.team, g.plan, [e.number for e in g.entries]) for g in queue.groups]
    assert groups == [
        (None, "SEV A", [a_late.number, a_later.number]),
        (None, "SEV C", [c_late.number]),
        ("Level 2 Support", "SEV A", [team_late.number]),
    ]
    assert numbers(queue) == [a_late.number, c_late.number, team_late.number, a_later.number]


def test_paused_stopped_closed_and_planless_clocks_are_not_in_the_queue(sev_a):
    world = sev_a
    waiting = open_at(world, T - timedelta(hours=3, minutes=50), "Waiting on the customer")
    admin = world.actor(world.admin)
    services.apply_event(
        world.session, waiting.id, "claim", admin, T - timedelta(hours=3, minutes=45)
    )
    services.apply_event(
        world.session,
        waiting.id,
        "request_info",
        admin,
        T - timedelta(hours=3, minutes=40),
        reply="Which printer is it?",
    )
    closed = open_at(world, T - timedelta(hours=2), "Closed long ago")
    planless = open_at(world, T - timedelta(hours=2), "No plan")
    world.session.execute(update(Ticket).where(Ticket.id == closed.id).values(closed_at=T - MIN))
    world.session.execute(update(Ticket).where(Ticket.id == planless.id).values(sla_plan_id=None))
    world.session.commit()
    world.session.expire_all()
    # Its resolution clock would be due at T+10 min, but it is paused: nobody's work now.
    assert world.session.get(Ticket, waiting.id).resolution_paused_at is not None

    assert breach_queue(world.session, T).entries == ()


def test_at_risk_counts_business_time_on_the_plans_calendar(world):
    """Friday 16:30 in Berlin, open 9-17 on weekdays, at risk with 90 business minutes
    left: due Monday 09:30 has 60 business minutes left (at risk now, though 65 hours away);
    due Monday 11:00 has 150 and is at risk only on Monday morning."""
    calendar = SlaCalendar(
        name="Berlin office",
        definition={
            "timezone": "Europe/Berlin",
            "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        },
    )
    world.session.add(calendar)
    world.session.flush()
    office = SlaPlan(
        name="Office hours", resolution_minutes=8 * 60, at_risk_minutes=90, calendar_id=calendar.id
    )
    world.session.add(office)
    world.session.commit()
    friday = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)  # 16:30 in Berlin
    monday_0930 = datetime(2026, 11, 30, 8, 30, tzinfo=UTC)
    monday_1100 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    near, later = world.open(subject="Due Monday 09:30"), world.open(subject="Due Monday 11:00")
    for ticket, due in ((near, monday_0930), (later, monday_1100)):
        world.session.execute(
            update(Ticket)
            .where(Ticket.id == ticket.id)
            .values(
                sla_plan_id=office.id,
                first_responded_at=friday - timedelta(hours=1),
                resolution_due_at=due,
                next_due_at=due,
            )
        )
    world.session.commit()

    queue = breach_queue(world.session, friday)

    assert numbers(queue) == [near.number]
    clock = queue.entries[0].clock
    assert (clock.status, clock.risk) == ("due in 2d 17h", "at risk now")
    assert clock.business_note == "1h 00m of business time left"


def test_a_plan_without_threshold_is_at_risk_at_its_due_time(world):
    bare = SlaPlan(name="Bare", first_response_minutes=60)
    world.session.add(bare)
    world.session.flush()
    world.topic.sla_plan_id = bare.id
    world.session.commit()
    within = open_at(world, T - 5 * MIN, "Due in 55 minutes")
    beyond = open_at(world, T + 5 * MIN, "Due in 65 minutes")  # opened ahead of `now`

    queue = breach_queue(world.session, T)

    assert numbers(queue) == [within.number]
    assert beyond.number not in numbers(queue)
    clock = queue.entries[0].clock
    assert (clock.status, clock.risk) == ("due in 55 min", "")


def test_the_queue_is_capped_most_overdue_first(sev_a):
    world = sev_a
    tickets = [open_at(world, T - timedelta(minutes=90 - i), f"Late {i}") for i in range(5)]

    queue = breach_queue(world.session, T, cap=3)

    assert numbers(queue) == [t.number for t in tickets[:3]]
    assert queue.truncated
    assert not breach_queue(world.session, T, cap=5).truncated  # exactly as many as allowed


def test_two_queries_however_many_tickets(sev_a, engine):
    world = sev_a
    statements: list[str] = []

    def counted() -> int:
        statements.clear()
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            breach_queue(world.session, T)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    open_at(world, T - 40 * MIN, "One")
    world.session.commit()
    few = counted()
    for i in range(12):
        open_at(world, T - timedelta(minutes=40 + i), f"More {i}")
    world.session.commit()
    assert len(breach_queue(world.session, T).entries) == 13
    assert counted() == few == 2
