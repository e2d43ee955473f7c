"""What people send and receive beside the transitions: canned replies admins keep, files
attached to thread entries, and in-app notices for staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from workflow.models.base import Base, Id, utc_column


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
