"""Deactivating a staff member: first their open tickets go where the admin said, then the
account stops working (sign-in refuses it, and a session already open ends with the next
request, since an inactive account is not authenticated).

One transaction for all of it: if one ticket cannot move, none moves and the person stays
active. Each ticket moves through its workflow where an event fits (`transfer`, else
`assign`, by the admin, so the guards, the target checks and the version check apply and
the log shows the event); where none fits (a resolved ticket has no transfer; no event
unassigns a ticket within its department), the owner changes directly, with the version
check, and the log shows a `staff_handover` row with the same note.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import admin_history, engine, outbox, services
from workflow.errors import InvalidInput, PermissionDenied, StaleTicket, TicketflowError
from workflow.followups import FollowUp, LiveUpdate
from workflow.machines import Compiled
from workflow.models import Team, Ticket, User
from workflow.outcome import log_row, transaction
from workflow.rules import Actor, GuardContext
from workflow.staffing import TICKET_ROLES, require_admin, staff_member
from workflow.ticket_record import TicketChange, TicketRecord, load_record

HANDOVER_EVENT = "staff_handover"
"""The log's name for a move no workflow event fits (reserved: no definition may use it)."""
MOVE_EVENTS = ("transfer", "assign")
"""Tried in this order; the first the ticket's workflow allows does the move."""


@dataclass(frozen=True)
class Destination:
    """Where one ticket goes: an agent, a team, or neither (its department's unassigned queue)."""

    agent_id: int | None = None
    team_id: int | None = None


QUEUE = Destination()


@dataclass(frozen=True)
class OpenTicket:
    """An open ticket of the person leaving, as the form lists it."""

    id: int
    number: int
    subject: str
    state: str
    version: int
    department_id: int
    team_id: int | None
    workflow_version_id: int


@dataclass
class Handover:
    """The deactivated person, the numbers of the tickets moved, and what to dispatch after
    the commit."""

    user: User
    moved: list[int]
    follow_ups: list[FollowUp]


class TicketsChanged(StaleTicket):
    """The person received tickets after the form was shown: the admin must choose for them."""

    def __init__(self, message: str):
        TicketflowError.__init__(self, message)
        self.ticket_number = self.expected = self.actual = None


def open_tickets_of(session: Session, user_id: int) -> list[OpenTicket]:
    """The open tickets assigned to this person, oldest number first (one indexed query)."""
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.number,
            Ticket.subject,
            Ticket.state,
            Ticket.version,
            Ticket.department_id,
            Ticket.team_id,
            Ticket.workflow_version_id,
        )
        .where(Ticket.assignee_id == user_id, Ticket.closed_at.is_(None))
        .order_by(Ticket.number)
    ).all()
    return [OpenTicket(*row) for row in rows]


def _receivers(
    session: Session, leaving: User, destinations: Mapping[int, Destination]
) -> tuple[dict[int, User], dict[int, Team], list[str]]:
    """The agents and teams named (two queries), and what is wrong with them."""
    agent_ids = {d.agent_id for d in destinations.values() if d.agent_id is not None}
    team_ids = {d.team_id for d in destinations.values() if d.team_id is not None}
    agents = {u.id: u for u in session.scalars(select(User).where(User.id.in_(agent_ids)))}
    teams = {t.id: t for t in session.scalars(select(Team).where(Team.id.in_(team_ids)))}
    problems = []
    for agent_id in sorted(agent_ids):
        agent = agents.get(agent_id)
        if agent_id == leaving.id:
            problems.append(f"The tickets cannot go to {leaving.name}, who is leaving.")
        elif agent is None or not agent.is_active or agent.role not in TICKET_ROLES:
            problems.append(
                "One of the chosen agents can no longer receive tickets "
                "(deactivated, or not an agent); reload the page and choose again."
            )
    if len(teams) != len(team_ids):
        problems.append("One of the chosen teams no longer exists; reload the page.")
    return agents, teams, problems


def _where(dest: Destination, agents: dict[int, User], teams: dict[int, Team]) -> str:
    if dest.agent_id is not None:
        return agents[dest.agent_id].name
    if dest.team_id is not None:
        return f"the team {teams[dest.team_id].name}"
    return "the department's unassigned queue"


