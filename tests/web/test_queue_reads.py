"""What the dashboard and the ticket page read, and how: the queue order with and without
due times, every count in one statement, search counts that say when they are lower bounds,
the team queue of someone in no team, a ticket page whose statements do not grow with its
thread, and (PostgreSQL) queue pages read in order from their indexes, search through its
own indexes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, text, update
from sqlalchemy.orm import Session

from tests.web.helpers import count_of, count_queries
from web.staff import queue_counts, queues
from workflow import services
from workflow.models import Ticket

ROW = re.compile(r'<td><a href="/staff/tickets/(\d+)">\1</a>')


@pytest.fixture
def staffed(world):
    world.agent.departments.append(world.department)
    world.session.commit()
    return world


def numbers(page) -> list[int]:
    return [int(n) for n in ROW.findall(page.get_data(as_text=True))]


def statements(app, browser, url: str) -> list[str]:
    answer, seen = count_queries(app, lambda: browser.get(url))
    assert answer.status_code == 200
    return seen


def urgency(world, ticket, priority, due) -> None:
    world.session.execute(
        update(Ticket).where(Ticket.id == ticket.id).values(priority_id=priority, next_due_at=due)
    )
    world.session.commit()


def test_tickets_without_a_due_time_come_last_and_pages_continue_across_them(
    browser, staffed, monkeypatch
):
    world = staffed
    monkeypatch.setattr(queues, "PAGE_SIZE", 2)
    a, b, c, d, e, f = (world.open(subject=f"Ticket {i}") for i in range(6))
    hour = timedelta(hours=1)
    for ticket, priority, due in (
        (a, 3, world.now + hour),
        (b, 3, None),
        (c, 3, world.now + 2 * hour),
        (d, 2, None),
        (e, 2, world.now + hour / 2),
        (f, 3, None),
    ):
        urgency(world, ticket, priority, due)
    browser.sign_in(world.agent.email)
    seen, url = [], "/staff?queue=open"
    while url:
        page = browser.get(url)
        seen += numbers(page)
        found = re.search(
            r'href="(/staff\?queue=open&amp;after=[^"]+)"', page.get_data(as_text=True)
        )
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == [t.number for t in (a, c, b, f, e, d)]


def test_every_queue_count_comes_from_one_statement(app, browser, staffed):
    world = staffed
    world.open()
    browser.sign_in(world.agent.email)
    sql = statements(app, browser, "/staff?queue=open")
    assert len([s for s in sql if "count(*)" in s and "FROM tickets" in s]) == 1


def test_search_counts_come_from_one_statement_and_are_exact_below_their_cap(app, browser, staffed):
    world = staffed
    claimed, waiting = world.open(subject="Printer jams"), world.open(subject="printer toner")
    world.open(subject="VPN is down")
    services.apply_event(world.session, claimed.id, "claim", world.actor(world.agent), world.now)
    browser.sign_in(world.agent.email)
    page = browser.get("/staff?queue=open&q=printer")
    assert sorted(numbers(page)) == sorted([claimed.number, waiting.number])
    assert (count_of(page, "All open"), count_of(page, "My tickets")) == ("2", "1")
    assert (count_of(page, "Unassigned"), count_of(page, "Closed")) == ("1", "0")
    sql = statements(app, browser, "/staff?queue=open&q=printer")
    assert len([s for s in sql if "count(*)" in s and "FROM tickets" in s]) == 1
    # the requester names a word matches are looked up once, for the rows and the counts
    lookups = [s for s in sql if s.startswith("SELECT users.id \nFROM users")]
    assert len(lookups) == 1, lookups


def test_search_counts_past_their_cap_say_they_are_lower_bounds(browser, staffed, monkeypatch):
    world = staffed
    monkeypatch.setattr(queues, "SEARCH_COUNT_CAP", 2)
    for i in range(3):
        world.open(subject=f"Printer {i} jams")
    world.open(subject="VPN is down")
    browser.sign_in(world.agent.email)
    broad = browser.get("/staff?queue=open&q=printer")
    assert len(numbers(broad)) == 3  # the page itself is not capped
    assert (count_of(broad, "All open"), count_of(broad, "Closed")) == ("2+", "0+")
    narrow = browser.get("/staff?queue=open&q=vpn")
    assert count_of(narrow, "All open") == "1"


def test_the_team_queue_holds_the_teams_tickets_and_is_empty_for_someone_in_no_team(
    browser, staffed
):
    world = staffed
    world.level2.members.append(world.agent)
    world.session.commit()
    ours, other = world.open(), world.open()
    services.apply_event(
        world.session,
        ours.id,
        "assign",
        world.actor(world.admin),
        world.now,
        team_id=world.level2.id,
    )
    browser.sign_in(world.agent.email)
    page = browser.get("/staff?queue=team")
    assert numbers(page) == [ours.number] and other.number not in numbers(page)
    assert count_of(page, "My team") == "1"
    browser.post("/staff/logout")
    browser.sign_in(world.admin.email)  # admins see every ticket but are in no team
    page = browser.get("/staff?queue=team")
    assert numbers(page) == [] and count_of(page, "My team") == "0"


def test_the_ticket_page_makes_the_same_statements_with_3_or_50_thread_entries(
    app, browser, staffed
):
    world = staffed
    ticket = world.open()
    agent = world.actor(world.agent)
    services.apply_event(world.session, ticket.id, "claim", agent, world.now)
    browser.sign_in(world.agent.email)
    url = f"/staff/tickets/{ticket.number}"
    few = statements(app, browser, url)
    for i in range(48):
        services.add_note(world.session, ticket.id, agent, world.now, f"Looked again ({i}).")
    page = browser.get(url).get_data(as_text=True)
    assert "Looked again (47)." in page and "Alice Agent" in page
    assert len(statements(app, browser, url)) == len(few)


@pytest.mark.postgres
def test_queue_pages_are_read_in_order_from_their_indexes_and_search_uses_its_own(engine, staffed):
    """With sequential scans and sorts priced out (a table of a few rows has no other way to
    show its plans at scale), a queue whose index cannot give the order still needs a Sort
    on the priority: none may. Counts must read an index of the table; subject search must
    go through the trigram index, email search through lower(email)."""
    world = staffed
    world.level2.members.append(world.agent)
    world.session.commit()
    world.open()
    for user in (world.agent, world.admin):
        for q in queues.QUEUES:
            with Session(engine) as session:
                person = session.get(type(user), user.id)
                session.execute(text("SET LOCAL enable_seqscan = off"))
                session.execute(text("SET LOCAL enable_sort = off"))
                with captured(engine) as sql:
                    queues.rows(session, person, q.key)
                    queue_counts.counts(session, person)
                for statement, params in sql:
                    plan = explain(session, statement, params)
                    if "One-Time Filter: false" in plan:
                        continue  # known empty at planning (someone in no team): nothing to read
                    assert "Sort Key: tickets.priority_id" not in plan, (q.key, plan)
                    assert "Seq Scan on tickets" not in plan, (q.key, plan)
    with Session(engine) as session:
        person = session.get(type(world.agent), world.agent.id)
        session.execute(text("SET LOCAL enable_seqscan = off"))
        for q, index in (
            ("printer", "ix_tickets_subject_trgm"),
            ("carol@example.com", "ix_users_email_lower"),
        ):
            with captured(engine) as sql:
                queue_counts.counts(session, person, queues.Filters(q=q))
            assert index in explain(session, *sql[-1])


class captured:
    """The (statement, parameters) pairs run on `engine` inside the block."""

    def __init__(self, engine):
        self.engine, self.found = engine, []

    def listener(self, _conn, _cursor, statement, params, *_rest):
        self.found.append((statement, params))

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self.listener)
        return self.found

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self.listener)


def explain(session: Session, statement: str, params) -> str:
    cursor = session.connection().connection.driver_connection.cursor()
    cursor.execute("EXPLAIN " + statement, params)
    return "\n".join(row[0] for row in cursor.fetchall())
