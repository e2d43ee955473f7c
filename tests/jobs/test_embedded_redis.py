"""The embedded Redis (the demo's, and the SQLite smoke run's) behaves as Redis does when a
client waiting on a blocking pop goes away: the pop is cancelled, so the next job pushed
stays on the queue for a live worker instead of being taken by the dead one and lost."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from redis import Redis

from jobs import embedded_redis

SETTLE_S = 0.5  # well above the server's poll for closed connections (GONE_POLL_S)


@pytest.fixture(scope="module")
def server() -> Iterator[embedded_redis.EmbeddedRedis]:
    running = embedded_redis.start()
    yield running
    running.stop()


@pytest.fixture
def client(server) -> Iterator[Redis]:
    redis = Redis.from_url(server.url)
    redis.flushdb()
    yield redis
    redis.close()


def blocked_pop(server, key: str) -> socket.socket:
    """A raw connection parked in BLPOP on `key` (as an idle RQ worker is on its queues)."""
    port = int(server.url.rsplit(":", 1)[1].split("/")[0])
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(b"*3\r\n$5\r\nBLPOP\r\n$%d\r\n%s\r\n$2\r\n20\r\n" % (len(key), key.encode()))
    time.sleep(SETTLE_S)
    return conn


def test_a_worker_gone_while_waiting_does_not_take_the_next_job(server, client):
    blocked_pop(server, "queue").close()  # the worker was stopped mid-wait
    time.sleep(SETTLE_S)
    client.lpush("queue", "the next job")
    time.sleep(SETTLE_S)
    assert client.lrange("queue", 0, -1) == [b"the next job"]


def test_a_worker_still_waiting_gets_the_next_job(server, client):
    waiting = blocked_pop(server, "queue")
    try:
        client.lpush("queue", "the next job")
        waiting.settimeout(5)
        reply = waiting.recv(100)
    finally:
        waiting.close()
    assert b"the next job" in reply and client.llen("queue") == 0
