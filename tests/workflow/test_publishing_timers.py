"""A publish that changes how a state runs the SLA clocks re-clocks the tickets in it and
hands back their timers and live updates; every moved ticket's version goes up by one.

Without the follow-ups a re-clocked ticket kept its old timer jobs (a paused clock could
still breach) until the sweep came by, and open pages did not refresh.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.factories import World
from tests.workflow.test_publishing import (
    SUPPORT,
    UNCHANGED_STATES,
    WITHOUT_AWAITING,
    add,
    publish,
    reload,
    ticket_in,
    variant,
)
from workflow.followups import CancelTimer, LiveUpdate, ScheduleTimer


def _pause_resolution_in_progress(doc: dict[str, Any]) -> None:
    doc["states"]["in_progress"]["sla"]["resolution"] = "pause"


PAUSES_IN_PROGRESS = variant(_pause_resolution_in_progress)


def of(follow_ups: list[Any], ticket_id: int) -> list[Any]:
    return [f for f in follow_ups if f.ticket_id == ticket_id]


def resolution(follow_ups: list[Any], ticket_id: int) -> list[Any]:
    return [
        f
        for f in of(follow_ups, ticket_id)
        if isinstance(f, ScheduleTimer | CancelTimer) and f.clock == "resolution"
    ]


def test_pausing_the_resolution_clock_cancels_its_timers_and_resuming_schedules_them(
    world: World,
):
    working = ticket_in(world, "in_progress")
    untouched = ticket_in(world, "new")
    due = working.resolution_due_at
    versions = {working.id: working.version, untouched.id: untouched.version}

    paused = publish(world, add(world, PAUSES_IN_PROGRESS), at=timedelta(hours=1))

    assert paused.moved == 2
    ticket = reload(world, working)
    assert ticket.resolution_paused_at == world.now + timedelta(hours=1)
    assert ticket.resolution_due_at == due and ticket.next_due_at != due
    [cancel] = resolution(paused.follow_ups, working.id)
    assert isinstance(cancel, CancelTimer)
    assert set(cancel.steps) >= {"breach"}
    assert LiveUpdate(working.id, ticket.number, ticket.version) in paused.follow_ups
    assert of(paused.follow_ups, untouched.id) == []  # `new` runs its clocks as before
    assert reload(world, working).version == versions[working.id] + 1
    assert reload(world, untouched).version == versions[untouched.id] + 1

    resumed = publish(world, add(world, SUPPORT + "# resolution runs again\n"), timedelta(hours=3))

    ticket = reload(world, working)
    assert ticket.resolution_paused_at is None
    assert ticket.resolution_due_at == due + timedelta(hours=2)  # the two paused hours
    [schedule] = resolution(resumed.follow_ups, working.id)
    assert isinstance(schedule, ScheduleTimer)
    assert schedule.step == "at_risk" and schedule.due_at < ticket.resolution_due_at
    assert LiveUpdate(working.id, ticket.number, ticket.version) in resumed.follow_ups
    assert of(resumed.follow_ups, untouched.id) == []
    assert ticket.version == versions[working.id] + 2
    assert reload(world, untouched).version == versions[untouched.id] + 2


def test_each_moved_ticket_version_goes_up_by_exactly_one(world: World):
    """Set-based or re-clocked one by one, a publish is one write per ticket."""
    tickets = [
        ticket_in(world, state, f"In {state}")
        for state in ("new", "assigned", "in_progress", "awaiting_customer")
    ]
    before = {t.id: t.version for t in tickets}

    mapped = publish(
        world, add(world, WITHOUT_AWAITING), state_mapping={"awaiting_customer": "in_progress"}
    )
    assert mapped.moved == 4
    assert {t.id: reload(world, t).version for t in tickets} == {
        i: v + 1 for i, v in before.items()
    }
    waiting = tickets[-1]
    assert [f for f in mapped.follow_ups if isinstance(f, LiveUpdate)] == [
        LiveUpdate(waiting.id, waiting.number, before[waiting.id] + 1)
    ]

    same = publish(world, add(world, UNCHANGED_STATES), at=timedelta(hours=2))
    assert same.moved == 4 and same.follow_ups == []
    assert {t.id: reload(world, t).version for t in tickets} == {
        i: v + 2 for i, v in before.items()
    }
