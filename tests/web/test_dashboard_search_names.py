"""Agents find a customer's tickets by the customer's name: a word search matches the
subject or the requester's name, in every queue and in the counts, within the agent's
departments only."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.orm import Session

from tests.factories import make_user
from tests.web.helpers import count_of
from web.staff import queue_counts, queues
from workflow import services
from workflow.models import Role, Ticket

ROW = re.compile(r'<td><a href="/staff/tickets/(\d+)">\1</a>')
QUEUE_PAGES = ("open", "mine", "unassigned", "closed")


def numbers(page) -> list[int]:
    assert page.status_code == 200
    return sorted(int(n) for n in ROW.findall(page.get_data(as_text=True)))


@pytest.fixture
def karen(world):
    """Karen Miller with a ticket in each of: Unassigned, My tickets (the agent's), Closed;
    Ken with one ticket whose subject names nobody."""
    world.agent.departments.append(world.department)
    customer = make_user(world.session, "km@example.com", "Karen Miller", Role.END_USER, world.now)
    ken = make_user(world.session, "ken@example.com", "Ken Adams", Role.END_USER, world.now)
    world.session.commit()
    waiting = world.open(subject="Card declined", customer=customer)
    claimed = world.open(subject="Cannot sign in", customer=customer)
    closed = world.open(subject="Statement missing", customer=customer)
    world.open(subject="Card declined too", customer=ken)
    services.apply_event(world.session, claimed.id, "claim", world.actor(world.agent), world.now)
    world.session.execute(
        update(Ticket)
        .where(Ticket.id == closed.id)
        .values(state="closed", closed_at=world.now, assignee_id=None)
    )
    world.session.commit()
    world.karens = {"unassigned": waiting, "mine": claimed, "closed": closed}
    world.ken = ken
    return world


def expected(world, queue: str) -> list[int]:
    t = world.karens
    return sorted(
        {
            "open": [t["unassigned"].number, t["mine"].number],
            "mine": [t["mine"].number],
            "unassigned": [t["unassigned"].number],
            "closed": [t["closed"].number],
        }[queue]
    )


@pytest.mark.parametrize("typed", ["Karen", "miller", "KAREN MIL", "ren mi", "  aren  "])
def test_a_requesters_name_or_part_of_it_finds_their_tickets_in_every_queue(browser, karen, typed):
    browser.sign_in(karen.agent.email)
    for queue in QUEUE_PAGES:
        page = browser.get("/staff", query_string={"queue": queue, "q": typed})
        assert numbers(page) == expected(karen, queue), (typed, queue)
    assert (count_of(page, "All open"), count_of(page, "My tickets")) == ("2", "1")
    assert (count_of(page, "Unassigned"), count_of(page, "Closed")) == ("1", "1")
    assert count_of(page, "My team") == "0"


def test_a_name_matching_many_people_is_found_the_same_way(browser, karen, monkeypatch):
    """Past NAME_IDS_CAP people the names are matched in a subquery instead of a list."""
    monkeypatch.setattr(queues, "NAME_IDS_CAP", 1)
    make_user(karen.session, "k2@example.com", "Karen Other", Role.END_USER, karen.now)
    karen.session.commit()
    browser.sign_in(karen.agent.email)
    for typed in ("karen", "Karen Miller"):  # two people, then one
        page = browser.get("/staff", query_string={"queue": "open", "q": typed})
        assert numbers(page) == expected(karen, "open"), typed
        assert count_of(page, "All open") == "2" and count_of(page, "Closed") == "1"


def test_subject_words_still_match_alongside_names(browser, karen):
    ken_about_karen = karen.open(subject="Karen's card was charged twice", customer=karen.ken)
    browser.sign_in(karen.agent.email)
    page = browser.get("/staff", query_string={"queue": "open", "q": "karen"})
    assert numbers(page) == sorted([*expected(karen, "open"), ken_about_karen.number])
    assert count_of(page, "All open") == "3"
    page = browser.get("/staff", query_string={"queue": "open", "q": "declined"})
    assert len(numbers(page)) == 2  # Karen's and Ken's "Card declined"
    page = browser.get("/staff", query_string={"queue": "open", "q": "nobody by this name"})
    assert numbers(page) == [] and count_of(page, "All open") == "0"


def test_typed_like_wildcards_are_literal_in_names(browser, karen):
    odd = make_user(karen.session, "pat@example.com", "Pat 50%_Off", Role.END_USER, karen.now)
    karen.session.commit()
    theirs = karen.open(subject="Discount not applied", customer=odd)
    browser.sign_in(karen.agent.email)
    for typed, found in (("50%_", [theirs.number]), ("ka_en", []), ("%", [theirs.number])):
        page = browser.get("/staff", query_string={"queue": "open", "q": typed})
        assert numbers(page) == found, typed
        assert count_of(page, "All open") == str(len(found)), typed


def test_an_agent_finds_by_name_only_in_their_departments(browser, karen):
    elsewhere = karen.karens["unassigned"]
    karen.session.execute(
        update(Ticket)
        .where(Ticket.id == elsewhere.id)
        .values(department_id=karen.other_department.id)
    )
    karen.session.commit()
    browser.sign_in(karen.agent.email)
    page = browser.get("/staff", query_string={"queue": "open", "q": "karen"})
    assert numbers(page) == [karen.karens["mine"].number]
    assert (count_of(page, "All open"), count_of(page, "Unassigned")) == ("1", "0")
    browser.post("/staff/logout")
    browser.sign_in(karen.admin.email)
    page = browser.get("/staff", query_string={"queue": "open", "q": "karen"})
    assert numbers(page) == expected(karen, "open")
    assert count_of(page, "All open") == "2"


def test_the_search_box_says_what_it_matches(browser, karen):
    browser.sign_in(karen.agent.email)
    html = browser.get("/staff").get_data(as_text=True)
    assert 'placeholder="number, subject, requester name or email"' in html


@pytest.mark.postgres
def test_a_name_search_reads_the_name_and_requester_indexes(engine, karen):
    """With sequential scans priced out: the names come from ix_users_name_trgm and their
    tickets from ix_tickets_requester, OR-ed as bitmaps with the subject's trigram index,
    in one counts statement without a join to users."""
    seen: list[tuple[str, object]] = []

    def listen(_conn, _cursor, statement, params, *_rest):
        seen.append((statement, params))

    with Session(engine) as session:
        person = session.get(type(karen.agent), karen.agent.id)
        session.execute(text("SET LOCAL enable_seqscan = off"))
        event.listen(engine, "before_cursor_execute", listen)
        try:
            queue_counts.counts(session, person, queues.Filters(q="karen"))
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        cursor = session.connection().connection.driver_connection.cursor()
        plans = {}
        for statement, params in seen:
            kind = "tally" if "count(*)" in statement else "names" if "ILIKE" in statement else ""
            cursor.execute("EXPLAIN " + statement, params)
            plans[kind] = "\n".join(row[0] for row in cursor.fetchall())
    names, tally = plans["names"], plans["tally"]
    assert "ix_users_name_trgm" in names
    assert "ix_tickets_requester" in tally and "ix_tickets_subject_trgm" in tally
    assert "BitmapOr" in tally and "users" not in tally
