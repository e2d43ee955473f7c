"""The data model: plain SQLAlchemy 2 declarative classes on one `Base`.

The web app binds Flask-SQLAlchemy to this `Base` (same metadata, request-scoped sessions);
jobs and the CLI use `workflow.db`. Times are stored in UTC.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DDL,
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
    event,
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
    __table_args__ = (Index("ix_users_email_lower", text("lower(email)")),)
    """Sign-in and the dashboard's requester search compare emails case-insensitively."""
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"), default=Role.END_USER, index=True)
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
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    """Who an escalation policy's `notify: manager` reaches (SLA section)."""


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
    """Targets in business minutes of the plan's calendar (none: around the clock), when a
    clock counts as at risk (a percentage of its target elapsed, or minutes before due), and
    the escalation policy (steps as data, checked by `workflow.escalation.parse_policy`)."""

    __tablename__ = "sla_plans"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    next_response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    at_risk_percent: Mapped[int | None] = mapped_column(SmallInteger)
    at_risk_minutes: Mapped[int | None] = mapped_column(Integer)
    calendar_id: Mapped[int | None] = mapped_column(ForeignKey("calendars.id"))
    escalation_policy: Mapped[list[dict[str, Any]] | None] = mapped_column(
        JSON(none_as_null=True)
    )


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


LIVE = "closed_at IS NULL"
SCOPE = ("department_id", "assignee_id")
"""What an agent's scope (their departments, or assigned to them) filters on."""


def _queue_index(name: str, *leading: str, where: str, include: tuple[str, ...]) -> Index:
    """An index for the dashboard's queues: `leading` equality columns, then the queue order
    (priority DESC, the due time ascending with PostgreSQL's NULLS LAST, id), partial on the
    queue's `where`, so the first page is the first 50 entries. INCLUDE (PostgreSQL only)
    carries what the agent scope filters on, so a capped count is an index-only scan."""
    return Index(
        name,
        *leading,
        text("priority_id DESC"),
        "next_due_at",
        "id",
        postgresql_where=text(where),
        sqlite_where=text(where),
        postgresql_include=list(include),
    )


def _department_indexes() -> tuple[Index, ...]:
    """An agent's capped queue counts (web/staff/queue_counts.py): the department first, so
    `department_id IN (...)` reads exactly the queue's entries in the agent's departments,
    and the agent's tickets by department, so those outside them are ranges too."""
    unassigned = f"{LIVE} AND assignee_id IS NULL AND team_id IS NULL"
    closed = "closed_at IS NOT NULL"
    return (
        Index(
            "ix_tickets_department_live",
            "department_id",
            "state",
            postgresql_where=text(LIVE),
            sqlite_where=text(LIVE),
        ),
        Index(
            "ix_tickets_department_unassigned",
            "department_id",
            postgresql_where=text(unassigned),
            sqlite_where=text(unassigned),
        ),
        Index(
            "ix_tickets_department_closed",
            "department_id",
            postgresql_where=text(closed),
            sqlite_where=text(closed),
        ),
        Index("ix_tickets_assignee_department", "assignee_id", "department_id"),
    )


