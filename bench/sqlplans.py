"""The SQL behind a page: capture what one request runs, replay it raw (the database and
driver floor of the page), and EXPLAIN ANALYZE the statements that are slow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Any


@dataclass
class Captured:
    statements: list[Statement] = field(default_factory=list)


@contextmanager
def capture(engine: Engine) -> Iterator[Captured]:
    """Every statement `engine` runs inside the block, with its parameters as sent."""
    found = Captured()

    def listener(_conn, _cursor, statement, parameters, _context, _executemany) -> None:  # noqa: ANN001
        found.statements.append(Statement(statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield found
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def replay_ms(engine: Engine, statements: list[Statement], repeat: int = 5) -> float:
    """The fastest of `repeat` replays of `statements` on the raw driver connection, in ms:
    what the database and the network cost the page, with no ORM, template or Flask on top.
    Only reads are replayed (a page must not write; anything else is skipped)."""
    reads = [s for s in statements if s.sql.lstrip().upper().startswith(("SELECT", "WITH"))]
    raw = engine.raw_connection()
    try:
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            with raw.cursor() as cur:
                for s in reads:
                    cur.execute(s.sql, s.params)
                    cur.fetchall()
            best = min(best, time.perf_counter() - started)
        raw.rollback()
    finally:
        raw.close()
    return best * 1000


def explain(engine: Engine, statement: Statement) -> tuple[float, list[str]]:
    """EXPLAIN (ANALYZE, BUFFERS) of one read (costs left out): its execution time in ms
    and the plan."""
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement.sql, statement.params)
            lines = [row[0] for row in cur.fetchall()]
        raw.rollback()
    finally:
        raw.close()
    took = next(
        (float(line.split(":")[1].split()[0]) for line in lines if "Execution Time" in line),
        0.0,
    )
    return took, lines


def slow_plans(
    engine: Engine, statements: list[Statement], over_ms: float
) -> list[tuple[float, Statement, list[str]]]:
    """The reads among `statements` that take more than `over_ms` to execute, slowest first,
    and the slowest one in any case (so every page shows where its database time goes)."""
    reads = [s for s in statements if s.sql.lstrip().upper().startswith(("SELECT", "WITH"))]
    timed = sorted(((*explain(engine, s), s) for s in reads), key=lambda t: -t[0])
    return [(ms, s, plan) for i, (ms, plan, s) in enumerate(timed) if i == 0 or ms > over_ms]
