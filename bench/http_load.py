"""The load side of bench.http_transitions: clients posting events over keep-alive
connections, one measured round, and the bare-server baseline measured in the same run.

Each client is a thread with its own connection, session cookie and CSRF token, walking its
own list of tickets (so no two requests touch the same ticket). Each request is what htmx
sends: the form with HX-Request and X-CSRFToken; anything but a 200 is counted as an error
(status 0: the connection broke; a POST is never sent twice).
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from dataclasses import dataclass, field

from bench.browser import HttpSession
from bench.pg_cpu import BackendCpu
from bench.webapp import Staff, cpu_seconds, running_server


@dataclass
class Job:
    number: int
    version: int
    form: dict[str, str]


@dataclass
class Client:
    person: Staff | None
    jobs: list[Job]
    session: HttpSession | None = None
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)
    next: int = 0
    answer_bytes: int = 0


def post(client: Client, event: str) -> None:
    job = client.jobs[client.next]
    client.next += 1
    assert client.session is not None
    token = client.session.token or "none: the bare baseline checks no token"
    form = {"version": str(job.version), "csrf_token": token, **job.form}
    started = time.perf_counter()
    try:
        status, body = client.session.request(
            "POST",
            f"/staff/tickets/{job.number}/events/{event}",
            form,
            {"HX-Request": "true", "X-CSRFToken": token},
        )
        client.answer_bytes = len(body)
    except (OSError, http.client.HTTPException):
        status = 0  # the connection broke: an error, never retried (it may have been done)
    client.latencies.append((time.perf_counter() - started) * 1000)
    if status != 200:
        client.errors[status] = client.errors.get(status, 0) + 1


def run_clients(clients: list[Client], event: str, seconds: float) -> float:
    """All clients post as fast as they are answered for `seconds`; returns the wall time."""
    stop = time.perf_counter() + seconds

    def loop(client: Client) -> None:
        while time.perf_counter() < stop and client.next < len(client.jobs):
            post(client, event)

    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started


@dataclass
class Round:
    requests: int
    wall: float
    cpu: dict[str, float]
    latencies: list[float]
    errors: dict[int, int]
    busy: list[float] = field(default_factory=list)
    """Each gunicorn worker's CPU over the round in cores (seconds per second), busiest first:
    the keep-alive clients stay on the worker that accepted them, and one run split them 1:7,
    so a single worker can hold the rate at its one core while the other idles."""

    @property
    def rate(self) -> float:
        """Requests answered 200 per second (an error is not a transition)."""
        return (self.requests - sum(self.errors.values())) / self.wall

    def ms(self, who: str) -> float:
        return self.cpu[who] / self.requests * 1000


def measure(
    database: str, clients: list[Client], event: str, seconds: float, pids: dict[str, list[int]]
) -> Round:
    """One round: requests, wall time, and CPU seconds of each process group in `pids`, of
    the PostgreSQL backends of `database` (sampled while they come and go: bench.pg_cpu)
    and of this process (the load generator)."""
    for c in clients:
        c.latencies.clear()
        c.errors.clear()
    before = {who: sum(cpu_seconds(p) for p in ps) for who, ps in pids.items()}
    workers = {p: cpu_seconds(p) for p in pids.get("gunicorn workers", [])}
    client_cpu = time.process_time()
    with BackendCpu(database) as backends:
        wall = run_clients(clients, event, seconds)
    cpu = {who: sum(cpu_seconds(p) for p in ps) - before[who] for who, ps in pids.items()}
    cpu["PostgreSQL"] = backends.seconds
    cpu["load generator"] = time.process_time() - client_cpu
    latencies = [x for c in clients for x in c.latencies]
    errors: dict[int, int] = {}
    for c in clients:
        for status, n in c.errors.items():
            errors[status] = errors.get(status, 0) + n
    busy = sorted(((cpu_seconds(p) - was) / wall for p, was in workers.items()), reverse=True)
    return Round(len(latencies), wall, cpu, latencies, errors, busy)


def baseline(
    url: str,
    redis_url: str,
    workers: int,
    shares: list[list[Job]],
    event: str,
    answer_bytes: int,
    seconds: float,
    rounds: int,
) -> list[Round]:
    """The same clients' requests against the same server running a bare Flask app that
    answers `answer_bytes` bytes (bench.serve_bare): the ceiling of this machine, server and
    load generator, measured in the same run as the real figure. Requests repeat the real
    tickets' URLs; nothing is changed."""
    database = url.rsplit("/", 1)[1]
    results = []
    with running_server(url, redis_url, workers, bare_bytes=answer_bytes) as server:
        many = int(seconds * 5000)
        clients = [
            Client(
                None, list(itertools.islice(itertools.cycle(jobs), many)), HttpSession(server.url)
            )
            for jobs in shares
        ]
        pids = {"gunicorn workers": server.workers, "Redis": []}
        run_clients(clients, event, 1.0)
        for _ in range(rounds):
            for c in clients:
                c.next = 0
            results.append(measure(database, clients, event, seconds, pids))
        for c in clients:
            c.session.close()  # type: ignore[union-attr]
    return results
