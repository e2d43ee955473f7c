"""How the help desk is organised, as an admin changes it: departments, teams and their
members, help topics.

Same habits as `staffing`: admins only, every problem found before anything changes (one
InvalidInput listing them), names unique whatever their case, one transaction per verb, each
change recorded in the admin history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from workflow import admin_history
from workflow.admin_names import flush_unique, get_row, name_problems
from workflow.errors import InvalidInput
from workflow.models import (
    Department,
    HelpTopic,
    Priority,
    SlaPlan,
    Team,
    Ticket,
    User,
    VersionStatus,
    Workflow,
    WorkflowVersion,
    staff_departments,
)
from workflow.outcome import transaction
from workflow.rules import Actor
from workflow.staffing import TICKET_ROLES, require_admin

MAX_NAME = 120


# ---- departments ---------------------------------------------------------------------------


def save_department(
    session: Session, actor: Actor, now: datetime, name: str, department_id: int | None = None
) -> Department:
    """Create a department, or rename one (tickets, topics and people stay with it)."""
    require_admin(actor)
    name = (name or "").strip()
    department = None
    if department_id is not None:
        department = get_row(session, Department, department_id, "department")
    problems = name_problems(session, Department, name, "department", MAX_NAME, department_id)
    if problems:
        raise InvalidInput(problems)
    with transaction(session):
        if department is None:
            department = Department(name=name)
            session.add(department)
            flush_unique(session, name, "department")
            admin_history.record(
                session, actor, now, "department.create", name, f"Created the department {name}."
            )
        elif department.name != name:
            old, department.name = department.name, name
            flush_unique(session, name, "department")
            admin_history.record(
                session,
                actor,
                now,
                "department.rename",
                name,
                f"Renamed the department {old} to {name}.",
                {"name": {"from": old, "to": name}},
            )
    return department


def department_uses(session: Session, department_id: int) -> dict[str, int]:
    """What still refers to a department: tickets (open or closed), help topics, teams
    (each an indexed count)."""
    kinds = (("tickets", Ticket), ("help topics", HelpTopic), ("teams", Team))
    return {
        what: session.scalar(
            select(func.count()).select_from(model).where(model.department_id == department_id)
        )
        or 0
        for what, model in kinds
    }


def delete_department(session: Session, actor: Actor, now: datetime, department_id: int) -> str:
    """Delete a department nothing refers to; its staff simply stop belonging to it.

    Refused while tickets, help topics or teams refer to it: a ticket's history must keep
    naming the department it was handled in (closed tickets too), and a topic or team
    without a department would send new tickets nowhere. Rename it instead, or move its
    topics and teams first. Returns the deleted department's name."""
    require_admin(actor)
    department = get_row(session, Department, department_id, "department")
    uses = {what: n for what, n in department_uses(session, department_id).items() if n}
    if uses:
        parts = [f"{n} {what if n != 1 else what[:-1]}" for what, n in uses.items()]
        listed = " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)
        raise InvalidInput(
            f"The department {department.name} cannot be deleted: {listed} still refer to it. "
            "Tickets keep their department for their history, even when closed, so a "
            "department that has handled tickets stays; rename it instead. Move its help "
            "topics and teams to another department before deleting an unused one."
        )
    name = department.name
    with transaction(session):
        session.execute(
            delete(staff_departments).where(staff_departments.c.department_id == department_id)
        )
        session.delete(department)
        admin_history.record(
            session, actor, now, "department.delete", name, f"Deleted the department {name}."
        )
    return name


# ---- teams ---------------------------------------------------------------------------------


