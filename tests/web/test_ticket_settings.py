"""Priority and SLA plan from the ticket page header: who may, what the answers are (303
without JavaScript, the page's fragment with HTMX, 409 stale, 422 refused), CSRF."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from workflow import services
from workflow.models import SlaPlan, Ticket, TransitionLog

HIGH = 3
HX = {"HX-Request": "true"}


@pytest.fixture
def ticket(world):
    """A Support ticket; Alice works in Support, Bob (the colleague) in no department."""
    world.agent.departments.append(world.department)
    world.session.commit()
    return world.open()


def fresh(world, ticket):
    world.session.expire_all()
    return world.session.get(Ticket, ticket.id)


def sev(world, name):
    return world.session.scalar(select(SlaPlan.id).where(SlaPlan.name == name))


def test_the_header_offers_both_settings_with_the_current_values(browser, world, ticket):
    browser.sign_in(world.agent.email)
    html = browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert f'action="/staff/tickets/{ticket.number}/priority"' in html
    assert f'hx-post="/staff/tickets/{ticket.number}/sla-plan"' in html
    assert re.search(r'<option value="2" selected>Normal</option>', html)
    assert re.search(rf'<option value="{sev(world, "SEV C")}" selected>SEV C</option>', html)


def test_raising_the_priority_redirects_back_and_logs_it(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/priority", {"version": 1, "priority_id": HIGH}
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/staff/tickets/{ticket.number}")
    assert fresh(world, ticket).priority_id == HIGH
    page = browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "Priority changed to High." in page  # the flash
    assert "Priority changed from Normal to High." in page  # the log row in the thread


def test_with_htmx_the_answer_is_the_pages_main_fragment(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/sla-plan",
        {"version": 1, "sla_plan_id": sev(world, "SEV A")},
        headers=HX,
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<html" not in html
    assert "SLA plan changed to SEV A; its clocks restart now." in html
    assert re.search(rf'<option value="{sev(world, "SEV A")}" selected>SEV A</option>', html)
    assert 'name="version" value="2"' in html  # the forms carry the new version
    assert fresh(world, ticket).sla_plan_id == sev(world, "SEV A")


def test_no_plan_stops_the_clocks(browser, world, ticket):
    browser.sign_in(world.admin.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/sla-plan", {"version": 1, "sla_plan_id": ""}
    )
    assert answer.status_code == 303
    changed = fresh(world, ticket)
    assert (changed.sla_plan_id, changed.next_due_at) == (None, None)


def test_a_stale_version_answers_409_and_changes_nothing(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    services.add_note(world.session, ticket.id, world.actor(world.admin), world.now, "Looked.")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/priority", {"version": 1, "priority_id": HIGH}
    )
    assert answer.status_code == 409
    page = answer.get_data(as_text=True)
    assert "added an internal note to this ticket after you opened it" in page
    assert "Nothing was changed." in page
    assert fresh(world, ticket).priority_id == 2


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"priority_id": "99"}, "Choose one of the priorities offered."),
        ({"priority_id": "urgent"}, "Choose one of the priorities offered."),
        ({"priority_id": "2"}, "already has Normal priority"),
    ],
)
def test_a_refused_priority_answers_422_with_a_sentence(browser, world, ticket, form, message):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(f"/staff/tickets/{ticket.number}/priority", {"version": 1, **form})
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert fresh(world, ticket).version == 1


def test_a_closed_ticket_keeps_its_settings_and_offers_no_form(browser, world, ticket):
    services.apply_event(
        world.session, ticket.id, "discard", world.actor(world.admin), world.now, note="Spam."
    )
    browser.sign_in(world.admin.email)
    html = browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert "Change priority" not in html
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/priority",
        {"version": fresh(world, ticket).version, "priority_id": HIGH},
    )
    assert answer.status_code == 422
    assert "is closed" in answer.get_data(as_text=True)


ROUTES = ("priority", "sla-plan")


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    ("who", "status"),
    [
        (None, 302),  # not signed in: to the staff sign-in
        ("customer", 403),
        ("ops", 403),
        ("colleague", 404),  # an agent of no department of this ticket
    ],
)
def test_who_may_change_the_settings(browser, world, ticket, route, who, status):
    if who is not None:
        user = getattr(world, who)
        browser.sign_in(user.email, staff=user.is_staff)
    browser.get("/staff/login")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/{route}",
        {"version": 1, "priority_id": HIGH, "sla_plan_id": sev(world, "SEV A")},
    )
    assert answer.status_code == status
    if status == 302:
        assert "/staff/login" in answer.headers["Location"]
    changed = fresh(world, ticket)
    assert (changed.version, changed.priority_id) == (1, 2)


@pytest.mark.parametrize("route", ROUTES)
def test_a_post_without_the_csrf_token_is_refused(browser, world, ticket, route):
    browser.sign_in(world.agent.email)
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/{route}",
        {"version": 1, "priority_id": HIGH, "sla_plan_id": ""},
        csrf=False,
    )
    assert answer.status_code == 400
    assert fresh(world, ticket).version == 1
    logged = world.session.scalars(
        select(TransitionLog.event).where(TransitionLog.ticket_id == ticket.id)
    ).all()
    assert logged == ["open"]
