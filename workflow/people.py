"""People as the services need them: finding or creating the requester of a ticket opened
on a customer's behalf (phone or walk-in intake)."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.errors import InvalidInput
from workflow.models import Role, User

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def requester_for(session: Session, email: str, name: str, now: datetime) -> User:
    """The end user with this email, or a new one (no password: they can set one through
    the reset link). A staff account's email is refused: tickets are opened for customers.
    Does not commit."""
    email = (email or "").strip().lower()
    if not EMAIL.match(email):
        raise InvalidInput("Enter the customer's email address.")
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    if user is not None:
        if user.role != Role.END_USER:
            raise InvalidInput("That email belongs to a staff account, not a customer.")
        if not user.is_active:
            raise InvalidInput("That customer's account is deactivated.")
        return user
    name = (name or "").strip()
    if not name:
        raise InvalidInput("This customer is new: enter their name too.")
    user = User(email=email, name=name[:120], role=Role.END_USER, created_at=now)
    session.add(user)
    session.flush()
    return user
