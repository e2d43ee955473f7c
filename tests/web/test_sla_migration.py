"""The SLA attribution migration keeps the steps already recorded: each takes the plan, team
and department its ticket has when the migration runs (the best record there is)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from tests.factories import build_world
from tests.web.test_cli import run, sqlite_url  # noqa: F401 - the fixture

BEFORE = "7b1e0c2d4a90"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_existing_steps_are_attributed_to_their_tickets_plan_and_team(sqlite_url):  # noqa: F811
    assert run("db", "upgrade", url=sqlite_url).exit_code == 0
    engine = create_engine(sqlite_url)
    with Session(engine) as session:
        world = build_world(session, NOW)
        ticket = world.open(now=NOW)
        ticket_id, plan_id = ticket.id, ticket.sla_plan_id
        department_id, team_id = world.department.id, world.level2.id
        session.execute(
            text("UPDATE tickets SET team_id = :team WHERE id = :id"),
            {"team": team_id, "id": ticket_id},
        )
        session.commit()
    engine.dispose()

    down = run("db", "downgrade", BEFORE, url=sqlite_url)
    assert down.exit_code == 0, down.output
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:  # a step recorded before the migration: no attribution
        conn.execute(
            text(
                "INSERT INTO sla_steps (ticket_id, clock, cycle, step, due_at, done_at) "
                "VALUES (:id, 'first_response', 1, 'breach', :at, :at)"
            ),
            {"id": ticket_id, "at": NOW},
        )
    engine.dispose()

    up = run("db", "upgrade", url=sqlite_url)
    assert up.exit_code == 0, up.output
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT plan_id, team_id, department_id FROM sla_steps")).one()
        assert tuple(row) == (plan_id, team_id, department_id)
        assert conn.execute(text("SELECT count(*) FROM sla_outcomes")).scalar() == 0
    engine.dispose()
