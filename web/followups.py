"""After a service call committed: hand its follow-ups (live updates, timers) to Redis.

Every route that calls a service calls `after_commit` once the service has returned, which is
after its commit: a job enqueued earlier could run before its row exists. It never raises:
the change is already in the database, so failing the request would tell the person to retry
something that worked. A Redis outage costs at most the request client's short timeout per
follow-up (`jobs.connection.for_requests`); pages fall back to polling and the sweep
reconciles timers once Redis is back.
"""

from __future__ import annotations

import logging

from flask import current_app

from jobs.connection import for_requests
from jobs.dispatch import dispatch
from jobs.live import CHANNEL
from workflow.outcome import Outcome

log = logging.getLogger(__name__)


def after_commit(*outcomes: Outcome) -> None:
    """Dispatch the follow-ups of one or more committed service calls (bulk actions pass
    several); logs and carries on when Redis is missing or down."""
    follow_ups = [item for outcome in outcomes for item in outcome.follow_ups]
    if not follow_ups:
        return
    url = current_app.config.get("REDIS_URL")
    if not url:
        log.warning("REDIS_URL is not set: %d follow-ups were not dispatched.", len(follow_ups))
        return
    try:
        dispatch(follow_ups, for_requests(url), current_app.config.get("LIVE_CHANNEL", CHANNEL))
    except Exception:  # noqa: BLE001 - the commit happened; the sweep reconciles timers
        log.exception("Dispatching %d follow-ups failed after the commit.", len(follow_ups))
