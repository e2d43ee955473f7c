"""The Support Center as a customer uses it: open, follow, reply, confirm; never anyone
else's ticket, never an internal note."""

from __future__ import annotations

import re

from sqlalchemy import select

from workflow import services
from workflow.models import ThreadEntry, Ticket, TransitionLog

NUMBER = re.compile(r"/tickets/(\d+)")


def open_as_customer(browser, world, subject="VPN refuses my password", body="Since today."):
    browser.sign_in(world.customer.email, staff=False)
    browser.get("/tickets/new")
    answer = browser.post(
        "/tickets/new", {"help_topic_id": world.topic.id, "subject": subject, "body": body}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return int(NUMBER.search(answer.headers["Location"]).group(1))


def bodies(world, ticket_id) -> list[str]:
    """The thread's message bodies, oldest first."""
    world.session.expire_all()
    query = select(ThreadEntry.body).where(ThreadEntry.ticket_id == ticket_id)
    return list(world.session.scalars(query.order_by(ThreadEntry.id)))


def ticket(world, number):
    world.session.expire_all()
    return world.session.scalar(select(Ticket).where(Ticket.number == number))


def test_a_customer_opens_a_ticket_and_sees_it_in_their_list(browser, world):
    number = open_as_customer(browser, world, body="<b>Help</b><script>alert(1)</script>")
    page = browser.get(f"/tickets/{number}").get_data(as_text=True)
    assert "VPN refuses my password" in page and "We received it" in page
    assert "<b>Help</b>" in page and "<script>" not in page
    assert "Yes, my issue is resolved" not in page  # only offered once it is resolved
    listing = browser.get("/tickets").get_data(as_text=True)
    assert f"#{number}" in listing


def test_opening_without_a_subject_explains_and_keeps_nothing(browser, world):
    browser.sign_in(world.customer.email, staff=False)
    browser.get("/tickets/new")
    answer = browser.post(
        "/tickets/new", {"help_topic_id": world.topic.id, "subject": "", "body": "text"}
    )
    assert answer.status_code == 422
    assert "Give the ticket a subject." in answer.get_data(as_text=True)
    assert world.session.scalar(select(Ticket.id)) is None


def test_another_customers_ticket_is_a_404(browser, world):
    theirs = world.open(customer=world.other_customer)
    browser.sign_in(world.customer.email, staff=False)
    assert browser.get(f"/tickets/{theirs.number}").status_code == 404
    assert (
        browser.post(f"/tickets/{theirs.number}/reply", {"body": "hi", "version": 1}).status_code
        == 404
    )
    assert f"#{theirs.number}" not in browser.get("/tickets").get_data(as_text=True)


def test_internal_notes_never_reach_the_customer(browser, world):
    number = open_as_customer(browser, world)
    t = ticket(world, number)
    services.add_note(
        world.session,
        t.id,
        world.actor(world.agent),
        world.now,
        "Customer is on the old VPN client; secret workaround inside.",
    )
    page = browser.get(f"/tickets/{number}").get_data(as_text=True)
    assert "secret workaround" not in page


def test_a_reply_while_we_wait_for_the_customer_moves_the_ticket_on(browser, world):
    number = open_as_customer(browser, world)
    t = ticket(world, number)
    agent = world.actor(world.agent)
    services.apply_event(world.session, t.id, "claim", agent, world.now)
    services.apply_event(
        world.session,
        t.id,
        "request_info",
        agent,
        world.now,
        reply="Which VPN client version do you use?",
    )
    page = browser.get(f"/tickets/{number}")
    assert "Waiting for your reply" in page.get_data(as_text=True)
    version = ticket(world, number).version
    answer = browser.post(f"/tickets/{number}/reply", {"body": "Version 5.2", "version": version})
    assert answer.status_code == 303
    assert ticket(world, number).state == "in_progress"


def test_confirming_a_resolution_lets_the_agent_close(browser, world):
    number = open_as_customer(browser, world)
    t = ticket(world, number)
    agent = world.actor(world.agent)
    services.apply_event(world.session, t.id, "claim", agent, world.now)
    services.apply_event(
        world.session,
        t.id,
        "resolve",
        agent,
        world.now,
        reply="Reset your VPN profile. Anything else we can do?",
    )
    page = browser.get(f"/tickets/{number}").get_data(as_text=True)
    assert "Yes, my issue is resolved" in page and "It is still a problem" in page
    version = ticket(world, number).version
    assert browser.post(f"/tickets/{number}/confirm", {"version": version}).status_code == 303
    assert ticket(world, number).confirmed_at is not None
    page = browser.get(f"/tickets/{number}").get_data(as_text=True)
    assert "You confirmed that your issue is resolved" in page  # not asked a second time
    assert "Yes, my issue is resolved" not in page and "It is still a problem" in page
    services.apply_event(world.session, t.id, "close", agent, world.now)
    assert ticket(world, number).state == "closed"


def test_it_is_still_a_problem_reopens_the_ticket(browser, world):
    number = open_as_customer(browser, world)
    t = ticket(world, number)
    agent = world.actor(world.agent)
    services.apply_event(world.session, t.id, "claim", agent, world.now)
    services.apply_event(world.session, t.id, "resolve", agent, world.now, reply="Try again?")
    browser.get(f"/tickets/{number}")
    version = ticket(world, number).version
    assert browser.post(f"/tickets/{number}/reopen", {"version": version}).status_code == 303
    assert ticket(world, number).state == "in_progress"


def test_a_stale_page_gets_409_and_changes_nothing(browser, world):
    number = open_as_customer(browser, world)
    t = ticket(world, number)
    agent = world.actor(world.agent)
    services.apply_event(world.session, t.id, "claim", agent, world.now)
    services.apply_event(world.session, t.id, "resolve", agent, world.now, reply="Done?")
    browser.get(f"/tickets/{number}")
    seen = ticket(world, number).version
    services.add_note(world.session, t.id, agent, world.now, "someone else wrote meanwhile")
    answer = browser.post(f"/tickets/{number}/confirm", {"version": seen})
    assert answer.status_code == 409
    assert "Reload" in answer.get_data(as_text=True)
    assert ticket(world, number).confirmed_at is None


def test_a_reply_written_while_the_ticket_changed_is_kept_to_send_again(browser, world):
    """An agent answers while the customer writes: nothing is sent (409), the message stays in
    the reply box on the page as it is now (the agent's reply shown), and one more Send sends
    it on the current version."""
    number = open_as_customer(browser, world)
    t = ticket(world, number)
    browser.get(f"/tickets/{number}")
    seen = t.version
    agent = world.actor(world.agent)
    services.reply(world.session, t.id, agent, world.now, "Have you tried the new client?")
    typed = "My VPN still says the password is wrong & I can't work."
    answer = browser.post(f"/tickets/{number}/reply", {"body": typed, "version": seen})
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "Your message was not sent: the ticket changed while you were writing" in html
    assert "My VPN still says the password is wrong &amp; I can&#39;t work." in html
    assert "Have you tried the new client?" in html  # the page as it is now
    now_at = ticket(world, number).version
    assert f'value="{now_at}"' in html and now_at != seen
    assert bodies(world, t.id)[-1] == "Have you tried the new client?"  # nothing was stored
    again = browser.post(f"/tickets/{number}/reply", {"body": typed, "version": now_at})
    assert again.status_code == 303
    assert bodies(world, t.id)[-1] == typed.replace("&", "&amp;")  # stored as sanitized HTML


def test_a_refused_event_answers_422_with_the_reason(browser, world):
    number = open_as_customer(browser, world)
    version = ticket(world, number).version
    logged = world.session.scalar(select(TransitionLog.id).order_by(TransitionLog.id.desc()))
    answer = browser.post(f"/tickets/{number}/confirm", {"version": version})
    assert answer.status_code == 422
    assert "not possible while the ticket is new" in answer.get_data(as_text=True)
    assert (
        world.session.scalar(select(TransitionLog.id).order_by(TransitionLog.id.desc())) == logged
    )


def test_a_reply_to_a_closed_ticket_opens_a_linked_one(browser, world):
    number = open_as_customer(browser, world)
    t = ticket(world, number)
    services.apply_event(
        world.session,
        t.id,
        "discard",
        world.actor(world.admin),
        world.now,
        note="Duplicate of another ticket",
    )
    version = ticket(world, number).version
    answer = browser.post(f"/tickets/{number}/reply", {"body": "Still broken", "version": version})
    new_number = int(NUMBER.search(answer.headers["Location"]).group(1))
    assert new_number != number
    assert ticket(world, new_number).linked_ticket_id == t.id


def test_staff_do_not_use_the_customer_pages(browser, world):
    browser.sign_in(world.agent.email)
    assert browser.get("/tickets").status_code == 403
