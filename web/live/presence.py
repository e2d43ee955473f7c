"""Who is looking at a ticket right now: one Redis sorted set per ticket, scored by when each
viewer's page last said it is still open.

A page says so every `HEARTBEAT_S`; a viewer whose page stopped (closed tab, lost network)
drops out after `TTL_S` without anyone cleaning up, and the key itself expires once nobody
looks. One pipelined round trip per heartbeat on the request client (half-second timeouts):
when Redis is down, presence is unknown (None) and the page simply shows nobody. The keys
live under the deployment's `LIVE_CHANNEL`, so deployments sharing a Redis server never see
each other's viewers.
"""

from __future__ import annotations

import time

from redis import Redis
from redis.exceptions import RedisError

from jobs.live import CHANNEL

HEARTBEAT_S = 10
TTL_S = 30


def key(ticket_id: int, channel: str = CHANNEL) -> str:
    return f"{channel}:presence:{ticket_id}"


def here(
    connection: Redis,
    ticket_id: int,
    user_id: int,
    now: float | None = None,
    channel: str = CHANNEL,
) -> list[int]:
    """Record that `user_id` views the ticket; the ids of everyone viewing it (this person
    included), least recently refreshed first. Raises RedisError when Redis cannot be reached."""
    now = time.time() if now is None else now
    name = key(ticket_id, channel)
    pipe = connection.pipeline(transaction=False)
    pipe.zremrangebyscore(name, "-inf", now - TTL_S)
    pipe.zadd(name, {str(user_id): now})
    pipe.expire(name, TTL_S * 2)
    pipe.zrange(name, 0, -1)
    *_, members = pipe.execute()
    return [int(member) for member in members]


def left(connection: Redis, ticket_id: int, user_id: int, channel: str = CHANNEL) -> None:
    """The page was closed: drop the viewer at once instead of after the TTL."""
    connection.zrem(key(ticket_id, channel), str(user_id))


def others(
    connection: Redis | None, ticket_id: int, user_id: int, channel: str = CHANNEL
) -> list[int] | None:
    """The other viewers' ids, or None when presence cannot be known (no Redis, or down)."""
    if connection is None:
        return None
    try:
        viewers = here(connection, ticket_id, user_id, channel=channel)
    except RedisError:
        return None
    return [viewer for viewer in viewers if viewer != user_id]
