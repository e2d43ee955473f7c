"""`ticketflow run` keeps rq and redis out of gunicorn's master process.

Gunicorn's gevent workers monkey-patch sockets after they fork from the master; a module the
master imported before that (redis, rq) keeps references to the unpatched originals. So the
command line loads `jobs.worker` only for `ticketflow worker`, and the demo's server starts its
worker as a child process (`jobs.worker_process`), never importing it. Each check runs in a
fresh interpreter: the test process itself has long imported everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
LOADED = "sorted(m for m in ('rq', 'redis') if m in sys.modules)"
REPORT = f"print({LOADED})"


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
        f"server._run = lambda host, port, workers, **options: {REPORT}\n"
        "from web.cli import cli\n"
        "cli.main(['run', '--port', '1'], prog_name='ticketflow', standalone_mode=False)\n"
    )
    assert fresh_python(code, REDIS_URL="redis://127.0.0.1:6379/15") == "[]"


def test_the_demo_starts_its_worker_without_rq_or_redis_in_the_master(tmp_path):
    """Without REDIS_URL `ticketflow run` really starts the embedded Redis and spawns the RQ
    worker (children load rq; the master must not), and stops both when the server ends."""
    code = (
        "import sys\n"
        "from web import server\n"
        "from jobs import worker_process\n"
        "spawned = []\n"
        "real_spawn = worker_process.spawn\n"
        "def spawn(*args, **kwargs):\n"
        "    spawned.append(real_spawn(*args, **kwargs))\n"
        "    return spawned[-1]\n"
        "worker_process.spawn = spawn\n"
        "seen = []\n"
        f"server._run = lambda host, port, workers, **options: seen.append({LOADED})\n"
        "from web.cli import cli\n"
        "cli.main(['run', '--port', '1'], prog_name='ticketflow', standalone_mode=False)\n"
        "print([seen, len(spawned), [p.poll() is not None for p in spawned]])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}",
        MAIL_OUTBOX=str(tmp_path / "outbox"),
        TICKETFLOW_DEMO_WORKER="1",
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[[[]], 1, [True]]"


def test_the_worker_command_still_loads_when_asked_for():
    code = (
        "import sys\n"
        "from web.cli import cli\n"
        "cli.main(['worker', '--help'], prog_name='ticketflow', standalone_mode=False)\n"
        f"{REPORT}\n"
    )
    assert fresh_python(code) == "['redis', 'rq']"