class Ticket(Base):
    """A ticket. `version` is the optimistic lock: every write bumps it, and a stale write fails.

    Subject search uses a pg_trgm GIN index on PostgreSQL (ILIKE '%word%' through it; the
    extension is created with the table) and a plain LIKE scan on SQLite."""

    __tablename__ = "tickets"
    __table_args__ = (
        _queue_index("ix_tickets_open_queue", where=LIVE, include=SCOPE + ("team_id",)),
        _queue_index("ix_tickets_closed_queue", where="closed_at IS NOT NULL", include=SCOPE),
        _queue_index(
            "ix_tickets_unassigned_queue",
            where=f"{LIVE} AND assignee_id IS NULL AND team_id IS NULL",
            include=SCOPE,
        ),
        _queue_index(
            "ix_tickets_assignee_queue", "assignee_id", where=LIVE, include=("department_id",)
        ),
        _queue_index("ix_tickets_team_queue", "team_id", where=LIVE, include=SCOPE),
        _queue_index("ix_tickets_state_queue", "state", where=LIVE, include=SCOPE),
        Index(
            "ix_tickets_subject_trgm",
            "subject",
            postgresql_using="gin",
            postgresql_ops={"subject": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        Index("ix_tickets_requester", "requester_id", "updated_at"),
        Index(
            "ix_tickets_next_due_at",
            "next_due_at",
            postgresql_where=text("closed_at IS NULL"),
            sqlite_where=text("closed_at IS NULL"),
        ),
        Index(
            "ix_tickets_timer_due_at",
            "timer_due_at",
            postgresql_where=text("timer_due_at IS NOT NULL"),
            sqlite_where=text("timer_due_at IS NOT NULL"),
        ),
        *_department_indexes(),
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
    sla_started_at: Mapped[datetime | None] = utc_column()
    """When the plan's clocks (re)started: opening, or a change of plan."""
    first_response_paused_at: Mapped[datetime | None] = utc_column()
    next_response_started_at: Mapped[datetime | None] = utc_column()
    next_response_due_at: Mapped[datetime | None] = utc_column()
    next_response_paused_at: Mapped[datetime | None] = utc_column()
    timer_due_at: Mapped[datetime | None] = utc_column()
    """The earliest pending SLA timer step (at risk, breach, breach+N, auto-close): what the
    sweep looks for once it has passed (workflow/clocks.py keeps it)."""
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0, server_default=text("0"))
    escalated_at: Mapped[datetime | None] = utc_column()
    created_at: Mapped[datetime] = utc_column(nullable=False)
    updated_at: Mapped[datetime] = utc_column(nullable=False)
    closed_at: Mapped[datetime | None] = utc_column()

    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="raise_on_sql")
    workflow_version: Mapped[WorkflowVersion] = relationship(lazy="raise_on_sql")

    __mapper_args__ = {"version_id_col": version}


# The subject's trigram index needs pg_trgm, created before the table on PostgreSQL (a
# trusted extension: the database owner may create it). The migration does the same.
event.listen(
    Ticket.__table__,
    "before_create",
    DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
)


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


class SlaCalendar(Base):
    """A business calendar as data, stored in exactly the shape a calendar file has
    (`workflow.calendars.parse_calendar` reads it; `calendar_to_data` writes it), so it can
    be shared and checked by other tools. Plans without one run around the clock."""

    __tablename__ = "calendars"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)


