"""The ticket row itself (its columns, clocks and lock) and the counter that numbers tickets.

Its read indexes are built in `ticket_indexes.py`; its thread and log are in `thread.py`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.models.base import Base, Id, needs_trigrams, partial_index, trigram_index, utc_column
from workflow.models.lifecycle import WorkflowVersion
from workflow.models.people import User
from workflow.models.ticket_indexes import (
    decided_clock_indexes,
    department_indexes,
    open_by_plan_index,
    queue_indexes,
)


class Ticket(Base):
    """A ticket. `version` is the optimistic lock: every write bumps it, and a stale write fails.

    Subject search uses a pg_trgm GIN index on PostgreSQL (ILIKE '%word%' through it; the
    extension is created with the table) and a plain LIKE scan on SQLite."""

    __tablename__ = "tickets"
    __table_args__ = (
        *queue_indexes(),
        trigram_index("ix_tickets_subject_trgm", "subject"),
        Index("ix_tickets_requester", "requester_id", "updated_at"),
        partial_index(
            "ix_tickets_next_due_at",
            "next_due_at",
            where="closed_at IS NULL",
        ),
        partial_index(
            "ix_tickets_timer_due_at",
            "timer_due_at",
            where="timer_due_at IS NOT NULL",
        ),
        *department_indexes(),
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


OPS_INDEXES = decided_clock_indexes(Ticket.__table__)
OPEN_BY_PLAN = open_by_plan_index(Ticket.__table__)

needs_trigrams(Ticket.__table__)  # the subject's index


class Counter(Base):
    """Named counters handed out under a row lock, e.g. the human ticket number."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
