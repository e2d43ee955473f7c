"""The agent's ticket page: header, the whole thread (notes and system events included),
the composer, and one action per workflow event, enabled or disabled with its reasons.

Which inputs an event's form shows comes from the guards the definition attaches to it
(a note guard asks for a note, a reply guard for a reply, a target guard for a receiver),
so an admin's new event gets a working form without template changes.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import or_, select

from web import clock, htmx, uploads
from web.auth import staff_required
from web.extensions import db
from web.followups import after_commit
from web.forms import ActionForm, ComposerForm
from web.staff import (
    answer_lists,
    choices,
    event_status,
    stale,
    thread_items,
    ticket_extras,
    ticket_side,
    ticket_view,
)
from web.staff.ticket_side import Sight
from workflow import attachments, services
from workflow.errors import StaleTicket
from workflow.loading import compiled_version
from workflow.models import (
    Role,
    ThreadEntry,
    Ticket,
    TransitionLog,
    User,
    staff_departments,
)

NO_SUCH_TICKET = "There is no such ticket, or it belongs to a department you do not work in."


def _ours() -> Any:
    """True where the ticket is in one of the signed-in agent's departments."""
    mine = select(staff_departments.c.department_id).where(
        staff_departments.c.user_id == current_user.user_id
    )
    return Ticket.department_id.in_(mine)


def find_visible(number: int) -> Ticket | None:
    """The ticket if this staff member may see it: admins and ops all, agents those of their
    departments or assigned to them."""
    query = select(Ticket).where(Ticket.number == number)
    if current_user.role == Role.AGENT:
        query = query.where(or_(_ours(), Ticket.assignee_id == current_user.user_id))
    return db.session.scalar(query)


def _in_sight(number: int) -> tuple[Sight, ticket_side.Side | None]:
    """What an event needs before it fires, in one statement and without loading the ticket:
    its id, its department and whether that is one of the agent's (ticket_side.Sight), and
    for HTMX what the answer will name and list (ticket_side.Side); 404 if this person may
    not see the ticket (the same rule as `find_visible`)."""
    user_id, agent = current_user.user_id, current_user.role == Role.AGENT
    side = None
    if htmx.wants_fragment():
        side = ticket_side.read(number, user_id, agent)
        sight = side.sight
    else:
        sight = ticket_side.sight(number, user_id, agent)
    if sight is None:
        abort(404, NO_SUCH_TICKET)
    return sight, side


def _still_in_sight(number: int, before: Sight, after: Any, actor: Any) -> bool:
    """After a change, may this person still see the ticket? Known without a query unless
    it left the agent's department (or was theirs by assignment only and went elsewhere)."""
    if actor.role != Role.AGENT.value or after.assignee_id == actor.id:
        return True
    if after.department_id == before.department_id and before.ours:
        return True
    return find_visible(number) is not None


def visible_ticket(number: int) -> Ticket:
    """The ticket if this staff member may see it; anything else is a 404, never a hint."""
    ticket = find_visible(number)
    if ticket is None:
        abort(404, NO_SUCH_TICKET)
    return ticket


def _thread(ticket: Ticket, definition: Any) -> list[dict[str, Any]]:
    """Entries and transition log rows, merged in time order."""
    entries = db.session.scalars(
        select(ThreadEntry).where(ThreadEntry.ticket_id == ticket.id).order_by(ThreadEntry.id)
    ).all()
    logs = db.session.scalars(
        select(TransitionLog).where(TransitionLog.ticket_id == ticket.id).order_by(TransitionLog.id)
    ).all()
    people = {e.author_id for e in entries} | {row.actor_id for row in logs}
    names = dict(db.session.execute(select(User.id, User.name).where(User.id.in_(people))).all())
    return thread_items.items(list(entries), list(logs), names, definition)


def page_context(ticket: Ticket, status: str | None = None) -> dict[str, Any]:
    """Everything the page and each of its fragments (the template's blocks) render from:
    a feature that adds to the page adds its values here, and HTMX answers get them too."""
    wf = compiled_version(db.session, ticket.workflow_version_id)
    definition = wf.definition
    actor, now = current_user.actor, clock.now()
    decisions = services.explain(db.session, ticket, actor, now, workflow=wf)
    return dict(
        ticket=ticket,
        now=now,  # the header's due times count down from it
        state=definition.states[ticket.state],
        thread=_thread(ticket, definition),
        names=choices.header_names(db.session, ticket),  # one statement (web/staff/choices.py)
        **ticket_view.actions(definition, decisions),  # decisions, inputs, options
        # formdata=None: after a POST the forms show the ticket as it is now, not what was sent
        composer=ComposerForm(formdata=None, version=ticket.version),
        status=status,
        **ticket_extras.context(ticket),  # priority/SLA forms, canned responses, attachments
    )


@staff_required()
def ticket_page(number: int):
    """Everything about one ticket, and what this person may do with it now. `?mode=note`
    opens the composer on an internal note (where a note sent without JavaScript comes back
    to, so the next message is not public by surprise)."""
    context = page_context(visible_ticket(number))
    context["composer"] = ComposerForm(
        formdata=None, mode=_mode(request.args.get("mode")), version=context["ticket"].version
    )
    return htmx.page("staff/ticket.html", **context)


