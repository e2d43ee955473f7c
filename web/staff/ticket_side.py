"""What firing an event reads before the change, in one prepared statement in the event's
own transaction: whether this person may see the ticket (its `Sight`: id, department, and
whether that is one of the agent's departments), and for the HTMX answer the names it shows
besides the ticket (its requester and help topic). The lists the answer renders (priorities
and SLA plans for the settings forms; active agents, teams and departments for the action
forms' selects, which also name the header's assignee, team, department, priority and plan
after the change) come from web/staff/answer_lists.py, which each process keeps for a few
seconds. Without JavaScript only the sight is read (the answer is a redirect).

Reading them after the change took `choices.header_names`, `ticket_extras.settings_choices`
and `choices.handover`: three statements, each built and keyed for SQLAlchemy's cache per
call, in a second transaction (BEGIN and ROLLBACK: two more round trips). Read before, the
answer needs no statement at all. A header value that is not in the lists (an assignee who is
no longer active, say) is read after the change with `choices.header_names`, as before.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Integer, bindparam, literal, null, or_, select, true, union_all

from web.extensions import db
from web.staff import answer_lists, choices
from web.staff.choices import HEADER, Named
from workflow.models import (
    HelpTopic,
    Ticket,
    User,
    staff_departments,
)
from workflow.prepared import Prepared

HANDOVER = ("agents", "teams", "departments")
LISTED = {"assignee": "agents", "team": "teams", "department": "departments",
          "priority": "priorities", "plan": "plans"}  # fmt: skip
"""Header values named from a list (the others, requester and topic, are read by id)."""


class Sight(NamedTuple):
    """A ticket an event is about to fire on, as this person may see it."""

    id: int
    department_id: int
    ours: bool
    """The ticket's department is one of the agent's (always True for admins and ops)."""


_NUMBER = bindparam("number", type_=Integer)
_USER = bindparam("user_id", type_=Integer)
_AGENTS_DEPARTMENTS = select(staff_departments.c.department_id).where(
    staff_departments.c.user_id == _USER
)


def _sight(agent: bool) -> Any:
    """The ticket's id, department and `ours`, if this person may see it: admins and ops
    every ticket, agents those of their departments or assigned to them."""
    query = select(Ticket.id, Ticket.department_id).where(Ticket.number == _NUMBER)
    if not agent:
        return query.add_columns(true().label("ours"))
    ours = Ticket.department_id.in_(_AGENTS_DEPARTMENTS)
    return query.add_columns(ours.label("ours")).where(or_(ours, Ticket.assignee_id == _USER))


_SIGHT = {agent: Prepared(_sight(agent)) for agent in (True, False)}


def sight(number: int, user_id: int, agent: bool) -> Sight | None:
    """The ticket's sight alone (one statement), or None if this person may not see it."""
    found = _SIGHT[agent].first(db.session, {"number": number, "user_id": user_id})
    return Sight(*found) if found is not None else None


def _part(kind: str, model: Any) -> Any:
    email = model.email if model is User else null()
    return select(
        literal(kind).label("kind"),
        model.id,
        model.name.label("name"),
        email.label("email"),
        null().label("department_id"),
        null().label("ours"),
    )


def _of_ticket(column: Any) -> Any:
    return select(column).where(Ticket.number == _NUMBER).scalar_subquery()


def _side(agent: bool) -> Prepared:
    ticket = _sight(agent).with_only_columns(
        literal("ticket").label("kind"),
        Ticket.id,
        null().label("name"),
        null().label("email"),
        Ticket.department_id,
        (Ticket.department_id.in_(_AGENTS_DEPARTMENTS) if agent else true()).label("ours"),
        maintain_column_froms=True,
    )
    return Prepared(union_all(
        ticket,
        _part("requester", User).where(User.id == _of_ticket(Ticket.requester_id)),
        _part("topic", HelpTopic).where(HelpTopic.id == _of_ticket(Ticket.help_topic_id)),
    ))  # fmt: skip


_SIDE = {agent: _side(agent) for agent in (True, False)}
"""Built once."""


class Side:
    """What `read(number)` found, turned into the answer's values once the ticket changed."""

    def __init__(self, rows: list[tuple[Any, ...]], lists: answer_lists.Lists):
        self.sight: Sight | None = None
        self.named: dict[str, tuple[int, Named]] = {}
        self.lists = lists  # shared with other requests (answer_lists.read): never changed
        for kind, id_, name, email, department_id, ours in rows:
            if kind == "ticket":
                self.sight = Sight(id_, department_id, bool(ours))
            else:  # requester, topic
                self.named[kind] = (id_, Named(name, email))

    def names(self, ticket: Any) -> dict[str, Named | None]:
        """As `choices.header_names(session, ticket)`: from what was read where it can be,
        else read now (one statement)."""
        by_id = {kind: dict(self.lists.get(kind, [])) for kind in LISTED.values()}
        names: dict[str, Named | None] = {}
        for key, _model, column in HEADER:
            value = getattr(ticket, column)
            if value is None:
                names[key] = None
            elif key in LISTED and value in by_id[LISTED[key]]:
                names[key] = Named(by_id[LISTED[key]][value])
            elif key in self.named and self.named[key][0] == value:
                names[key] = self.named[key][1]
            else:
                return choices.header_names(db.session, ticket)
        return names

    def settings(self) -> dict[str, list[tuple[int, str]]]:
        """As `ticket_extras.settings_choices()`."""
        return {
            "priorities": sorted(self.lists.get("priorities", []), reverse=True),
            "plans": sorted(self.lists.get("plans", []), key=lambda p: p[1]),
        }

    def lookups(self) -> dict[str, list[tuple[int, str]]]:
        """As `choices.handover(session)`."""
        return {kind: self.lists.get(kind, []) for kind in HANDOVER}


def read(number: int, user_id: int, agent: bool) -> Side:
    """The sight (None if this person may not see the ticket) and the answer's names (one
    statement, in the caller's transaction) and lists (answer_lists: kept for a few seconds;
    reading them again is one more statement)."""
    rows = _SIDE[agent].all(db.session, {"number": number, "user_id": user_id})
    return Side(rows, answer_lists.read())
