"""The mail outbox: one row per notice a change causes, written in the change's transaction.

A service used to hand its `Notify` follow-ups to Redis after the commit, so a Redis outage
or a process dying between the commit and the enqueue lost the notice for good. Now the
notice is a row committed with the change (workflow/outbox.py); Redis only makes it timely:
the mail job takes the row's id and marks it sent, and the sweep (jobs/sweep.py) enqueues
again any row still unsent after a grace period.

`log_id` / `entry_id` pin what the mail is about (the transition-log row of a move, the
thread entry of a reply) so the mail quotes that one and not whatever came later. They are
plain columns, not foreign keys: both tables are append-only and go with their ticket, and
the hot path pays for no extra key check. A group notice (no recipient) names its team or
department in `group_id`; its job writes one child row per person (`parent_id`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column

from workflow.models.base import Base, Id, partial_index, utc_column


class OutboxMail(Base):
    """One notice to mail: to a person, or (recipient NULL) to a team's or department's
    people. `sent_at` stays NULL until it was delivered or found to have nobody to tell."""

    __tablename__ = "mail_outbox"
    __table_args__ = (
        partial_index(
            "ix_mail_outbox_unsent",
            "created_at",
            where="sent_at IS NULL",
        ),
        UniqueConstraint("parent_id", "recipient_id", name="uq_mail_outbox_person"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(BigInteger)
    """The team (team_transfer) or department (department_transfer) told as a group."""
    log_id: Mapped[int | None] = mapped_column(BigInteger)
    """The transition-log row of the move the notice is about."""
    entry_id: Mapped[int | None] = mapped_column(BigInteger)
    """The thread entry (public reply) the notice is about."""
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("mail_outbox.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = utc_column(nullable=False)
    sent_at: Mapped[datetime | None] = utc_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=sql("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
