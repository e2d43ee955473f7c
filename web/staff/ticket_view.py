"""What the agent's ticket page shows, from values already at hand: the thread's items, the
inputs each action's form asks for, the lists its selects offer, and the answer to a fired
event, which carries only what the event changed.

A transition changes the ticket's header, its actions and its version, and adds entries at
the end of the thread. Answering it with the whole ticket (header, actions, the whole thread
and everything the page shows besides) cost about two thirds of the server's CPU per
transition (bench.http_transitions --profile), and a statement per part. So `changed`
answers the status line (swapped into #ticket-status) and, out of band: the header and the
actions (replaced whole), the new thread entries (appended to the thread's list, rendered
from the rows the service wrote, not read back) and the versions the page sends next. The
whole ticket is still what the page, a message sent and a live refresh render.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from flask import Response
from markupsafe import Markup, escape
from sqlalchemy import select

from web import clock, htmx
from web.extensions import db
from web.staff import choices, thread_items, ticket_side
from workflow import engine, services
from workflow.models import User
from workflow.rules import Actor

TEMPLATE = "staff/ticket.html"
GUARD_INPUTS = {
    "note_required": ("note",),
    "public_reply_required": ("reply",),
    "assignment_target_given": ("assignee_id", "team_id"),
    "assignment_target_differs": ("assignee_id", "team_id"),
    "transfer_target_differs": ("assignee_id", "team_id", "department_id"),
    "receiver_named": ("assignee_id", "team_id"),
}
TARGETS = ("assignee_id", "team_id", "department_id")


def _inputs(definition: Any, event: str) -> list[str]:
    fields: list[str] = []
    for t in definition.events[event].transitions:
        for guard in t.guards:
            for name in GUARD_INPUTS.get(guard.rule, ()):
                if name not in fields:
                    fields.append(name)
    return fields


STAFF_ROLES = frozenset(role.value for role in choices.ASSIGNABLE)
"""The roles the ticket page's actions are fired as: those who take tickets (agents and
admins, as web/staff/ticket_page.py's `fire_event` admits)."""


def for_staff(definition: Any, decisions: list[engine.Decision]) -> list[engine.Decision]:
    """The decisions of the events staff may ever fire: an event only the customer (confirm)
    or Ticketflow itself (escalate, auto-close) fires would only be a button that is always
    disabled, so it is not shown. An event staff fire but not this person, or not now, stays,
    disabled, with its reasons."""
    return [d for d in decisions if STAFF_ROLES.intersection(definition.events[d.event].by)]


def inputs(definition: Any, decisions: list[engine.Decision]) -> dict[str, list[str]]:
    """Which inputs each event's form shows (from the guards the definition attaches to it)."""
    return {d.event: _inputs(definition, d.event) for d in decisions}


def offers_targets(decisions: list[engine.Decision], shown: dict[str, list[str]]) -> bool:
    """True when an enabled form has a select of agents, teams or departments (only then are
    their lists read)."""
    return any(name in TARGETS for d in decisions if d.allowed for name in shown[d.event])


def options(lookups: dict[str, list[tuple[int, str]]]) -> dict[str, Markup]:
    """Each select's <option>s (agents, teams, departments), built once for all the forms
    that show it: the lists are the longest part of the answer (an option per agent)."""
    return {kind: _option_list(tuple(pairs)) for kind, pairs in lookups.items()}


_OPTION_LISTS: dict[tuple[tuple[int, str], ...], Markup] = {}
_OPTION_LISTS_KEPT = 64


def _option_list(pairs: tuple[tuple[int, str], ...]) -> Markup:
    """The <option>s of one list, kept by the list's own values (ids and names, read in
    this request) so that escaping every name is paid once per process while the lists
    stay the same; a renamed agent makes a new key. Bounded: cleared when full."""
    html = _OPTION_LISTS.get(pairs)
    if html is None:
        if len(_OPTION_LISTS) >= _OPTION_LISTS_KEPT:
            _OPTION_LISTS.clear()
        html = Markup("".join(f'<option value="{int(i)}">{escape(n)}</option>' for i, n in pairs))
        _OPTION_LISTS[pairs] = html
    return html


def actions(definition: Any, decisions: list[engine.Decision]) -> dict[str, Any]:
    """The action forms' values: the decisions, each form's inputs, and the agents, teams
    and departments its selects offer (one statement, only when a select is shown)."""
    decisions = for_staff(definition, decisions)
    shown = inputs(definition, decisions)
    lookups = choices.handover(db.session) if offers_targets(decisions, shown) else {}
    return {"decisions": decisions, "inputs": shown, "options": options(lookups)}


def _written(applied: services.Applied, actor: Actor) -> list[dict[str, Any]]:
    """The thread items the call added, from the rows it wrote (the acting person's name is
    known; anyone else's, which no built-in action writes, is read in one statement)."""
    change = applied.change
    assert change is not None and applied.workflow is not None
    logs = [SimpleNamespace(**row) for row in change.logs]
    people = {e.author_id for e in change.entries} | {row.actor_id for row in logs}
    names = {actor.id: actor.name} if actor.id is not None else {}
    others = people - set(names) - {None}
    if others:
        names.update(db.session.execute(select(User.id, User.name).where(User.id.in_(others))))
    return thread_items.items(change.entries, logs, names, applied.workflow.definition)


def _viewer(actor: Actor) -> Any:
    """`current_user` for the answer's templates (they read `current_user.user.role`): the
    person as this request was authorised, from values in hand."""
    user = SimpleNamespace(id=actor.id, role=actor.role, name=actor.name)
    return SimpleNamespace(user=user, actor=actor, is_authenticated=True)


def changed(
    applied: services.Applied, status: str, actor: Actor, side: ticket_side.Side
) -> Response:
    """The HTMX answer to a fired event: what it changed, as described in the module's
    docstring. No statement (but for a header value the lists lack: ticket_side.Side.names):
    the names and lists it shows were read before the change (`side`), the thread entries
    are what the service wrote, and
    the viewer is who the request was authorised as (`actor`; the signed-in user's row,
    expired by the commit, is not read again)."""
    ticket = applied.ticket
    assert applied.workflow is not None
    definition = applied.workflow.definition
    now = clock.now()
    decisions = for_staff(
        definition, services.explain(db.session, ticket, actor, now, workflow=applied.workflow)
    )
    shown = inputs(definition, decisions)
    context = dict(
        ticket=ticket,
        now=now,
        state=definition.states[ticket.state],
        decisions=decisions,
        inputs=shown,
        thread=_written(applied, actor),
        oob=True,
        names=side.names(ticket),
        settings=side.settings(),
        options=options(side.lookups()) if offers_targets(decisions, shown) else {},
        current_user=_viewer(actor),
    )
    header, actions_html, entries = htmx.render_blocks(
        TEMPLATE, ("ticket_header", "ticket_actions", "thread_items"), **context
    )
    html = Markup('<p class="flash" role="status">{}</p>').format(status)
    html += header + actions_html + htmx.oob("ticket-thread-list", entries, "beforeend")
    html += Markup(
        '<input type="hidden" id="ticket-seen" name="seen" value="{0}" hx-swap-oob="true">'
        '<input type="hidden" id="composer-version" name="version" value="{0}" '
        'hx-swap-oob="true">'
    ).format(ticket.version)
    return htmx.fragment(html, headers={"HX-Retarget": "#ticket-status", "HX-Reswap": "innerHTML"})
