"""One Redis subscription per web process, fanned out to that process's SSE clients.

redis-py 8 caps a connection pool at 100 connections, and a gevent worker holds up to a
thousand open pages: one subscription per page would exhaust the pool and Redis. So a process
subscribes once, lazily, when its first page connects, and hands each message to the queue of
every page that wants it.

The listener is written against `threading` and `queue`. Under gunicorn's gevent worker, which
monkey-patches both before the app is imported, the thread is a greenlet and the queues are
gevent's cooperative ones; under a threaded development server or the test client they are
real threads. One code path serves both.

When Redis drops, every page is told (`Status(up=False)`, so it polls meanwhile), the listener
reconnects with exponential backoff and jitter, and on success says `Status(up=True)`, on which
a page re-reads what it shows: messages published during the outage are lost for good.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import random
import threading
import time
from dataclasses import dataclass

from redis import Redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from jobs.live import CHANNEL

log = logging.getLogger(__name__)

QUEUE_SIZE = 32  # a page needs one pending refresh, not a backlog
PING_EVERY_S = 5.0  # a silent network partition is noticed after STALE_AFTER_S
STALE_AFTER_S = 15.0
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 10.0


@dataclass(frozen=True)
class Changed:
    """A ticket changed (`ticket_id` None: re-read everything, e.g. after an outage)."""

    ticket_id: int | None = None
    version: int | None = None


@dataclass(frozen=True)
class Status:
    """Whether this process currently receives live updates."""

    up: bool


Signal = Changed | Status


class Listener:
    """One open page: a bounded queue of signals, optionally for one ticket only."""

    def __init__(self, ticket_id: int | None = None):
        self.ticket_id = ticket_id
        self.signals: queue.Queue[Signal] = queue.Queue(maxsize=QUEUE_SIZE)

    def wants(self, signal: Signal) -> bool:
        if isinstance(signal, Changed) and self.ticket_id is not None:
            return signal.ticket_id is None or signal.ticket_id == self.ticket_id
        return True

    def offer(self, signal: Signal) -> None:
        """Never blocks the listener: a full queue already holds a refresh for this page."""
        with contextlib.suppress(queue.Full):
            self.signals.put_nowait(signal)


class Hub:
    """The process's subscription and the pages listening to it."""

    def __init__(self, url: str, channel: str = CHANNEL):
        self.url = url
        self.channel = channel
        self.up = False
        self._listeners: set[Listener] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def attach(self, ticket_id: int | None = None) -> Listener:
        """A new page; starts the subscription on first use."""
        listener = Listener(ticket_id)
        with self._lock:
            self._listeners.add(listener)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="live-hub", daemon=True)
                self._thread.start()
        return listener

    def close(self) -> None:
        """Stop listening (within a second); for tests and orderly shutdowns."""
        self._closed.set()

    def detach(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.discard(listener)

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def broadcast(self, signal: Signal) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            if listener.wants(signal):
                listener.offer(signal)

    def _client(self) -> Redis:
        return Redis.from_url(
            self.url,
            socket_connect_timeout=2.0,
            socket_timeout=STALE_AFTER_S,
            retry=Retry(NoBackoff(), 0),
        )

    def _run(self) -> None:
        attempt = 0
        while not self._closed.is_set():
            try:
                self._listen()
                attempt = 0
            except Exception as exc:  # noqa: BLE001 - the listener must outlive any failure
                attempt += 1
                log.warning("Live updates: Redis subscription lost (%s); retrying.", exc)
            if self.up:
                self.up = False
                self.broadcast(Status(up=False))
            delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** max(attempt - 1, 0))
            self._closed.wait(delay * random.uniform(0.5, 1.0))

    def _listen(self) -> None:
        client = self._client()
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(self.channel)
            pubsub.ping()  # the subscription is confirmed once its answer arrives
            seen = time.monotonic()
            pinged = seen
            while not self._closed.is_set():
                message = pubsub.get_message(timeout=1.0)
                now = time.monotonic()
                if message is not None:
                    seen = now
                    if message["type"] == "pong" and not self.up:
                        self.up = True
                        self.broadcast(Status(up=True))
                    elif message["type"] == "message":
                        self._deliver(message["data"])
                if now - seen > STALE_AFTER_S:
                    raise TimeoutError(f"no answer from Redis for {STALE_AFTER_S:.0f} s")
                if now - pinged > PING_EVERY_S:
                    pubsub.ping()
                    pinged = now
        finally:
            with contextlib.suppress(RedisError, OSError):
                pubsub.close()
                client.close()

    def _deliver(self, data: bytes | str) -> None:
        try:
            update = json.loads(data)
            signal = Changed(int(update["ticket_id"]), int(update["version"]))
        except (ValueError, KeyError, TypeError):
            log.warning("Live updates: ignored a malformed message %r.", data)
            return
        self.broadcast(signal)


_hubs: dict[tuple[int, str, str], Hub] = {}
_hubs_lock = threading.Lock()


def hub_for(url: str, channel: str = CHANNEL) -> Hub:
    """This process's hub for `channel` on `url` (a forked worker gets its own, never its
    parent's; two apps in one process with different `LIVE_CHANNEL`s get one each)."""
    key = (os.getpid(), url, channel)
    with _hubs_lock:
        if key not in _hubs:
            _hubs[key] = Hub(url, channel)
        return _hubs[key]
