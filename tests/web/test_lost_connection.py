"""A PostgreSQL session ended under the app (a restart, a failover, an administrator's
pg_terminate_backend) costs nobody an error: the pool notices on checkout, without a
round trip per request, and hands out a fresh connection."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, exc, text

from web.extensions import db
from workflow.liveness import check_on_checkout

pytestmark = pytest.mark.postgres


def _terminate(engine, pid: int) -> None:
    """End the session `pid` and wait until the server has let it go."""
    with engine.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        admin.commit()
        for _ in range(250):
            gone = admin.scalar(
                text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
            admin.commit()  # pg_stat_activity is a snapshot per transaction
            if gone:
                time.sleep(0.2)  # the backend's exit closes its socket just after
                return
            time.sleep(0.02)
    raise AssertionError(f"session {pid} did not end")


def _pooled_pid(app) -> int:
    with app.app_context():
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.remove()
    return pid


def test_the_app_does_not_ping_the_database_before_every_request(app):
    assert not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping")


def test_a_request_after_the_database_ended_our_session_still_answers(app, world, engine):
    world.open()
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    before = _pooled_pid(app)
    _terminate(engine, before)
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "open_tickets": 1}
    assert _pooled_pid(app) != before


def test_a_signed_in_agent_keeps_working_after_the_session_ended(app, browser, world, engine):
    assert browser.sign_in(world.agent.email).status_code == 302
    before = _pooled_pid(app)
    _terminate(engine, before)
    page = browser.get("/staff")
    assert page.status_code == 200
    assert world.agent.name in page.get_data(as_text=True)


def test_without_the_check_the_first_statement_meets_the_lost_session(engine):
    """What the check saves: the same pool without it hands out the dead connection."""
    url = engine.url.render_as_string(hide_password=False)
    for checked in (False, True):
        pool = create_engine(url, pool_size=1)
        if checked:
            check_on_checkout(pool)
        try:
            with pool.connect() as first:
                pid = first.scalar(text("SELECT pg_backend_pid()"))
            _terminate(engine, pid)
            with pool.connect() as second:
                if checked:
                    assert second.scalar(text("SELECT pg_backend_pid()")) != pid
                else:
                    with pytest.raises(exc.OperationalError) as lost:
                        second.scalar(text("SELECT 1"))
                    assert lost.value.connection_invalidated
        finally:
            pool.dispose()
