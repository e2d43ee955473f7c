"""Server-sent events for one page: what the hub hands its listener, in the SSE wire format.

Two events, both without personal data: `changed` (re-read what you show; for a ticket page
the data is the ticket's new version) and `status` (`up` or `down`: whether this process
receives live updates now; a page polls while it is down and re-reads when it comes back up).

The generator never touches the database or the request: the route does every check first
and the request's context (and its database connection) is released before the first byte
is streamed, so an open page holds a greenlet and a socket, nothing else.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator

from flask import Response, current_app

from jobs.live import CHANNEL
from web import htmx
from web.live.hub import Changed, Hub, Status, hub_for

HEARTBEAT_S = 10.0  # keeps proxies from closing an idle stream; notices departed clients
DASHBOARD_GAP_S = 1.0  # a busy help desk refreshes a dashboard at most once a second
RETRY_MS = 3000  # how long a browser waits before reconnecting a dropped stream


def event(name: str, data: str) -> str:
    return f"event: {name}\ndata: {data}\n\n"


def _status(signal: Status) -> str:
    return event("status", "up" if signal.up else "down")


def events(hub: Hub, ticket_id: int | None, gap_s: float = 0.0) -> Iterator[str]:
    """The stream of one page until it disconnects. `gap_s` coalesces bursts: after sending
    `changed`, the next one waits until `gap_s` has passed, then stands for all in between.
    The page attaches when streaming starts, so an answer never sent leaves nothing behind."""
    listener = hub.attach(ticket_id)
    try:
        yield f"retry: {RETRY_MS}\n\n"
        yield _status(Status(hub.up))
        last_sent = 0.0
        while True:
            try:
                signal = listener.signals.get(timeout=HEARTBEAT_S)
            except queue.Empty:
                yield ": keep-alive\n\n"
                continue
            if isinstance(signal, Status):
                yield _status(signal)
                continue
            wait = last_sent + gap_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            latest: Changed = signal
            pending: list[Status] = []
            while True:  # everything that arrived meanwhile is one refresh
                try:
                    more = listener.signals.get_nowait()
                except queue.Empty:
                    break
                if isinstance(more, Status):
                    pending.append(more)
                else:
                    latest = more
            yield event("changed", str(latest.version) if latest.version is not None else "all")
            last_sent = time.monotonic()
            for status in pending:
                yield _status(status)
    finally:
        hub.detach(listener)


def response(ticket_id: int | None) -> Response:
    """The streaming answer for a page about one ticket, or (None) for a dashboard. Without
    Redis there is nothing to stream: 204 tells the browser to stop, and the page polls."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return htmx.unchanged()
    hub = hub_for(url, current_app.config.get("LIVE_CHANNEL", CHANNEL))
    gap = DASHBOARD_GAP_S if ticket_id is None else 0.0
    return Response(
        events(hub, ticket_id, gap),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
