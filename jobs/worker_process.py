"""Start and stop `ticketflow worker` as a child process (the demo's `ticketflow run`).

Kept apart from `jobs.worker` on purpose: this module imports no rq and no redis, so the
process that starts a worker (gunicorn's master) never loads them. Gunicorn's gevent workers
fork from that master and monkey-patch sockets only then; a module loaded before keeps the
unpatched originals (tests/web/test_cli_imports.py checks the master stays clean).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

STOP_TIMEOUT = 10.0


def spawn(redis_url: str, extra: Sequence[str] = ()) -> subprocess.Popen:
    """Start the worker command (`python -m jobs.worker`, the same as `ticketflow worker`
    without the Flask CLI around it, and found without the console script on PATH) against
    `redis_url`, with this process's environment otherwise (DATABASE_URL, MAIL_OUTBOX)."""
    env = {**os.environ, "REDIS_URL": redis_url}
    return subprocess.Popen([sys.executable, "-m", "jobs.worker", *extra], env=env)


def stop(process: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """Ask the worker to finish its job and stop (SIGTERM: RQ's warm shutdown); kill it if it
    has not stopped within `timeout` seconds. Safe to call on a worker that already ended
    (a Ctrl-C in a terminal reaches it directly, too)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
