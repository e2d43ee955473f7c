"""Live pages: the event stream (one Redis subscription per process, fanned out, reconnecting
after an outage), the polling answer that is 204 while nothing changed, and presence."""

from __future__ import annotations

import contextlib
import http.client
import os
import queue
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from redis import Redis
from sqlalchemy import event
from werkzeug.security import generate_password_hash

from config import Config
from jobs.connection import for_requests
from jobs.dispatch import dispatch
from jobs.embedded_redis import free_port
from tests.serving import start_server, wait_healthy
from tests.web.conftest import PASSWORD, Browser
from web import create_app
from web.extensions import db
from web.live import presence
from web.live.hub import Changed, Hub, Status, hub_for
from web.live.stream import events
from workflow import services

HX = {"HX-Request": "true"}
WAIT_S = 10.0


@pytest.fixture
def redis(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def ticket(world):
    world.agent.departments.append(world.department)
    world.colleague.departments.append(world.department)
    world.session.commit()
    return world.open()


def text(answer):
    return answer.get_data(as_text=True)


def count_queries(app, call):
    statements = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        answer = call()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return answer, statements


def signed_in(app, email):
    browser = Browser(app.test_client())
    browser.sign_in(email)
    return browser


def signed_in_customer(app, email):
    browser = Browser(app.test_client())
    browser.sign_in(email, staff=False)
    return browser


def note_by_bob(world, ticket, redis_url, body="Bob was here."):
    """A colleague's change, dispatched after its commit as every route does."""
    later = world.now + timedelta(minutes=5)
    outcome = services.add_note(world.session, ticket.id, world.actor(world.colleague), later, body)
    dispatch(outcome.follow_ups, for_requests(redis_url))
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


def test_a_ticket_page_hears_204_until_someone_else_changes_the_ticket(
    app, browser, world, ticket, redis_url
):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    poll = f"/staff/tickets/{ticket.number}/live?seen={ticket.version}"
    answer, statements = count_queries(app, lambda: browser.get(poll, headers=HX))
    assert answer.status_code == 204 and answer.get_data() == b""
    assert len(statements) <= 2  # the signed-in person, the ticket (with its version)

    version = note_by_bob(world, ticket, redis_url, "Customer called: it is the toner.")
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


def test_the_stream_tells_an_open_ticket_page_of_a_change(app, world, ticket, redis_url):
    alice = signed_in(app, world.agent.email)
    answer = alice.client.get(f"/staff/live/stream?ticket={ticket.number}", buffered=False)
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    assert answer.headers["Cache-Control"] == "no-cache"
    chunks = iter(answer.response)
    try:
        read_until(chunks, "event: status\ndata: up")
        version = note_by_bob(world, ticket, redis_url)
        read_until(chunks, f"event: changed\ndata: {version}\n\n")
    finally:
        answer.close()


def test_a_dashboard_stream_folds_a_burst_of_changes_into_one_refresh(redis_url):
    hub = Hub(redis_url, channel=f"ticketflow:test:{uuid.uuid4().hex}")
    stream = events(hub, None, gap_s=0.5)
    assert next(stream).startswith("retry: ")
    next(stream)  # the status at connection time
    hub.broadcast(Changed(1, 2))
    assert next(stream) == "event: changed\ndata: 2\n\n"  # the first one at once
    started = time.monotonic()
    for version in range(3, 9):
        hub.broadcast(Changed(1, version))
    chunk = next(stream)
    while chunk.startswith("event: status"):  # the subscription may come up meanwhile
        chunk = next(stream)
    assert chunk == "event: changed\ndata: 8\n\n"  # one refresh for all six
    assert time.monotonic() - started >= 0.45
    stream.close()
    assert hub.listeners == 0  # a departed page leaves nothing behind
    hub.close()


def test_one_subscription_serves_more_pages_than_a_connection_pool_holds(redis, redis_url):
    channel = f"ticketflow:test:{uuid.uuid4().hex}"
    hub = Hub(redis_url, channel=channel)
    pages = [hub.attach(ticket_id=7 if i % 2 else None) for i in range(150)]
    wait_for_status(pages[0], up=True)
    assert redis.pubsub_numsub(channel) == [(channel.encode(), 1)]
    redis.publish(channel, '{"ticket_id": 7, "number": 100007, "version": 5}')
    redis.publish(channel, '{"ticket_id": 8, "number": 100008, "version": 2}')
    for i, page in enumerate(pages):
        got = drain(page, seconds=2.0 if i == 0 else 0.2)
        wanted = [Changed(7, 5)] if i % 2 else [Changed(7, 5), Changed(8, 2)]
        assert [s for s in got if isinstance(s, Changed)] == wanted
    hub.close()


class Outage:
    """A TCP path to Redis that the test can cut and restore: a real network failure."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self.restore()

    def _keep(self, sock: socket.socket) -> socket.socket:
        with self._lock:
            self._sockets.append(sock)
        return sock

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._keep(listener)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Every connection drops and new ones are refused, as when Redis goes away."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client = self._keep(listener.accept()[0])
                upstream = self._keep(socket.create_connection(("127.0.0.1", self.upstream_port)))
            except OSError:
                return
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)


def wait_for_status(page, up: bool, seconds: float = WAIT_S) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            signal = page.signals.get(timeout=0.2)
        except queue.Empty:
            continue
        if signal == Status(up=up):
            return
    raise AssertionError(f"the hub did not report up={up} in {seconds} s")


def drain(page, seconds: float) -> list:
    got, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            got.append(page.signals.get(timeout=0.05))
        except queue.Empty:
            if got and not isinstance(got[-1], Status):
                break
    return got


def test_after_a_redis_outage_the_hub_reconnects_and_pages_catch_up(redis, redis_url):
    upstream = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    outage = Outage(upstream)
    channel = f"ticketflow:test:{uuid.uuid4().hex}"
    hub = Hub(f"redis://127.0.0.1:{outage.port}/0", channel=channel)
    page = hub.attach()
    wait_for_status(page, up=True)
    outage.cut()
    wait_for_status(page, up=False)  # the page polls meanwhile
    outage.restore()
    wait_for_status(page, up=True)  # and re-reads what it shows on this
    redis.publish(channel, '{"ticket_id": 3, "number": 3, "version": 9}')
    assert Changed(3, 9) in drain(page, seconds=WAIT_S)
    hub.close()
    outage.cut()


# ---- presence ----------------------------------------------------------------------------


def test_a_ticket_page_shows_who_else_is_viewing_it(redis, app, world, ticket, redis_url):
    redis.delete(presence.key(ticket.id))
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
    assert 0 < redis.ttl(presence.key(ticket.id)) <= presence.TTL_S * 2


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


def test_presence_counts_its_queries(redis, app, world, ticket, redis_url):
    redis.delete(presence.key(ticket.id))
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
    config = Config(
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        RATELIMIT_KEY_PREFIX=f"ticketflow-test-{os.getpid()}",
        TESTING=True,
    )
    down = create_app(config)
    yield down
    with down.app_context():
        db.engine.dispose()
    hub_for(config.REDIS_URL).close()  # stop its reconnect attempts


def test_a_redis_outage_never_fails_a_change_or_a_page(app_without_redis, world, ticket):
    alice = signed_in(app_without_redis, world.agent.email)
    alice.get(f"/staff/tickets/{ticket.number}")
    started = time.monotonic()
    answer = alice.post(
        f"/staff/tickets/{ticket.number}/events/claim", {"version": ticket.version}, headers=HX
    )
    assert answer.status_code == 200 and "Done." in text(answer)
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


def test_a_customer_page_refreshes_silently_and_never_shows_internal_notes(
    app, world, ticket, redis_url
):
    carol = signed_in_customer(app, world.customer.email)
    carol.get(f"/tickets/{ticket.number}")
    poll = f"/tickets/{ticket.number}/live?seen={ticket.version}"
    assert carol.get(poll, headers=HX).status_code == 204
    version = note_by_bob(world, ticket, redis_url, "Internal: she called twice already.")
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


def test_a_customer_streams_only_their_own_tickets(app, world, ticket, redis_url):
    world.other_customer.password_hash = world.customer.password_hash
    world.session.commit()
    oscar = signed_in_customer(app, world.other_customer.email)
    assert oscar.get(f"/tickets/{ticket.number}/live/stream").status_code == 404
    assert oscar.get(f"/tickets/{ticket.number}/live?seen=1", headers=HX).status_code == 404
    alice = signed_in(app, world.agent.email)
    assert alice.get(f"/tickets/{ticket.number}/live/stream").status_code == 403
    carol = signed_in_customer(app, world.customer.email)
    answer = carol.client.get(f"/tickets/{ticket.number}/live/stream", buffered=False)
    assert answer.status_code == 200 and answer.mimetype == "text/event-stream"
    chunks = iter(answer.response)
    try:
        read_until(chunks, "event: status\ndata: up")
        version = note_by_bob(world, ticket, redis_url)
        read_until(chunks, f"event: changed\ndata: {version}\n\n")
    finally:
        answer.close()


# ---- under gunicorn's gevent worker ------------------------------------------------------


def http_sign_in(base: str, email: str) -> tuple[str, str]:
    """Sign in over plain HTTP; the session cookie and the page's CSRF token."""
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)

    def call(method, path, body=None, cookie=""):
        headers = {"Cookie": cookie}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(
            method, path, body=urllib.parse.urlencode(body) if body else None, headers=headers
        )
        answer = conn.getresponse()
        html = answer.read().decode()
        set_cookie = answer.getheader("Set-Cookie") or ""
        token = re.search(r'name="csrf-token" content="([^"]+)"', html)
        return answer.status, set_cookie.split(";", 1)[0], token.group(1) if token else None

    _, cookie, token = call("GET", "/staff/login")
    status, cookie, _ = call(
        "POST", "/staff/login", {"email": email, "password": PASSWORD, "csrf_token": token}, cookie
    )
    assert status == 302
    _, _, token = call("GET", "/staff", cookie=cookie)
    conn.close()
    return cookie, token


