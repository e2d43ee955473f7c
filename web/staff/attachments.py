"""Download a ticket's attachment as staff (`/staff/tickets/<n>/attachments/<id>`): anyone on
the staff who may see the ticket (agents of its departments or its assignee, admins, ops),
internal notes' files included. Someone else's ticket or a file of another ticket is a 404."""

from __future__ import annotations

from flask import Response

from web import uploads
from web.auth import staff_required
from web.extensions import db
from web.staff import ticket_page
from workflow import attachments


@staff_required()
def download(number: int, attachment_id: int) -> Response:
    """The file, as a download."""
    ticket = ticket_page.visible_ticket(number)
    found, path = attachments.for_download(
        db.session, uploads.store(), attachment_id, ticket.id, public_only=False
    )
    return uploads.download(found, path)
