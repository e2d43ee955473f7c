"""Live-update delay: from a change's HTTP answer to its server-sent event at 50 open pages.

    python -m bench.live [--clients 50] [--rounds 100] [--workers 2] [--mode ticket,dashboard]

Serves the app the way `ticketflow run` does (gunicorn, gevent worker, `--workers` processes,
so the pages are spread over several processes, each with its one Redis subscription) on a
dedicated PostgreSQL database (default `ticketflow_bench_live`, regenerated with 1,000
tickets) and a private `redis-server` on a free port (or the embedded one, or `--redis`): a
shared Redis would carry other processes' updates and spoil the dashboard figures.

`--clients` streams are opened as one signed-in admin (pages of one ticket: `ticket` mode;
dashboards: `dashboard` mode). Then, round after round, an HTMX POST adds an internal note to
the ticket (a real change through the service, its commit, the follow-up dispatch and the
rendered fragments) and the bench waits until every stream has announced it. The delay of a
stream is the moment its event was read minus the moment the POST's answer was read (it is
negative when the event beat the answer, which is allowed: the update is published right
after the commit, before the answer is rendered). Rounds are spaced by `--spacing` seconds
(at least the dashboards' one-second coalescing gap in `dashboard` mode, so each round is
its own event). The load generator runs on the same machine and competes for its cores.

Prints p50, p99 and max per mode; the target is p99 under 2 s. Exit status 0 unless
something crashed or an event never arrived.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from statistics import quantiles

from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from bench.generate import ensure_database, generate
from jobs import embedded_redis
from workflow.db import make_engine
from workflow.models import Role, Ticket, User

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/ticketflow_bench_live"
PASSWORD = "bench-live-password"
TARGET_P99_S = 2.0
WAIT_S = 10.0
TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')
SEEN = re.compile(r'id="ticket-seen" name="seen" value="(\d+)"')


@dataclass
class Stream:
    """One open page's event stream, read by its own thread: when each event arrived."""

    host: str
    port: int
    path: str
    cookie: str
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    up: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        conn.request("GET", self.path, headers={"Cookie": self.cookie})
        answer = conn.getresponse()
        if answer.status != 200:
            raise RuntimeError(f"stream answered {answer.status}")
        name = None
        while True:
            line = answer.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name == "status":
                if line[6:] == "up":
                    self.up.set()
            elif line.startswith("data: ") and name == "changed":
                with self.lock:
                    self.arrivals.append((time.perf_counter(), line[6:]))

    def first_after(self, moment: float, data: str | None) -> float | None:
        with self.lock:
            for at, got in self.arrivals:
                if at >= moment and (data is None or got == data):
                    return at
        return None


class Session:
    """A signed-in admin over plain HTTP: the session cookie and the CSRF token."""

    def __init__(self, base: str):
        parts = urllib.parse.urlsplit(base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.cookie = ""
        self.token = ""

    def request(self, method: str, path: str, body: dict | None = None, **headers: str):
        data = urllib.parse.urlencode(body) if body is not None else None
        sent = {"Cookie": self.cookie, **headers}
        if data is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=data, headers=sent)
        answer = self.conn.getresponse()
        html = answer.read().decode()
        for header, value in answer.getheaders():
            if header.lower() == "set-cookie" and value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        found = TOKEN.search(html)
        if found:
            self.token = found.group(1)
        return answer.status, html

    def sign_in(self, email: str) -> None:
        self.request("GET", "/staff/login")
        status, _ = self.request(
            "POST",
            "/staff/login",
            {"email": email, "password": PASSWORD, "csrf_token": self.token},
        )
        if status != 302:
            raise RuntimeError(f"sign-in answered {status}")
        self.request("GET", "/staff")  # the token of the signed-in session


