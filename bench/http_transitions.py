"""Transitions over HTTP: the POST that transfers (or resolves) a ticket, answered with its
HTMX fragment, under the real server, with concurrent clients on distinct tickets.

    python -m bench.http_transitions [--size 100000] [--clients 8] [--seconds 15] [--rounds 3]
    python -m bench.http_transitions --event resolve          # the other verb
    python -m bench.http_transitions --profile                # ... and where the CPU goes
    python -m bench.http_transitions --size 2000 --seconds 2 --rounds 1   # smoke

The server is `ticketflow run` (gunicorn, gevent worker, `--workers` 2 as its default,
access log on as configured) on this machine, against a database of its own
(ticketflow_bench_http_<size>) and a private redis-server (follow-ups are dispatched to RQ
and published for live updates as in production; no RQ worker runs). The load generator
is this process: `--clients` threads, each a signed-in agent of the first department with
its own keep-alive connection and CSRF token (plain http.client, no wrk: the session and
CSRF handling stay in Python), each walking its own share of the department's tickets, so
no two requests touch the same ticket. Each request is what htmx sends: the form (version,
note, target) with HX-Request and X-CSRFToken; anything but a 200 is counted as an error
(status 0: the connection broke; a POST is never sent twice).

Per round (`--seconds` long, after a warm-up): requests per second, CPU milliseconds per
request of the gunicorn workers (/proc utime + stime over the round / requests), of the
PostgreSQL backends serving this database, of Redis and of the load generator itself, and
client-side latency. Then the PostgreSQL round trips of one request (statements and
transaction commands, counted over a few POSTs run in-process: bench.http_statements), and
the web process's CPU per request split into the phases of the POST (bench.http_phases).
`--profile` then runs the same POSTs one at a time against a server with cProfile in its
single worker (bench.serve_profiled) and prints where the time goes.
Target: >= 300 requests per second on this 2-core machine (load generator included).
"""

from __future__ import annotations

import argparse
import glob
import os
import pstats
import time

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bench import cpu_areas, http_phases, http_statements
from bench.browser import HttpSession
from bench.http_load import Client, Job, Round, baseline, measure, post, run_clients
from bench.webapp import (
    SERVER,
    Staff,
    bench_staff,
    database_url,
    ensure_generated,
    memory_mb,
    percentile,
    private_redis,
    running_server,
)
from workflow.db import make_engine
from workflow.models import Role, Ticket, User, staff_departments

TARGET_RPS = 300.0
STATEMENT_REQUESTS = 100
"""POSTs run in-process after the rounds to count their statements (bench.http_statements)
and split their CPU into phases (bench.http_phases); the first STATEMENT_WARMUP of them only
warm the process up."""
STATEMENT_WARMUP = 20
OPEN_STATES = ("new", "assigned", "in_progress", "awaiting_customer")
NOTE = "Handing this over: the customer already tried the usual steps."
REPLY = "<p>This should be fixed now. Is there anything else we can do for you?</p>"


def work(
    engine: Engine, event: str, people: list[Staff], needed: int, states: tuple[str, ...]
) -> list[list[Job]]:
    """Each client's own tickets with the form that moves them: `transfer` hands an open
    ticket of the client's department to a colleague there; `resolve` takes the tickets the
    client is the assignee of (the workflow wants the assignee to resolve). The tickets of a
    department are dealt out in turn to the clients of that department."""
    shares: list[list[Job]] = [[] for _ in people]
    with Session(engine) as session:
        for department in sorted({p.department_id for p in people}):
            mine = [k for k, p in enumerate(people) if p.department_id == department]
            colleagues = session.scalars(
                select(User.id)
                .join(staff_departments, staff_departments.c.user_id == User.id)
                .where(staff_departments.c.department_id == department, User.role == Role.AGENT)
                .order_by(User.id)
            ).all()
            query = select(Ticket.number, Ticket.version, Ticket.assignee_id).where(
                Ticket.department_id == department, Ticket.state.in_(states)
            )
            if event == "resolve":
                query = query.where(Ticket.assignee_id.in_([people[k].id for k in mine]))
            for i, (number, version, assignee) in enumerate(
                session.execute(query.order_by(Ticket.id))
            ):
                if event == "transfer":
                    target = next(
                        c for c in colleagues[i % len(colleagues) :] + colleagues if c != assignee
                    )
                    owner, form = mine[i % len(mine)], {"note": NOTE, "assignee_id": str(target)}
                else:
                    owner = next(k for k in mine if people[k].id == assignee)
                    form = {"reply": REPLY}
                shares[owner].append(Job(number, version, form))
    fewest = min(len(s) for s in shares)
    if fewest < needed:
        print(
            f"   note: one client has only {fewest} tickets for an expected {needed} requests; "
            "it stops early if it runs out (without --reuse, a larger --size or fewer --seconds)"
        )
    return shares


