"""A change refused because the ticket moved on after the page was loaded (StaleTicket, 409),
worded for the agent: who changed it and how, from its newest thread entry or log row (no
version numbers: they mean nothing to a person), and, with HTMX, a button that shows the
changes in place so nothing typed is lost (a reload would empty the composer)."""

from __future__ import annotations

from flask import Response, request
from sqlalchemy import select

from web import htmx
from web.errors import answer as error_answer
from web.errors import stale_answer
from web.extensions import db
from web.staff import thread_items
from workflow import opening, ticket_settings
from workflow.errors import StaleTicket
from workflow.loading import compiled_version
from workflow.models import ThreadEntry, TransitionLog, User

# Built-in events in the past tense ("Isabella Rossi claimed this ticket"); an event an admin
# adds is named by its label instead.
DONE = {
    "claim": "claimed",
    "assign": "assigned",
    "start": "started work on",
    "transfer": "transferred",
    "request_info": "asked the customer about",
    "resolve": "resolved",
    "reopen": "reopened",
    "close": "closed",
    "discard": "discarded",
    "escalate": "escalated",
    ticket_settings.CHANGE_PRIORITY: "changed the priority of",
    ticket_settings.CHANGE_SLA_PLAN: "changed the SLA plan of",
}
WROTE = {
    "public_reply": "replied to the customer on",
    "internal_note": "added an internal note to",
    "customer_message": "wrote a new message on",
}


def sentences(number: int) -> list[str]:
    """Who changed ticket `number` and how, for a person whose change was refused as stale.
    Only called for a ticket the route already showed this person (a 409 is rare: a few
    statements are fine)."""
    from web.staff.ticket_page import find_visible  # ticket_page imports this module

    ticket = find_visible(number)
    someone = f"Ticket #{number} was changed by someone else after you opened it."
    if ticket is None:
        return [someone]
    entries = db.session.scalars(
        select(ThreadEntry)
        .where(ThreadEntry.ticket_id == ticket.id)
        .order_by(ThreadEntry.id.desc())
        .limit(1)
    ).all()
    logs = db.session.scalars(
        select(TransitionLog)
        .where(TransitionLog.ticket_id == ticket.id, TransitionLog.event != opening.OPEN_EVENT)
        .order_by(TransitionLog.id.desc())
        .limit(1)
    ).all()
    people = {e.author_id for e in entries} | {row.actor_id for row in logs}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(people))).all())
    definition = compiled_version(db.session, ticket.workflow_version_id).definition
    # opening is never what changed "after you opened it"; left out, it cannot outrank an
    # entry written in the same second (the newest of each table is compared by time)
    merged = thread_items.items(list(entries), list(logs), names, definition)
    if not merged:
        return [someone]
    latest = merged[-1]
    who = latest["who"]
    from_log = latest["order"][1] == 1  # thread_items orders entries 0, log rows 1
    if latest["kind"] in WROTE:
        return [f"{who} {WROTE[latest['kind']]} this ticket after you opened it."]
    if from_log and logs[0].event in DONE:
        return [f"{who} {DONE[logs[0].event]} this ticket after you opened it."]
    if latest["event"]:
        return [f"{who} changed this ticket after you opened it ({latest['event']})."]
    return [f"{who} changed this ticket after you opened it."]


def answer(number: int, what: str) -> Response:
    """The 409 an HTMX request from this ticket's page gets, swapped into the sending form's
    .form-errors (static/ticketflow.js): who changed what, `what` happened to this person's
    change, and a button that shows the changes in place, keeping the composer's draft
    (staff/ticket.html's stale_notice block)."""
    html = htmx.render_block(
        "staff/ticket.html",
        "stale_notice",
        ticket={"number": number},
        stale=[*sentences(number), what],
        refresh=True,
    )
    return htmx.fragment(html, 409)


def handle(exc: StaleTicket) -> Response | tuple[Response, int]:
    """The staff blueprint's 409 (web/staff/__init__.py): on the ticket's own page, who
    changed what and what became of this person's change; with HTMX the sender's form keeps
    what was typed and a button shows the changes in place instead of a reload. Elsewhere
    (bulk, another ticket) the app's own words (web/errors.py)."""
    number = exc.ticket_number
    if number is None or number != (request.view_args or {}).get("number"):
        return stale_answer(exc)
    if request.endpoint == "staff.compose":
        what = "Your message was not sent; it is still in the composer."
    else:
        what = "Nothing was changed."
    if htmx.wants_fragment() and request.accept_mimetypes.best != "application/json":
        return answer(number, what + " Look at what changed, then try again.")
    if request.endpoint != "staff.compose":
        what += " Use your browser's Back button to get back to what you typed."
    return error_answer(409, "The ticket changed meanwhile", [*sentences(number), what])
