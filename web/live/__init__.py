"""Live pages: server-sent events fed by one Redis subscription per process (`hub`), the
polling fallback that answers 204 while nothing changed, and who else is viewing a ticket.

Routes are thin, like every other blueprint's: check who asks and what they may see, then
stream, answer 204, or render the page's own fragments.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("live", __name__)

from web.live import portal, staff  # noqa: E402

bp.add_url_rule("/staff/live/stream", "staff_stream", staff.stream)
bp.add_url_rule("/staff/tickets/<int:number>/live", "staff_ticket_changes", staff.ticket_changes)
bp.add_url_rule(
    "/staff/tickets/<int:number>/presence", "staff_presence", staff.presence, methods=["POST"]
)
bp.add_url_rule(
    "/staff/tickets/<int:number>/presence/leave",
    "staff_presence_leave",
    staff.presence_leave,
    methods=["POST"],
)
bp.add_url_rule("/tickets/<int:number>/live/stream", "portal_stream", portal.stream)
bp.add_url_rule("/tickets/<int:number>/live", "portal_ticket_changes", portal.ticket_changes)
