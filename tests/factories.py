"""Builders for the people and places the tests act in (real rows, no mocks)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import publishing, services
from workflow.models import Department, HelpTopic, Role, SlaPlan, Team, Ticket, User, Workflow
from workflow.reference import ensure_reference_data
from workflow.rules import Actor


@dataclass
class World:
    session: Session
    now: datetime
    customer: User
    other_customer: User
    agent: User
    colleague: User
    admin: User
    ops: User
    department: Department
    other_department: Department
    level2: Team
    topic: HelpTopic

    def actor(self, user: User | None) -> Actor:
        return Actor.system() if user is None else services.actor_for(user)

    def open(self, subject: str = "The printer on floor 3 is jammed", **kw) -> Ticket:
        customer = kw.pop("customer", self.customer)
        return services.open_ticket(
            self.session,
            requester_id=customer.id,
            help_topic_id=self.topic.id,
            subject=subject,
            body=kw.pop("body", "It blinks red and eats paper."),
            actor=self.actor(customer),
            now=kw.pop("now", self.now),
        ).ticket


def make_user(session: Session, email: str, name: str, role: Role, now: datetime) -> User:
    user = User(email=email, name=name, role=role, created_at=now)
    session.add(user)
    return user


def build_world(session: Session, now: datetime) -> World:
    system = Actor.system()
    ensure_reference_data(session)
    publishing.load_builtin(session, system, now)
    support = Department(name="Support")
    billing = Department(name="Billing")
    session.add_all([support, billing])
    session.flush()
    level2 = Team(name="Level 2 Support", department_id=support.id)
    session.add(level2)
    people = {
        "customer": make_user(session, "carol@example.com", "Carol Customer", Role.END_USER, now),
        "other_customer": make_user(
            session, "oscar@example.com", "Oscar Other", Role.END_USER, now
        ),
        "agent": make_user(session, "alice@example.com", "Alice Agent", Role.AGENT, now),
        "colleague": make_user(session, "bob@example.com", "Bob Level2", Role.AGENT, now),
        "admin": make_user(session, "ada@example.com", "Ada Admin", Role.ADMIN, now),
        "ops": make_user(session, "otto@example.com", "Otto Ops", Role.OPS, now),
    }
    session.flush()
    level2.members.append(people["colleague"])
    workflow = session.scalar(select(Workflow).where(Workflow.key == "support"))
    plan = session.scalar(select(SlaPlan).where(SlaPlan.name == "SEV C"))
    topic = HelpTopic(
        name="General question",
        department_id=support.id,
        priority_id=2,
        sla_plan_id=plan.id,
        workflow_id=workflow.id,
    )
    session.add(topic)
    session.commit()
    return World(
        session,
        now,
        department=support,
        other_department=billing,
        level2=level2,
        topic=topic,
        **people,
    )
