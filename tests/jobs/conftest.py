"""Real Redis, real RQ worker processes, and the test database for the timer tests.

Redis: the server at TEST_REDIS_URL (default 127.0.0.1:6379). Each test run claims one of
the databases 8-15 for itself (tests/redis_claim.py: a claim key in database 0, freed at the
end; tests/web holds the same one), so parallel runs never share keys, and each test starts
with that database empty (FLUSHDB touches only the claimed one). A server that cannot be
reached fails the run; nothing is skipped.

Workers: `python -m jobs.worker` subprocesses (RQ workers with the scheduler, and the cron
that enqueues the sweep), pointed at the test database and the claimed Redis database.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from jobs import runtime
from tests.factories import World
from tests.redis_claim import run_database
from workflow import services
from workflow.models import SlaPlan, SlaStep, Ticket

DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a Redis database no other test run uses (tests/redis_claim.py: the run's
    one claimed database, shared with tests/web)."""
    with run_database(os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS)) as url:
        yield url


@pytest.fixture
def redis(redis_server: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_server)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def database_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def job_env(monkeypatch: pytest.MonkeyPatch, database_url: str, redis_server: str) -> dict:
    """This process, and the workers it starts, use the test database and Redis."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", redis_server)
    monkeypatch.delenv("MAIL_SERVER", raising=False)
    runtime.reset()
    yield dict(os.environ)
    runtime.reset()


@dataclass
class Workers:
    """Worker processes started by one test; all of them are stopped at its end."""

    env: dict
    logs: Path
    started: list[subprocess.Popen] = field(default_factory=list)
    files: list = field(default_factory=list)

    def start(self, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"worker-{len(self.started)}.log", "wb")  # noqa: SIM115
        self.files.append(log)
        process = subprocess.Popen(
            [sys.executable, "-m", "jobs.worker", "--logging-level", "INFO", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the test can kill it whole
        )
        self.started.append(process)
        return process

    def kill_tree(self, process: subprocess.Popen) -> None:
        """SIGKILL a worker as a dead host would: the worker, its scheduler and cron (its
        process group) and its work horse (RQ puts each horse in a group of its own)."""
        for pid in descendants(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill_tree(process)
        for process in self.started:  # orphaned horses or schedulers of killed workers
            for pid in descendants(process.pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for log in self.files:
            log.close()


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children first found through /proc)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            text = Path(f"/proc/{parent}/task/{parent}/children").read_text()
        except OSError:
            continue
        children = [int(c) for c in text.split()]
        found += children
        todo += children
    return found


@pytest.fixture
def workers(job_env: dict, redis: Redis, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(job_env, tmp_path)
    yield pool
    pool.stop_all()


# ---- tickets with clocks due in seconds -----------------------------------------------------


def use_plan(world: World, name: str = "SEV A") -> SlaPlan:
    plan = world.session.scalar(select(SlaPlan).where(SlaPlan.name == name))
    world.topic.sla_plan_id = plan.id
    world.session.commit()
    return plan


def breach_only_plan(world: World) -> SlaPlan:
    """A plan whose clocks have one step each, the breach (no at-risk threshold), which
    fires `escalate`: one timer job per clock, for the tests that kill or race it."""
    plan = SlaPlan(
        name="Breach only",
        first_response_minutes=30,
        resolution_minutes=240,
        escalation_policy=[{"at": "breach", "actions": [{"event": "escalate"}]}],
    )
    world.session.add(plan)
    world.session.flush()
    world.topic.sla_plan_id = plan.id
    world.session.commit()
    return plan


def open_due_in(world: World, seconds: float, minutes: int = 30, **kw) -> tuple[Ticket, list]:
    """Open a ticket backdated so that its first-response clock (`minutes` long, SEV A's
    30) breaches `seconds` from now. Returns the ticket and its follow-ups."""
    opened = datetime.now(UTC) - timedelta(minutes=minutes) + timedelta(seconds=seconds)
    outcome = services.open_ticket(
        world.session,
        requester_id=world.customer.id,
        help_topic_id=world.topic.id,
        subject=kw.pop("subject", "The VPN drops every ten minutes"),
        body="Since this morning.",
        actor=world.actor(world.customer),
        now=opened,
    )
    return outcome.ticket, outcome.follow_ups


def steps(session: Session, ticket_id: int, step: str | None = None) -> list[SlaStep]:
    session.expire_all()
    query = select(SlaStep).where(SlaStep.ticket_id == ticket_id).order_by(SlaStep.id)
    if step is not None:
        query = query.where(SlaStep.step == step)
    return list(session.scalars(query))


def work_burst(job_env: dict) -> None:
    """A real `ticketflow worker` process in burst mode (no cron): it works what is queued
    and scheduled, then exits; a failure shows its output."""
    subprocess.run(
        [sys.executable, "-m", "jobs.worker", "--burst", "--no-cron"],
        env=job_env,
        check=True,
        capture_output=True,
        timeout=120,
    )


def wait_for(check: Callable[[], object], seconds: float, every: float = 0.2) -> object:
    """Poll `check` until it returns something truthy; that value, or the last one."""
    deadline = time.monotonic() + seconds
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(every)
        value = check()
    return value
