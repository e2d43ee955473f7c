"""`ticketflow run` with cProfile running in every worker, for bench.http_transitions.

    python -m bench.serve_profiled /tmp/prefix run --port 5001 --workers 1

Exactly the server `ticketflow run` starts (web.server, same gunicorn settings), plus two
gunicorn hooks: a worker enables a profiler once it has loaded the app, and writes its stats
to `<prefix>.<pid>` when it stops (SIGTERM to the master stops the workers gracefully).
The profiler sees the whole worker, so time spent waiting shows up in gevent's hub.
"""

from __future__ import annotations

import cProfile
import sys
from typing import Any

from web import server

_profiler = cProfile.Profile()


def _start(worker: Any) -> None:
    _profiler.enable()


def _stop(prefix: str) -> Any:
    def dump(_server: Any, worker: Any) -> None:
        _profiler.disable()
        _profiler.dump_stats(f"{prefix}.{worker.pid}")

    return dump


def main() -> None:
    prefix, *command = sys.argv[1:]
    original = server.TicketflowServer.load_config

    def load_config(self: server.TicketflowServer) -> None:
        original(self)
        self.cfg.set("post_worker_init", _start)
        self.cfg.set("worker_exit", _stop(prefix))

    server.TicketflowServer.load_config = load_config  # type: ignore[method-assign]
    sys.argv = ["ticketflow", *command]
    from web.cli import main as ticketflow

    ticketflow()


if __name__ == "__main__":
    main()
