"""The live plumbing on its own: one Redis subscription per process fanned out to many pages,
a burst folded into one dashboard refresh, reconnection after a real network cut, and open
streams under gunicorn's gevent worker holding no database connection."""

from __future__ import annotations

import contextlib
import http.client
import queue
import re
import socket
import subprocess
import threading
import time
import urllib.parse
import uuid

import pytest
from werkzeug.security import generate_password_hash

from jobs.embedded_redis import free_port
from tests.serving import start_server, wait_healthy
from tests.web.conftest import PASSWORD
from web.live.hub import Changed, Hub, Status
from web.live.stream import events

WAIT_S = 10.0


@pytest.fixture
def ticket(world):
    world.agent.departments.append(world.department)
    world.session.commit()
    return world.open()


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


def test_open_streams_hold_no_database_connection_under_gunicorn(
    engine, world, ticket, redis_url, live_channel, monkeypatch
):
    """More open pages than the database pool has connections (5 + 10 overflow) and pages
    still answer at once: a stream holds a greenlet and a socket, never a connection."""
    monkeypatch.setenv("LIVE_CHANNEL", live_channel)  # the server hears this run's changes only
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
