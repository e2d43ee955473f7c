"""After a committed SLA plan or calendar change: start its background re-clock run.

The first batch's follow-ups go out through `web.followups.after_commit`; this enqueues the
run's job for the rest (jobs/reclock.py). It never raises: the run is in the database, and
the sweep starts it within a minute when Redis is missing or down.
"""

from __future__ import annotations

import logging

from flask import current_app

from jobs import reclock
from jobs.connection import for_requests
from workflow.plan_admin import Saved

log = logging.getLogger(__name__)


def start_run(saved: Saved) -> None:
    """Enqueue the run's job, if the save left one (call after the commit)."""
    if saved.run_id is None:
        return
    url = current_app.config.get("REDIS_URL")
    if not url:
        log.warning("REDIS_URL is not set: re-clock run %d waits for the sweep.", saved.run_id)
        return
    try:
        reclock.enqueue(for_requests(url), saved.run_id, 0)
    except Exception:  # noqa: BLE001 - the commit happened; the sweep resumes the run
        log.exception("Enqueueing re-clock run %d failed after the commit.", saved.run_id)


def saved_words(saved: Saved) -> str:
    """How many open tickets moved now, and how many follow in the background."""
    now = (
        f"the clocks of {saved.tickets} open ticket{'s' if saved.tickets != 1 else ''} "
        "were recomputed from now"
    )
    if saved.run_id is None:
        return now
    return f"{now}; the other {saved.total - saved.tickets} are being re-clocked in the background"
