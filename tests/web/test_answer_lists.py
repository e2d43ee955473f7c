"""The lists an event's HTMX answer shows are kept by the process for a few seconds
(web/staff/answer_lists.py): what that saves, and what a stale copy can and cannot do."""

from __future__ import annotations

from sqlalchemy import update

from tests.factories import make_user
from tests.web.helpers import HX, fresh, text
from web.staff import answer_lists
from workflow import services
from workflow.models import Role, User


def started(browser, world) -> tuple[int, str]:
    """A new ticket claimed by Alice, then started through its HTMX button: its number and
    the answer."""
    ticket = world.open()
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), world.now)
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/start",
        {"version": fresh(world, ticket).version},
        headers=HX,
    )
    assert answer.status_code == 200, text(answer)
    return ticket.number, text(answer)


def later(monkeypatch, seconds: float) -> None:
    """Move the lists' age clock `seconds` ahead of the real one."""
    real = answer_lists.monotonic
    monkeypatch.setattr(answer_lists, "monotonic", lambda: real() + seconds)


def test_a_new_agent_is_offered_once_the_kept_lists_are_old(browser, world, monkeypatch):
    browser.sign_in(world.agent.email)
    assert "Nina New" not in started(browser, world)[1]  # the lists are read and kept
    make_user(world.session, "nina@example.com", "Nina New", Role.AGENT, world.now)
    world.session.commit()

    number, kept = started(browser, world)
    assert f">{world.colleague.name}</option>" in kept and "Nina New" not in kept
    page = text(browser.get(f"/staff/tickets/{number}"))
    assert ">Nina New</option>" in page  # the page reads its lists on every load

    later(monkeypatch, answer_lists.KEEP_SECONDS + 1)
    assert ">Nina New</option>" in started(browser, world)[1]


def test_an_agent_deactivated_meanwhile_is_offered_but_refused(browser, world):
    browser.sign_in(world.agent.email)
    assert f">{world.colleague.name}</option>" in started(browser, world)[1]
    world.session.execute(update(User).where(User.id == world.colleague.id).values(is_active=False))
    world.session.commit()
    ticket = world.open()
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), world.now)
    version = fresh(world, ticket).version

    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/transfer",
        {"version": version, "note": "Over to you, thanks!", "assignee_id": world.colleague.id},
        headers=HX,
    )
    assert answer.status_code == 422
    assert "The agent you chose can no longer take tickets; reload the page" in text(answer)
    after = fresh(world, ticket)
    assert (after.version, after.assignee_id) == (version, world.agent.id)
