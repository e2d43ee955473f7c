"""SLA compliance on a known data set: met and breached per plan and team, for today and
the last 7 local days, breaches per day for the chart, in one query.

Each ticket's clock columns are set directly (the other clocks cleared), so every figure
below follows from the rules in workflow/compliance.py and nothing else."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, update

from workflow.compliance import compliance, day_starts, overall
from workflow.escalation import BREACH
from workflow.models import SlaPlan, SlaStep, Ticket

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
D = timedelta(days=1)
CLEAR = {
    "first_response_due_at": None,
    "first_responded_at": None,
    "first_response_paused_at": None,
    "resolution_due_at": None,
    "resolution_paused_at": None,
    "resolved_at": None,
    "next_response_due_at": None,
    "next_response_started_at": None,
    "next_response_paused_at": None,
    "next_due_at": None,
    "closed_at": None,
}


def ticket(world, plan_id, team_id=None, **columns):
    """A ticket whose clock columns are exactly `columns`."""
    opened = world.open(subject="Compliance case")
    values = {**CLEAR, **columns, "sla_plan_id": plan_id, "team_id": team_id}
    world.session.execute(update(Ticket).where(Ticket.id == opened.id).values(**values))
    world.session.commit()
    return opened


def breach_row(world, ticket_id, clock, due, cycle=1):
    """The row a timer records: the ticket's plan and team of that moment with it."""
    plan_id, team_id = world.session.execute(
        select(Ticket.sla_plan_id, Ticket.team_id).where(Ticket.id == ticket_id)
    ).one()
    world.session.add(
        SlaStep(
            ticket_id=ticket_id,
            clock=clock,
            cycle=cycle,
            step=BREACH,
            due_at=due,
            done_at=due + timedelta(seconds=1),
            actions=[],
            plan_id=plan_id,
            team_id=team_id,
        )
    )
    world.session.commit()


@pytest.fixture
def data(world):
    plans = {p.name: p.id for p in world.session.scalars(select(SlaPlan))}
    a, c, l2 = plans["SEV A"], plans["SEV C"], world.level2.id
    # First response
    ticket(world, a, first_responded_at=NOW - H, first_response_due_at=NOW - H / 2)  # met today
    replied_late = ticket(
        world, a, first_response_due_at=NOW - D, first_responded_at=NOW - 20 * H
    )  # breached yesterday, recorded: counted once
    breach_row(world, replied_late.id, "first_response", NOW - D)
    ticket(world, a, first_response_due_at=NOW - H / 6)  # running 10 min past due, unrecorded
    ticket(
        world, a, first_response_due_at=NOW - 2 * D, first_responded_at=NOW - 2 * D + H
    )  # replied late on Saturday, never recorded
    just_after_midnight = ticket(world, a)  # due Sunday 23:30 UTC = Monday 00:30 in Berlin
    breach_row(
        world, just_after_midnight.id, "first_response", datetime(2026, 11, 22, 23, 30, tzinfo=UTC)
    )
    ticket(
        world,
        a,
        first_response_due_at=NOW + H,
        first_response_paused_at=NOW - 2 * H,
        first_responded_at=NOW - H,
    )  # paused (resolved without a reply), answered later while paused: met today
    # Resolution
    ticket(
        world,
        a,
        resolved_at=NOW - 3 * D,
        resolution_paused_at=NOW - 3 * D,
        resolution_due_at=NOW - 3 * D + H,
    )  # met on Friday, closed since
    ticket(
        world,
        a,
        resolution_paused_at=NOW - 5 * H,
        resolution_due_at=NOW - 4 * H,
        resolved_at=NOW - H,
    )  # waited on the customer from before its due time, resolved since: met today
    ticket(world, a, resolved_at=NOW - D, resolution_due_at=NOW + H)  # reopened, running: neither
    ticket(
        world, a, resolution_due_at=NOW - 3 * H, resolution_paused_at=NOW - 2 * H
    )  # paused after its due time: breached today, unrecorded
    ticket(
        world, a, resolution_due_at=NOW - 2 * H, closed_at=NOW - 2 * D
    )  # closed in time: neither
    # Next response (met runs are recorded at the reply: tests/workflow/test_sla_outcomes.py)
    nr = ticket(world, a, first_responded_at=NOW - 6 * D)
    breach_row(world, nr.id, "next_response", NOW - 5 * D)  # Wednesday
    ticket(
        world,
        a,
        first_responded_at=NOW - D,
        next_response_started_at=NOW - 2 * H,
        next_response_due_at=NOW - H / 12,
        next_due_at=NOW - H / 12,
    )  # running 5 minutes past due, unrecorded
    # Outside the week, inside the chart; and outside both
    old = ticket(world, a)
    breach_row(world, old.id, "resolution", NOW - 10 * D)
    older = ticket(world, a)
    breach_row(world, older.id, "resolution", NOW - 20 * D)
    # Another plan and team
    ticket(
        world,
        c,
        l2,
        resolved_at=NOW - 2 * H,
        resolution_paused_at=NOW - 2 * H,
        resolution_due_at=NOW + D,
    )
    return world


