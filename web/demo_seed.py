"""Demo data for `ticketflow seed-demo`: a small retail-bank help desk in the middle of a
working day, the cast of the product's own story (issue 3, sections 6 and 7).

End users Karen and Ken; agents Isabella (Level 1 Support) and Winston (Level 2 Support);
an admin and an ops user; two departments, two teams, the three help topics (Password reset
-> Normal, SEV B; Mobile banking -> High, SEV A; General -> Low, SEV C) on the three shipped
SLA plans; and a few dozen tickets in every state (web/demo_tickets.py). Every ticket is
opened and moved through the real services, so the demo shows exactly what the engine
allows. Idempotent: a second run changes nothing. The browser test of the whole lifecycle
builds its world with `seed_cast` (people and places, no tickets), so the demo and the test
cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from web import demo_tickets
from workflow import canned, services
from workflow.models import Department, HelpTopic, Role, SlaPlan, Team, User, Workflow


@dataclass(frozen=True)
class Login:
    key: str
    role: str
    email: str
    password: str
    name: str
    about: str = ""
    """Who this is in the demo's story, printed with the login."""


D, AGENT, USER = "@demo.ticketflow.test", "demo-agent-pass", "demo-user-pass"
LOGINS = (
    Login("admin", "admin", f"ada{D}", "demo-admin-pass", "Ada Admin", "admin, all departments"),
    Login("ops", "ops", f"otto{D}", "demo-ops-pass", "Otto Ops", "SLA and queue health views"),
    Login("isabella", "agent", f"isabella{D}", AGENT, "Isabella Rossi", "Level 1 Support"),
    Login("winston", "agent", f"winston{D}", AGENT, "Winston Clarke", "Level 2 Support"),
    Login("karen", "end_user", f"karen{D}", USER, "Karen Miller", "customer"),
    Login("ken", "end_user", f"ken{D}", USER, "Ken Tanaka", "customer"),
)
LOGIN = {login.key: login for login in LOGINS}

CUSTOMERS = (
    # Other customers of the bank, so the queues are not only Karen's and Ken's. No password:
    # like customers an agent takes on the phone, they can set one by reset link.
    ("maria", "maria.lopez@example.com", "Maria Lopez"),
    ("tom", "tom.becker@example.com", "Tom Becker"),
    ("priya", "priya.shah@example.com", "Priya Shah"),
    ("lena", "lena.novak@example.com", "Lena Novak"),
    ("omar", "omar.haddad@example.com", "Omar Haddad"),
)

SUPPORT, SECURITY = "Customer Support", "Fraud and Security"
LEVEL1, LEVEL2 = "Level 1 Support", "Level 2 Support"
TOPICS = (
    # (name, priority id, SLA plan): every topic lands in Customer Support
    ("Password reset", 2, "SEV B"),
    ("Mobile banking", 3, "SEV A"),
    ("General", 1, "SEV C"),
)


@dataclass(frozen=True)
class Cast:
    """The people and places of the demo, by short key (`karen`, `isabella`, ...)."""

    people: dict[str, User]
    departments: dict[str, Department]
    teams: dict[str, Team]
    topics: dict[str, HelpTopic]


def _get_or_add(session: Session, model: type, where: dict, **values: object) -> object:
    row = session.scalar(select(model).filter_by(**where))
    if row is None:
        row = model(**where, **values)
        session.add(row)
        session.flush()
    return row


def _person(session: Session, email: str, name: str, role: Role, now: datetime, **kw) -> User:
    return _get_or_add(session, User, {"email": email}, name=name, role=role, created_at=now, **kw)


def seed_cast(session: Session, now: datetime) -> Cast:
    """People, departments, teams and help topics; nothing that exists is changed. Needs the
    reference data and the built-in workflows (`ticketflow db upgrade`). Commits."""
    people = {
        login.key: _person(
            session,
            login.email,
            login.name,
            Role(login.role),
            now,
            password_hash=generate_password_hash(login.password),
        )
        for login in LOGINS
    }
    for key, email, name in CUSTOMERS:
        people[key] = _person(session, email, name, Role.END_USER, now)
    departments = {
        name: _get_or_add(session, Department, {"name": name}, manager_id=people["admin"].id)
        for name in (SUPPORT, SECURITY)
    }
    staff = {"isabella": [SUPPORT], "winston": [SUPPORT, SECURITY], "admin": [SUPPORT, SECURITY]}
    for key, names in staff.items():
        for name in names:
            if departments[name] not in people[key].departments:
                people[key].departments.append(departments[name])
    teams = {}
    for name, member in ((LEVEL1, "isabella"), (LEVEL2, "winston")):
        teams[name] = _get_or_add(
            session, Team, {"name": name}, department_id=departments[SUPPORT].id
        )
        if people[member] not in teams[name].members:
            teams[name].members.append(people[member])
    workflow_id = session.scalar(select(Workflow.id).where(Workflow.key == "support"))
    topics = {
        name: _get_or_add(
            session,
            HelpTopic,
            {"name": name},
            department_id=departments[SUPPORT].id,
            priority_id=priority,
            workflow_id=workflow_id,
            sla_plan_id=session.scalar(select(SlaPlan.id).where(SlaPlan.name == plan)),
        )
        for name, priority, plan in TOPICS
    }
    session.commit()
    return Cast(people, departments, teams, topics)


def seed_demo(session: Session, now: datetime) -> tuple[list[Login], bool]:
    """The cast, a few dozen tickets in every state and the canned responses. Returns the
    demo logins and whether anything was created. Commits."""
    if session.scalar(select(User).where(User.email == LOGINS[0].email)) is not None:
        return list(LOGINS), False
    cast = seed_cast(session, now)
    demo_tickets.seed(session, cast, now)
    seed_canned_responses(session, cast, now)
    return list(LOGINS), True


CANNED = (
    (
        "Thanks, we are on it",
        "Hello {requester_first_name}, thank you for getting in touch. We have your request as "
        "ticket #{ticket_number} and are looking into it now; we will write again as soon as we "
        "know more. Kind regards, {agent_name}",
    ),
    (
        "A few more details, please",
        "Hello {requester_first_name}, thank you for your message. So we can help you quickly, "
        "could you tell us which device and app version you use, and what you see on the screen "
        "when it happens? A screenshot is very welcome. Kind regards, {agent_name}",
    ),
    (
        "Anything else we can do?",
        "Hello {requester_first_name}, we believe ticket #{ticket_number} is solved now. Is "
        "there anything else we can help you with? If all is well, please press “Yes, my "
        "issue is resolved” in the Support Center. Kind regards, {agent_name}",
    ),
)


def seed_canned_responses(session: Session, cast: Cast, now: datetime) -> None:
    """A few polite reply templates agents can insert in the composer (added by the admin,
    so they are in the admin history). Commits."""
    admin = services.actor_for(cast.people["admin"])
    for name, body in CANNED:
        canned.save(session, admin, now, name=name, body=body)
