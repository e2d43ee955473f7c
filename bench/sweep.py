"""The sweep's query at scale: 1,000,000 open tickets, 1% of them with a step overdue.

    python -m bench.sweep [--tickets 1000000] [--due-percent 1] [--reuse] [--url ...]

The database is filled by `bench.generate` (COPY, fast), then every ticket is made open
with a pending timer (`tickets.timer_due_at`): 1% overdue by up to an hour, the rest due
within the next five days (one UPDATE; deterministic per id). Then it times, 20 runs each:

* the sweep's own query (`jobs.sweep.DUE`: overdue for more than the grace, oldest first,
  LIMIT 2000, a range scan of the partial index `ix_tickets_timer_due_at`);
* finding every overdue ticket (the same query without the limit);
* the baseline: the same unlimited query with index scans turned off (what it costs
  without the index: a sequential scan of the table).

Only finding, not acting. Prints medians, the 95th percentile and the plans. Target: under
1 s. `--reuse` skips generating when the database already holds the tickets.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select, text

from bench.generate import ensure_database, generate
from jobs import sweep
from workflow.db import make_engine
from workflow.models import Ticket

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/ticketflow_bench_sweep"
RUNS = 20
TARGET = 1.0

SPREAD = text(
    """
    UPDATE tickets SET
      closed_at = NULL,
      state = CASE WHEN state = 'closed' THEN 'in_progress' ELSE state END,
      timer_due_at = CASE
        WHEN id % :every = 0 THEN :now - ((id * 7919) % 3600 + 6) * interval '1 second'
        ELSE :now + ((id * 7919) % 432000 + 60) * interval '1 second'
      END
    """
)


def prepare(engine: Engine, n: int, due_percent: float, reuse: bool) -> datetime:
    have = 0
    if reuse:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT to_regclass('tickets')"))
            have = conn.scalar(select(func.count()).select_from(Ticket)) if exists else 0
    now = datetime.now(UTC).replace(microsecond=0)
    if have < n:
        print(f"generating {n:,} tickets ...", flush=True)
        print(f"   generated in {generate(engine, n):.1f} s", flush=True)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(SPREAD, {"every": round(100 / due_percent), "now": now})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE tickets")
    print(f"   timers spread over {n:,} open tickets in {time.perf_counter() - started:.1f} s")
    return now


def timed(engine: Engine, statement: str, params: dict, setup: str = "") -> tuple[list, int]:
    runs, rows = [], 0
    with engine.connect() as conn:
        if setup:
            conn.exec_driver_sql(setup)
        for _ in range(RUNS):
            started = time.perf_counter()
            rows = len(conn.execute(text(statement), params).all())
            runs.append(time.perf_counter() - started)
        plan = conn.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + statement), params).scalars()
        print("\n".join(f"      {line}" for line in plan))
        conn.rollback()
    return runs, rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sweep",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due-percent", type=float, default=1.0)
    parser.add_argument("--reuse", action="store_true", help="keep the tickets already there")
    parser.add_argument("--url", default=DEFAULT_URL, help="the (dedicated!) database")
    args = parser.parse_args(argv)
    ensure_database(args.url)
    engine = make_engine(args.url)
    try:
        now = prepare(engine, args.tickets, args.due_percent, args.reuse)
        query = "SELECT id FROM tickets WHERE timer_due_at <= :before ORDER BY timer_due_at"
        params = {"before": now - sweep.GRACE}
        cases = (
            (f"sweep query (LIMIT {sweep.BATCH})", f"{query} LIMIT {sweep.BATCH}", ""),
            ("every overdue ticket", query, ""),
            (
                "baseline: no index (seq scan)",
                query,
                "SET enable_indexscan = off; SET enable_bitmapscan = off",
            ),
        )
        results = []
        for name, statement, setup in cases:
            print(f"\n== {name}")
            runs, rows = timed(engine, statement, params, setup)
            results.append((name, runs, rows))
        print(f"\n{args.tickets:,} open tickets, {args.due_percent:g}% overdue:")
        for name, runs, rows in results:
            p95 = sorted(runs)[int(0.95 * (len(runs) - 1))]
            verdict = (
                ""
                if name.startswith("baseline")
                else (f"  (target < {TARGET:.0f} s: {'PASS' if max(runs) < TARGET else 'MISS'})")
            )
            print(
                f"   {name:<32} {rows:>7,} rows  median {statistics.median(runs) * 1000:8.1f} ms"
                f"  p95 {p95 * 1000:8.1f} ms  max {max(runs) * 1000:8.1f} ms{verdict}"
            )
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