def save_team(
    session: Session,
    actor: Actor,
    now: datetime,
    name: str,
    department_id: int | None,
    member_ids: Sequence[int],
    team_id: int | None = None,
) -> Team:
    """Create or change a team: its name, department and members (agents and admins; a
    deactivated member may stay, so reactivating them restores their place)."""
    require_admin(actor)
    name = (name or "").strip()
    team = get_row(session, Team, team_id, "team") if team_id is not None else None
    problems = name_problems(session, Team, name, "team", MAX_NAME, team_id)
    if department_id is not None and session.get(Department, department_id) is None:
        problems.append("The chosen department no longer exists; reload the page.")
    wanted = list(dict.fromkeys(member_ids))
    members = session.scalars(select(User).where(User.id.in_(wanted))).all() if wanted else []
    current = {m.id: m.name for m in team.members} if team is not None else {}
    if len(members) != len(wanted):
        problems.append("One of the chosen members no longer exists; reload the page.")
    for user in members:
        if user.role not in TICKET_ROLES:
            problems.append(f"{user.name} is not an agent or admin, so cannot be in a team.")
        elif not user.is_active and user.id not in current:
            problems.append(f"{user.name}'s account is deactivated; reactivate it first.")
    if problems:
        raise InvalidInput(problems)
    with transaction(session):
        created = team is None
        if team is None:
            team = Team(name=name)
            session.add(team)
        before = (team.name, team.department_id, sorted(current))
        chosen = {u.id for u in members}
        team.name, team.department_id = name, department_id
        team.members = sorted(members, key=lambda u: u.name.lower())
        flush_unique(session, name, "team")
        after = (name, department_id, sorted(u.id for u in members))
        if created or before != after:
            added = sorted(u.name for u in members if u.id not in current)
            removed = sorted(n for uid, n in current.items() if uid not in chosen)
            admin_history.record(
                session,
                actor,
                now,
                "team.create" if created else "team.update",
                name,
                f"{'Created' if created else 'Changed'} the team {name}.",
                {"added": added, "removed": removed, "department_id": department_id},
            )
    return team


# ---- help topics ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicDetails:
    name: str
    department_id: int | None
    priority_id: int | None
    sla_plan_id: int | None
    workflow_id: int | None
    is_active: bool = True


def _topic_problems(session: Session, d: TopicDetails, topic_id: int | None) -> list[str]:
    problems = name_problems(session, HelpTopic, d.name.strip(), "help topic", MAX_NAME, topic_id)
    for value, model, what in (
        (d.department_id, Department, "department"),
        (d.priority_id, Priority, "priority"),
        (d.workflow_id, Workflow, "workflow"),
    ):
        if value is None:
            problems.append(f"Choose the {what} for tickets of this topic.")
        elif session.get(model, value) is None:
            problems.append(f"The chosen {what} no longer exists; reload the page.")
    if d.sla_plan_id is not None and session.get(SlaPlan, d.sla_plan_id) is None:
        problems.append("The chosen SLA plan no longer exists; reload the page.")
    if d.is_active and d.workflow_id is not None and session.get(Workflow, d.workflow_id):
        published = session.scalar(
            select(WorkflowVersion.id).where(
                WorkflowVersion.workflow_id == d.workflow_id,
                WorkflowVersion.status == VersionStatus.PUBLISHED,
            )
        )
        if published is None:
            problems.append(
                "That workflow has no published version, so no ticket could be opened with "
                "this topic: publish the workflow first, or save the topic as inactive."
            )
    return problems


def save_topic(
    session: Session,
    actor: Actor,
    now: datetime,
    details: TopicDetails,
    topic_id: int | None = None,
) -> HelpTopic:
    """Create or change a help topic. Changes apply to tickets opened from now on; open
    tickets keep the department, priority, plan and workflow they were opened with."""
    require_admin(actor)
    topic = get_row(session, HelpTopic, topic_id, "help topic") if topic_id is not None else None
    problems = _topic_problems(session, details, topic_id)
    if problems:
        raise InvalidInput(problems)
    name = details.name.strip()
    values = {
        "name": name,
        "department_id": details.department_id,
        "priority_id": details.priority_id,
        "sla_plan_id": details.sla_plan_id,
        "workflow_id": details.workflow_id,
        "is_active": details.is_active,
    }
    with transaction(session):
        created = topic is None
        if topic is None:
            topic = HelpTopic()
            session.add(topic)
        changed = {
            key: {"from": getattr(topic, key), "to": value}
            for key, value in values.items()
            if getattr(topic, key) != value
        }
        for key, value in values.items():
            setattr(topic, key, value)
        flush_unique(session, name, "help topic")
        if changed:
            admin_history.record(
                session,
                actor,
                now,
                "help_topic.create" if created else "help_topic.update",
                name,
                f"{'Created' if created else 'Changed'} the help topic {name}.",
                None if created else changed,
            )
    return topic
