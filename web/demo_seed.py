"""Demo data for `ticketflow seed-demo`: a small help desk in the middle of a working day.

Every ticket is opened and moved through the real services, so the demo shows exactly what
the engine allows. Idempotent: a second run changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from workflow import canned, services
from workflow.models import Department, HelpTopic, Role, SlaPlan, Team, User, Workflow
from workflow.rules import Actor


@dataclass(frozen=True)
class Login:
    role: str
    email: str
    password: str
    name: str


LOGINS = (
    Login("admin", "admin@demo.ticketflow.test", "demo-admin-pass", "Ada Admin"),
    Login("agent", "alice@demo.ticketflow.test", "demo-agent-pass", "Alice Agent"),
    Login("agent", "bob@demo.ticketflow.test", "demo-agent-pass", "Bob Level2"),
    Login("ops", "otto@demo.ticketflow.test", "demo-ops-pass", "Otto Ops"),
    Login("end_user", "carol@demo.ticketflow.test", "demo-user-pass", "Carol Customer"),
    Login("end_user", "dave@demo.ticketflow.test", "demo-user-pass", "Dave Customer"),
)

TOPICS = (
    ("Printer or hardware", "IT Support", 2, "SEV C"),
    ("Cannot sign in", "IT Support", 3, "SEV B"),
    ("Outage", "IT Support", 4, "SEV A"),
    ("Invoice question", "Billing", 1, "SEV C"),
)


def _get_or_add(session: Session, model: type, where: dict, **values: object) -> object:
    row = session.scalar(select(model).filter_by(**where))
    if row is None:
        row = model(**where, **values)
        session.add(row)
        session.flush()
    return row


def seed_demo(session: Session, now: datetime) -> tuple[list[Login], bool]:
    """Create departments, a Level 2 team, help topics, people and tickets in every state.
    Returns the demo logins and whether anything was created. Commits."""
    if session.scalar(select(User).where(User.email == LOGINS[0].email)) is not None:
        return list(LOGINS), False
    people = {}
    for login in LOGINS:
        people[login.email.split("@")[0]] = _get_or_add(
            session,
            User,
            {"email": login.email},
            name=login.name,
            role=Role(login.role),
            created_at=now,
            password_hash=generate_password_hash(login.password),
        )
    departments = {
        name: _get_or_add(session, Department, {"name": name}) for name in ("IT Support", "Billing")
    }
    for user in (people["alice"], people["bob"], people["admin"]):
        user.departments.extend(departments.values())
    level2 = _get_or_add(
        session, Team, {"name": "Level 2 Support"}, department_id=departments["IT Support"].id
    )
    level2.members.append(people["bob"])
    workflow = session.scalar(select(Workflow).where(Workflow.key == "support"))
    topics = {}
    for name, dept, priority, plan in TOPICS:
        topics[name] = _get_or_add(
            session,
            HelpTopic,
            {"name": name},
            department_id=departments[dept].id,
            priority_id=priority,
            workflow_id=workflow.id,
            sla_plan_id=session.scalar(select(SlaPlan.id).where(SlaPlan.name == plan)),
        )
    session.commit()
    _tickets(session, people, topics, level2, now)
    _canned_responses(session, services.actor_for(people["admin"]), now)
    return list(LOGINS), True


def _tickets(session: Session, people: dict, topics: dict, level2: Team, now: datetime) -> None:
    alice, carol, dave = (services.actor_for(people[k]) for k in ("alice", "carol", "dave"))

    def open_(customer: Actor, topic: str, subject: str, body: str, minutes_ago: int) -> int:
        return services.open_ticket(
            session,
            requester_id=customer.id,
            help_topic_id=topics[topic].id,
            subject=subject,
            body=body,
            actor=customer,
            now=now - timedelta(minutes=minutes_ago),
        ).ticket.id

    def fire(ticket_id: int, event: str, actor: Actor, **kw: object) -> None:
        services.apply_event(session, ticket_id, event, actor, now, **kw)

    open_(
        carol,
        "Outage",
        "Email is down for the whole sales floor",
        "Nobody on floor 2 can send or receive mail since 9:00.",
        20,
    )
    open_(
        dave,
        "Invoice question",
        "Invoice 2026-114 lists two licences",
        "We only ordered one licence; could you correct the invoice?",
        240,
    )
    t = open_(
        carol,
        "Printer or hardware",
        "Printer on floor 3 jams",
        "It blinks red and eats every second page.",
        90,
    )
    fire(t, "claim", alice)
    t = open_(
        dave,
        "Cannot sign in",
        "Locked out after password change",
        "Since this morning the VPN refuses my new password.",
        60,
    )
    fire(t, "claim", alice)
    fire(t, "start", alice)
    fire(
        t,
        "transfer",
        alice,
        note="Hi Bob, the VPN account looks out of sync with the "
        "directory; could you have a look? Thank you!",
        team_id=level2.id,
    )
    t = open_(
        carol,
        "Cannot sign in",
        "Two-factor codes rejected",
        "The app codes are refused every time.",
        180,
    )
    fire(t, "claim", alice)
    fire(
        t,
        "request_info",
        alice,
        reply="Hello Carol, could you tell us which phone and app "
        "you use, and whether its clock is set automatically? Thank you.",
    )
    t = open_(
        dave,
        "Printer or hardware",
        "Monitor flickers",
        "The left monitor flickers every few seconds.",
        300,
    )
    fire(t, "claim", alice)
    fire(t, "start", alice)
    fire(
        t,
        "resolve",
        alice,
        reply="Hello Dave, we replaced the cable. Is there anything else we can help with?",
    )


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


def _canned_responses(session: Session, admin: Actor, now: datetime) -> None:
    """A few polite reply templates agents can insert in the composer."""
    for name, body in CANNED:
        canned.save(session, admin, now, name=name, body=body)
