"""Hand a committed service call's follow-ups to Redis: live updates, timers as scheduled RQ
jobs, notifications as mail jobs.

Called only after the transaction committed (a job enqueued earlier could run before its row
exists). Never raises on a Redis outage, and stops at the first failure, so an outage costs
the caller one short timeout, not one per follow-up: the database is the source of truth and
the sweep reconciles timers, and enqueues the mail of outbox rows still unsent
(workflow/outbox.py), once Redis is back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from redis import Redis
from redis.exceptions import RedisError

from jobs import live, queues
from workflow.followups import FollowUp, LiveUpdate

log = logging.getLogger(__name__)


def dispatch(
    follow_ups: Iterable[FollowUp], connection: Redis, channel: str = live.CHANNEL
) -> bool:
    """(Re)schedule or cancel timers, enqueue mail, then publish
    live updates on `channel` (the `LIVE_CHANNEL` setting), all in one pipelined round trip
    (a transition's dispatch was two or three); False when Redis could not be reached
    (nothing is retried here: the sweep reconciles timers and mail)."""
    items = list(follow_ups)
    try:
        with connection.pipeline(transaction=False) as pipe:
            queues.schedule(items, connection, into=pipe)
            for item in items:
                if isinstance(item, LiveUpdate):
                    pipe.publish(channel, live.message(item))
            pipe.execute()
    except RedisError as exc:
        log.warning("Redis is unreachable; timers and mail wait for the sweep (%s).", exc)
        return False
    return True
