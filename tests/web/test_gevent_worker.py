"""A gevent worker must not freeze while one of its requests waits for PostgreSQL.

psycopg chooses how it waits when it is first imported, and gunicorn's master imports it
before a worker patches the standard library (web/server.py `cooperative_psycopg`). The
script below takes the same steps in the same order as a worker of `ticketflow run`: import
the server module (psycopg comes with it), let gevent patch, load the app through the server's
own hook, then run a half-second query in one greenlet while another counts 10 ms sleeps.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import database_url

pytestmark = pytest.mark.postgres

SCRIPT = textwrap.dedent(
    """
    from web import server                      # as gunicorn's master: psycopg comes with it
    from gevent import monkey
    monkey.patch_all()                          # what the gevent worker does after the fork
    server.TicketflowServer.load(None)          # the worker's hook, then the app
    import os, gevent, psycopg
    ticks = 0
    def tick():
        global ticks
        while True:
            gevent.sleep(0.01)
            ticks += 1
    counter = gevent.spawn(tick)
    with psycopg.connect(os.environ["PLAIN_URL"]) as conn:
        conn.execute("SELECT pg_sleep(0.5)")
    counter.kill()
    print(ticks)
    """
)


def test_a_query_in_one_greenlet_lets_the_others_run(engine):
    url = database_url()
    env = dict(
        os.environ,
        DATABASE_URL=url,
        PLAIN_URL=url.replace("postgresql+psycopg://", "postgresql://"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    ticks = int(done.stdout.split()[-1])
    # 50 if the other greenlet ran all along; a frozen worker manages 0 or 1
    assert ticks >= 25, f"the other greenlet ran only {ticks} times in half a second"
