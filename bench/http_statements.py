"""How many round trips to PostgreSQL one transition over HTTP makes, for
bench.http_transitions: the same POSTs through the real app in this process (Flask's test
client), counting every statement (SQLAlchemy's cursor event, plus workflow.prepared's
statements, which bypass that event) and the transaction commands psycopg sends itself
(BEGIN, COMMIT, ROLLBACK). The pool's pre-ping on checkout (`SELECT 1`) is not counted.
Each statement is a round trip and PostgreSQL CPU, so this is the figure to keep falling.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from bench import http_phases
from bench.browser import csrf_token, sign_in_test_client


@contextmanager
def _counting(engine: Any) -> Iterator[Counter[str]]:
    import psycopg._connection_base as base

    from workflow import prepared

    counts: Counter[str] = Counter()
    run, command = prepared.Prepared._run, base.BaseConnection._exec_command

    def prepared_run(self: Any, *args: Any, **kw: Any) -> Any:
        counts["statements"] += 1
        return run(self, *args, **kw)

    def exec_command(self: Any, sql: Any, *args: Any, **kw: Any) -> Any:
        counts[bytes(sql).decode() if not isinstance(sql, str) else sql] += 1
        return command(self, sql, *args, **kw)

    def cursor(*_args: Any) -> None:
        counts["statements"] += 1

    prepared.Prepared._run = prepared_run  # type: ignore[method-assign]
    base.BaseConnection._exec_command = exec_command  # type: ignore[method-assign]
    event.listen(engine, "before_cursor_execute", cursor)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", cursor)
        prepared.Prepared._run = run  # type: ignore[method-assign]
        base.BaseConnection._exec_command = command  # type: ignore[method-assign]


def per_request(
    url: str, redis_url: str, email: str, posts: list[tuple[str, dict[str, str]]], warm: int = 0
) -> tuple[dict[str, float], Counter[str], int]:
    """Statements and transaction commands per POST (`posts`: path, form), in-process, and
    the CPU seconds of each phase (bench.http_phases) over the POSTs counted; the first
    `warm` POSTs only warm the process up (templates compiled, statements prepared).
    Returns (per-POST counts, phase seconds, POSTs counted)."""
    os.environ.update(DATABASE_URL=url, REDIS_URL=redis_url)
    from web import create_app
    from web.extensions import db

    app = create_app()
    client = app.test_client()
    sign_in_test_client(client, email)
    token = csrf_token(client.get("/staff").get_data(as_text=True)) or ""
    with app.app_context():
        engine = db.engine
    headers = {"HX-Request": "true", "X-CSRFToken": token}

    def send(path: str, form: dict[str, str]) -> None:
        answer = client.post(path, data={**form, "csrf_token": token}, headers=headers)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} answered {answer.status_code}")

    for path, form in posts[:warm]:
        send(path, form)
    counted = posts[warm:]
    with _counting(engine) as counts, http_phases.timing() as spent:
        for path, form in counted:
            send(path, form)
    with app.app_context():
        db.engine.dispose()
    return {what: n / len(counted) for what, n in counts.items()}, spent, len(counted)
