"""Service levels as stored: business calendars, SLA plans, the timer steps and clock
outcomes recorded per ticket, and the background re-clock runs a change of terms starts.

The SLA maths itself is pure and lives in `workflow.sla` and `workflow.clocks`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from workflow.models.base import Base, Id, partial_index, utc_column


class SlaCalendar(Base):
    """A business calendar as data, stored in exactly the shape a calendar file has
    (`workflow.calendar_format.parse_calendar` reads it; `calendar_to_data` writes it), so it
    can be shared and checked by other tools. Plans without one run around the clock."""

    __tablename__ = "calendars"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)


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
    escalation_policy: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON(none_as_null=True))


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


class ReclockRun(Base):
    """An SLA plan or calendar change whose open tickets are re-clocked in the background.

    The admin's request re-clocks the first batch and writes this row; a job
    (jobs/reclock.py) re-clocks the rest in batches, each committing together with
    `last_ticket_id`, so a job that runs twice or dies mid-batch re-clocks no ticket twice.
    `changes` keeps each plan's terms before and after (plan columns and calendar document)
    as `workflow.reclock_runs.terms` rebuilds them; only tickets up to `up_to_ticket_id`
    (the newest open one at the change) are re-clocked: later ones started on the new terms.

    Declared here rather than in workflow/reclock_runs.py so every user of `Base.metadata`
    (the tests' create_all, the migration comparison) sees the table without importing it."""

    __tablename__ = "reclock_runs"
    __table_args__ = (
        partial_index(
            "ix_reclock_runs_unfinished",
            "id",
            where="finished_at IS NULL",
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
