"""The one clock the web layer reads.

Routes read the clock; everything below them (workflow services, SLA maths, queries) is
passed `now`. Reading it here, in one place, lets a test or a demo set the time the whole
web app sees: put a zero-argument callable returning an aware UTC datetime in the app's
`TICKETFLOW_CLOCK` setting. Without that setting (production), it is the real clock.
Job processes (jobs/) keep the real clock: they run outside any web app.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, has_app_context


def now() -> datetime:
    """The current instant in UTC: the app's TICKETFLOW_CLOCK if set, else the real clock.

    Outside an app context (a helper called from a script) it is the real clock.
    """
    clock = current_app.config.get("TICKETFLOW_CLOCK") if has_app_context() else None
    return clock() if clock is not None else datetime.now(UTC)
