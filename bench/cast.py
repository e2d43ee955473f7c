"""The people and places tickets are spread over: departments, teams, staff, customers, topics.

Rows are tuples ready for COPY, with ids assigned here (the tables are empty when the
generator runs), so tickets can point at them without reading anything back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

PLAN_BY_PRIORITY = {1: "SEV C", 2: "SEV C", 3: "SEV B", 4: "SEV A"}
DEPARTMENTS = ("Support", "Billing", "IT Services", "Facilities", "People")
TEAMS = ("Level 1", "Level 2")
TOPICS = (("Something is broken", 2), ("How do I ...?", 1), ("Access or account", 3))
AGENTS_PER_DEPARTMENT = 12
USER_COLUMNS = ("id", "email", "name", "password_hash", "role", "is_active", "created_at")
TOPIC_COLUMNS = (
    "id",
    "name",
    "department_id",
    "priority_id",
    "sla_plan_id",
    "workflow_id",
    "is_active",
)


@dataclass(frozen=True)
class Plan:
    """An SLA plan as stored by `ensure_reference_data` (targets in minutes)."""

    id: int
    first_response: int
    resolution: int


@dataclass
class Cast:
    """Departments, teams, staff, customers and help topics, as rows ready for COPY."""

    departments: list[tuple[int, str]] = field(default_factory=list)
    teams: list[tuple[int, str, int]] = field(default_factory=list)
    users: list[tuple] = field(default_factory=list)
    staff_departments: list[tuple[int, int]] = field(default_factory=list)
    team_members: list[tuple[int, int]] = field(default_factory=list)
    help_topics: list[tuple] = field(default_factory=list)
    agents: dict[int, list[int]] = field(default_factory=dict)
    """department id -> agent ids"""
    team_ids: dict[int, list[int]] = field(default_factory=dict)
    """department id -> team ids"""
    customers: range = range(0)
    topics: list[tuple[int, int]] = field(default_factory=list)
    """(help topic id, department id)"""


def build_cast(n_tickets: int, now: datetime, workflow_id: int, plans: dict[str, Plan]) -> Cast:
    """About one customer per 20 tickets (at least 200), 12 agents per department, 3 admins
    and one ops person; every agent belongs to one team of their department."""
    cast = Cast()
    joined = now - timedelta(days=400)
    uid = 0

    def person(email: str, name: str, role: str) -> int:
        nonlocal uid
        uid += 1
        cast.users.append((uid, email, name, None, role, True, joined))
        return uid

    for d, dname in enumerate(DEPARTMENTS, start=1):
        cast.departments.append((d, dname))
        cast.agents[d], cast.team_ids[d] = [], []
        for tname in TEAMS:
            tid = len(cast.teams) + 1
            cast.teams.append((tid, f"{dname} {tname}", d))
            cast.team_ids[d].append(tid)
        for a in range(AGENTS_PER_DEPARTMENT):
            agent = person(f"agent{d}.{a}@help.example.com", f"Agent {dname} {a}", "agent")
            cast.agents[d].append(agent)
            cast.staff_departments.append((agent, d))
            cast.team_members.append((cast.team_ids[d][a % len(TEAMS)], agent))
        for tname, priority in TOPICS:
            topic_id = len(cast.help_topics) + 1
            plan = plans[PLAN_BY_PRIORITY[priority]]
            cast.help_topics.append(
                (topic_id, f"{dname}: {tname}", d, priority, plan.id, workflow_id, True)
            )
            cast.topics.append((topic_id, d))
    for a in range(3):
        admin = person(f"admin{a}@help.example.com", f"Admin {a}", "admin")
        cast.staff_departments.extend((admin, d) for d, _ in cast.departments)
    person("ops@help.example.com", "Ops", "ops")
    first = uid + 1
    for c in range(max(200, n_tickets // 20)):
        person(f"customer{c}@example.com", f"Customer {c}", "end_user")
    cast.customers = range(first, uid + 1)
    return cast
