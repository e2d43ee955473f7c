"""Server time of the dashboard's queue pages and of a ticket page, at 10k, 100k and 1M
tickets, against the raw SQL those pages run; and a web worker's resident memory.

    python -m bench.pages [--sizes 10000,100000,1000000] [--rounds 3] [--requests 20]
    python -m bench.pages --sizes 2000 --rounds 1 --requests 5 --http-rounds 1   # smoke
    python -m bench.pages --sizes 10000,1000000 --interleave --http-rounds 0   # the ratio

For each size a database of its own (ticketflow_bench_pages_<10k|100k|1m>) is generated once
and reused while it matches the models (`--regenerate` forces it). Ten open tickets of the
agent's department get a 50-entry thread. Then, in this process, through the real app
(create_app, Flask's test client: routing, sign-in session, SQL, templates, everything but
the socket), an agent and an admin each open the first page of every queue and a 50-entry
ticket page: `--rounds` rounds of `--requests` requests per page, pages interleaved, so a
burst of load on the machine spoils one round rather than one page (`--interleave`: the
sizes' rounds alternate too, so load drifting over the run cannot make one size look slower
than the other). Printed per page:
the statements it runs, p50 and p95 of its server time, the best and worst round's p95,
and its baseline: the same statements replayed raw on the driver (the database's part) and
the page's main SELECT alone. Statements slower than `--explain-over` ms are printed
with their EXPLAIN (ANALYZE, BUFFERS) plan.

Memory: this process (which builds the app exactly as a worker does) is sampled after every
size, and a real `ticketflow run` worker (gunicorn, gevent) serving the same pages over HTTP
(`--http-rounds` passes) is sampled after every request; the peak (VmHWM) is the figure.
Targets (printed PASS/MISS, never failing the run): p95 < 50 ms at every size, the largest
size within 1.5x of the smallest, resident memory < 150 MB.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from dataclasses import dataclass, field

from flask import Flask

from bench import cpu_areas, pagedata, sqlplans
from bench.browser import HttpSession, sign_in_test_client
from bench.page_report import SizeResult, Timing, print_plans, print_timings, summary
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
from config import Config
from web import create_app
from web.extensions import db
from workflow.db import make_engine


def build_app(database: str, redis_url: str) -> Flask:
    """The app as a worker builds it (configuration from an environment-like mapping)."""
    return create_app(
        Config.from_env(
            {"DATABASE_URL": database, "REDIS_URL": redis_url, "SECRET_KEY": "bench-only-secret"}
        )
    )


def signed_in_clients(app: Flask, people: dict[str, Staff]) -> dict[str, object]:
    clients = {}
    for role, person in people.items():
        client = app.test_client()
        sign_in_test_client(client, person.email)
        clients[role] = client
    return clients


def time_pages(
    app: Flask,
    clients: dict[str, object],
    pages: list[pagedata.Page],
    rounds: int,
    requests: int,
    warmup: int = 3,
) -> list[Timing]:
    """Warm every page up (capturing its statements), then time `rounds` x `requests` GETs
    per page, pages interleaved round by round."""
    timings = warm_up(app, clients, pages, warmup)
    for _ in range(rounds):
        time_round(clients, timings, requests)
    replay(app, timings)
    return timings


def warm_up(
    app: Flask, clients: dict[str, object], pages: list[pagedata.Page], warmup: int = 3
) -> list[Timing]:
    """Request every page `warmup` times, keeping the statements of the last request."""
    with app.app_context():
        engine = db.engine
    timings = [Timing(page) for page in pages]
    for t in timings:
        for i in range(warmup):
            with sqlplans.capture(engine) as seen:
                _get(clients[t.page.role], t.page.paths[i % len(t.page.paths)])
            t.statements = seen.statements
    return timings


def time_round(clients: dict[str, object], timings: list[Timing], requests: int) -> None:
    """One round: `requests` timed GETs of each page in turn."""
    for t in timings:
        samples = []
        for i in range(requests):
            path = t.page.paths[i % len(t.page.paths)]
            started, cpu = time.perf_counter(), time.process_time()
            _get(clients[t.page.role], path)
            samples.append((time.perf_counter() - started) * 1000)
            t.cpu.append((time.process_time() - cpu) * 1000)
        t.rounds.append(samples)


def replay(app: Flask, timings: list[Timing]) -> None:
    """Each page's baseline: its statements, and its main SELECT alone, on the raw driver."""
    with app.app_context():
        engine = db.engine
    for t in timings:
        t.sql_ms = sqlplans.replay_ms(engine, t.statements)
        main = [s for s in t.statements if t.page.main in s.sql]
        t.main_ms = sqlplans.replay_ms(engine, main[:1]) if main else float("nan")


def _get(client: object, path: str) -> bytes:
    answer = client.get(path)  # type: ignore[attr-defined]
    if answer.status_code != 200:
        raise RuntimeError(f"GET {path} answered {answer.status_code}.")
    return answer.get_data()


def worker_memory_over_http(
    database: str, redis_url: str, people: dict[str, Staff], pages: list[pagedata.Page], rounds: int
) -> tuple[float, float, float]:
    """A real worker serving the pages: (peak resident MB, last resident MB, client p50 ms)."""
    with running_server(database, redis_url, workers=1) as server:
        worker = server.workers[0]
        sessions = {}
        for role, person in people.items():
            sessions[role] = HttpSession(server.url)
            sessions[role].sign_in(person.email)
        rss, samples = 0.0, []
        for _ in range(rounds):
            for page in pages:
                for path in page.paths:
                    started = time.perf_counter()
                    status, _ = sessions[page.role].request("GET", path)
                    samples.append((time.perf_counter() - started) * 1000)
                    if status != 200:
                        raise RuntimeError(f"GET {path} over HTTP answered {status}.")
                    rss, peak = memory_mb(worker)
        for session in sessions.values():
            session.close()
        return peak, rss, percentile(samples, 50)