def profile(url: str, redis_url: str, person: Staff, jobs: list[Job], event: str, n: int) -> None:
    """`n` POSTs one at a time against one profiled worker; print where its time goes."""
    prefix = f"/tmp/ticketflow-bench-profile-{os.getpid()}"
    with running_server(url, redis_url, workers=1, profile_prefix=prefix) as server:
        client = Client(person, jobs, HttpSession(server.url))
        client.session.sign_in(person.email)  # type: ignore[union-attr]
        started = time.perf_counter()
        for _ in range(n):
            post(client, event)
        wall = time.perf_counter() - started
        client.session.close()  # type: ignore[union-attr]
    files = glob.glob(prefix + ".*")
    if not files:
        print("   (the profiled worker wrote no stats)")
        return
    stats = pstats.Stats(*files)
    for f in files:
        os.unlink(f)
    print(
        f"\n== profile: {n} {event} POSTs one at a time, one worker under cProfile: "
        f"{wall / n * 1000:.1f} ms each (errors by status: {client.errors or 'none'})"
    )
    cpu_areas.report(stats, n, "request")


def _print_round(name: str, r: Round) -> None:
    print(
        f"   {name}: {r.rate:6.0f} answered 200/s  CPU ms/request: workers "
        f"{r.ms('gunicorn workers'):.2f}, PostgreSQL {r.ms('PostgreSQL'):.2f}, "
        f"Redis {r.ms('Redis'):.2f}, load generator {r.ms('load generator'):.2f}; "
        f"latency p50 {percentile(r.latencies, 50):.0f} ms, "
        f"p95 {percentile(r.latencies, 95):.0f} ms; "
        f"errors by status {r.errors or 'none'}"
        + (f"; workers busy {' / '.join(f'{b:.2f}' for b in r.busy)} cores" if r.busy else ""),
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.http_transitions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--event", choices=("transfer", "resolve"), default="transfer")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (run's default)")
    parser.add_argument("--seconds", type=float, default=15.0, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before the rounds")
    parser.add_argument(
        "--from-states",
        default=",".join(OPEN_STATES),
        help="states the tickets are taken from (default: every state both events leave)",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-requests", type=int, default=300)
    parser.add_argument("--prefix", default="ticketflow_bench_http", help="database name prefix")
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server URL, no database")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database an earlier run moved tickets in (the default generates it "
        "afresh, about 4 s at 100,000 tickets: a reused one has fewer eligible tickets and "
        "dead rows, and measured up to 2x slower for resolve)",
    )
    parser.add_argument("--regenerate", action="store_true", help="the default; kept for scripts")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.rounds < 1 or args.seconds <= 0:
        parser.error("need --clients >= 1, --rounds >= 1 and --seconds > 0")
    url = database_url(args.server, args.prefix, args.size)
    status = ensure_generated(url, args.size, regenerate=not args.reuse)
    engine = make_engine(url)
    people, _admin = bench_staff(engine, args.clients)
    seconds = args.warmup + args.rounds * args.seconds
    needed = int(seconds * 500 / args.clients) + args.profile * args.profile_requests
    shares = work(engine, args.event, people, needed, tuple(args.from_states.split(",")))
    print(
        f"== {args.event} over HTTP, {args.size:,} tickets ({status}): {args.clients} clients "
        f"(threads, http.client keep-alive) on distinct tickets, `ticketflow run` with "
        f"{args.workers} gevent workers, {args.rounds} rounds of {args.seconds:g} s"
    )
    rounds = []
    with private_redis() as redis:
        with running_server(url, redis.url, args.workers) as server:
            clients = [
                Client(p, jobs, HttpSession(server.url))
                for p, jobs in zip(people, shares, strict=True)
            ]
            for c in clients:
                c.session.sign_in(c.person.email)  # type: ignore[union-attr]
            workers = server.workers
            pids = {
                "gunicorn workers": workers,
                "gunicorn master": [server.master],
                "Redis": [redis.pid],
            }
            run_clients(clients, args.event, args.warmup)
            for i in range(args.rounds):
                r = measure(url.rsplit("/", 1)[1], clients, args.event, args.seconds, pids)
                if not r.requests:
                    print("   the clients ran out of tickets: drop --reuse, or a larger --size")
                    break
                rounds.append(r)
                _print_round(f"round {i + 1}", r)
            peak = max(memory_mb(p)[1] for p in workers)
            server.keep_log = any(r.errors for r in rounds)
            for c in clients:
                c.session.close()  # type: ignore[union-attr]
        if not rounds:
            return
        if any(r.errors for r in rounds):
            print(f"   errors: see the server's log, {server.log}")
        best = max(rounds, key=lambda r: r.rate)
        rates = sorted(r.rate for r in rounds)
        verdict = "PASS" if best.rate >= TARGET_RPS else "MISS"
        print(
            f"\n   {args.event}: best {best.rate:.0f} req/s"
            f" (rounds {rates[0]:.0f}..{rates[-1]:.0f}),"
            f" {best.ms('gunicorn workers'):.2f} CPU ms/request in the workers"
            f" (+ {best.ms('PostgreSQL'):.2f} PostgreSQL, {best.ms('load generator'):.2f}"
            f" load generator)  target >= {TARGET_RPS:.0f}/s  {verdict}"
        )
        print(f"   worker peak resident memory: {peak:.0f} MB")
        answer = max(c.answer_bytes for c in clients)
        bare = baseline(
            url, redis.url, args.workers, shares, args.event, answer, args.seconds, args.rounds
        )
        for i, r in enumerate(bare):
            _print_round(f"baseline round {i + 1}", r)
        ceiling = max(bare, key=lambda r: r.rate)
        print(
            f"   baseline in the same run: a bare Flask app answering {answer} bytes on the same"
            f" server and clients (bench.serve_bare): best {ceiling.rate:.0f} req/s,"
            f" {ceiling.ms('gunicorn workers'):.2f} CPU ms/request in the workers;"
            f" Ticketflow's {args.event} reaches {best.rate / ceiling.rate:.2f} of it"
        )
        rest = max(clients, key=lambda c: len(c.jobs) - c.next)
        counted = rest.jobs[rest.next : rest.next + STATEMENT_REQUESTS]
        rest.next += len(counted)
        if counted:
            posts = [
                (
                    f"/staff/tickets/{j.number}/events/{args.event}",
                    {"version": str(j.version), **j.form},
                )
                for j in counted
            ]
            warm = min(STATEMENT_WARMUP, len(posts) // 2)
            counts, phases, n = http_statements.per_request(
                url, redis.url, rest.person.email, posts, warm
            )
            print(
                f"   PostgreSQL round trips per request: {counts.pop('statements', 0):.1f} "
                f"statements + {sum(counts.values()):.1f} transaction commands "
                f"({', '.join(f'{k} {v:.1f}' for k, v in sorted(counts.items()))}; "
                f"{n} requests in-process, bench.http_statements)"
            )
            http_phases.report(phases, n)
        if args.profile:
            jobs = rest.jobs[rest.next :]
            profile(url, redis.url, rest.person, jobs, args.event, args.profile_requests)
    engine.dispose()


if __name__ == "__main__":
    main()
