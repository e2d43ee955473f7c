"""The agent dashboard: queues with counts, most urgent on top, keyset pages, a fixed
number of queries however many rows a page shows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.web.helpers import count_queries
from web.staff import queues
from workflow import services
from workflow.models import Ticket

ROW = re.compile(r'<td><a href="/staff/tickets/(\d+)">\1</a>')


@pytest.fixture
def staffed(world):
    world.agent.departments.append(world.department)
    world.session.commit()
    return world


def open_many(world, n, **kw):
    return [world.open(subject=f"Ticket {i}", **kw) for i in range(n)]


def numbers(page):
    return [int(n) for n in ROW.findall(page.get_data(as_text=True))]


def set_urgency(world, ticket, priority, due):
    world.session.execute(
        update(Ticket).where(Ticket.id == ticket.id).values(priority_id=priority, next_due_at=due)
    )
    world.session.commit()


def test_the_most_urgent_ticket_is_on_top(browser, staffed):
    world = staffed
    low, high_later, high_sooner, emergency = open_many(world, 4)
    set_urgency(world, low, 1, world.now + timedelta(hours=1))
    set_urgency(world, high_later, 3, world.now + timedelta(hours=5))
    set_urgency(world, high_sooner, 3, world.now + timedelta(hours=2))
    set_urgency(world, emergency, 4, None)
    browser.sign_in(world.agent.email)
    page = browser.get("/staff?queue=open")
    assert numbers(page) == [emergency.number, high_sooner.number, high_later.number, low.number]


def test_queues_hold_what_they_say_with_their_counts(browser, staffed):
    world = staffed
    mine, unassigned, teams = open_many(world, 3)
    agent = world.actor(world.agent)
    services.apply_event(world.session, mine.id, "claim", agent, world.now)
    services.apply_event(
        world.session, teams.id, "assign", agent, world.now, team_id=world.level2.id
    )
    browser.sign_in(world.agent.email)
    assert numbers(browser.get("/staff?queue=mine")) == [mine.number]
    assert numbers(browser.get("/staff?queue=unassigned")) == [unassigned.number]
    html = browser.get("/staff").get_data(as_text=True)
    assert re.search(r"All open <span class=\"count\">3</span>", html)
    assert re.search(r"Unassigned <span class=\"count\">1</span>", html)


def test_agents_only_see_their_departments(browser, staffed):
    world = staffed
    ours = world.open()
    theirs = world.open()
    world.session.execute(
        update(Ticket).where(Ticket.id == theirs.id).values(department_id=world.other_department.id)
    )
    world.session.commit()
    browser.sign_in(world.agent.email)
    assert numbers(browser.get("/staff?queue=open")) == [ours.number]
    browser.post("/staff/logout")
    browser.sign_in(world.admin.email)
    assert sorted(numbers(browser.get("/staff?queue=open"))) == sorted([ours.number, theirs.number])


def test_pages_continue_by_keyset_without_gaps_or_repeats(browser, staffed, monkeypatch):
    world = staffed
    monkeypatch.setattr(queues, "PAGE_SIZE", 4)
    opened = open_many(world, 10)
    browser.sign_in(world.agent.email)
    seen, url = [], "/staff?queue=open"
    while url:
        page = browser.get(url)
        seen += numbers(page)
        found = re.search(
            r'href="(/staff\?queue=open&amp;after=[^"]+)"', page.get_data(as_text=True)
        )
        url = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(seen) == sorted(t.number for t in opened) and len(seen) == 10


def test_a_page_makes_the_same_few_queries_however_many_rows(app, browser, staffed):
    world = staffed
    browser.sign_in(world.agent.email)

    def queries_for_open_queue():
        answer, statements = count_queries(app, lambda: browser.get("/staff?queue=open"))
        assert answer.status_code == 200
        return len(statements)

    open_many(world, 2)
    few = queries_for_open_queue()
    open_many(world, 20)
    many = queries_for_open_queue()
    assert few == many
    # session user, rows, one count per queue, workflow lookup, four filter option lists,
    # the bulk bar's teams
    assert many <= 3 + len(queues.QUEUES) + 2 + 4 + 1


def test_counts_are_capped_instead_of_scanning(browser, staffed, monkeypatch):
    world = staffed
    monkeypatch.setattr(queues, "COUNT_CAP", 3)
    open_many(world, 5)
    browser.sign_in(world.agent.email)
    html = browser.get("/staff").get_data(as_text=True)
    assert re.search(r"All open <span class=\"count\">3\+</span>", html)


def test_bad_queue_names_and_broken_page_links_are_clear_errors(browser, staffed):
    browser.sign_in(staffed.agent.email)
    assert browser.get("/staff?queue=everything").status_code == 404
    assert browser.get("/staff?queue=open&after=garbage").status_code == 400


def test_customers_are_kept_out(browser, staffed):
    browser.sign_in(staffed.customer.email, staff=False)
    assert browser.get("/staff").status_code == 403


def test_filters_and_search_narrow_the_queue_and_its_counts(browser, staffed):
    world = staffed
    printer, vpn, urgent = (
        world.open(subject=s) for s in ("Printer jams", "VPN 100% broken_now", "Server room is hot")
    )
    set_urgency(world, urgent, 4, None)
    other = world.open(subject="Printer toner", customer=world.other_customer)
    browser.sign_in(world.agent.email)
    assert numbers(browser.get("/staff?queue=open&q=printer")) == [printer.number, other.number]
    assert numbers(browser.get(f"/staff?queue=open&q=%23{vpn.number}")) == [vpn.number]
    assert numbers(browser.get("/staff?queue=open&q=100%25")) == [vpn.number]  # % is literal
    assert numbers(browser.get("/staff?queue=open&q=OSCAR@example.com")) == [other.number]
    page = browser.get("/staff?queue=open&priority_id=4")
    assert numbers(page) == [urgent.number]
    assert re.search(r"All open <span class=\"count\">1</span>", page.get_data(as_text=True))
    assert (
        numbers(browser.get(f"/staff?queue=open&department_id={world.other_department.id}")) == []
    )


def test_a_malformed_filter_is_a_clear_400(browser, staffed):
    browser.sign_in(staffed.agent.email)
    answer = browser.get("/staff?queue=open&priority_id=urgent")
    assert answer.status_code == 400
    assert "must be chosen from the list" in answer.get_data(as_text=True)
