"""`ticketflow worker`, and the worker `ticketflow run` (so `make demo`) starts by itself
against its embedded Redis when REDIS_URL is not set."""

from __future__ import annotations

import queue
import re
import subprocess
import threading

from click.testing import CliRunner
from redis import Redis
from rq import Worker

from jobs.worker import JOB_MONITORING_INTERVAL, MAINTENANCE_INTERVAL, TicketflowSimpleWorker
from tests.jobs.conftest import wait_for
from tests.serving import start_server, wait_healthy
from web.cli import cli

EMBEDDED = re.compile(r"started an embedded Redis at (redis://\S+)")


def test_the_worker_command_is_part_of_the_ticketflow_cli():
    result = CliRunner().invoke(cli, ["worker", "--help"])
    assert result.exit_code == 0, result.output
    assert "--processes" in result.output and "--sweep-interval" in result.output


def test_the_worker_class_carries_the_abandoned_job_tuning(redis):
    worker = TicketflowSimpleWorker(["ticketflow-timers"], connection=redis)
    assert (worker.job_monitoring_interval, worker.maintenance_interval) == (
        JOB_MONITORING_INTERVAL,
        MAINTENANCE_INTERVAL,
    )
    assert worker.dequeue_timeout <= MAINTENANCE_INTERVAL  # maintenance is not starved


def test_the_demo_server_starts_a_worker_against_its_embedded_redis(database_url, monkeypatch):
    monkeypatch.setenv("TICKETFLOW_DEMO_WORKER", "1")  # as `make demo` has it
    server, url = start_server(
        database_url, None, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in server.stdout], daemon=True)
    reader.start()
    redis_url = None
    try:
        assert wait_healthy(url, 30) is not None
        seen = []
        while not lines.empty():
            seen.append(lines.get())
        found = EMBEDDED.search("".join(seen))
        assert found, "".join(seen)
        redis_url = found.group(1)
        embedded = Redis.from_url(redis_url)
        workers = wait_for(lambda: Worker.all(connection=embedded), 30)
        assert workers, "no RQ worker registered with the embedded Redis"
        assert workers[0].queue_names() == [
            "ticketflow-timers",
            "ticketflow-mail",
            "ticketflow-sweep",
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
        reader.join(timeout=5)
        server.stdout.close()
