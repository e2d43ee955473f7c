"""`ticketflow run`: gunicorn with the gevent worker, configured in code.

The gevent worker is what live updates over server-sent events need (many long-lived
connections per process); psycopg 3 cooperates with gevent on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

from gunicorn.app.base import BaseApplication

from jobs import embedded_redis


class TicketflowServer(BaseApplication):
    """Gunicorn loading `wsgi:app` in each worker (no app object built in the master)."""

    def __init__(self, options: dict[str, object]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # noqa: ANN201 - gunicorn's hook
        from wsgi import app

        return app


def serve(host: str, port: int, workers: int) -> None:
    """Run until stopped. Without REDIS_URL (the demo), start the embedded Redis first and
    hand its URL to the workers, which read it when they build the app, and start an RQ
    worker (with the scheduler and the sweep) against it, so timers work in the demo too
    (TICKETFLOW_DEMO_WORKER=0 leaves it out: tests with back-dated tickets)."""
    embedded = rq_worker = None
    if not os.environ.get("REDIS_URL"):
        embedded = embedded_redis.start()
        os.environ["REDIS_URL"] = embedded.url
        print(f"REDIS_URL is not set: started an embedded Redis at {embedded.url}", flush=True)
        if not os.environ.get("MAIL_SERVER"):
            os.environ.setdefault("MAIL_OUTBOX", str(Path("instance", "outbox").resolve()))
        if os.environ.get("TICKETFLOW_DEMO_WORKER", "1") != "0":
            # Imported here, not at the top: jobs.worker brings rq and redis, and with
            # REDIS_URL set gunicorn's master must not load them before its gevent workers
            # patch sockets (tests/web/test_cli_imports.py checks it).
            from jobs import worker

            rq_worker = worker.spawn(embedded.url)
    try:
        _run(host, port, workers)
    finally:
        if rq_worker is not None:
            worker.stop(rq_worker)
        if embedded is not None:
            embedded.stop()


def _run(host: str, port: int, workers: int) -> None:
    TicketflowServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gevent",
            "worker_connections": 1000,
            "accesslog": "-",
            "graceful_timeout": 10,
            "timeout": 60,
        }
    ).run()
