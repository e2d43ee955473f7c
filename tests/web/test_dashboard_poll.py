"""The dashboard's polling fallback sees every change a dashboard shows: 204 while nothing
changed, then 200 with the change, then 204 again. Each kind of change is tried: an event,
a priority or SLA plan change, a bulk action, an escalation step, a hand-over when an agent
is deactivated, an admin's rename, and a write that commits after a later one did."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select

from workflow import escalating, handover, services, structure, ticket_settings
from workflow.models import EntryKind, Priority, SlaPlan, ThreadEntry, Ticket

HX = {"HX-Request": "true"}
CURSOR = re.compile(r'id="queue-cursor" name="since" value="([^"]+)"')


@pytest.fixture
def desk(app, world):
    """Alice works the Support department; the ticket is open; the admin watches All open."""
    world.agent.departments.append(world.department)
    world.session.commit()
    return world


def cursor_of(answer) -> str:
    return CURSOR.search(answer.get_data(as_text=True)).group(1)


def poll(browser, cursor):
    return browser.get(f"/staff?queue=open&since={cursor}", headers=HX)


def watching(browser, world) -> str:
    """The admin's dashboard as loaded: its cursor, and proof that polling it is 204."""
    browser.sign_in(world.admin.email)
    cursor = cursor_of(browser.get("/staff?queue=open"))
    assert poll(browser, cursor).status_code == 204
    return cursor


def fresh(world, ticket) -> Ticket:
    world.session.expire_all()
    return world.session.get(Ticket, ticket.id)


def claim(world, ticket, browser):
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), world.now)
    return "Alice Agent"


def raise_priority(world, ticket, browser):
    emergency = world.session.scalar(select(Priority).where(Priority.name == "Emergency"))
    ticket_settings.change_priority(
        world.session, ticket.id, emergency.id, world.actor(world.agent), world.now
    )
    return "Emergency"


def change_plan(world, ticket, browser):
    plan = world.session.scalar(select(SlaPlan).where(SlaPlan.name == "SEV A"))
    ticket_settings.change_sla_plan(
        world.session, ticket.id, plan.id, world.actor(world.agent), world.now
    )
    return "SEV A"


def bulk_claim(world, ticket, browser):
    """The admin's own bulk action from the dashboard (each row through its verb)."""
    version = fresh(world, ticket).version
    answer = browser.post(
        "/staff/bulk",
        {"action": "claim", "ticket": [str(ticket.number)], f"version-{ticket.number}": version},
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return "Ada Admin"


def escalation_step(world, ticket, browser):
    """SEV A's breach raises the priority and hands the ticket to Level 2 (a job's work)."""
    change_plan(world, ticket, browser)
    browser.get("/staff?queue=open")  # (the plan change itself is seen: test above)
    run = escalating.run_due(world.session, ticket.id, world.now + timedelta(hours=3))
    assert run.ran
    return "Level 2 Support"


def rename_team(world, ticket, browser):
    structure.save_team(
        world.session,
        world.actor(world.admin),
        world.now,
        "Second Line",
        world.department.id,
        [world.colleague.id],
        team_id=world.level2.id,
    )
    return "Second Line"


def customer_reply(world, ticket, browser):
    services.reply(world.session, ticket.id, world.actor(world.customer), world.now, "Any news?")
    return None


CHANGES: dict[str, Callable] = {
    "an event": claim,
    "a priority change": raise_priority,
    "an SLA plan change": change_plan,
    "a bulk action": bulk_claim,
    "an escalation step": escalation_step,
    "a customer's message": customer_reply,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_the_poll_answers_every_change_then_204_again(browser, desk, change):
    ticket = desk.open()
    cursor = watching(browser, desk)
    evidence = change(desk, ticket, browser)
    answer = poll(browser, cursor)
    assert answer.status_code == 200
    if evidence:
        assert evidence in answer.get_data(as_text=True)
    assert poll(browser, cursor_of(answer)).status_code == 204


def test_a_hand_over_when_an_agent_is_deactivated_is_seen(browser, desk):
    ticket = desk.open()
    services.apply_event(desk.session, ticket.id, "claim", desk.actor(desk.agent), desk.now)
    cursor = watching(browser, desk)
    handover.deactivate(
        desk.session,
        desk.actor(desk.admin),
        desk.now,
        desk.agent.id,
        {ticket.id: handover.Destination(agent_id=desk.colleague.id)},
        {ticket.id: fresh(desk, ticket).version},
    )
    answer = poll(browser, cursor)
    assert answer.status_code == 200 and "Bob Level2" in answer.get_data(as_text=True)
    assert poll(browser, cursor_of(answer)).status_code == 204


def test_an_admins_rename_shown_in_the_rows_is_seen(browser, desk):
    ticket = desk.open()
    services.apply_event(
        desk.session, ticket.id, "assign", desk.actor(desk.admin), desk.now, team_id=desk.level2.id
    )
    cursor = watching(browser, desk)
    rename_team(desk, ticket, browser)
    answer = poll(browser, cursor)
    assert answer.status_code == 200 and "Second Line" in answer.get_data(as_text=True)
    assert poll(browser, cursor_of(answer)).status_code == 204


@pytest.mark.postgres
def test_a_change_that_commits_after_a_later_one_is_still_seen(
    browser, desk, session_factory, is_postgres
):
    """Ids are handed out at insert, not at commit: the slower writer's row is older."""
    assert is_postgres, "only PostgreSQL runs writers side by side (SQLite takes turns)"
    ticket = desk.open()
    cursor = watching(browser, desk)
    with session_factory() as slow:
        slow.add(
            ThreadEntry(
                ticket_id=ticket.id,
                kind=EntryKind.INTERNAL_NOTE,
                author_id=desk.agent.id,
                body="Written first, committed last.",
                created_at=desk.now,
            )
        )
        slow.flush()  # its id is taken now
        services.add_note(desk.session, ticket.id, desk.actor(desk.colleague), desk.now, "Fast.")
        answer = poll(browser, cursor)
        assert answer.status_code == 200
        cursor = cursor_of(answer)
        assert poll(browser, cursor).status_code == 204
        slow.commit()
    assert poll(browser, cursor).status_code == 200