def _params(record: TicketRecord, dest: Destination, teams: dict[int, Team]) -> dict[str, Any]:
    """What the move sets: a team carries the ticket into its own department (its members
    work there), as a transfer to that team from the ticket page would."""
    if dest.agent_id is not None:
        return {"assignee_id": dest.agent_id}
    if dest.team_id is not None:
        params: dict[str, Any] = {"team_id": dest.team_id}
        department = teams[dest.team_id].department_id
        if department is not None and department != record.department_id:
            params["department_id"] = department
        return params
    return {}


def _fitting_event(
    wf: Compiled, record: TicketRecord, actor: Actor, now: datetime, note: str, params: dict
) -> str | None:
    if not params:
        return None  # to the unassigned queue: no event unassigns within a department
    for event in MOVE_EVENTS:
        if event not in wf.definition.events:
            continue
        ctx = GuardContext(record, actor, now, event, note, params)
        if engine.decide(wf.definition, record.state, event, ctx).allowed:
            return event
    return None


def _move(
    session: Session,
    ticket: OpenTicket,
    dest: Destination,
    expected_version: int,
    actor: Actor,
    now: datetime,
    note: str,
    teams: dict[int, Team],
) -> list[FollowUp]:
    """Move one ticket inside the caller's transaction (version-checked either way)."""
    record, wf = load_record(session, ticket.id, actor, expected_version)
    change = TicketChange(record)
    params = _params(record, dest, teams)
    event = _fitting_event(wf, record, actor, now, note, params)
    follow_ups: list[FollowUp] = []
    if event is not None:
        follow_ups = services.fire_in_transaction(  # notices recorded after the save
            session, change, wf, event, actor, now, note, record=False, **params
        )
    else:
        record.assignee_id = params.get("assignee_id")
        if dest.agent_id is None:
            record.team_id = params.get("team_id")
        record.department_id = params.get("department_id", record.department_id)
        record.updated_at = now
        change.logs.append(
            log_row(
                record, actor, now, HANDOVER_EVENT, record.state, record.state, note, params or None
            )
        )
    change.save(session)
    follow_ups = outbox.record(session, follow_ups, now)  # pinned to the move just saved
    return [*follow_ups, LiveUpdate(record.id, record.number, record.version)]


def deactivate(
    session: Session,
    actor: Actor,
    now: datetime,
    user_id: int,
    destinations: Mapping[int, Destination],
    seen: Mapping[int, int],
) -> Handover:
    """Hand each open ticket of the person to `destinations[ticket id]`, then deactivate them.

    `seen` maps the ticket ids the admin was shown to the versions they saw: a ticket
    changed since raises StaleTicket, a ticket assigned to the person since raises
    TicketsChanged (both 409: look again). Every open ticket needs a destination (else
    InvalidInput naming each). Admins cannot deactivate themselves. Nothing changes unless
    everything succeeds.
    """
    require_admin(actor)
    user = staff_member(session, user_id)
    if user.id == actor.id:
        raise PermissionDenied("You cannot deactivate your own account; another admin can.")
    if not user.is_active:
        raise InvalidInput(f"{user.name}'s account is already deactivated.")
    with transaction(session):
        tickets = open_tickets_of(session, user.id)
        new = [t for t in tickets if t.id not in seen]
        if new:
            listed = ", ".join(f"#{t.number}" for t in new)
            raise TicketsChanged(
                f"{user.name} received {listed} after this page was shown; "
                "look at the list again and choose where each ticket goes."
            )
        problems = [
            f"Choose where ticket #{t.number} goes." for t in tickets if t.id not in destinations
        ]
        agents, teams, more = _receivers(
            session, user, {t.id: destinations[t.id] for t in tickets if t.id in destinations}
        )
        if problems or more:
            raise InvalidInput(problems + more)
        follow_ups: list[FollowUp] = []
        moved: dict[str, str] = {}
        for ticket in tickets:
            dest = destinations[ticket.id]
            where = _where(dest, agents, teams)
            note = f"{user.name}'s account was deactivated; the ticket goes to {where}."
            follow_ups += _move(session, ticket, dest, seen[ticket.id], actor, now, note, teams)
            moved[f"#{ticket.number}"] = where
        user.is_active = False
        admin_history.record(
            session,
            actor,
            now,
            "staff.deactivate",
            user.email,
            f"Deactivated {user.name}"
            + (
                f"; {len(tickets)} open ticket{'s' if len(tickets) != 1 else ''} handed over."
                if tickets
                else "."
            ),
            {"tickets": moved} if moved else None,
        )
    return Handover(user, [t.number for t in tickets], follow_ups)
