"""Publishing a new workflow version is nobody's activity on a ticket: every live ticket keeps
its `updated_at` (the "Last activity" the dashboards and the customer's "My tickets" sort
by), while its version still goes up (a form loaded before the publish is refused with 409),
and a re-clocked ticket still announces its change to open pages."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import NamedTuple

import pytest
from sqlalchemy import select, update

from tests.web.test_admin_workflow_publish import BASE, fresh, new_draft
from tests.workflow.test_publishing import WITHOUT_AWAITING, ticket_in
from tests.workflow.test_publishing_timers import PAUSES_IN_PROGRESS
from web.live.cursor import queue_cursor
from workflow import drafts
from workflow.followups import LiveUpdate
from workflow.models import Ticket, WorkflowVersion

STATES = ("new", "assigned", "in_progress", "awaiting_customer")


class Seen(NamedTuple):
    """A ticket as a page loaded it (plain values: the session's objects expire)."""

    id: int
    number: int
    version: int
    updated_at: datetime


def live_tickets(world) -> dict[str, Seen]:
    """One live ticket per state, each last active at its own time (hours apart, the newest
    activity on `new`), so an order by last activity is not the order they were opened in."""
    world.agent.departments.append(world.department)
    world.session.commit()
    tickets = {state: ticket_in(world, state, f"Ticket in {state}") for state in STATES}
    for hours, state in enumerate(STATES, start=1):
        world.session.execute(
            update(Ticket)
            .where(Ticket.id == tickets[state].id)
            .values(updated_at=world.now - timedelta(hours=10 * hours))
        )
    world.session.commit()
    return {state: _seen(fresh(world, t)) for state, t in tickets.items()}


def _seen(t: Ticket) -> Seen:
    return Seen(t.id, t.number, t.version, t.updated_at)


@pytest.mark.parametrize(
    ("source", "mapping"),
    [
        (PAUSES_IN_PROGRESS, {}),  # in_progress re-clocked one by one, the rest set-based
        (WITHOUT_AWAITING, {"map_awaiting_customer": "in_progress"}),  # a mapped state
    ],
    ids=["reclocked", "mapped"],
)
def test_publishing_keeps_each_tickets_last_activity_and_moves_its_version(
    admin, world, clock, source, mapping
):
    before = live_tickets(world)
    new_draft(world, source)
    clock.advance(hours=3)

    assert admin.post(f"{BASE}/versions/2/publish", mapping).status_code == 303

    version_2 = world.session.scalar(select(WorkflowVersion.id).where(WorkflowVersion.number == 2))
    after = {state: fresh(world, old) for state, old in before.items()}
    assert {s: t.updated_at for s, t in after.items()} == {
        s: old.updated_at for s, old in before.items()
    }
    assert {s: (t.workflow_version_id, t.version) for s, t in after.items()} == {
        s: (version_2, old.version + 1) for s, old in before.items()
    }
    reclocked = fresh(world, before["in_progress"])
    if source is PAUSES_IN_PROGRESS:  # the one-by-one path really ran
        assert reclocked.resolution_paused_at == clock()
    else:
        assert fresh(world, before["awaiting_customer"]).state == "in_progress"


def test_a_form_loaded_before_the_publish_is_still_refused_as_stale(browser, world, clock):
    before = live_tickets(world)
    working = before["in_progress"]
    assert browser.sign_in(world.agent.email).status_code == 302
    browser.get(f"/staff/tickets/{working.number}")  # the agent's page, at the old version
    new_draft(world, PAUSES_IN_PROGRESS)
    clock.advance(hours=1)
    drafts.publish_draft(world.session, _draft_id(world), {}, world.actor(world.admin), clock())

    stale = browser.post(
        f"/staff/tickets/{working.number}/events/request_info",
        {"version": working.version, "reply": "Which floor?"},
    )

    assert stale.status_code == 409
    assert fresh(world, working).state == "in_progress"
    current = fresh(world, working).version
    answer = browser.post(
        f"/staff/tickets/{working.number}/events/request_info",
        {"version": current, "reply": "Which floor?"},
    )
    assert answer.status_code == 303 and fresh(world, working).state == "awaiting_customer"
    assert fresh(world, working).updated_at == clock()  # real activity still counts


def _draft_id(world) -> int:
    return world.session.scalar(select(WorkflowVersion.id).where(WorkflowVersion.number == 2))


def test_my_tickets_keeps_its_order_by_last_activity_after_a_publish(browser, world, clock):
    before = live_tickets(world)
    assert browser.sign_in(world.customer.email, staff=False).status_code == 302
    page = browser.get("/tickets").get_data(as_text=True)
    order = re.findall(r">(Ticket in \w+)</a>", page)
    assert order == [f"Ticket in {s}" for s in STATES]  # newest activity first
    new_draft(world, PAUSES_IN_PROGRESS)
    clock.advance(hours=1)
    drafts.publish_draft(world.session, _draft_id(world), {}, world.actor(world.admin), clock())

    page = browser.get("/tickets").get_data(as_text=True)

    assert re.findall(r">(Ticket in \w+)</a>", page) == order
    stamp = before["awaiting_customer"].updated_at.strftime("%Y-%m-%d %H:%M UTC")
    assert stamp in page


def test_a_publish_still_moves_the_live_cursor_and_announces_reclocked_tickets(world, clock):
    before = live_tickets(world)
    cursor = queue_cursor(world.session)
    new_draft(world, PAUSES_IN_PROGRESS)

    published = drafts.publish_draft(
        world.session, _draft_id(world), {}, world.actor(world.admin), world.now
    )

    working = fresh(world, before["in_progress"])
    announced = [f for f in published.follow_ups if isinstance(f, LiveUpdate)]
    assert [(u.ticket_id, u.version) for u in announced] == [(working.id, working.version)]
    assert queue_cursor(world.session) != cursor  # the polling dashboards see the publish
