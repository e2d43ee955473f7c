"""Insert a canned response into the composer (`/staff/tickets/<n>/canned`), filled in for
this ticket and this agent, after whatever the agent already wrote.

With HTMX choosing in the picker (`hx-get`) answers the composer's textarea with the text in
it, swapped over the old one; the Insert button exists only without JavaScript (<noscript>),
where it posts the composer here and the ticket page comes back with the text in the
composer (and the mode that was chosen). One way each, so nothing is inserted twice. Nothing
is stored either way: sending is still the composer's own Send.
"""

from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_login import current_user

from web import htmx
from web.auth import staff_required
from web.extensions import db
from web.forms import ComposerForm
from web.staff import ticket_page
from workflow import canned
from workflow.models import Role

MAX_DRAFT = 50_000


@staff_required(Role.AGENT, Role.ADMIN)
def insert(number: int) -> Response:
    """The composer with the chosen canned response added to its text."""
    ticket = ticket_page.visible_ticket(number)
    raw = request.values.get("canned_id", "")
    if not raw and htmx.wants_fragment():
        return htmx.unchanged()  # the picker went back to "choose one": nothing to insert
    if not raw.isdecimal():
        abort(422, "Choose a canned response to insert.")
    text = canned.render_for(db.session, int(raw), ticket, current_user.actor)
    typed = request.values.get("body", "")[:MAX_DRAFT].rstrip()
    draft = f"{typed}\n\n{text}" if typed else text
    mode = request.values.get("mode") if request.values.get("mode") in ("reply", "note") else None
    composer = ComposerForm(formdata=None, mode=mode or "reply", body=draft, version=ticket.version)
    if htmx.wants_fragment():
        html = render_template("staff/_canned_textarea.html", composer=composer)
        headers = {"HX-Retarget": "#body", "HX-Reswap": "outerHTML"}
        return htmx.fragment(html, headers=headers)
    context = ticket_page.page_context(ticket)
    context["composer"] = composer
    return htmx.page("staff/ticket.html", **context)
