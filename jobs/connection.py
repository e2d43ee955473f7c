"""Redis connections, one pool per URL and process.

The request path must never wait on Redis: redis-py 8 waits 5 s and retries 10 times by
default, so `for_requests` uses half-second timeouts and no retries (an outage costs an agent
at most one short timeout, the commit has already happened, and the sweep reconciles timers).
Workers use `for_workers`, which waits longer because a job has time.
"""

from __future__ import annotations

from functools import cache

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

REQUEST_TIMEOUT_S = 0.5
WORKER_TIMEOUT_S = 10.0


@cache
def for_requests(url: str) -> Redis:
    """A client for the web request path: short timeouts, no retries."""
    return Redis.from_url(
        url,
        socket_timeout=REQUEST_TIMEOUT_S,
        socket_connect_timeout=REQUEST_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=30,
    )


@cache
def for_workers(url: str) -> Redis:
    """A client for workers, the scheduler and the CLI: patient, with a few retries."""
    return Redis.from_url(
        url,
        socket_timeout=WORKER_TIMEOUT_S,
        socket_connect_timeout=WORKER_TIMEOUT_S,
        health_check_interval=30,
    )