def tallies(row, period):
    return {clock: (t.met, t.breached) for clock, t in getattr(row, period).items()}


def test_met_and_breached_per_plan_and_team_for_today_and_the_week(data):
    figures = compliance(data.session, NOW, BERLIN)

    assert [(r.plan, r.team) for r in figures.rows] == [
        ("SEV A", None),
        ("SEV C", "Level 2 Support"),
    ]
    sev_a, sev_c = figures.rows
    assert tallies(sev_a, "today") == {
        "first_response": (2, 2),
        "resolution": (1, 1),
        "next_response": (0, 1),
    }
    assert tallies(sev_a, "week") == {
        "first_response": (2, 4),
        "resolution": (2, 1),
        "next_response": (0, 2),
    }
    assert overall(sev_a.today).percent == pytest.approx(3 / 7 * 100)  # 3 met, 4 breached
    assert overall(sev_a.week).percent == pytest.approx(4 / 11 * 100)
    assert tallies(sev_c, "today")["resolution"] == (1, 0)
    assert figures.today["resolution"].met == 2 and figures.week["first_response"].breached == 4


def test_breaches_per_local_day_for_the_chart(data):
    figures = compliance(data.session, NOW, BERLIN, chart_days=14)

    assert figures.days[0] == date(2026, 11, 10) and figures.days[-1] == date(2026, 11, 23)
    per_day = {
        day.isoformat(): {clock: n for clock, n in counts.items() if n}
        for day, counts in zip(figures.days, figures.breaches_per_day, strict=True)
        if any(counts.values())
    }
    assert per_day == {
        "2026-11-13": {"resolution": 1},
        "2026-11-18": {"next_response": 1},
        "2026-11-21": {"first_response": 1},
        "2026-11-22": {"first_response": 1},
        "2026-11-23": {"first_response": 2, "resolution": 1, "next_response": 1},
    }


def test_a_day_is_a_local_day(data):
    """The breach at Sunday 23:30 UTC is Monday in Berlin and Sunday in UTC."""
    in_utc = compliance(data.session, NOW, ZoneInfo("UTC"))
    assert in_utc.rows[0].today["first_response"].breached == 1
    assert compliance(data.session, NOW, BERLIN).rows[0].today["first_response"].breached == 2


def test_day_starts_follow_clock_changes():
    starts = day_starts(datetime(2026, 3, 30, 12, tzinfo=UTC), BERLIN, 2)
    assert [s.isoformat() for s in starts] == [
        "2026-03-28T23:00:00+00:00",  # Sunday 29 March, clocks go forward at 02:00
        "2026-03-29T22:00:00+00:00",
        "2026-03-30T22:00:00+00:00",
    ]


def test_one_query(data, engine):
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        compliance(data.session, NOW, BERLIN)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert len(statements) == 1


def test_nothing_decided_is_an_empty_table(world):
    figures = compliance(world.session, NOW, BERLIN)
    assert figures.rows == [] and figures.today["first_response"].percent is None
    assert len(figures.days) == 14 and not any(any(d.values()) for d in figures.breaches_per_day)
