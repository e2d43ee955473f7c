"""The status line after an event says what happened to the ticket: whose it is now (and
whose it was, when a claim takes it from a colleague), where a transfer sent it, or the
state it is in; never a bare "Done."."""

from __future__ import annotations

from html import unescape

from tests.web.helpers import HX, fresh, text
from workflow import services


def status_line(answer) -> str:
    html = text(answer)
    assert html.startswith('<p class="flash" role="status">'), html[:200]
    return unescape(html.split(">", 1)[1].split("</p>", 1)[0])


def test_a_claim_from_a_colleague_says_whose_it_was(browser, world, ticket):
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.colleague), world.now)
    browser.sign_in(world.agent.email)
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/claim",
        {"version": fresh(world, ticket).version},
        headers=HX,
    )
    assert answer.status_code == 200
    colleague = world.colleague.name
    assert status_line(answer) == f"Claim: #{ticket.number} is now yours (it was {colleague}'s)."


def test_a_transfer_says_where_the_ticket_went(browser, world, ticket):
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), world.now)
    browser.sign_in(world.agent.email)
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/transfer",
        {
            "version": fresh(world, ticket).version,
            "assignee_id": world.colleague.id,
            "note": "Over to you: the printer needs a new fuser.",
        },
        headers=HX,
    )
    assert answer.status_code == 200
    assert status_line(answer) == f"Transfer: #{ticket.number} is now with {world.colleague.name}."


def test_without_javascript_the_sentence_is_flashed_on_the_page(browser, world, ticket):
    browser.sign_in(world.agent.email)
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/claim", {"version": fresh(world, ticket).version}
    )
    assert answer.status_code == 303
    page = text(browser.get(answer.headers["Location"]))
    assert f"Claim: #{ticket.number} is now yours." in page