def prepare(url: str) -> tuple[str, int, int]:
    """A fresh database with 1,000 tickets; the admin's email, a ticket's number and version."""
    ensure_database(url)
    engine = make_engine(url)
    try:
        generate(engine, 1_000)
        with engine.begin() as conn:
            admin_id, email = conn.execute(
                select(User.id, User.email).where(User.role == Role.ADMIN).order_by(User.id)
            ).first()
            conn.execute(
                update(User)
                .where(User.id == admin_id)
                .values(password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
            )
            number, version = conn.execute(
                select(Ticket.number, Ticket.version)
                .where(Ticket.closed_at.is_(None))
                .order_by(Ticket.id)
            ).first()
    finally:
        engine.dispose()
    return email, number, version


def start_redis() -> tuple[str, subprocess.Popen | embedded_redis.EmbeddedRedis]:
    port = embedded_redis.free_port()
    if shutil.which("redis-server"):
        process = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with http.client.socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return f"redis://127.0.0.1:{port}/0", process
            except OSError:
                time.sleep(0.1)
        process.kill()
        raise RuntimeError("redis-server did not start")
    server = embedded_redis.start(port)
    return server.url, server


def start_server(database_url: str, redis_url: str, workers: int) -> tuple[subprocess.Popen, str]:
    port = embedded_redis.free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    command = [sys.executable, "-c", "from web.cli import main; main()", "run"]
    command += ["--port", str(port), "--workers", str(workers)]
    with tempfile.NamedTemporaryFile(prefix="bench-live-", suffix=".log", delete=False) as log:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    print(f"server log: {log.name}")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server, base
        except OSError:
            time.sleep(0.25)
    server.kill()
    raise RuntimeError("the server did not start")


def percentile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return quantiles(values, n=100, method="inclusive")[q - 1]


def measure(
    base: str, email: str, number: int, mode: str, args: argparse.Namespace
) -> tuple[list[float], list[float], list[float]]:
    """Per stream and round (seconds): event after the POST's answer, event after the POST
    was sent; and per round, how long the POST took to answer."""
    writer = Session(base)
    writer.sign_in(email)
    path = f"/staff/live/stream?ticket={number}" if mode == "ticket" else "/staff/live/stream"
    streams = [Stream(writer.host, writer.port, path, writer.cookie) for _ in range(args.clients)]
    for stream in streams:
        stream.start()
    for stream in streams:
        if not stream.up.wait(WAIT_S):
            raise RuntimeError("a stream never said its subscription is up")
    _, page = writer.request("GET", f"/staff/tickets/{number}")
    version = int(SEEN.search(page).group(1))
    delays: list[float] = []
    from_send: list[float] = []
    posts: list[float] = []
    for i in range(args.rounds):
        sent = time.perf_counter()
        status, html = writer.request(
            "POST",
            f"/staff/tickets/{number}/compose",
            {"mode": "note", "body": f"Bench note {i}", "version": version},
            **{"HX-Request": "true", "X-CSRFToken": writer.token},
        )
        answered = time.perf_counter()
        if status != 200:
            raise RuntimeError(f"the POST answered {status}: {html[:200]}")
        version = int(SEEN.search(html).group(1))
        expected = str(version) if mode == "ticket" else None
        deadline = answered + WAIT_S
        arrived: list[float | None] = [None] * len(streams)
        while time.perf_counter() < deadline and None in arrived:
            for k, stream in enumerate(streams):
                if arrived[k] is None:
                    arrived[k] = stream.first_after(sent, expected)
            time.sleep(0.002)
        if None in arrived:
            raise RuntimeError(f"round {i}: {arrived.count(None)} streams got no event")
        delays += [at - answered for at in arrived if at is not None]
        from_send += [at - sent for at in arrived if at is not None]
        posts.append(answered - sent)
        time.sleep(max(0.0, args.spacing - (time.perf_counter() - sent)))
    return delays, from_send, posts


def ms(values: list[float], q: int) -> str:
    return f"{percentile(values, q) * 1000:7.1f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.live",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--url", default=DEFAULT_URL, help="the (dedicated!) database")
    parser.add_argument("--redis", help="an existing Redis (default: a private one)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--spacing", type=float, default=1.2, help="seconds between rounds")
    parser.add_argument("--mode", default="ticket,dashboard")
    args = parser.parse_args(argv)
    email, number, _ = prepare(args.url)
    redis_process = None
    redis_url = args.redis
    if not redis_url:
        redis_url, redis_process = start_redis()
    server, base = start_server(args.url, redis_url, args.workers)
    try:
        print(
            f"{args.clients} streams, {args.rounds} rounds, {args.workers} gunicorn gevent "
            f"workers, Redis {'given' if args.redis else 'private'}"
        )
        for mode in args.mode.split(","):
            delays, from_send, posts = measure(base, email, number, mode, args)
            ok = percentile(delays, 99) < TARGET_P99_S
            print(
                f"{mode:<9} n={len(delays):>5}  after the answer: p50 {ms(delays, 50)} ms  "
                f"p99 {ms(delays, 99)} ms  max {max(delays) * 1000:7.1f} ms  "
                f"(target p99 < {TARGET_P99_S:.0f} s: {'met' if ok else 'NOT met'})"
            )
            print(
                f"{'':<17}after the send:   p50 {ms(from_send, 50)} ms  "
                f"p99 {ms(from_send, 99)} ms  (the POST itself: p50 {ms(posts, 50)} ms, "
                f"p99 {ms(posts, 99)} ms)"
            )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        if isinstance(redis_process, subprocess.Popen):
            redis_process.terminate()
            redis_process.wait(timeout=10)
        elif redis_process is not None:
            redis_process.stop()


if __name__ == "__main__":
    main()
