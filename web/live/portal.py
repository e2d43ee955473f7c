"""The Support Center side of live pages: a customer's own ticket only (anyone else's is a
404 before a byte is streamed), refreshed silently: an internal note moves the version too,
and a notice would tell the customer that staff wrote something they cannot see."""

from __future__ import annotations

from flask import Response, redirect, request, url_for
from markupsafe import Markup

from web import htmx
from web.auth import end_user_required
from web.live import stream as sse
from web.portal.tickets import _mine as my_ticket  # the customer-scoped lookup (404 otherwise)
from web.portal.tickets import page_context


@end_user_required
def stream(number: int) -> Response:
    """Server-sent events about one of my tickets."""
    return sse.response(my_ticket(number).id)


@end_user_required
def ticket_changes(number: int) -> Response:
    """204 while my ticket is at the version my page holds (`?seen=`); otherwise its status,
    choices and public thread as they are now, and the reply form's version moved on."""
    ticket = my_ticket(number)
    if request.args.get("seen", type=int) == ticket.version:
        return htmx.unchanged()
    if not htmx.wants_fragment():
        return redirect(url_for("portal.ticket", number=number), 303)
    main = htmx.render_block("portal/ticket.html", "ticket_main", **page_context(ticket))
    version = Markup(
        '<input type="hidden" id="reply-version" name="version" value="{}" hx-swap-oob="true">'
    ).format(ticket.version)
    return htmx.fragment(htmx.oob("ticket-main", main) + version)
