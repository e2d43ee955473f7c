"""Insert a row unless its unique key is taken: the one write that makes a rerun harmless.

Escalation steps (`sla_steps`) and clock outcomes (`sla_outcomes`) are each recorded at most
once per ticket, clock and run, however often a job runs or two workers race: the database's
unique constraint decides, through `INSERT ... ON CONFLICT DO NOTHING RETURNING id`, which
PostgreSQL and SQLite both speak.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_once(session: Session, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert `values` into `table` unless a row with the same unique key exists; True when
    this call inserted it. Runs in the caller's transaction; the caller commits."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - the two backends Ticketflow supports are above
        statement = insert(table).values(values)
    return session.execute(statement.returning(table.c.id)).first() is not None
