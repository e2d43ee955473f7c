"""The baseline of bench.http_transitions: the same server and client with nearly no app.

    python -m bench.serve_bare run --port 5001 --workers 2

Exactly the server `ticketflow run` starts (web.server: gunicorn, the gevent worker, the
same settings and access log), but each worker loads a bare Flask app instead of Ticketflow:
its POST route reads the form and answers a fixed fragment of BENCH_BARE_BYTES bytes (the
size of the real answer). No session, sign-in, CSRF, database or Redis. Its requests per
second on this machine, measured in the same run as the real ones, are the ceiling the real
figure is compared with: what the machine, the server, Flask and the load generator allow.
"""

from __future__ import annotations

import os
import sys

from flask import Flask, request

from web import server


def bare_app() -> Flask:
    app = Flask("ticketflow_bare")
    body = "<div>" + "x" * max(0, int(os.environ.get("BENCH_BARE_BYTES", "2000")) - 11) + "</div>"

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.post("/staff/tickets/<int:number>/events/<event>")
    def fire_event(number: int, event: str) -> str:
        if "version" not in request.form:
            return "the form was incomplete", 400
        return body

    return app


def main() -> None:
    server.TicketflowServer.load = lambda self: bare_app()  # type: ignore[method-assign]
    sys.argv = ["ticketflow", *sys.argv[1:]]
    from web.cli import main as ticketflow

    ticketflow()


if __name__ == "__main__":
    main()
