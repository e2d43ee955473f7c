"""Admins create and change business calendars and SLA plans.

The same habits as the other admin verbs (`workflow.structure`): admins only, every problem
found before anything changes (one `InvalidFields` naming each field's problems), names
unique whatever their case, one transaction per verb, each change in the admin history.

A change that moves deadlines (a plan's targets, threshold, calendar or escalation steps; a
calendar's hours, zone or holidays) applies to the open tickets on it from now on, in the
same transaction (`workflow.reclock`): the result carries the timer follow-ups, which the
caller dispatches after the commit so each ticket's timers move with its deadlines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow import admin_history, plan_terms
from workflow.errors import NotFound, PermissionDenied
from workflow.followups import FollowUp
from workflow.models import Role, SlaCalendar, SlaPlan, Team, Ticket
from workflow.outcome import transaction
from workflow.plan_input import (
    TARGET_NAMES,
    TARGETS,
    InvalidFields,
    PlanFields,
    PlanValues,
    describe_hours,
    minutes_text,
    plan_values,
)
from workflow.reclock import reclock
from workflow.rules import Actor

MAX_PLAN_NAME = 60
MAX_CALENDAR_NAME = 120
CALENDAR_PARTS = {
    "timezone": "time zone",
    "hours": "weekly hours",
    "holidays": "holidays",
    "country": "country",
    "subdivision": "subdivision",
}


@dataclass
class Saved:
    """What a save did: the row, what changed (in words; empty when nothing did), how many
    open tickets got new clocks, and the follow-ups to dispatch once it has committed."""

    id: int
    name: str
    created: bool = False
    changed: list[str] = field(default_factory=list)
    tickets: int = 0
    follow_ups: list[FollowUp] = field(default_factory=list)


def require_admin(actor: Actor) -> None:
    if actor.role != Role.ADMIN.value:
        raise PermissionDenied("Only admins change SLA plans and business calendars.")


def open_tickets_per_plan(session: Session) -> dict[int, int]:
    """Open tickets per SLA plan id, in one grouped query."""
    rows = session.execute(
        select(Ticket.sla_plan_id, func.count())
        .where(Ticket.closed_at.is_(None), Ticket.sla_plan_id.is_not(None))
        .group_by(Ticket.sla_plan_id)
    )
    return dict(rows.all())


def open_tickets_on(session: Session, plan_id: int) -> int:
    """How many open tickets run on one plan: what saving a change to it recomputes."""
    return (
        session.scalar(
            select(func.count())
            .select_from(Ticket)
            .where(Ticket.closed_at.is_(None), Ticket.sla_plan_id == plan_id)
        )
        or 0
    )


# ---- calendars -------------------------------------------------------------------------------


def save_calendar(
    session: Session,
    actor: Actor,
    now: datetime,
    name: str,
    document: Mapping[str, Any],
    calendar_id: int | None = None,
) -> Saved:
    """Create a calendar, or change one (its plans' open tickets get new clocks from now).

    `document` is a checked calendar (`workflow.plan_input.calendar_from_fields` or
    `calendar_from_yaml`). Refused with InvalidFields when the name is missing or taken."""
    require_admin(actor)
    row = _get(session, SlaCalendar, calendar_id, "calendar") if calendar_id else None
    name = " ".join((name or "").split())
    problems = _name_problems(
        session, SlaCalendar, name, "calendar", MAX_CALENDAR_NAME, calendar_id
    )
    if problems:
        raise InvalidFields({"name": problems})
    document = dict(document)
    with transaction(session):
        if row is None:
            row = SlaCalendar(name=name, definition=document)
            session.add(row)
            _flush_unique(session, name, "calendar")
            admin_history.record(
                session,
                actor,
                now,
                "calendar.create",
                name,
                f"Created the calendar {name} "
                f"({document['timezone']}, {describe_hours(document)}).",
                {"definition": document},
            )
            return Saved(row.id, name, created=True, changed=["created"])
        old_name, old = row.name, dict(row.definition)
        changed = [f"name {old_name} → {name}"] if old_name != name else []
        changed += [
            words for key, words in CALENDAR_PARTS.items() if old.get(key) != document.get(key)
        ]
        if not changed:
            return Saved(row.id, name)
        plans = session.scalars(select(SlaPlan).where(SlaPlan.calendar_id == row.id)).all()
        changes = (
            {p.id: (plan_terms.from_rows(p, old), plan_terms.from_rows(p, document)) for p in plans}
            if old != document
            else {}
        )
        row.name, row.definition = name, document
        _flush_unique(session, name, "calendar")
        note = f"The business calendar {name} changed; the SLA clocks were recomputed from now."
        done = reclock(session, changes, actor, now, note)
        admin_history.record(
            session,
            actor,
            now,
            "calendar.update",
            name,
            f"Changed the calendar {name}: {', '.join(changed)}; "
            f"{_tickets(done.tickets)} recomputed from now.",
            {
                "name": {"from": old_name, "to": name},
                "definition": {"from": old, "to": document},
                "plans": sorted(p.name for p in plans),
                "open_tickets": done.tickets,
            },
        )
    return Saved(row.id, name, False, changed, done.tickets, done.follow_ups)


# ---- SLA plans -------------------------------------------------------------------------------


def save_plan(
    session: Session, actor: Actor, now: datetime, fields: PlanFields, plan_id: int | None = None
) -> Saved:
    """Create an SLA plan, or change one: its open tickets get new clocks from now.

    Every problem (a target that is not one, both kinds of at-risk threshold, an escalation
    step the parser refuses, a team that does not exist, a name taken) is found before
    anything changes and raised as one InvalidFields."""
    require_admin(actor)
    plan = _get(session, SlaPlan, plan_id, "SLA plan") if plan_id else None
    values, problems = plan_values(fields)
    names = _name_problems(session, SlaPlan, values.name, "SLA plan", MAX_PLAN_NAME, plan_id)
    if names:
        problems["name"] = names
    calendar = None
    if values.calendar_id is not None:
        calendar = session.get(SlaCalendar, values.calendar_id)
        if calendar is None:
            problems["calendar_id"] = ["Choose one of the calendars offered, or none (24x7)."]
    if "escalation" not in problems:
        teams = _team_problems(session, fields.policy)
        if teams:
            problems["escalation"] = teams
    if problems:
        raise InvalidFields(problems)
    document = calendar.definition if calendar else None
    with transaction(session):
        if plan is None:
            plan = SlaPlan()
            _apply(plan, values)
            session.add(plan)
            _flush_unique(session, values.name, "SLA plan")
            admin_history.record(
                session,
                actor,
                now,
                "sla_plan.create",
                values.name,
                f"Created the SLA plan {values.name} ({_targets_text(plan)}).",
                {"plan": _columns(plan, calendar)},
            )
            return Saved(plan.id, plan.name, created=True, changed=["created"])
        old_calendar = session.get(SlaCalendar, plan.calendar_id) if plan.calendar_id else None
        before = plan_terms.from_rows(plan, old_calendar)
        old = _columns(plan, old_calendar)
        _apply(plan, values)
        _flush_unique(session, values.name, "SLA plan")
        new = _columns(plan, calendar)
        changed = [_change_words(key, old[key], new[key]) for key in new if old[key] != new[key]]
        if not changed:
            return Saved(plan.id, plan.name)
        after = plan_terms.from_rows(plan, document)
        note = f"The SLA plan {plan.name} changed; its clocks were recomputed from now."
        done = reclock(
            session, {plan.id: (before, after)} if before != after else {}, actor, now, note
        )
        admin_history.record(
            session,
            actor,
            now,
            "sla_plan.update",
            plan.name,
            f"Changed the SLA plan {plan.name}: {'; '.join(changed)}; "
            f"{_tickets(done.tickets)} recomputed from now.",
            {
                **{k: {"from": old[k], "to": new[k]} for k in new if old[k] != new[k]},
                "open_tickets": done.tickets,
            },
        )
    return Saved(plan.id, plan.name, False, changed, done.tickets, done.follow_ups)


def fields_for(plan: SlaPlan) -> PlanFields:
    """The form's fields for a stored plan (targets as `90m`/`8h` text)."""
    return PlanFields(
        name=plan.name,
        **{clock: minutes_text(getattr(plan, f"{clock}_minutes")) for clock in TARGETS},
        at_risk_percent=str(plan.at_risk_percent or ""),
        at_risk_minutes=str(plan.at_risk_minutes or ""),
        calendar_id=plan.calendar_id,
        policy=list(plan.escalation_policy or []),
    )


def _apply(plan: SlaPlan, values: PlanValues) -> None:
    plan.name = values.name
    for column, minutes in values.minutes.items():
        setattr(plan, column, minutes)
    plan.at_risk_percent = values.at_risk_percent
    plan.at_risk_minutes = values.at_risk_minutes
    plan.calendar_id = values.calendar_id
    plan.escalation_policy = values.escalation_policy


def _columns(plan: SlaPlan, calendar: SlaCalendar | None) -> dict[str, Any]:
    """The plan as the history shows it: targets as text, the calendar by name."""
    return {
        "name": plan.name,
        **{clock: minutes_text(getattr(plan, f"{clock}_minutes")) or None for clock in TARGETS},
        "at_risk": _at_risk_text(plan),
        "calendar": calendar.name if calendar else None,
        "escalation": plan.escalation_policy or [],
    }


def _change_words(key: str, old: Any, new: Any) -> str:
    if key == "escalation":
        return f"escalation steps ({len(old)} → {len(new)})"
    label = TARGET_NAMES.get(key, key.replace("_", " "))
    return f"{label} {old or 'none'} → {new or 'none'}"


def _at_risk_text(plan: SlaPlan) -> str | None:
    if plan.at_risk_percent is not None:
        return f"{plan.at_risk_percent}%"
    if plan.at_risk_minutes is not None:
        return f"{plan.at_risk_minutes} min before due"
    return None


def _targets_text(plan: SlaPlan) -> str:
    parts = [
        f"{TARGET_NAMES[clock]} {text}"
        for clock in TARGETS
        if (text := minutes_text(getattr(plan, f"{clock}_minutes")))
    ]
    return ", ".join(parts)


def _team_problems(session: Session, policy: list[dict[str, Any]]) -> list[str]:
    """`reassign` must name a team that exists (the step would otherwise do nothing)."""
    wanted = [
        (number, str(step.get("at", "")).strip(), index, str(action["reassign"]).strip())
        for number, step in enumerate(policy, 1)
        for index, action in enumerate(step.get("actions") or [], 1)
        if isinstance(action, Mapping) and "reassign" in action
    ]
    if not wanted:
        return []
    teams = sorted(session.scalars(select(Team.name)))
    known = ", ".join(teams) or "none yet"
    return [
        f"Step {number} ({at}), action {index}: there is no team called “{team}”; "
        f"the teams are {known}."
        for number, at, index, team in wanted
        if team not in teams
    ]


# ---- shared ----------------------------------------------------------------------------------


def _get(session: Session, model: type, row_id: int, what: str) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"There is no {what} with that id.")
    return row


def _name_problems(
    session: Session, model: Any, name: str, what: str, longest: int, own_id: int | None
) -> list[str]:
    if not name:
        return [f"Give the {what} a name."]
    if len(name) > longest:
        return [f"Keep the {what}'s name under {longest} characters."]
    query = select(model.id).where(func.lower(model.name) == name.lower())
    if own_id is not None:
        query = query.where(model.id != own_id)
    if session.scalar(query) is not None:
        return [_taken(what, name)]
    return []


def _flush_unique(session: Session, name: str, what: str) -> None:
    """A name a concurrent admin took a moment ago is the same refusal as above."""
    try:
        session.flush()
    except IntegrityError:
        raise InvalidFields({"name": [_taken(what, name)]}) from None


def _taken(what: str, name: str) -> str:
    article = "an" if what.startswith("SLA") else "a"
    return f"There is already {article} {what} called “{name}”; choose another name."


def _tickets(count: int) -> str:
    return f"the clocks of {count} open ticket{'s' if count != 1 else ''}"
