"""Starting the real server (`ticketflow run`: gunicorn with the gevent worker) in tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from jobs.embedded_redis import free_port


def start_server(
    database_url: str,
    redis_url: str | None = None,
    live_channel: str | None = None,
    **popen: object,
) -> tuple[subprocess.Popen, str]:
    """`ticketflow run` on a free port against `database_url`; without `redis_url` it starts
    its own embedded Redis, as `make demo` does; `live_channel`: the run's LIVE_CHANNEL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["DATABASE_URL"] = database_url
    # no RQ worker next to the embedded Redis unless a test asks for one: its sweep would
    # escalate the tests' back-dated tickets (their clocks started days ago) under them
    env.setdefault("TICKETFLOW_DEMO_WORKER", "0")
    if redis_url:
        env["REDIS_URL"] = redis_url
    if live_channel:
        env["LIVE_CHANNEL"] = live_channel
    command = [
        sys.executable,
        "-c",
        "from web.cli import main; main()",
        "run",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    return subprocess.Popen(command, env=env, **popen), f"http://127.0.0.1:{port}"


def wait_healthy(url: str, seconds: float = 20) -> str | None:
    """The body of /healthz once the server answers, or None if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                return answer.read().decode()
        except OSError:
            time.sleep(0.25)
    return None
