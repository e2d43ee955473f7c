"""Phone and walk-in intake: an agent opens a ticket for an existing or a new customer."""

from __future__ import annotations

from sqlalchemy import func, select

from workflow.models import Role, Ticket, TransitionLog, User


def intake(browser, **fields):
    browser.get("/staff/tickets/new")
    return browser.post("/staff/tickets/new", fields)


def test_an_agent_opens_a_ticket_for_an_existing_customer(browser, world):
    browser.sign_in(world.agent.email)
    answer = intake(
        browser,
        email=world.customer.email.upper(),
        name="",
        help_topic_id=world.topic.id,
        subject="Called: printer jams",
        body="Carol phoned; floor 3 printer jams again.",
    )
    assert answer.status_code == 302
    ticket = world.session.scalar(select(Ticket))
    assert ticket.requester_id == world.customer.id and ticket.state == "new"
    opened = world.session.scalar(select(TransitionLog).where(TransitionLog.event == "open"))
    assert opened.actor_id == world.agent.id  # the log shows who took the call


def test_a_new_customer_is_created_without_a_password(browser, world):
    browser.sign_in(world.agent.email)
    answer = intake(
        browser,
        email="walkin@example.com",
        name="Walter Walk-in",
        help_topic_id=world.topic.id,
        subject="Laptop will not boot",
        body="Brought it to the desk.",
    )
    assert answer.status_code == 302
    walter = world.session.scalar(select(User).where(User.email == "walkin@example.com"))
    assert walter.role == Role.END_USER and walter.password_hash is None


def test_a_new_customer_needs_a_name_and_nothing_is_kept_otherwise(browser, world):
    browser.sign_in(world.agent.email)
    answer = intake(
        browser,
        email="nameless@example.com",
        name="",
        help_topic_id=world.topic.id,
        subject="x",
        body="y",
    )
    assert answer.status_code == 422
    assert "enter their name too" in answer.get_data(as_text=True)
    assert (
        world.session.scalar(
            select(func.count()).select_from(User).where(User.email == "nameless@example.com")
        )
        == 0
    )


def test_a_staff_email_is_not_a_customer(browser, world):
    browser.sign_in(world.agent.email)
    answer = intake(
        browser,
        email=world.admin.email,
        name="",
        help_topic_id=world.topic.id,
        subject="x",
        body="y",
    )
    assert answer.status_code == 422
    assert "staff account" in answer.get_data(as_text=True)
    assert world.session.scalar(select(Ticket.id)) is None


def test_ops_and_customers_cannot_open_for_others(browser, world):
    browser.sign_in(world.ops.email)
    assert browser.get("/staff/tickets/new").status_code == 403
