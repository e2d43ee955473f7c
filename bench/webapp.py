"""What the page, search and HTTP benchmarks share: their databases, the staff they sign in
as, a private Redis, the real server, and figures read from /proc (CPU time, memory).

Databases are generated once per size and reused while they still match the models (the
1,000,000-ticket one takes about a minute); generation runs in a subprocess, so the measuring
process stays the size of a web worker and its resident memory means something.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, inspect, select, update
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from bench.dataset import FIRST_NUMBER
from jobs import embedded_redis
from workflow.db import make_engine
from workflow.models import Base, Counter, Role, User, staff_departments

SERVER = "postgresql://postgres@127.0.0.1:5432"
PASSWORD = "a bench password, never a real one"
TOKEN = re.compile(
    r'name="csrf-token" content="([^"]+)"|name="csrf_token" type="hidden" value="([^"]+)"'
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def label(size: int) -> str:
    """10000 -> 10k, 1000000 -> 1m: the suffix of a size's database name."""
    for unit, suffix in ((1_000_000, "m"), (1_000, "k")):
        if size >= unit and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def database_url(server: str, prefix: str, size: int) -> str:
    return f"{server.rstrip('/')}/{prefix}_{label(size)}"


def _current(engine: Engine, size: int) -> bool:
    """True if the database holds `size` generated tickets and every table, column and
    index the models declare (a model change since the last run means: generate again)."""
    found = inspect(engine)
    for table in Base.metadata.sorted_tables:
        if not found.has_table(table.name):
            return False
        columns = {c["name"] for c in found.get_columns(table.name)}
        indexes = {ix["name"] for ix in found.get_indexes(table.name)}
        if not {c.name for c in table.columns} <= columns:
            return False
        if not {ix.name for ix in table.indexes} <= indexes:
            return False
    with Session(engine) as session:
        last = session.scalar(select(Counter.value).where(Counter.name == "ticket_number"))
    return last == FIRST_NUMBER + size - 1


def ensure_generated(url: str, size: int, regenerate: bool = False) -> str:
    """Make `url` hold `size` generated tickets; says whether it was reused or generated."""
    from bench.generate import ensure_database

    ensure_database(url)
    engine = make_engine(url)
    try:
        if not regenerate and _current(engine, size):
            return "reused"
    finally:
        engine.dispose()
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bench.generate", "--tickets", str(size), "--url", url],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return f"generated in {time.perf_counter() - started:.1f} s"


@dataclass(frozen=True)
class Staff:
    id: int
    email: str
    department_id: int | None


def bench_staff(engine: Engine, agents: int) -> tuple[list[Staff], Staff]:
    """`agents` agents taken across the departments in turn (the first agent of each, then
    the second, ...; so the first is always the first agent of the first department) and the
    first admin, each given PASSWORD (hashed with few rounds: signing in stays cheap)."""
    with Session(engine) as session:
        rows = session.execute(
            select(User.id, User.email, staff_departments.c.department_id)
            .join(staff_departments, staff_departments.c.user_id == User.id)
            .where(User.role == Role.AGENT)
            .order_by(staff_departments.c.department_id, User.id)
        ).all()
        admin = session.execute(
            select(User.id, User.email).where(User.role == Role.ADMIN).order_by(User.id).limit(1)
        ).one()
        rank: dict[int, int] = {}
        turns = []
        for row in rows:
            rank[row.department_id] = rank.get(row.department_id, -1) + 1
            turns.append((rank[row.department_id], row.department_id, row))
        people = [Staff(*row) for *_, row in sorted(turns)[:agents]]
        if len(people) < agents:
            raise SystemExit(f"The database has only {len(people)} agents; {agents} are needed.")
        hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        ids = [p.id for p in people] + [admin.id]
        session.execute(update(User).where(User.id.in_(ids)).values(password_hash=hashed))
        session.commit()
    return people, Staff(admin.id, admin.email, None)


def csrf_token(html: str) -> str | None:
    found = TOKEN.search(html)
    return (found.group(1) or found.group(2)) if found else None


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation between the nearest ranks."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0.0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident now, peak resident) of a process, in MB (VmRSS, VmHWM)."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as listing:
            found.extend(int(child) for child in listing.read().split())
    return found


@dataclass
class Redis:
    url: str
    pid: int


@contextmanager
def private_redis() -> Iterator[Redis]:
    """A redis-server of this run's own (no persistence, a free port), so the benchmark
    neither disturbs nor is disturbed by anyone else's keys; without the binary, the
    embedded Redis `make demo` uses (a Python server: slower, and it says so)."""
    binary = shutil.which("redis-server")
    if binary is None:
        print("   redis-server not found: using the embedded (Python) Redis instead")
        embedded = embedded_redis.start()
        try:
            yield Redis(embedded.url, embedded.process.pid)
        finally:
            embedded.stop()
        return
    port = embedded_redis.free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _answers(port):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("The private redis-server did not start.")
            time.sleep(0.05)
        yield Redis(f"redis://127.0.0.1:{port}/0", process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def _answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as probe:
            probe.sendall(b"PING\r\n")
            return probe.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Server:
    url: str
    master: int
    log: str
    keep_log: bool = False
    """Set it to keep the log after a clean stop (it is kept anyway if the block fails)."""

    @property
    def workers(self) -> list[int]:
        return children(self.master)


@contextmanager
def running_server(
    database: str,
    redis_url: str,
    workers: int,
    profile_prefix: str | None = None,
    bare_bytes: int | None = None,
) -> Iterator[Server]:
    """`ticketflow run` (gunicorn, gevent worker, the access log as configured) on a free
    port; with `profile_prefix`, the same server with cProfile running in every worker
    (bench.serve_profiled), each writing `<prefix>.<pid>` when it stops; with `bare_bytes`,
    the same server running a bare app that answers that many bytes (bench.serve_bare)."""
    port = embedded_redis.free_port()
    env = dict(os.environ, DATABASE_URL=database, REDIS_URL=redis_url)
    runner = ["-c", "from web.cli import main; main()"]
    if profile_prefix is not None:
        runner = ["-m", "bench.serve_profiled", profile_prefix]
    elif bare_bytes is not None:
        runner = ["-m", "bench.serve_bare"]
        env["BENCH_BARE_BYTES"] = str(bare_bytes)
    log = f"/tmp/ticketflow-bench-server-{port}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, *runner, "run", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _healthy(url):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"The server did not start; see {log}.")
            time.sleep(0.2)
        while len(children(process.pid)) < workers and time.monotonic() < deadline:
            time.sleep(0.1)
        server = Server(url, process.pid, log)
        yield server
        if not server.keep_log:
            os.unlink(log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False
