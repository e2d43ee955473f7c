"""Download an attachment from the Support Center (`/tickets/<n>/attachments/<id>`): only the
ticket's requester, and only files of public messages (never those of internal notes, which
answer 404 exactly like a file that does not exist)."""

from __future__ import annotations

from flask import Response, abort
from flask_login import current_user
from sqlalchemy import select

from web import uploads
from web.auth import end_user_required
from web.extensions import db
from workflow import attachments
from workflow.models import Ticket


@end_user_required
def download(number: int, attachment_id: int) -> Response:
    """The file, as a download."""
    ticket_id = db.session.scalar(
        select(Ticket.id).where(
            Ticket.number == number, Ticket.requester_id == current_user.user.id
        )
    )
    if ticket_id is None:
        abort(404, "There is no such ticket among yours.")
    found, path = attachments.for_download(
        db.session, uploads.store(), attachment_id, ticket_id, public_only=True
    )
    return uploads.download(found, path)
