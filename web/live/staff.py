"""The staff side of live pages: the event stream, a ticket's changes since the version the
page holds (204 when none), and who else has the ticket open."""

from __future__ import annotations

import contextlib

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select

from jobs.connection import for_requests
from jobs.live import CHANNEL
from web import htmx
from web.auth import staff_required
from web.extensions import db
from web.live import presence as presence_module
from web.live import stream as sse
from web.staff.ticket_page import page_context, visible_ticket
from workflow.models import User


def _redis() -> Redis | None:
    url = current_app.config.get("REDIS_URL")
    return for_requests(url) if url else None


def _channel() -> str:
    return current_app.config.get("LIVE_CHANNEL", CHANNEL)


@staff_required()
def stream() -> Response:
    """Server-sent events: every change (a dashboard), or one ticket's (`?ticket=<number>`,
    which must be a ticket this person may see)."""
    number = request.args.get("ticket", type=int)
    if "ticket" in request.args and number is None:
        abort(400, "The ticket must be given by its number.")
    ticket_id = visible_ticket(number).id if number is not None else None
    return sse.response(ticket_id)


@staff_required()
def ticket_changes(number: int) -> Response:
    """204 while the ticket is at the version the page holds (`?seen=`): one indexed query.
    Otherwise its header, actions and thread as they are now, a note that it changed since
    the page was loaded, and the composer's version moved on (its draft is kept)."""
    ticket = visible_ticket(number)
    if request.args.get("seen", type=int) == ticket.version:
        return htmx.unchanged()
    if not htmx.wants_fragment():
        return redirect(url_for("staff.ticket", number=number), 303)
    context = page_context(ticket)
    latest = context["thread"][-1] if context["thread"] else None
    notice = render_template("live/changed.html", ticket=ticket, latest=latest)
    main = htmx.render_block("staff/ticket.html", "ticket_main", **context)
    version = Markup(
        '<input type="hidden" id="composer-version" name="version" value="{}" hx-swap-oob="true">'
    ).format(ticket.version)
    return htmx.fragment(
        htmx.oob("ticket-main", main) + htmx.oob("ticket-changed", notice) + version
    )


@staff_required()
def presence(number: int) -> Response:
    """Note that this person has the ticket open; answer who else has (nobody when unknown)."""
    ticket = visible_ticket(number)
    me = current_user.user.id
    others = presence_module.others(_redis(), ticket.id, me, _channel())
    names: dict[int, str] = {}
    if others:
        names = dict(
            db.session.execute(select(User.id, User.name).where(User.id.in_(others))).all()
        )
    viewers = [names[viewer] for viewer in others or () if viewer in names]
    return htmx.fragment(render_template("live/presence.html", viewers=viewers))


@staff_required()
def presence_leave(number: int) -> Response:
    """The page was closed (a beacon): drop this viewer now rather than after the TTL."""
    ticket = visible_ticket(number)
    connection = _redis()
    if connection is not None:
        with contextlib.suppress(RedisError):
            presence_module.left(connection, ticket.id, current_user.user.id, _channel())
    return htmx.unchanged()
