"""The admin history: an append-only record of every change an admin made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.models.base import Base, Id, utc_column


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
