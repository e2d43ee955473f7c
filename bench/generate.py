"""Fill a dedicated PostgreSQL database with N realistic tickets, fast enough to benchmark on.

    python -m bench.generate --tickets 100000 [--url postgresql://...] [--seed 7]

The schema is recreated from the models (drop_all/create_all), reference data and the
built-in workflow are loaded through the real code (`ensure_reference_data`,
`publishing.load_builtin`), and everything else is streamed with COPY through the driver
connection underneath SQLAlchemy: one statement per table instead of one per row, which is
what makes 100,000 tickets (and 400,000 more thread and log rows) take seconds. Statements
are composed with psycopg.sql from table and column names of the SQLAlchemy metadata;
values only ever travel as COPY data or bound parameters.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from psycopg import sql
from sqlalchemy import Connection, Dialect, Engine, Table, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from bench import cast, dataset
from workflow import publishing
from workflow.db import make_engine
from workflow.models import (
    Base,
    Counter,
    Department,
    HelpTopic,
    SlaPlan,
    Team,
    ThreadEntry,
    Ticket,
    TransitionLog,
    User,
    VersionStatus,
    Workflow,
    WorkflowVersion,
    staff_departments,
    team_members,
)
from workflow.reference import ensure_reference_data
from workflow.rules import Actor

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/ticketflow_bench"
DEFAULT_SEED = 7
SEQUENCED = (User, Department, Team, HelpTopic, Ticket, ThreadEntry, TransitionLog)
"""Tables whose ids the generator assigns; their sequences are moved past the max after."""
BULK = (Ticket, ThreadEntry, TransitionLog)
"""Tables loaded with their foreign keys and secondary indexes dropped, then re-added."""


def ensure_database(url: str) -> None:
    """Create the database named in `url` if the server does not have it yet.

    CREATE DATABASE takes no parameters, so the name (it comes from the command line) is
    quoted as an identifier by psycopg rather than pasted into the statement.
    """
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise SystemExit("The generator needs PostgreSQL (it loads with COPY).")
    admin = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %(n)s", {"n": parsed.database}
            ).scalar()
            if not exists:
                with conn.connection.driver_connection.cursor() as cur:
                    cur.execute(
                        sql.SQL("CREATE DATABASE {}").format(sql.Identifier(parsed.database))
                    )
    finally:
        admin.dispose()


def _copy(
    cur: Any, table: Table, columns: Iterable[str], rows: Iterable[tuple], dialect: Dialect
) -> int:
    """COPY `rows` into `table` in the binary format; returns how many rows went in.

    Binary COPY is about four times faster than text for these rows (datetimes dominate),
    but it needs each column's exact type: it is taken from the metadata, as compiled for
    PostgreSQL, so a model change cannot silently mis-type the load.
    """
    columns = tuple(columns)
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"{table.name} has no column(s) {', '.join(unknown)}")
    types = [
        re.sub(r"\(.*\)", "", table.c[c].type.compile(dialect=dialect)).strip().lower()
        for c in columns
    ]
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with cur.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


@contextmanager
def _constraints_after(conn: Connection, tables: Iterable[Table]) -> Iterator[None]:
    """Drop foreign keys and secondary indexes for the load, and add them back after it.

    Row-by-row foreign-key triggers cost about 16 s of a 25 s load of 100,000 tickets; adding
    a key afterwards checks every row in one join, and an index built once is cheaper than
    one maintained per row (what pg_dump does). Integrity is still verified: the whole load
    is one transaction, and re-adding a key fails it if any row is wrong. The constraint
    objects are shared with the models, so AddConstraint must not mark them "created
    separately" (its default), or every later create_all in this process would leave the
    foreign keys out.
    """
    tables = list(tables)
    keys = [fk for t in tables for fk in sorted(t.foreign_key_constraints, key=_name)]
    indexes = [ix for t in tables for ix in sorted(t.indexes, key=_name)]
    for fk in keys:
        conn.execute(DropConstraint(fk))
    for ix in indexes:
        conn.execute(DropIndex(ix))
    yield
    for ix in indexes:
        conn.execute(CreateIndex(ix))
    for fk in keys:
        conn.execute(AddConstraint(fk, isolate_from_table=False))


def _name(item: Any) -> str:
    return str(item.name)


def _sync_sequence(cur: Any, table: Table) -> None:
    """Move the id sequence past the ids COPY wrote, so later inserts do not collide."""
    cur.execute(
        sql.SQL("SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {}))").format(
            sql.Identifier(table.name)
        ),
        (table.name,),
    )


def _reference(engine: Engine, now: datetime) -> tuple[int, int, dict[str, cast.Plan]]:
    """Priorities, SLA plans and the published `support` workflow, through the real code."""
    with Session(engine) as session:
        ensure_reference_data(session)
        publishing.load_builtin(session, Actor.system(), now)
        session.commit()
        workflow_id, version_id = session.execute(
            select(Workflow.id, WorkflowVersion.id)
            .join(WorkflowVersion, WorkflowVersion.workflow_id == Workflow.id)
            .where(Workflow.key == "support", WorkflowVersion.status == VersionStatus.PUBLISHED)
        ).one()
        plans = {
            p.name: cast.Plan(p.id, p.first_response_minutes or 0, p.resolution_minutes or 0)
            for p in session.scalars(select(SlaPlan))
        }
    return workflow_id, version_id, plans


def generate(
    engine: Engine,
    n: int,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    verbose: bool = False,
) -> float:
    """Recreate the schema and load `n` tickets; returns the seconds it took.

    Deterministic for a given (n, seed, now). Afterwards the database is ready for the
    services: sequences are past the generated ids, the `ticket_number` counter holds the
    highest number, and VACUUM ANALYZE has given the planner statistics.
    """
    if engine.dialect.name != "postgresql":
        raise ValueError("The generator needs PostgreSQL (it loads with COPY).")
    now = now or datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    workflow_id, version_id, plans = _reference(engine, now)
    people = cast.build_cast(n, now, workflow_id, plans)
    threads: list[dataset.Thread] = []
    counts: dict[str, int] = {}
    with (
        engine.begin() as conn,
        conn.connection.driver_connection.cursor() as cur,
        _constraints_after(conn, (m.__table__ for m in BULK)),
    ):
        for model, columns, rows in (
            (Department, ("id", "name"), people.departments),
            (Team, ("id", "name", "department_id"), people.teams),
            (User, cast.USER_COLUMNS, people.users),
            (staff_departments, ("user_id", "department_id"), people.staff_departments),
            (team_members, ("team_id", "user_id"), people.team_members),
            (
                HelpTopic,
                cast.TOPIC_COLUMNS,
                people.help_topics,
            ),
            (
                Ticket,
                dataset.TICKET_COLUMNS,
                dataset.tickets(n, people, now, seed, version_id, plans, threads),
            ),
            (ThreadEntry, dataset.ENTRY_COLUMNS, dataset.thread_entries(threads, seed)),
            (TransitionLog, dataset.LOG_COLUMNS, dataset.open_log(threads, version_id)),
        ):
            table = model if isinstance(model, Table) else model.__table__
            counts[table.name] = _copy(cur, table, columns, rows, engine.dialect)
        for model in SEQUENCED:
            _sync_sequence(cur, model.__table__)
        if n:
            _copy(
                cur,
                Counter.__table__,
                ("name", "value"),
                [("ticket_number", dataset.FIRST_NUMBER + n - 1)],
                engine.dialect,
            )
    loaded = time.perf_counter()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    elapsed = time.perf_counter() - started
    if verbose:
        print("rows: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
        print(f"load {loaded - started:.2f} s, vacuum analyze {elapsed - (loaded - started):.2f} s")
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tickets", type=int, default=100_000, help="how many tickets")
    parser.add_argument("--url", default=DEFAULT_URL, help="the (dedicated!) database")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    if args.tickets < 0:
        parser.error("--tickets must not be negative")
    ensure_database(args.url)
    engine = make_engine(args.url)
    try:
        elapsed = generate(engine, args.tickets, seed=args.seed, verbose=True)
    finally:
        engine.dispose()
    rate = args.tickets / elapsed if elapsed else 0.0
    print(f"generated {args.tickets:,} tickets in {elapsed:.2f} s ({rate:,.0f} tickets/s)")


if __name__ == "__main__":
    main()
