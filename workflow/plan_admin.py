"""Admins create and change SLA plans (business calendars: `workflow.calendar_admin`).

The same habits as the other admin verbs (`workflow.structure`): admins only, every problem
found before anything changes (one `InvalidFields` naming each field's problems), names
unique whatever their case (`workflow.admin_names`), one transaction per verb, each change
in the admin history.

A change that moves deadlines (a plan's targets, threshold, calendar or escalation steps)
applies to the open tickets on it from now on (`workflow.reclock`): the first batch in the
same transaction, the rest in a background run (`workflow.reclock_runs`) whose id the result
carries. The result (`Saved`, shared with the calendar verbs) carries the first batch's timer
follow-ups, which the caller dispatches after the commit (and then enqueues the run's job),
so each ticket's timers move with its deadlines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow import admin_history, plan_terms, reclock_runs
from workflow.admin_names import flush_unique, get_row, name_problems
from workflow.errors import PermissionDenied
from workflow.followups import FollowUp
from workflow.models import Role, SlaCalendar, SlaPlan, Team, Ticket
from workflow.outcome import transaction
from workflow.plan_input import (
    TARGET_NAMES,
    TARGETS,
    InvalidFields,
    PlanFields,
    PlanValues,
    minutes_text,
    plan_values,
)
from workflow.rules import Actor

MAX_PLAN_NAME = 60


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
    run_id: int | None = None
    """The background run re-clocking the remaining open tickets (None: all done now)."""
    total: int = 0
    """Open tickets the change re-clocks in all (with the run's)."""


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


# ---- SLA plans -------------------------------------------------------------------------------


def save_plan(
    session: Session, actor: Actor, now: datetime, fields: PlanFields, plan_id: int | None = None
) -> Saved:
    """Create an SLA plan, or change one: its open tickets get new clocks from now.

    Every problem (a target that is not one, both kinds of at-risk threshold, an escalation
    step the parser refuses, a team that does not exist, a name taken) is found before
    anything changes and raised as one InvalidFields."""
    require_admin(actor)
    plan = get_row(session, SlaPlan, plan_id, "SLA plan") if plan_id else None
    values, problems = plan_values(fields)
    names = name_problems(session, SlaPlan, values.name, "SLA plan", MAX_PLAN_NAME, plan_id)
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
            flush_unique(session, values.name, "SLA plan", refuse_name)
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
        shot = reclock_runs.snapshot(plan, old_calendar)
        old = _columns(plan, old_calendar)
        _apply(plan, values)
        flush_unique(session, values.name, "SLA plan", refuse_name)
        new = _columns(plan, calendar)
        changed = [_change_words(key, old[key], new[key]) for key in new if old[key] != new[key]]
        if not changed:
            return Saved(plan.id, plan.name)
        after = plan_terms.from_rows(plan, document)
        note = f"The SLA plan {plan.name} changed; its clocks were recomputed from now."
        shots = {plan.id: (shot, reclock_runs.snapshot(plan, document))}
        began = reclock_runs.begin(
            session,
            shots if before != after else {},
            "sla_plan",
            plan.id,
            plan.name,
            actor,
            now,
            note,
        )
        done = began.reclocked
        admin_history.record(
            session,
            actor,
            now,
            "sla_plan.update",
            plan.name,
            f"Changed the SLA plan {plan.name}: {'; '.join(changed)}; "
            f"{tickets_text(done.tickets)} recomputed from now{rest_text(began)}.",
            {
                **{k: {"from": old[k], "to": new[k]} for k in new if old[k] != new[k]},
                "open_tickets": began.total,
            },
        )
    return Saved(
        plan.id,
        plan.name,
        False,
        changed,
        done.tickets,
        done.follow_ups,
        began.run_id,
        began.total,
    )


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


def refuse_name(sentence: str) -> InvalidFields:
    """A name problem as the forms show it: next to the name field."""
    return InvalidFields({"name": [sentence]})


def rest_text(began: reclock_runs.Began) -> str:
    """What the history adds when a background run re-clocks the rest."""
    if began.run_id is None:
        return ""
    return f", the other {began.total - began.reclocked.tickets} in the background"


def tickets_text(count: int) -> str:
    """How the history says what a change recomputed: `the clocks of 3 open tickets`."""
    return f"the clocks of {count} open ticket{'s' if count != 1 else ''}"