class SlaStep(Base):
    """One SLA step that ran for a ticket: a clock at risk, breached, breach+N minutes, or
    the auto-close after silence. The unique key is what makes a timer job safe to run twice
    or on two workers at once: the step's effects commit in the same transaction as this
    row, and the second insert finds the first and does nothing."""

    __tablename__ = "sla_steps"
    __table_args__ = (
        UniqueConstraint("ticket_id", "clock", "cycle", "step", name="uq_sla_steps_step"),
        Index("ix_sla_steps_done_at", "done_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    clock: Mapped[str] = mapped_column(String(20))
    cycle: Mapped[int] = mapped_column(BigInteger)
    """Which run of the clock, as its start in Unix seconds (workflow.clocks.cycle): the
    next-response clock starts again at each customer message, the others with the plan."""
    step: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = utc_column(nullable=False)
    done_at: Mapped[datetime] = utc_column(nullable=False)
    actions: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    """What the step did, in words (the policy's actions as they turned out)."""
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("sla_plans.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL")
    )
    """The ticket's plan, team and department when the step ran, before its own actions
    (a reassignment): compliance counts a breach where it happened (workflow/compliance)."""


class SlaOutcome(Base):
    """How one run of a clock ended, recorded when it stopped: `met` when it stopped at or
    before its due time, else `breached`. Only the next-response clock needs it (its
    columns on the ticket are cleared at each reply); unique per ticket, clock and run, so
    recording it twice changes nothing. Plan, team and department are those of the time."""

    __tablename__ = "sla_outcomes"
    __table_args__ = (
        UniqueConstraint("ticket_id", "clock", "cycle", name="uq_sla_outcomes_run"),
        Index("ix_sla_outcomes_ended_at", "ended_at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    clock: Mapped[str] = mapped_column(String(20))
    cycle: Mapped[int] = mapped_column(BigInteger)
    """The run, as SlaStep.cycle (its start in Unix seconds)."""
    outcome: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime] = utc_column(nullable=False)
    ended_at: Mapped[datetime] = utc_column(nullable=False)
    """When the run ended: the reply, or the pause it was in when the reply came."""
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("sla_plans.id", ondelete="SET NULL"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL")
    )


class Notification(Base):
    """An in-app notice for one staff member (an escalation reached them). Mail goes out
    separately, through an RQ job, once the transaction that created this has committed."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user", "user_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = utc_column(nullable=False)
    read_at: Mapped[datetime | None] = utc_column()


# ---- section: canned responses and attachments -------------------------------------------


class CannedResponse(Base):
    """A reply template admins keep so a polite, consistent answer is one click away. The
    body may use the placeholders of `workflow.canned.PLACEHOLDERS`; others are refused."""

    __tablename__ = "canned_responses"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    body: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = utc_column(nullable=False)
    updated_at: Mapped[datetime] = utc_column(nullable=False)


class Attachment(Base):
    """A file sent with one thread entry. Stored under a random key (never its own name);
    who may download it follows the entry: an internal note's files are staff-only."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_ticket", "ticket_id", "id"),
        Index("ix_attachments_entry", "thread_entry_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    thread_entry_id: Mapped[int] = mapped_column(
        ForeignKey("thread_entries.id", ondelete="CASCADE")
    )
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = utc_column(nullable=False)


# ---- section: admin history --------------------------------------------------------------


class AdminChange(Base):
    """One change an admin made (a workflow published, an SLA plan edited, a person
    deactivated): who, when, what kind, which object, and what changed. Append-only; every
    admin feature records into it through `workflow.admin_history.record`."""

    __tablename__ = "admin_changes"
    __table_args__ = (
        Index("ix_admin_changes_at", "at", "id"),
        Index("ix_admin_changes_subject", "kind", "subject", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = utc_column(nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_role: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(60))
    """What kind of change, as `area.verb`: `workflow.publish`, `sla_plan.update`, ..."""
    subject: Mapped[str] = mapped_column(String(200))
    """Which object: a workflow's key, an SLA plan's name, a person's email."""
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))


# ---- section: ops ------------------------------------------------------------------------
# SLA compliance (workflow/compliance.py) finds the clocks decided in a window through these:
# a met clock by its stop (the first reply, the resolution), a breached one by its due time.
# They change only together with `next_due_at` (already indexed), so they cost no HOT update.


def _when_set(column: str) -> Index:
    where = text(f"{column} IS NOT NULL")
    return Index(
        f"ix_tickets_{column}",
        Ticket.__table__.c[column],
        postgresql_where=where,
        sqlite_where=where,
    )


OPS_INDEXES = tuple(
    _when_set(column)
    for column in (
        "first_response_due_at",
        "first_responded_at",
        "resolution_due_at",
        "resolved_at",
    )
)

OPEN_BY_PLAN = Index(
    "ix_tickets_open_sla_plan",
    Ticket.__table__.c.sla_plan_id,
    postgresql_where=text("closed_at IS NULL"),
    sqlite_where=text("closed_at IS NULL"),
)
"""The admin's plan list counts open tickets per plan, and a change of a plan's terms
re-clocks exactly those tickets (workflow/reclock.py): both read this index."""


# ---- section: re-clock runs ------------------------------------------------------------------
# Here rather than in workflow/reclock_runs.py so every user of `Base.metadata` (the tests'
# create_all, the migration comparison) sees the table without importing that module.


class ReclockRun(Base):
    """An SLA plan or calendar change whose open tickets are re-clocked in the background.

    The admin's request re-clocks the first batch and writes this row; a job
    (jobs/reclock.py) re-clocks the rest in batches, each committing together with
    `last_ticket_id`, so a job that runs twice or dies mid-batch re-clocks no ticket twice.
    `changes` keeps each plan's terms before and after (plan columns and calendar document)
    as `workflow.reclock_runs.terms` rebuilds them; only tickets up to `up_to_ticket_id`
    (the newest open one at the change) are re-clocked: later ones started on the new terms."""

    __tablename__ = "reclock_runs"
    __table_args__ = (
        Index(
            "ix_reclock_runs_unfinished",
            "id",
            postgresql_where=text("finished_at IS NULL"),
            sqlite_where=text("finished_at IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    """`sla_plan` or `calendar`: what the admin changed."""
    subject_id: Mapped[int] = mapped_column(BigInteger)
    subject: Mapped[str] = mapped_column(String(200))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_ticket_id: Mapped[int] = mapped_column(BigInteger, default=0)
    up_to_ticket_id: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_role: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = utc_column(nullable=False)
    progressed_at: Mapped[datetime] = utc_column(nullable=False)
    finished_at: Mapped[datetime | None] = utc_column()
