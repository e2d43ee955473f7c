"""`/ops/queues`: RQ workers, queue counts and failed jobs with their errors; admins can
retry a failed job. Redis is read with the request client's short timeouts, and a Redis
that cannot be reached is a panel saying so, never an error page."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, url_for
from flask_login import current_user
from redis import Redis
from redis.exceptions import RedisError

from jobs import health
from jobs.connection import for_requests
from web import clock, htmx
from web.auth import staff_required
from web.forms import EmptyForm
from web.ops.common import ops_required
from workflow.models import Role

NOT_CONFIGURED = (
    "Redis is not configured (REDIS_URL is unset), so there are no queues: SLA timers, "
    "mail and live updates are off."
)


def _redis() -> Redis | None:
    url = current_app.config.get("REDIS_URL")
    return for_requests(url) if url else None


@ops_required
def page() -> Response:
    """Queue health; HTMX (the 10-second refresh) gets the block alone."""
    connection = _redis()
    snapshot, problem = None, None
    if connection is None:
        problem = NOT_CONFIGURED
    else:
        try:
            snapshot = health.snapshot(connection, clock.now())
        except RedisError as exc:
            problem = (
                f"Redis is unreachable ({exc.__class__.__name__}: {exc}). SLA timers, mail and "
                "live updates wait until it is back; tickets can still be worked, and the "
                "sweep then catches up on every SLA step that fell due."
            )
    return htmx.page_or_blocks(
        "ops/queues.html",
        {"queue-health": "queue_health"},
        health=snapshot,
        problem=problem,
        configured=connection is not None,
        can_retry=current_user.user.role == Role.ADMIN,
        form=EmptyForm(),
    )


@staff_required(Role.ADMIN)
def retry(job_id: str) -> Response:
    """Put a failed job back on its queue (admins only), then show the queues again."""
    connection = _redis()
    if connection is None:
        abort(503, NOT_CONFIGURED)
    try:
        queue = health.retry(connection, job_id)
    except health.RetryRefused as refused:
        abort(refused.status, str(refused))
    except RedisError:
        abort(
            503,
            "Redis is unreachable, so the job cannot be retried now; try again once it is back.",
        )
    flash(f"The job {job_id} is back on the queue {queue}.")
    return redirect(url_for("ops.queues"), 303)