def profile_page(clients: dict[str, object], page: pagedata.Page, n: int) -> None:
    """`n` requests of one page under cProfile: where its server time goes."""
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for i in range(n):
        _get(clients[page.role], page.paths[i % len(page.paths)])
    profiler.disable()
    took = (time.perf_counter() - started) / n * 1000
    print(f"\n   profile of {page.name.strip()}: {n} requests, {took:.1f} ms each under cProfile")
    cpu_areas.report(pstats.Stats(profiler), n, "page", top=8)


@dataclass
class Sized:
    """One size's database, app, signed-in clients and the timings being collected."""

    size: int
    url: str
    status: str
    people: dict[str, Staff]
    pages: list[pagedata.Page]
    app: Flask
    clients: dict[str, object]
    timings: list[Timing] = field(default_factory=list)


def prepare_size(args: argparse.Namespace, size: int, redis_url: str) -> Sized:
    """Generate (or reuse) the size's database, build its app, sign in, warm the pages up."""
    url = database_url(args.server, args.prefix, size)
    status = ensure_generated(url, size, args.regenerate)
    engine = make_engine(url)
    try:
        agents, admin = bench_staff(engine, 1)
        numbers = pagedata.ensure_threads(engine, agents[0].department_id or 1)
    finally:
        engine.dispose()
    people = {"agent": agents[0], "admin": admin}
    pages = pagedata.pages(numbers)
    app = build_app(url, redis_url)
    clients = signed_in_clients(app, people)
    sized = Sized(size, url, status, people, pages, app, clients)
    sized.timings = warm_up(app, clients, pages)
    return sized


def measure_size(args: argparse.Namespace, size: int, redis_url: str) -> SizeResult:
    sized = prepare_size(args, size, redis_url)
    for _ in range(args.rounds):
        time_round(sized.clients, sized.timings, args.requests)
    return report_size(args, sized, redis_url)


def measure_interleaved(args: argparse.Namespace, redis_url: str) -> list[SizeResult]:
    """Every size's app in this process, rounds taken size after size (10k, 1M, 10k, 1M,
    ...): a burst of other load on the machine lands on both sizes, not on one size's whole
    run, so the ratio between them means something on a shared machine. The in-process
    memory then holds every size's app; the gunicorn worker's figure is the one to read."""
    everything = [prepare_size(args, size, redis_url) for size in args.sizes]
    for _ in range(args.rounds):
        for sized in everything:
            time_round(sized.clients, sized.timings, args.requests)
    return [report_size(args, sized, redis_url) for sized in everything]


def report_size(args: argparse.Namespace, sized: Sized, redis_url: str) -> SizeResult:
    """Print one size's timings, memory, slow plans (and profile, HTTP worker)."""
    timings, app, clients, pages = sized.timings, sized.app, sized.clients, sized.pages
    replay(app, timings)
    print(
        f"\n== {sized.size:,} tickets ({sized.status}): {len(pages)} pages x {args.rounds} "
        f"rounds x {args.requests} requests, in-process through the app (Flask test client)",
        flush=True,
    )
    print_timings(timings)
    rss, peak = memory_mb(os.getpid())
    print(f"   this process (the app, as a worker builds it): {rss:.0f} MB, peak {peak:.0f} MB")
    print_plans(app, timings, args.explain_over)
    with app.app_context():
        db.engine.dispose()
    if args.profile:
        for page in (timings[3].page, timings[7].page):  # agent: All open, ticket page
            profile_page(clients, page, args.profile)
    worker_peak = None
    if args.http_rounds:
        worker_peak, worker_rss, http_p50 = worker_memory_over_http(
            sized.url, redis_url, sized.people, pages, args.http_rounds
        )
        print(
            f"   gunicorn worker (gevent) serving every page {args.http_rounds}x over HTTP: "
            f"{worker_rss:.0f} MB, peak {worker_peak:.0f} MB; client-side p50 {http_p50:.1f} ms"
        )
    return SizeResult(sized.size, timings, peak, worker_peak)


def _sizes(text: str) -> list[int]:
    try:
        return sorted(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pages",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", type=_sizes, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=20, help="per page and round")
    parser.add_argument("--http-rounds", type=int, default=3, help="0: skip the real server")
    parser.add_argument("--explain-over", type=float, default=5.0, help="ms")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="profile N requests of two pages"
    )
    parser.add_argument("--prefix", default="ticketflow_bench_pages", help="database name prefix")
    parser.add_argument("--server", default=SERVER, help="PostgreSQL server URL, no database")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="alternate the sizes round by round (ratios on a shared machine)",
    )
    args = parser.parse_args(argv)
    if not args.sizes or min(args.sizes) < 100 or args.rounds < 1 or args.requests < 1:
        parser.error("need sizes >= 100, --rounds >= 1 and --requests >= 1")
    with private_redis() as redis:
        if args.interleave:
            results = measure_interleaved(args, redis.url)
        else:
            results = [measure_size(args, size, redis.url) for size in args.sizes]
    summary(results)


if __name__ == "__main__":
    main()
