"""A test run keeps to Redis of its own: the app under test uses the run's claimed database
(never REDIS_URL's own, which other runs and deployments share) and a live channel of the
run's own; claims never collide, a run holds one database however many suites ask, and a
full range is an error at once, never a wait (tests/redis_claim.py)."""

from __future__ import annotations

import os

import pytest
from redis import Redis
from rq import Queue

from jobs import queues
from jobs.connection import for_requests
from jobs.live import CHANNEL
from tests import redis_claim
from tests.redis_claim import CLAIM, CLAIMABLE, AllClaimed, claim, run_database, server_of


def database_of(url: str) -> int:
    return Redis.from_url(url).connection_pool.connection_kwargs.get("db", 0)


@pytest.fixture
def server(redis_url):
    """The Redis server the claims are made on: REDIS_URL's (CI), else the embedded one."""
    return os.environ.get("REDIS_URL") or redis_url


def test_the_app_under_test_uses_the_runs_own_database_and_channel(app, redis_url):
    assert app.config["REDIS_URL"] == redis_url
    assert app.config["LIVE_CHANNEL"] != CHANNEL
    assert str(os.getpid()) in app.config["LIVE_CHANNEL"]
    if os.environ.get("REDIS_URL"):  # a shared server: a claimed database, never REDIS_URL's
        assert database_of(redis_url) in CLAIMABLE
        assert database_of(redis_url) != database_of(os.environ["REDIS_URL"])
        with Redis.from_url(server_of(redis_url), decode_responses=True) as admin:
            holder = admin.get(CLAIM.format(database_of(redis_url)))
        assert holder is not None and f":{os.getpid()}:" in holder
    else:  # the smoke run: the embedded server this run started
        assert redis_url.startswith("redis://127.0.0.1:")


def test_a_mail_job_the_app_queues_lands_in_the_runs_database(browser, world, app, redis_url):
    browser.get("/reset")
    assert browser.post("/reset", {"email": world.customer.email}).status_code == 302
    mine = Queue(queues.MAIL, connection=for_requests(app.config["REDIS_URL"]))
    assert mine.count == 1  # `app` emptied the database; this request queued exactly one


def test_two_claims_in_one_process_get_different_databases(server):
    first, second = claim(server), claim(server)
    try:
        assert first.db != second.db
        assert {first.db, second.db} <= set(CLAIMABLE)
        assert first.token != second.token
    finally:
        first.release()
        second.release()
    with Redis.from_url(server_of(server), decode_responses=True) as admin:
        assert admin.get(CLAIM.format(first.db)) is None  # freed at the end
        assert admin.get(CLAIM.format(second.db)) is None


def test_a_full_range_is_refused_at_once_with_the_keys_to_free(server):
    held = claim(server)
    try:
        with pytest.raises(AllClaimed, match=CLAIM.format(held.db)):
            claim(server, databases=[held.db])  # the only database offered is taken
    finally:
        held.release()


def test_a_run_holds_one_database_however_many_suites_ask(server, redis_url):
    """tests/jobs and tests/web in one run share the run's database: the same URL for both,
    freed only when the last of them lets go."""
    session_holds = server_of(server) in redis_claim._held  # CI: this run's redis_url
    with run_database(server) as jobs_url, run_database(server) as web_url:
        assert jobs_url == web_url
        if session_holds:
            assert web_url == redis_url
        held = redis_claim._held[server_of(server)][0]
    with Redis.from_url(server_of(server), decode_responses=True) as admin:
        still = admin.get(CLAIM.format(held.db))
    assert (still is not None) == session_holds  # released by the last holder only
    assert (server_of(server) in redis_claim._held) == session_holds


def test_a_claim_left_by_a_dead_process_on_this_host_is_taken_over(server):
    held = claim(server)
    dead = f"{redis_claim.HOST}:{2**22 + 12345}:gone"  # above Linux's largest pid
    held.admin.set(CLAIM.format(held.db), dead)
    try:
        again = claim(server, databases=[held.db])
        assert again.db == held.db and again.token != dead
        again.release()
    finally:
        held.admin.close()
