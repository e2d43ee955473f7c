"""The web app reads one clock (web/clock.py): a test sets it, and what the routes show and
write follows it instead of the day the tests happen to run."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.web.helpers import fresh, text
from web import clock as web_clock
from workflow.models import ThreadEntry, Ticket


def countdown(html: str, number: int) -> str:
    """The due countdown in the dashboard row of ticket `number`."""
    row = html.split(f'<td><a href="/staff/tickets/{number}">{number}</a>')[1].split("</tr>")[0]
    return re.findall(r'<span class="(?:muted|error)">([^<]*)</span>', row)[-1]


@pytest.fixture
def due_in(browser, world, ticket):
    """Make `ticket` due `delta` after the world's NOW; returns its dashboard countdown reader."""

    def set_due(delta: timedelta) -> Callable[[], str]:
        due = world.now + delta
        world.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(next_due_at=due))
        world.session.commit()
        browser.sign_in(world.agent.email)
        return lambda: countdown(text(browser.get("/staff?queue=open")), ticket.number)

    return set_due


def test_the_dashboard_counts_down_to_the_due_time_on_the_set_clock(world, clock, due_in):
    shown = due_in(timedelta(hours=2))
    assert shown() == "2h 00m left"
    clock.advance(minutes=45)
    assert shown() == "1h 15m left"
    clock.set(world.now + timedelta(hours=3, minutes=30))
    assert shown() == "overdue 1h 30m"


def test_the_countdown_reads_as_people_say_it(world, clock, due_in):
    """Minutes under an hour, days past a day (as the ops pages word durations)."""
    shown = due_in(timedelta(minutes=45))
    assert shown() == "45 min left"
    clock.set(world.now - timedelta(days=3, hours=4, minutes=10))
    assert shown() == "3d 4h left"
    clock.set(world.now + timedelta(days=2, hours=1, minutes=45))
    assert shown() == "overdue 2d 1h"


def test_what_a_route_writes_is_stamped_with_the_set_clock(browser, world, ticket, clock):
    at = clock.advance(days=400, minutes=7)  # far from the day the test runs, either way
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": "note", "body": "Checked the logs.", "version": ticket.version},
    )
    assert answer.status_code in (200, 303)
    note = world.session.scalars(
        select(ThreadEntry).where(ThreadEntry.ticket_id == ticket.id).order_by(ThreadEntry.id)
    ).all()[-1]
    assert note.body == "Checked the logs." and note.created_at == at
    assert fresh(world, ticket).updated_at == at


def test_without_the_setting_the_app_reads_the_real_clock(app):
    assert "TICKETFLOW_CLOCK" not in app.config
    with app.app_context():
        before, read, after = datetime.now(UTC), web_clock.now(), datetime.now(UTC)
    assert read.tzinfo is not None and before <= read <= after
    before, read, after = datetime.now(UTC), web_clock.now(), datetime.now(UTC)  # no app
    assert before <= read <= after
