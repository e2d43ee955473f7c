"""`ticketflow run`: gunicorn with the gevent worker, configured in code.

The gevent worker is what live updates over server-sent events need (many long-lived
connections per process); psycopg 3 cooperates with gevent on its own.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import sys
from pathlib import Path

import click
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from jobs import embedded_redis, worker_process


class DemoArbiter(Arbiter):
    """Gunicorn's master for the demo: a hang-up (the terminal that ran `make demo` closed)
    stops it as Ctrl-C does. Gunicorn's own answer, a reload, left a server on the port with
    its embedded Redis and worker gone (they end on the hang-up). Production keeps the reload."""

    def handle_hup(self) -> None:
        self.log.info("Hang up: the demo's terminal closed; stopping.")
        self.handle_int()


class TicketflowServer(BaseApplication):
    """Gunicorn loading `wsgi:app` in each worker (no app object built in the master)."""

    def __init__(self, options: dict[str, object], arbiter: type[Arbiter] = Arbiter):
        self.options = options
        self.arbiter = arbiter
        super().__init__()

    def run(self) -> None:
        """BaseApplication.run with the arbiter class chosen."""
        try:
            self.arbiter(self).run()
        except RuntimeError as exc:
            print(f"\nError: {exc}\n", file=sys.stderr, flush=True)
            sys.exit(1)

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):  # noqa: ANN201 - gunicorn's hook
        cooperative_psycopg()
        from wsgi import app

        return app


def cooperative_psycopg() -> None:
    """In a gevent worker (called once gunicorn's gevent worker has monkey-patched the
    standard library, before the app loads): make psycopg wait for PostgreSQL through the
    patched `select`, so a greenlet waiting on a query lets the worker's other requests and
    event streams run.

    psycopg picks its wait function once, when it is first imported: its C `wait_c` unless
    gevent has patched `select` by then. The master imports psycopg before any worker
    patches (the `web` package builds its engine hooks on import: workflow/liveness.py), so
    every forked worker inherited `wait_c`, and each round trip to PostgreSQL froze the
    whole worker: one request in flight per worker at any time, however many clients. This
    makes the choice psycopg makes itself when it is imported after the patch (`wait_poll`
    on Linux, `wait_select` where there is no poll). Without gevent's patch it does nothing.
    """
    from gevent import monkey

    if not monkey.is_module_patched("select"):
        return
    import select

    from psycopg import waiting

    waiting.wait = waiting.wait_poll if hasattr(select, "poll") else waiting.wait_select


def serve(host: str, port: int, workers: int) -> None:
    """Run until stopped. Without REDIS_URL (the demo), start the embedded Redis first and
    hand its URL to the workers, which read it when they build the app, and start an RQ
    worker (with the scheduler and the sweep) against it, so timers work in the demo too
    (TICKETFLOW_DEMO_WORKER=0 leaves it out: tests with back-dated tickets)."""
    embedded = rq_worker = None
    try:
        if not os.environ.get("REDIS_URL"):
            _refuse_a_port_in_use(host, port)
            embedded = embedded_redis.start()
            os.environ["REDIS_URL"] = embedded.url
            print(f"REDIS_URL is not set: started an embedded Redis at {embedded.url}", flush=True)
            # the demo's mails link to the demo (production sets PUBLIC_URL to its address)
            os.environ.setdefault("PUBLIC_URL", f"http://{host}:{port}")
            if not os.environ.get("MAIL_SERVER"):
                os.environ.setdefault("MAIL_OUTBOX", str(Path("instance", "outbox").resolve()))
            if os.environ.get("TICKETFLOW_DEMO_WORKER", "1") != "0":
                # A child process running `ticketflow worker`: this master never imports rq
                # or redis, in either mode (tests/web/test_cli_imports.py checks it).
                rq_worker = worker_process.spawn(embedded.url)
        _run(host, port, workers, demo=embedded is not None)
    finally:
        if rq_worker is not None:
            worker_process.stop(rq_worker)
        if embedded is not None:
            embedded.stop()


def _refuse_a_port_in_use(host: str, port: int) -> None:
    """Before the demo starts its Redis and worker: say at once, in one sentence, that the
    port is taken (gunicorn alone would retry for five seconds between the worker's logs)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return  # not ours to judge (a privileged port, an unknown host): gunicorn says
            raise click.ClickException(
                f"Port {port} on {host} is already in use: stop what is serving there, or "
                f"choose another port (ticketflow run --port 8080, make demo DEMO_PORT=8080)."
            ) from None


def _run(host: str, port: int, workers: int, demo: bool = False) -> None:
    TicketflowServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gevent",
            "worker_connections": 1000,
            "accesslog": "-",
            "graceful_timeout": 10,
            "timeout": 60,
            # gunicorn's control socket (for `gunicornc`, which Ticketflow does not use) has
            # one default path per user, $HOME/.gunicorn/gunicorn.ctl: every other server on
            # the machine (tests, benchmarks, a second demo) would take it over.
            "control_socket_disable": True,
            "post_worker_init": _leave_interrupt_to_the_master,
        },
        DemoArbiter if demo else Arbiter,
    ).run()


def _leave_interrupt_to_the_master(worker: object) -> None:
    """Gunicorn hook, in each worker once it is set up: ignore SIGINT. A Ctrl-C in a terminal
    reaches the whole process group; the master answers it by sending its workers SIGQUIT,
    and a gevent worker already exiting on its own SIGINT then met that second signal in the
    middle of its shutdown and printed a SystemExit traceback per worker. The master alone
    decides now; SIGTERM and SIGQUIT still stop a worker as before."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
