"""What a ticket is opened with: lifecycles and their versions, help topics and priorities.

Admins set these up; tickets only point at them.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.models.base import Base, Id, partial_index, stored_enum, utc_column


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Priority(Base):
    """Low, Normal, High, Emergency. The key is the urgency, so sorting by it sorts by urgency."""

    __tablename__ = "priorities"
    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    colour: Mapped[str] = mapped_column(String(7), default="#6b7280")


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
        partial_index(
            "uq_workflow_versions_published",
            "workflow_id",
            unique=True,
            where="status = 'published'",
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(stored_enum(VersionStatus, "version_status"))
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
