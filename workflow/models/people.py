"""Who works with tickets: people and their roles, departments, and teams of agents."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.models.base import Base, Id, needs_trigrams, stored_enum, trigram_index, utc_column


class Role(enum.StrEnum):
    END_USER = "end_user"
    AGENT = "agent"
    ADMIN = "admin"
    OPS = "ops"


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
    __table_args__ = (
        Index("ix_users_email_lower", text("lower(email)")),
        trigram_index("ix_users_name_trgm", "name"),
    )
    """Sign-in and the dashboard's requester search compare emails case-insensitively; the
    dashboard's word search finds requesters by a part of their name (ILIKE '%karen%')
    through trigrams on PostgreSQL (a plain scan of users on SQLite)."""
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        stored_enum(Role, "user_role"), default=Role.END_USER, index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = utc_column(nullable=False)

    departments: Mapped[list[Department]] = relationship(secondary=staff_departments)
    teams: Mapped[list[Team]] = relationship(secondary=team_members, back_populates="members")

    @property
    def is_staff(self) -> bool:
        return self.role != Role.END_USER


needs_trigrams(User.__table__)  # the name's index (users is created before tickets)


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
