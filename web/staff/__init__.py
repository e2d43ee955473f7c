"""The staff area (agents, admins, ops). This module holds the staff sign-in; the dashboard
lands here with its own modules."""

from __future__ import annotations

from flask import Blueprint

from web.signin import sign_in, sign_out
from web.throttle import sign_in_throttled
from workflow.breach_values import humanise

bp = Blueprint("staff", __name__, url_prefix="/staff")
bp.add_app_template_filter(humanise, "duration")
"""`{{ delta|duration }}`: `14 min`, `2h 05m`, `3d 4h`, as the ops pages word durations."""


@bp.route("/login", methods=["GET", "POST"])
@sign_in_throttled
def login():
    """Staff sign-in."""
    return sign_in(staff=True, template="staff/login.html", landing="staff.dashboard")


@bp.post("/logout")
def logout():
    """Staff sign-out."""
    return sign_out("staff.login")


# The ticket page (its own module, registered on this blueprint).
from web.staff import stale, ticket_page  # noqa: E402
from workflow.errors import StaleTicket  # noqa: E402

bp.add_url_rule("/tickets/<int:number>", "ticket", ticket_page.ticket_page)
bp.add_url_rule(
    "/tickets/<int:number>/events/<event>", "fire_event", ticket_page.fire_event, methods=["POST"]
)
bp.add_url_rule("/tickets/<int:number>/compose", "compose", ticket_page.compose, methods=["POST"])
# A stale change on a ticket's own page is worded with who changed what (web/staff/stale.py).
bp.register_error_handler(StaleTicket, stale.handle)

# The dashboard's queues.
from web.staff import dashboard  # noqa: E402

bp.add_url_rule("", "dashboard", dashboard.dashboard)

# Intake on a customer's behalf.
from web.staff import intake  # noqa: E402

bp.add_url_rule(
    "/tickets/new", "open_for_customer", intake.open_for_customer, methods=["GET", "POST"]
)

# Priority and SLA plan, bulk actions, canned responses, attachments (a module each).
from web.staff import attachments, bulk, canned, ticket_settings  # noqa: E402

bp.add_url_rule(
    "/tickets/<int:number>/priority",
    "change_priority",
    ticket_settings.change_priority,
    methods=["POST"],
)
bp.add_url_rule(
    "/tickets/<int:number>/sla-plan",
    "change_sla_plan",
    ticket_settings.change_sla_plan,
    methods=["POST"],
)
bp.add_url_rule("/bulk", "bulk", bulk.apply, methods=["POST"])
bp.add_url_rule("/bulk/result", "bulk_result", bulk.result)
bp.add_app_template_global(bulk.teams, "bulk_teams")
bp.add_url_rule(
    "/tickets/<int:number>/canned", "insert_canned", canned.insert, methods=["GET", "POST"]
)
bp.add_url_rule(
    "/tickets/<int:number>/attachments/<int:attachment_id>", "attachment", attachments.download
)

# In-app notices: the header's unread count, the list, marking read.
from web.staff import notices  # noqa: E402

bp.app_context_processor(notices.header_context)
bp.add_url_rule("/notifications", "notifications", notices.notifications)
bp.add_url_rule(
    "/notifications/<int:notice_id>/read",
    "mark_notice_read",
    notices.mark_read,
    methods=["POST"],
)
bp.add_url_rule(
    "/notifications/read", "mark_all_notices_read", notices.mark_all_read, methods=["POST"]
)
