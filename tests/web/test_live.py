"""Live pages through their routes: the event stream of a ticket page (staff and customer,
each only what they may see), the polling answer that is 204 while nothing changed, presence,
and a Redis outage that never fails a change. The hub itself: test_live_hub.py."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest

from jobs.connection import for_requests
from jobs.dispatch import dispatch
from jobs.embedded_redis import free_port
from tests.web.conftest import app_config
from tests.web.helpers import HX, count_queries, signed_in, text
from web import create_app
from web.extensions import db
from web.live import presence
from web.live.hub import hub_for
from workflow import services

WAIT_S = 10.0


def note_by_bob(world, ticket, app, body="Bob was here."):
    """A colleague's change, dispatched after its commit as every route does (on the app's
    Redis and its live channel)."""
    later = world.now + timedelta(minutes=5)
    outcome = services.add_note(world.session, ticket.id, world.actor(world.colleague), later, body)
    dispatch(outcome.follow_ups, for_requests(app.config["REDIS_URL"]), app.config["LIVE_CHANNEL"])
    return outcome.ticket.version


def read_until(chunks: Iterator[str], wanted: str, seconds: float = WAIT_S) -> list[str]:
    """Stream chunks up to and including one that contains `wanted` (keep-alives come at least
    every ten seconds, so this never blocks much past the deadline)."""
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        chunk = next(chunks)
        chunk = chunk.decode() if isinstance(chunk, bytes) else chunk
        seen.append(chunk)
        if wanted in chunk:
            return seen
    raise AssertionError(f"{wanted!r} did not arrive in {seconds} s; got {seen}")


# ---- the polling answer -----------------------------------------------------------------


def test_a_ticket_page_hears_204_until_someone_else_changes_the_ticket(app, browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    poll = f"/staff/tickets/{ticket.number}/live?seen={ticket.version}"
    answer, statements = count_queries(app, lambda: browser.get(poll, headers=HX))
    assert answer.status_code == 204 and answer.get_data() == b""
    assert len(statements) <= 2  # the signed-in person, the ticket (with its version)

    version = note_by_bob(world, ticket, app, "Customer called: it is the toner.")
    answer = browser.get(poll, headers=HX)
    html = text(answer)
    assert answer.status_code == 200
    assert '<div id="ticket-main" hx-swap-oob="innerHTML">' in html
    assert "Customer called: it is the toner." in html
    assert "This ticket changed since you loaded it (latest: Bob Level2)" in html
    assert f'href="/staff/tickets/{ticket.number}">reload the page</a>' in html
    assert f'id="composer-version" name="version" value="{version}" hx-swap-oob="true"' in html
    assert f'id="ticket-seen" name="seen" value="{version}"' in html


def test_a_plain_visit_to_the_polling_address_lands_on_the_ticket(browser, world, ticket):
    browser.sign_in(world.agent.email)
    answer = browser.get(f"/staff/tickets/{ticket.number}/live?seen=0")
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/staff/tickets/{ticket.number}")


def test_live_addresses_keep_to_the_access_rules(browser, world, ticket):
    world.colleague.departments.clear()
    world.session.commit()
    browser.sign_in(world.colleague.email)
    for url in (
        f"/staff/tickets/{ticket.number}/live?seen=1",
        f"/staff/live/stream?ticket={ticket.number}",
    ):
        assert browser.get(url, headers=HX).status_code == 404
    assert browser.post(f"/staff/tickets/{ticket.number}/presence").status_code == 404
    assert browser.get("/staff/live/stream?ticket=abc").status_code == 400
    browser.post("/staff/logout")
    browser.sign_in(world.customer.email, staff=False)
    assert browser.get("/staff/live/stream").status_code == 403
    browser.post("/logout")
    assert browser.get("/staff/live/stream").status_code == 302  # to sign in


# ---- the stream --------------------------------------------------------------------------


def test_the_stream_tells_an_open_ticket_page_of_a_change(app, world, ticket):
    alice = signed_in(app, world.agent.email)
    answer = alice.client.get(f"/staff/live/stream?ticket={ticket.number}", buffered=False)
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    assert answer.headers["Cache-Control"] == "no-cache"
    chunks = iter(answer.response)
    try:
        read_until(chunks, "event: status\ndata: up")
        version = note_by_bob(world, ticket, app)
        read_until(chunks, f"event: changed\ndata: {version}\n\n")
    finally:
        answer.close()


# ---- presence ----------------------------------------------------------------------------


def test_a_ticket_page_shows_who_else_is_viewing_it(redis, app, world, ticket):
    redis.delete(presence.key(ticket.id, app.config["LIVE_CHANNEL"]))
    alice, bob = signed_in(app, world.agent.email), signed_in(app, world.colleague.email)
    for person in (alice, bob):
        person.get(f"/staff/tickets/{ticket.number}")
    here = f"/staff/tickets/{ticket.number}/presence"

    def beat(person):
        answer = person.post(here, csrf=False, headers={**HX, "X-CSRFToken": person.token})
        assert answer.status_code == 200
        return text(answer)

    assert "Also viewing" not in beat(alice)
    assert "Also viewing: Alice Agent" in beat(bob)
    assert "Also viewing: Bob Level2" in beat(alice)
    bob.post(f"{here}/leave")  # the page's beacon when Bob closes it
    assert "Also viewing" not in beat(alice)
    assert 0 < redis.ttl(presence.key(ticket.id, app.config["LIVE_CHANNEL"])) <= presence.TTL_S * 2


def test_a_viewer_whose_page_stopped_drops_out_after_the_ttl(redis):
    ticket_id = 10_000_000 + os.getpid()
    redis.delete(presence.key(ticket_id))
    now = time.time()
    presence.here(redis, ticket_id, user_id=1, now=now - presence.TTL_S - 1)
    presence.here(redis, ticket_id, user_id=2, now=now - presence.TTL_S + 5)
    assert presence.here(redis, ticket_id, user_id=3, now=now) == [2, 3]
    redis.delete(presence.key(ticket_id))


def test_presence_needs_the_csrf_header(app, world, ticket):
    alice = signed_in(app, world.agent.email)
    answer = alice.post(f"/staff/tickets/{ticket.number}/presence", csrf=False, headers=HX)
    assert answer.status_code == 400


def test_presence_counts_its_queries(redis, app, world, ticket):
    redis.delete(presence.key(ticket.id, app.config["LIVE_CHANNEL"]))
    alice, bob = signed_in(app, world.agent.email), signed_in(app, world.colleague.email)
    bob.get("/staff")
    bob.post(f"/staff/tickets/{ticket.number}/presence")
    alice.get("/staff")
    answer, statements = count_queries(
        app, lambda: alice.post(f"/staff/tickets/{ticket.number}/presence")
    )
    assert answer.status_code == 200
    assert len(statements) <= 3  # the signed-in person, the ticket, the viewers' names


# ---- Redis down --------------------------------------------------------------------------


@pytest.fixture
def app_without_redis(engine, app):
    """The same database, with REDIS_URL pointing at a port where nothing listens."""
    config = app_config(engine, f"redis://127.0.0.1:{free_port()}/0", app.config["LIVE_CHANNEL"])
    down = create_app(config)
    yield down
    with down.app_context():
        db.engine.dispose()
    hub_for(config.REDIS_URL, config.LIVE_CHANNEL).close()  # stop its reconnect attempts


def test_a_redis_outage_never_fails_a_change_or_a_page(app_without_redis, world, ticket):
    alice = signed_in(app_without_redis, world.agent.email)
    alice.get(f"/staff/tickets/{ticket.number}")
    started = time.monotonic()
    answer = alice.post(
        f"/staff/tickets/{ticket.number}/events/claim", {"version": ticket.version}, headers=HX
    )
    assert answer.status_code == 200 and f"#{ticket.number} is now yours." in text(answer)
    assert time.monotonic() - started < 3  # one short timeout, not redis-py's default retries
    viewers = alice.post(f"/staff/tickets/{ticket.number}/presence", headers=HX)
    assert viewers.status_code == 200 and "Also viewing" not in text(viewers)
    stream = alice.client.get(f"/staff/live/stream?ticket={ticket.number}", buffered=False)
    chunks = iter(stream.response)
    try:
        read_until(chunks, "event: status\ndata: down")  # so the page polls
    finally:
        stream.close()


# ---- the Support Center ------------------------------------------------------------------


def test_a_customer_page_refreshes_silently_and_never_shows_internal_notes(app, world, ticket):
    carol = signed_in(app, world.customer.email, staff=False)
    carol.get(f"/tickets/{ticket.number}")
    poll = f"/tickets/{ticket.number}/live?seen={ticket.version}"
    assert carol.get(poll, headers=HX).status_code == 204
    version = note_by_bob(world, ticket, app, "Internal: she called twice already.")
    answer = carol.get(poll, headers=HX)
    html = text(answer)
    assert answer.status_code == 200
    assert "she called twice" not in html and "Bob" not in html
    assert "changed since you loaded it" not in html  # no hint that staff wrote something
    assert f'id="reply-version" name="version" value="{version}" hx-swap-oob="true"' in html
    services.reply(
        world.session,
        ticket.id,
        world.actor(world.agent),
        world.now + timedelta(minutes=9),
        "Hello Carol, a technician is on the way.",
    )
    html = text(carol.get(f"/tickets/{ticket.number}/live?seen={version}", headers=HX))
    assert "a technician is on the way" in html and "she called twice" not in html


def test_a_customer_streams_only_their_own_tickets(app, world, ticket):
    world.other_customer.password_hash = world.customer.password_hash
    world.session.commit()
    oscar = signed_in(app, world.other_customer.email, staff=False)
    assert oscar.get(f"/tickets/{ticket.number}/live/stream").status_code == 404
    assert oscar.get(f"/tickets/{ticket.number}/live?seen=1", headers=HX).status_code == 404
    alice = signed_in(app, world.agent.email)
    assert alice.get(f"/tickets/{ticket.number}/live/stream").status_code == 403
    carol = signed_in(app, world.customer.email, staff=False)
    answer = carol.client.get(f"/tickets/{ticket.number}/live/stream", buffered=False)
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    chunks = iter(answer.response)
    try:
        read_until(chunks, "event: status\ndata: up")
        version = note_by_bob(world, ticket, app)
        read_until(chunks, f"event: changed\ndata: {version}\n\n")
    finally:
        answer.close()
