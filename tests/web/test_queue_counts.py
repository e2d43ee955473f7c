"""An agent's queue counts: their departments' tickets and the ones assigned to them
elsewhere, each queue's count the number of tickets it lists, lower bounds past the cap,
and (PostgreSQL) read through the indexes that lead with the department."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import case, delete, event, func, insert, literal, select, text, true, update
from sqlalchemy.orm import Session

from tests.web.helpers import count_of
from web.staff import queue_counts, queues
from workflow.models import Department, Ticket

ROW = re.compile(r'<td><a href="/staff/tickets/(\d+)">\1</a>')


def numbers(page) -> list[int]:
    return [int(n) for n in ROW.findall(page.get_data(as_text=True))]


@pytest.fixture
def spread(world):
    """The agent works in Billing, between Support (a lower id) and Sales (a higher one), so
    their tickets elsewhere sit on both sides of their department."""
    sales = Department(name="Sales")
    world.session.add(sales)
    world.agent.departments.append(world.other_department)
    world.session.commit()
    assert world.department.id < world.other_department.id < sales.id
    world.sales = sales
    return world


def put(world, ticket, department, **values) -> Ticket:
    world.session.execute(
        update(Ticket).where(Ticket.id == ticket.id).values(department_id=department.id, **values)
    )
    world.session.commit()
    return ticket


def test_an_agents_counts_are_the_tickets_each_queue_lists(browser, spread):
    world = spread
    billing, support, sales = world.other_department, world.department, world.sales
    me, other = world.agent.id, world.colleague.id
    closed = {"state": "closed", "closed_at": world.now}
    for department, values in (
        (billing, {}),  # unassigned, ours
        (billing, {"assignee_id": me, "state": "assigned"}),
        (billing, {"assignee_id": other, "state": "awaiting_customer"}),
        (billing, {"team_id": world.level2.id, "state": "assigned"}),
        (billing, {"assignee_id": other, "state": "resolved"}),
        (billing, closed),
        (support, {"assignee_id": me, "state": "assigned"}),  # ours elsewhere, both sides
        (sales, {"assignee_id": me, "state": "awaiting_customer"}),
        (sales, {"assignee_id": me, **closed}),
        (support, {}),  # someone else's department: not ours
        (sales, {"assignee_id": other, "state": "resolved"}),
        (support, closed),
    ):
        put(world, world.open(), department, **values)
    browser.sign_in(world.agent.email)
    expected = {
        "mine": 3,
        "unassigned": 1,
        "team": 0,  # the agent is in no team
        "open": 7,
        "awaiting": 2,
        "resolved": 1,
        "closed": 2,
    }
    page = browser.get("/staff")
    for q in queues.QUEUES:
        listed = numbers(browser.get(f"/staff?queue={q.key}"))
        assert (q.key, count_of(page, q.label)) == (q.key, str(len(listed)))
        assert (q.key, len(listed)) == (q.key, expected[q.key])


def test_an_agent_in_no_department_counts_only_their_own_tickets(browser, world):
    theirs = put(world, world.open(), world.department, assignee_id=world.agent.id)
    put(world, world.open(), world.other_department)
    browser.sign_in(world.agent.email)
    page = browser.get("/staff?queue=open")
    assert numbers(page) == [theirs.number]
    assert (count_of(page, "All open"), count_of(page, "My tickets")) == ("1", "1")
    assert count_of(page, "Unassigned") == "0"


def test_past_the_cap_an_agents_tickets_elsewhere_make_counts_lower_bounds(
    browser, spread, monkeypatch
):
    world = spread
    monkeypatch.setattr(queues, "COUNT_CAP", 2)
    me = world.agent.id
    for values in ({}, {}, {"state": "closed", "closed_at": world.now}):
        put(world, world.open(), world.department, assignee_id=me, **values)
    browser.sign_in(world.agent.email)
    page = browser.get("/staff")
    # three tickets elsewhere were read, one more than the cap: more may lie beyond it, so
    # their queues say "at least"; "My tickets" is its own range, exact below the cap
    assert count_of(page, "My tickets") == "2"
    assert (count_of(page, "All open"), count_of(page, "Closed")) == ("2+", "1+")
    assert count_of(page, "Unassigned") == "0+"


def copies(world, ticket: Ticket, n: int, departments: list[int]) -> None:
    """`n` copies of `ticket` in one statement, spread over `departments` and states: a
    table big enough that PostgreSQL plans as it does at scale (a few rows it reads any way)."""
    series = func.generate_series(1, n).table_valued("g").render_derived(name="series")
    g = series.c.g
    table = Ticket.__table__
    varied = {
        "department_id": case(
            *((g % len(departments) == i, d) for i, d in enumerate(departments[1:], 1)),
            else_=departments[0],
        ),
        "assignee_id": case((g % 10 == 0, world.agent.id), else_=None),
        "state": case((g % 2 == 0, "closed"), (g % 5 == 1, "awaiting_customer"), else_="new"),
        "closed_at": case((g % 2 == 0, world.now), else_=None),
        "number": literal(None),
    }
    names = [c.name for c in table.columns if c.name != "id"]
    rows = (
        select(*(varied.get(name, table.c[name]) for name in names))
        .select_from(table.join(series, true()))
        .where(table.c.id == ticket.id)
    )
    world.session.execute(insert(table).from_select(names, rows))
    world.session.commit()


@pytest.mark.postgres
def test_an_agents_counts_read_the_department_indexes(engine, spread):
    """At a few thousand tickets the planner reads each count from the index that leads with
    the department (the queue indexes would need the scope as a filter), and the agent's
    tickets elsewhere from ranges of the assignee's index."""
    world = spread
    departments = [world.department.id, world.other_department.id, world.sales.id]
    copies(world, world.open(), 6000, departments)
    try:
        plan = count_plan(engine, world)
    finally:  # later tests in this database must not plan with these statistics
        world.session.execute(delete(Ticket).where(Ticket.number.is_(None)))
        world.session.commit()
        vacuum_analyze(engine)
    for index in (
        "ix_tickets_department_live",
        "ix_tickets_department_unassigned",
        "ix_tickets_department_closed",
        "ix_tickets_assignee_department",
    ):
        assert index in plan, plan
    assert "staff_departments" not in plan, plan  # the scope is no longer a filter


