"""What happened on a ticket: its thread (messages, replies, notes, system events) and the
audit trail of its transitions. Both are append-only and read in id order per ticket."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.models.base import Base, Id, stored_enum, utc_column


class EntryKind(enum.StrEnum):
    CUSTOMER_MESSAGE = "customer_message"
    PUBLIC_REPLY = "public_reply"
    INTERNAL_NOTE = "internal_note"
    SYSTEM_EVENT = "system_event"


class ThreadEntry(Base):
    """One entry of a ticket's thread. Internal notes and system events are never shown to
    the customer."""

    __tablename__ = "thread_entries"
    __table_args__ = (Index("ix_thread_entries_ticket", "ticket_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    kind: Mapped[EntryKind] = mapped_column(stored_enum(EntryKind, "entry_kind"))
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
