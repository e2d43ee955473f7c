"""The agent's ticket page: actions from the workflow with their reasons, the transfer
form and its guard, the composer, and who may see the ticket at all."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from tests.web.helpers import fresh
from workflow import services
from workflow.models import ThreadEntry, TransitionLog


def count(world, model, ticket):
    return world.session.scalar(
        select(func.count()).select_from(model).where(model.ticket_id == ticket.id)
    )


def test_the_page_offers_what_the_workflow_allows_and_says_why_not(browser, world, ticket):
    browser.sign_in(world.agent.email)
    page = browser.get(f"/staff/tickets/{ticket.number}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "The printer on floor 3 is jammed" in html and "New" in html
    assert ">Claim</button>" in html
    assert "disabled" in html and "“Discard” is only for admins." in html


def test_claim_then_transfer_without_a_note_is_refused_and_changes_nothing(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/claim", {"version": ticket.version}
    )
    assert answer.status_code == 303
    claimed = fresh(world, ticket)
    assert (claimed.state, claimed.assignee_id) == ("assigned", world.agent.id)
    logged = count(world, TransitionLog, ticket)
    refused = browser.post(
        f"/staff/tickets/{ticket.number}/events/transfer",
        {"version": claimed.version, "note": "", "team_id": world.level2.id},
    )
    assert refused.status_code == 422
    assert "needs a note" in refused.get_data(as_text=True)
    after = fresh(world, ticket)
    assert (after.version, after.team_id) == (claimed.version, None)
    assert count(world, TransitionLog, ticket) == logged


def test_a_transfer_with_a_courteous_note_reaches_level_2(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    browser.post(f"/staff/tickets/{ticket.number}/events/claim", {"version": ticket.version})
    version = fresh(world, ticket).version
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/transfer",
        {
            "version": version,
            "team_id": world.level2.id,
            "note": "Hi Bob, the fuser looks broken; could you take it? Thanks!",
        },
    )
    assert answer.status_code == 303
    moved = fresh(world, ticket)
    assert (moved.state, moved.team_id, moved.assignee_id) == ("assigned", world.level2.id, None)
    html = browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "could you take it? Thanks!" in html


def test_close_before_the_customer_confirmed_is_refused(browser, world, ticket):
    agent = world.actor(world.agent)
    services.apply_event(world.session, ticket.id, "claim", agent, world.now)
    services.apply_event(
        world.session,
        ticket.id,
        "resolve",
        agent,
        world.now,
        reply="Replaced the fuser. Anything else?",
    )
    browser.sign_in(world.agent.email)
    html = browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "has not confirmed" in html  # the disabled Close says why
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/close", {"version": fresh(world, ticket).version}
    )
    assert answer.status_code == 422
    assert fresh(world, ticket).state == "resolved"


def action_forms(html: str) -> list[str]:
    """The events the page offers a form for, in order."""
    return re.findall(r'class="action" id="action-([a-z_]+)"', html)


def test_events_no_staff_member_can_fire_are_not_offered(browser, world, ticket):
    """Escalate and auto-close are Ticketflow's own and confirm is the customer's: as
    buttons they would be disabled forever. Staff events stay, disabled with the reason."""
    browser.sign_in(world.agent.email)
    opened = action_forms(browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True))
    assert "claim" in opened and "discard" in opened  # discard: admins only, shown disabled
    assert "escalate" not in opened
    agent = world.actor(world.agent)
    services.apply_event(world.session, ticket.id, "claim", agent, world.now)
    services.apply_event(
        world.session, ticket.id, "resolve", agent, world.now, reply="Fixed. Anything else?"
    )
    resolved = browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert set(action_forms(resolved)) == {"reopen", "close", "discard"}
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/reopen",
        {"version": fresh(world, ticket).version},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200  # the answer's actions: in progress, nothing system-only
    offered = action_forms(answer.get_data(as_text=True))
    assert "resolve" in offered and "escalate" not in offered


def test_a_stale_version_answers_409(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    services.add_note(world.session, ticket.id, world.actor(world.colleague), world.now, "Mine")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/claim", {"version": ticket.version}
    )
    assert answer.status_code == 409
    assert fresh(world, ticket).assignee_id is None


def test_the_composer_sends_replies_and_internal_notes(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": "note", "body": "Checked the logs: toner sensor.", "version": ticket.version},
    )
    browser.get(f"/staff/tickets/{ticket.number}")
    browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {
            "mode": "reply",
            "body": "Hello Carol, we are on it.",
            "version": fresh(world, ticket).version,
        },
    )
    kinds = world.session.scalars(
        select(ThreadEntry.kind).where(ThreadEntry.ticket_id == ticket.id).order_by(ThreadEntry.id)
    ).all()
    assert [k.value for k in kinds] == ["customer_message", "internal_note", "public_reply"]
    html = browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "Internal note" in html and "toner sensor" in html
    assert fresh(world, ticket).first_responded_at is not None


def test_agents_outside_the_department_get_404_and_customers_403(browser, world, ticket):
    world.colleague.departments.clear()
    world.session.commit()
    browser.sign_in(world.colleague.email)
    assert browser.get(f"/staff/tickets/{ticket.number}").status_code == 404
    browser.post("/staff/logout")
    browser.sign_in(world.customer.email, staff=False)
    assert browser.get(f"/staff/tickets/{ticket.number}").status_code == 403


def test_ops_can_read_but_not_fire_events(browser, world, ticket):
    browser.sign_in(world.ops.email)
    assert browser.get(f"/staff/tickets/{ticket.number}").status_code == 200
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/claim", {"version": ticket.version}
    )
    assert answer.status_code == 403