def test_open_streams_hold_no_database_connection_under_gunicorn(engine, world, ticket, redis_url):
    """More open pages than the database pool has connections (5 + 10 overflow) and pages
    still answer at once: a stream holds a greenlet and a socket, never a connection."""
    world.agent.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    world.session.commit()
    server, base = start_server(
        engine.url.render_as_string(hide_password=False),
        redis_url,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    streams = []
    try:
        assert wait_healthy(base) is not None
        cookie, token = http_sign_in(base, world.agent.email)
        host, port = base.removeprefix("http://").split(":")
        for _ in range(20):
            conn = http.client.HTTPConnection(host, int(port), timeout=WAIT_S)
            conn.request(
                "GET", f"/staff/live/stream?ticket={ticket.number}", headers={"Cookie": cookie}
            )
            answer = conn.getresponse()
            assert answer.status == 200
            streams.append((conn, answer))
        for _, answer in streams:
            while answer.readline() != b"data: up\n":
                pass
        page = http.client.HTTPConnection(host, int(port), timeout=5)
        started = time.monotonic()
        page.request(
            "POST",
            f"/staff/tickets/{ticket.number}/compose",
            urllib.parse.urlencode(
                {"mode": "note", "body": "All twenty are listening.", "version": ticket.version}
            ),
            headers={
                "Cookie": cookie,
                "X-CSRFToken": token,
                "HX-Request": "true",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        with page.getresponse() as answered:
            assert answered.status == 200
        page.close()
        assert time.monotonic() - started < 3
        for _, answer in streams:  # every page hears of it
            line = answer.readline()
            while not line.startswith(b"event: changed"):
                line = answer.readline()
    finally:
        for conn, answer in streams:
            answer.close()
            conn.close()
        server.terminate()
        server.wait(timeout=30)
