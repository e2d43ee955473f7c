"""`ticketflow run` keeps rq and redis out of gunicorn's master process.

Gunicorn's gevent workers monkey-patch sockets after they fork from the master; a module the
master imported before that (redis, rq) keeps references to the unpatched originals. So the
command line loads `jobs.worker` only for `ticketflow worker`, and the server only for the
demo's own worker. Each check runs in a fresh interpreter: the test process itself has long
imported everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
REPORT = "print(sorted(m for m in ('rq', 'redis') if m in sys.modules))"


def fresh_python(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_importing_the_command_line_does_not_import_rq_or_redis():
    assert fresh_python(f"import sys, web.cli; {REPORT}") == "[]"


def test_ticketflow_run_reaches_gunicorn_without_rq_or_redis_loaded():
    code = (
        "import sys\n"
        "from web import server\n"
        f"server._run = lambda host, port, workers: {REPORT}\n"
        "from web.cli import cli\n"
        "cli.main(['run', '--port', '1'], prog_name='ticketflow', standalone_mode=False)\n"
    )
    assert fresh_python(code, REDIS_URL="redis://127.0.0.1:6379/15") == "[]"


def test_the_worker_command_still_loads_when_asked_for():
    code = (
        "import sys\n"
        "from web.cli import cli\n"
        "cli.main(['worker', '--help'], prog_name='ticketflow', standalone_mode=False)\n"
        f"{REPORT}\n"
    )
    assert fresh_python(code) == "['redis', 'rq']"
