"""Live updates: after a commit, one message on one Redis channel says which ticket changed.

Each web process holds one subscription to this channel and fans the messages out to its
own SSE clients (redis-py 8 caps a pool at 100 connections, so never one per client).
Jobs publish here too, which is why this lives in `jobs/` and not in `web/`. The channel's
name is a setting (`LIVE_CHANNEL`, default `CHANNEL`): deployments that share one Redis server
give each its own, or every dashboard would refresh on every deployment's changes.
"""

from __future__ import annotations

import json

from redis import Redis
from redis.exceptions import RedisError

from workflow.followups import LiveUpdate

CHANNEL = "ticketflow:live"


def message(update: LiveUpdate) -> str:
    """The wire form of one update (JSON, small, no personal data)."""
    return json.dumps(
        {"ticket_id": update.ticket_id, "number": update.number, "version": update.version}
    )


def publish(connection: Redis, update: LiveUpdate, channel: str = CHANNEL) -> bool:
    """Announce a change on `channel`; False (never an exception) when Redis is unreachable,
    since the change itself is already committed and pages fall back to polling."""
    try:
        connection.publish(channel, message(update))
    except RedisError:
        return False
    return True