def vacuum_analyze(engine) -> None:
    """Statistics, and the visibility map that index-only scans rely on."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE tickets"))


def count_plan(engine, world) -> str:
    """EXPLAIN of the agent's count statement, as the dashboard runs it."""
    vacuum_analyze(engine)
    with Session(engine) as session:
        person = session.get(type(world.agent), world.agent.id)
        seen = []

        def listener(_conn, _cursor, statement, params, *_rest):
            seen.append((statement, params))

        event.listen(engine, "before_cursor_execute", listener)
        try:
            queue_counts.counts(session, person)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        cursor = session.connection().connection.driver_connection.cursor()
        cursor.execute("EXPLAIN " + seen[-1][0], seen[-1][1])
        return "\n".join(row[0] for row in cursor.fetchall())


def test_counts_follow_an_agent_who_joins_a_department_and_never_show_anothers(browser, world):
    """The counts statement is built once per person and what it names (their departments and
    teams): joining a department counts its tickets at once, and a colleague's counts are
    their own, before and after."""
    ticket = world.open(now=world.now)
    put(world, ticket, world.other_department)  # unassigned, in Billing only
    assert world.other_department not in world.colleague.departments
    browser.sign_in(world.colleague.email)
    colleague_before = count_of(browser.get("/staff"), "Unassigned")

    browser.sign_in(world.agent.email)
    before = count_of(browser.get("/staff"), "Unassigned")
    world.agent.departments.append(world.other_department)
    world.session.commit()
    assert count_of(browser.get("/staff"), "Unassigned") == str(int(before) + 1)

    browser.sign_in(world.colleague.email)
    assert count_of(browser.get("/staff"), "Unassigned") == colleague_before
