"""How far off a ticket's SLA due times are, where agents look: the ticket page's header says
"in 45 min" or "overdue 1h 30m" next to each due time (the full page and the HTMX answer to
an event alike), a paused clock says "paused" instead of counting, and the dashboard says
"paused" on a row whose resolution clock waits for the customer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.web.helpers import HX, fresh, text
from workflow import services
from workflow.models import Ticket


def sla_line(html: str) -> str:
    """The header's SLA row as plain text."""
    row = html.split("<th>SLA plan</th>", 1)[1].split("</tr>", 1)[0]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()


@pytest.fixture
def due(world, ticket):
    """Set the ticket's due times relative to the world's NOW (None leaves one unset)."""

    def set_due(first=None, resolution=None, paused=False) -> None:
        values = {
            "first_response_due_at": world.now + first if first is not None else None,
            "first_responded_at": None,
            "resolution_due_at": world.now + resolution if resolution is not None else None,
            "resolution_paused_at": world.now if paused else None,
        }
        world.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**values))
        world.session.commit()

    return set_due


def test_the_header_says_how_far_off_each_due_time_is(browser, world, ticket, clock, due):
    due(first=timedelta(minutes=45), resolution=timedelta(days=1, hours=2))
    browser.sign_in(world.agent.email)
    line = sla_line(text(browser.get(f"/staff/tickets/{ticket.number}")))
    first_at = (world.now + timedelta(minutes=45)).strftime("%Y-%m-%d %H:%M UTC")
    assert f"first response due {first_at} (in 45 min)" in line
    assert "resolution due" in line and "(in 1d 2h)" in line
    clock.advance(hours=2, minutes=15)
    line = sla_line(text(browser.get(f"/staff/tickets/{ticket.number}")))
    assert f"first response due {first_at} (overdue 1h 30m)" in line
    assert "(in 23h 45m)" in line


def test_an_overdue_time_is_marked_as_an_error(browser, world, ticket, clock, due):
    due(resolution=timedelta(minutes=10))
    clock.advance(minutes=40)
    browser.sign_in(world.agent.email)
    html = text(browser.get(f"/staff/tickets/{ticket.number}"))
    assert '<span class="error">(overdue 30 min)</span>' in html


def test_a_paused_clock_says_paused_instead_of_counting(browser, world, ticket, clock, due):
    due(resolution=timedelta(hours=3), paused=True)
    browser.sign_in(world.agent.email)
    line = sla_line(text(browser.get(f"/staff/tickets/{ticket.number}")))
    assert line.endswith("(paused)") and "(in " not in line and "overdue" not in line


def test_the_answer_to_an_event_counts_down_too(browser, world, ticket, clock, due):
    due(resolution=timedelta(hours=5))
    clock.advance(minutes=30)
    browser.sign_in(world.agent.email)
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/claim",
        {"version": fresh(world, ticket).version},
        headers=HX,
    )
    assert answer.status_code == 200
    assert "(in 4h 30m)" in sla_line(text(answer))


def test_the_dashboard_says_paused_for_a_clock_waiting_on_the_customer(
    browser, world, ticket, clock
):
    actor = world.actor(world.agent)
    services.apply_event(world.session, ticket.id, "claim", actor, world.now)
    world.session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id)
        .values(
            state="awaiting_customer",
            next_due_at=None,
            resolution_due_at=world.now + timedelta(hours=8),
            resolution_paused_at=world.now,
        )
    )
    world.session.commit()
    browser.sign_in(world.agent.email)
    html = text(browser.get("/staff?queue=awaiting"))
    row = html.split(f'<td><a href="/staff/tickets/{ticket.number}">{ticket.number}</a>')[1]
    row = row.split("</tr>")[0]
    assert '<span class="muted">paused</span>' in row and "left" not in row


def test_a_customer_opens_a_ticket_from_its_subject_too(browser, world, ticket):
    browser.sign_in(world.customer.email, staff=False)
    html = text(browser.get("/tickets"))
    link = f'<a href="/tickets/{ticket.number}">{ticket.subject}</a>'
    assert link in html
