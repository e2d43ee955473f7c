"""The data model: plain SQLAlchemy 2 declarative classes on one `Base`.

The web app binds Flask-SQLAlchemy to this `Base` (same metadata, request-scoped sessions);
jobs and the CLI use `workflow.db`. Times are stored in UTC.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit keys on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Ticketflow stores aware datetimes only; pass `now` with a zone.")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(nullable: bool = True, **kw: Any) -> Any:
    return mapped_column(UtcDateTime(), nullable=nullable, **kw)


class Role(enum.StrEnum):
    END_USER = "end_user"
    AGENT = "agent"
    ADMIN = "admin"
    OPS = "ops"


class EntryKind(enum.StrEnum):
    CUSTOMER_MESSAGE = "customer_message"
    PUBLIC_REPLY = "public_reply"
    INTERNAL_NOTE = "internal_note"
    SYSTEM_EVENT = "system_event"


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


staff_departments = Table(
    "staff_departments",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
)

team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A person: an end user (requester) or staff (agent, admin, ops)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"), default=Role.END_USER)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = utc_column(nullable=False)

    departments: Mapped[list[Department]] = relationship(secondary=staff_departments)
    teams: Mapped[list[Team]] = relationship(secondary=team_members, back_populates="members")

    @property
    def is_staff(self) -> bool:
        return self.role != Role.END_USER


class Department(Base):
    __tablename__ = "departments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class Team(Base):
    """A group of agents tickets can be assigned to, e.g. "Level 2 Support"."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    members: Mapped[list[User]] = relationship(secondary=team_members, back_populates="teams")


class Priority(Base):
    """Low, Normal, High, Emergency. The key is the urgency, so sorting by it sorts by urgency."""

    __tablename__ = "priorities"
    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    colour: Mapped[str] = mapped_column(String(7), default="#6b7280")


class SlaPlan(Base):
    """Targets in minutes; the SLA issue adds calendars, at-risk thresholds and escalation."""

    __tablename__ = "sla_plans"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    next_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)


class Workflow(Base):
    """A named lifecycle (e.g. `support`) with its versions."""

    __tablename__ = "workflows"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(63), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    versions: Mapped[list[WorkflowVersion]] = relationship(
        back_populates="workflow", order_by="WorkflowVersion.number"
    )


class WorkflowVersion(Base):
    """One version of a lifecycle document. At most one per workflow is published."""

    __tablename__ = "workflow_versions"
    __table_args__ = (
        UniqueConstraint("workflow_id", "number", name="uq_workflow_versions_number"),
        Index(
            "uq_workflow_versions_published",
            "workflow_id",
            unique=True,
            postgresql_where=text("status = 'published'"),
            sqlite_where=text("status = 'published'"),
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(_enum(VersionStatus, "version_status"))
    source: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = utc_column(nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime | None] = utc_column()
    workflow: Mapped[Workflow] = relationship(back_populates="versions")


class HelpTopic(Base):
    """What an end user picks when opening a ticket: it decides department, priority,
    SLA plan and workflow."""

    __tablename__ = "help_topics"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    priority_id: Mapped[int] = mapped_column(ForeignKey("priorities.id"))
    sla_plan_id: Mapped[int | None] = mapped_column(ForeignKey("sla_plans.id"))
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))


class Ticket(Base):
    """A ticket. `version` is the optimistic lock: every write bumps it, and a stale write fails."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_queue", "state", text("priority_id DESC"), "next_due_at", "id"),
        Index(
            "ix_tickets_assignee_queue",
            "assignee_id",
            "state",
            text("priority_id DESC"),
            "next_due_at",
        ),
        Index("ix_tickets_team_queue", "team_id", "state", text("priority_id DESC"), "next_due_at"),
        Index(
            "ix_tickets_department_queue",
            "department_id",
            "state",
            text("priority_id DESC"),
            "next_due_at",
        ),
        Index("ix_tickets_requester", "requester_id", "updated_at"),
        Index(
            "ix_tickets_next_due_at",
            "next_due_at",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    subject: Mapped[str] = mapped_column(String(255))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    help_topic_id: Mapped[int | None] = mapped_column(ForeignKey("help_topics.id"))
    priority_id: Mapped[int] = mapped_column(ForeignKey("priorities.id"))
    sla_plan_id: Mapped[int | None] = mapped_column(ForeignKey("sla_plans.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    state: Mapped[str] = mapped_column(String(63))
    workflow_version_id: Mapped[int] = mapped_column(ForeignKey("workflow_versions.id"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    linked_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    resolved_at: Mapped[datetime | None] = utc_column()
    confirmed_at: Mapped[datetime | None] = utc_column()
    first_responded_at: Mapped[datetime | None] = utc_column()
    first_response_due_at: Mapped[datetime | None] = utc_column()
    resolution_due_at: Mapped[datetime | None] = utc_column()
    resolution_paused_at: Mapped[datetime | None] = utc_column()
    next_due_at: Mapped[datetime | None] = utc_column()
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))
    escalated_at: Mapped[datetime | None] = utc_column()
    created_at: Mapped[datetime] = utc_column(nullable=False)
    updated_at: Mapped[datetime] = utc_column(nullable=False)
    closed_at: Mapped[datetime | None] = utc_column()

    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="raise_on_sql")
    workflow_version: Mapped[WorkflowVersion] = relationship(lazy="raise_on_sql")

    __mapper_args__ = {"version_id_col": version}


class ThreadEntry(Base):
    """One entry of a ticket's thread. Internal notes and system events are never shown to
    the customer."""

    __tablename__ = "thread_entries"
    __table_args__ = (Index("ix_thread_entries_ticket", "ticket_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind, "entry_kind"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = utc_column(nullable=False)

    @property
    def is_public(self) -> bool:
        return self.kind in (EntryKind.CUSTOMER_MESSAGE, EntryKind.PUBLIC_REPLY)


class TransitionLog(Base):
    """One row per transition (and per move onto a new workflow version): the audit trail."""

    __tablename__ = "transition_log"
    __table_args__ = (Index("ix_transition_log_ticket", "ticket_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = utc_column(nullable=False)
    event: Mapped[str] = mapped_column(String(63))
    from_state: Mapped[str | None] = mapped_column(String(63))
    to_state: Mapped[str] = mapped_column(String(63))
    workflow_version_id: Mapped[int] = mapped_column(ForeignKey("workflow_versions.id"))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


class Counter(Base):
    """Named counters handed out under a row lock, e.g. the human ticket number."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


# ---- section: SLA calendars, plans and timers -------------------------------------------


# ---- section: canned responses and attachments -------------------------------------------


# ---- section: admin history --------------------------------------------------------------
