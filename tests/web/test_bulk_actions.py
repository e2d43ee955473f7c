"""Bulk actions from the dashboard: each selected ticket through its own verb and
transaction, every outcome reported (the refused ones with their reasons), with HTMX (the
list under the bar) and without (a 303 to a signed result page)."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from sqlalchemy import update

from workflow import services
from workflow.models import Ticket

HX = {"HX-Request": "true"}


@pytest.fixture
def staffed(world):
    world.agent.departments.append(world.department)
    world.session.commit()
    return world


def fresh(world, ticket):
    world.session.expire_all()
    return world.session.get(Ticket, ticket.id)


def pick(*tickets):
    """The form fields of ticked rows: each number, and the version its row shows."""
    return {
        "ticket": [str(t.number) for t in tickets],
        **{f"version-{t.number}": str(t.version) for t in tickets},
    }


def result_page(browser, answer):
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert "/staff/bulk/result?r=" in answer.headers["Location"]
    page = browser.get(answer.headers["Location"])
    assert page.status_code == 200
    return text(page.get_data(as_text=True))


def text(html):
    """What a person reads: no tags, single spaces."""
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_dashboard_has_a_checkbox_per_row_and_the_bulk_bar(browser, staffed):
    one, two = staffed.open(), staffed.open()
    browser.sign_in(staffed.agent.email)
    html = browser.get("/staff?queue=open").get_data(as_text=True)
    for t in (one, two):
        assert f'name="ticket" value="{t.number}" form="bulk-actions"' in html
        assert f'name="version-{t.number}" value="{t.version}" form="bulk-actions"' in html
    assert 'id="bulk-actions"' in html and 'hx-post="/staff/bulk"' in html
    assert 'value="change_priority"' in html and "Level 2 Support" in html


def test_claiming_several_reports_each_one_and_refuses_only_those_that_fail(browser, staffed):
    world = staffed
    fine, mine, moved, elsewhere = (world.open(subject=f"T{i}") for i in range(4))
    agent = world.actor(world.agent)
    services.apply_event(world.session, mine.id, "claim", agent, world.now)
    mine = fresh(world, mine)
    selection = pick(fine, mine, moved, elsewhere)
    services.add_note(world.session, moved.id, world.actor(world.admin), world.now, "Moved on.")
    world.session.execute(
        update(Ticket)
        .where(Ticket.id == elsewhere.id)
        .values(department_id=world.other_department.id)
    )
    world.session.commit()
    browser.sign_in(world.agent.email)
    browser.get("/staff?queue=open")
    page = result_page(browser, browser.post("/staff/bulk", {"action": "claim", **selection}))
    assert "Claim: 1 of 4 tickets done; the others were left as they were." in page
    assert f"#{fine.number} : done." in page
    assert "You are already assigned to this ticket." in page
    assert f"Ticket #{moved.number} was changed by someone else" in page
    assert "There is no such ticket, or it belongs to a department you do not work in." in page
    assert fresh(world, fine).assignee_id == world.agent.id
    assert fresh(world, moved).assignee_id is None
    assert fresh(world, elsewhere).assignee_id is None


def test_with_htmx_the_outcome_list_is_the_answer(browser, staffed):
    world = staffed
    a, b = world.open(), world.open()
    browser.sign_in(world.agent.email)
    browser.get("/staff?queue=open")
    answer = browser.post(
        "/staff/bulk",
        {"action": "assign", "team_id": world.level2.id, **pick(a, b)},
        headers=HX,
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "<html" not in html
    assert answer.headers["HX-Trigger"] == "live-resync"  # the queue re-reads itself
    assert "Assign: 2 of 2 tickets done." in text(html)
    assert fresh(world, a).team_id == fresh(world, b).team_id == world.level2.id


def test_changing_the_priority_of_several(browser, staffed):
    world = staffed
    a, b = world.open(), world.open()
    browser.sign_in(world.admin.email)
    browser.get("/staff?queue=open")
    page = result_page(
        browser,
        browser.post("/staff/bulk", {"action": "change_priority", "priority_id": 4, **pick(a, b)}),
    )
    assert "2 of 2 tickets done." in page
    assert fresh(world, a).priority_id == fresh(world, b).priority_id == 4


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"action": "claim"}, "Select at least one ticket first."),
        ({"action": "assign", "ticket": ["100001"]}, "Choose the agent or team"),
        ({"action": "change_priority", "ticket": ["100001"]}, "Choose the priority"),
        ({"action": "delete", "ticket": ["100001"]}, "Choose one of the actions offered"),
    ],
)
def test_an_incomplete_request_is_a_422_sentence_and_changes_nothing(
    browser, staffed, form, message
):
    ticket = staffed.open()
    browser.sign_in(staffed.agent.email)
    browser.get("/staff?queue=open")
    answer = browser.post("/staff/bulk", form)
    assert answer.status_code == 422
    assert message in answer.get_data(as_text=True)
    assert fresh(staffed, ticket).version == 1


def test_a_garbled_selection_is_a_400(browser, staffed):
    browser.sign_in(staffed.agent.email)
    browser.get("/staff?queue=open")
    answer = browser.post(
        "/staff/bulk", {"action": "claim", "ticket": ["1;DROP"], "version-1": "x"}
    )
    assert answer.status_code == 400
    assert "The selection was garbled" in answer.get_data(as_text=True)


@pytest.mark.parametrize(("who", "status"), [(None, 302), ("customer", 403), ("ops", 403)])
def test_who_may_act_in_bulk(browser, staffed, who, status):
    ticket = staffed.open()
    if who is not None:
        user = getattr(staffed, who)
        browser.sign_in(user.email, staff=user.is_staff)
    browser.get("/staff/login")
    answer = browser.post("/staff/bulk", {"action": "claim", **pick(ticket)})
    assert answer.status_code == status
    assert fresh(staffed, ticket).assignee_id is None


def test_bulk_actions_need_the_csrf_token(browser, staffed):
    ticket = staffed.open()
    browser.sign_in(staffed.agent.email)
    answer = browser.post("/staff/bulk", {"action": "claim", **pick(ticket)}, csrf=False)
    assert answer.status_code == 400
    assert fresh(staffed, ticket).assignee_id is None


def test_a_result_link_is_for_its_author_only_and_cannot_be_forged(browser, staffed):
    world = staffed
    world.colleague.departments.append(world.department)
    world.session.commit()
    ticket = world.open()
    browser.sign_in(world.agent.email)
    browser.get("/staff?queue=open")
    link = browser.post("/staff/bulk", {"action": "claim", **pick(ticket)}).headers["Location"]
    assert browser.get(link.replace("r=", "r=x")).status_code == 400
    browser.post("/staff/logout")
    browser.sign_in(world.colleague.email)
    assert browser.get(link).status_code == 404