def _mode(raw: str | None) -> str:
    """The composer's mode from untrusted input: "note" or, for anything else, "reply"."""
    return "note" if raw == "note" else "reply"


def answer(number: int, status: str, *, composer: bool = False, mode: str = "reply") -> Response:
    """What a successful change answers. HTMX: the ticket's header, actions and thread as they
    are now, with `status` on top (and, after a message was sent, an empty composer still in
    the `mode` just used: after a note, the next message is a note too). Without JavaScript:
    `status` flashed and a 303 back to the page (with that mode). If the change took the
    ticket out of this person's sight (a transfer to another department), both go to the
    dashboard."""
    ticket = find_visible(number)
    elsewhere = _away(number, status, ticket is not None, mode=_mode(mode))
    if elsewhere is not None:
        return elsewhere
    assert ticket is not None
    context = page_context(ticket, status)
    html = htmx.render_block("staff/ticket.html", "ticket_main", **context)
    if composer:
        context["composer"] = ComposerForm(formdata=None, mode=_mode(mode), version=ticket.version)
        composer_html = htmx.render_block("staff/ticket.html", "composer", **context)
        html += htmx.oob("ticket-composer", composer_html)
    else:  # the draft stays, but its version moves on, or the next Send would be stale (409)
        html += Markup(
            '<input type="hidden" id="composer-version" name="version" value="{}" '
            'hx-swap-oob="true">'
        ).format(ticket.version)
    return htmx.fragment(html)


def _away(number: int, status: str, visible: bool, mode: str = "reply") -> Response | None:
    """The answers that leave the ticket's page as it is: the dashboard when the change took
    the ticket out of this person's sight; a 303 back to the page without JavaScript (with
    `status` flashed). None: answer HTMX with the change."""
    if not visible:
        flash(f"{status} Ticket #{number} is no longer in your departments.")
        target = url_for("staff.dashboard")
        if htmx.wants_fragment():
            return htmx.fragment("", headers={"HX-Redirect": target})
        return redirect(target, 303)
    if not htmx.wants_fragment():
        flash(status)
        query = {"mode": mode} if mode == "note" else {}
        return redirect(url_for("staff.ticket", number=number, **query), 303)
    return None


@staff_required(Role.AGENT, Role.ADMIN)
def fire_event(number: int, event: str):
    """Fire one workflow event with what the form sent; refusals answer 422 with reasons.
    HTMX gets only what the event changed (web/staff/ticket_view.py's `changed`)."""
    before, side = _in_sight(number)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400, "The form was incomplete; reload the page and try again.")
    params = {k: request.form[k] for k in ticket_view.TARGETS if request.form.get(k)}
    if request.form.get("reply"):
        params["reply"] = request.form["reply"]
    actor = current_user.actor
    outcome = services.apply_event(
        db.session,
        before.id,
        event,
        actor,
        clock.now(),
        note=request.form.get("note") or None,
        expected_version=form.version.data,
        **params,
    )
    after_commit(outcome)
    lists = side.lists if side is not None else answer_lists.read()
    status = event_status.sentence(outcome, event, actor, lists)
    visible = _still_in_sight(number, before, outcome.ticket, actor)
    elsewhere = _away(number, status, visible)
    if elsewhere is not None or side is None:
        return elsewhere
    return ticket_view.changed(outcome, status, actor, side)


@staff_required(Role.AGENT, Role.ADMIN, Role.OPS)
def compose(number: int):
    """A public reply to the customer, or an internal note for staff."""
    ticket = visible_ticket(number)
    form = ComposerForm()
    if not form.validate_on_submit():
        abort(422, " ".join(e for errors in form.errors.values() for e in errors))
    now, actor = clock.now(), current_user.actor
    files = uploads.from_request()  # saved with the message, in its transaction, or not at all
    if form.mode.data == "note":
        verb, status = services.add_note, "Internal note added."
    else:
        verb, status = services.reply, "Reply sent to the customer."
    try:
        with attachments.staged(uploads.store(), files) as staged:
            outcome = verb(
                db.session,
                ticket.id,
                actor,
                now,
                form.body.data,
                expected_version=form.version.data,
                attachments=staged,
            )
    except StaleTicket:
        if htmx.wants_fragment():
            raise  # web/errors.py: the reasons next to the composer, whose draft stays
        return _unsent(number, form, bool(files))
    after_commit(outcome)
    return answer(number, status, composer=True, mode=form.mode.data)


def _unsent(number: int, form: ComposerForm, had_files: bool) -> Response:
    """Without JavaScript, a message refused as stale comes back in the composer as it was
    typed (409), on the page as the ticket is now, with who changed what: reloading would
    lose it. The version moves on, so sending it again goes through."""
    db.session.rollback()
    ticket = visible_ticket(number)
    context = page_context(ticket)
    context["composer"] = ComposerForm(
        formdata=None, mode=_mode(form.mode.data), body=form.body.data, version=ticket.version
    )
    what = "Your message was not sent: it is below, as you wrote it."
    if had_files:
        what += " Attach the files again; a browser cannot keep them."
    context["stale"] = [*stale.sentences(number), what, "Send it again if it still fits."]
    response = htmx.page("staff/ticket.html", **context)  # the context holds a `status`
    response.status_code = 409
    return response
