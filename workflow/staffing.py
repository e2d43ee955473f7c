"""Staff accounts as an admin manages them: create, change role and memberships, reactivate,
stop a password working. (Deactivation, which hands open tickets over, is `handover`.)

Every verb checks the actor is an admin, validates everything before changing anything
(InvalidInput lists every problem in sentences), records the change in the admin history
and commits in one transaction. Passwords arrive already hashed: the web layer hashes them
the one way the sign-in checks them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from workflow import admin_history
from workflow.errors import InvalidInput, NotFound, PermissionDenied
from workflow.models import Department, Role, Team, Ticket, User
from workflow.outcome import transaction
from workflow.people import EMAIL
from workflow.rules import Actor

STAFF_ROLES = (Role.AGENT, Role.ADMIN, Role.OPS)
TICKET_ROLES = (Role.AGENT, Role.ADMIN)
"""Who may own tickets and belong to teams (ops staff watch the system, not the queue)."""


@dataclass(frozen=True)
class StaffDetails:
    """What an admin sets on a staff account (the email is fixed once created)."""

    name: str
    role: str
    department_ids: tuple[int, ...] = ()
    team_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class StaffRow:
    """One line of the staff list."""

    user: User
    open_tickets: int


def require_admin(actor: Actor) -> None:
    if actor.role != Role.ADMIN.value:
        raise PermissionDenied("Only admins manage staff, departments, teams and help topics.")


def staff_member(session: Session, user_id: int) -> User:
    """The staff account with this id (a customer's id is not found here)."""
    user = session.get(User, user_id)
    if user is None or not user.is_staff:
        raise NotFound("There is no staff member with that id.")
    return user


def open_ticket_counts(session: Session, user_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Open tickets per assignee, from one grouped query on the assignee index."""
    query = (
        select(Ticket.assignee_id, func.count())
        .where(Ticket.closed_at.is_(None), Ticket.assignee_id.is_not(None))
        .group_by(Ticket.assignee_id)
    )
    if user_ids is not None:
        query = query.where(Ticket.assignee_id.in_(list(user_ids)))
    return dict(session.execute(query).all())


def staff_list(session: Session) -> list[StaffRow]:
    """Every staff account with departments, teams and open-ticket count: three queries
    whatever the number of people (accounts, then both memberships loaded in bulk), plus the
    grouped count."""
    counts = open_ticket_counts(session)
    users = session.scalars(
        select(User)
        .where(User.role != Role.END_USER)
        .options(selectinload(User.departments), selectinload(User.teams))
        .order_by(User.is_active.desc(), func.lower(User.name), User.id)
    ).all()
    return [StaffRow(u, counts.get(u.id, 0)) for u in users]


def _rows(session: Session, model: type, ids: Sequence[int], what: str) -> tuple[list, list[str]]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return [], []
    found = session.scalars(select(model).where(model.id.in_(wanted))).all()
    missing = len(wanted) - len(found)
    problems = (
        [f"{missing} of the chosen {what} no longer exist; reload the page."] if missing else []
    )
    return sorted(found, key=lambda row: row.name.lower()), problems


def _check(session: Session, details: StaffDetails) -> tuple[list, list, list[str]]:
    """The departments and teams chosen, and every problem with the details."""
    problems = []
    name = details.name.strip()
    if not name:
        problems.append("Enter the person's name.")
    elif len(name) > 120:
        problems.append("Keep the name under 120 characters.")
    if details.role not in [r.value for r in STAFF_ROLES]:
        problems.append("Choose a role: agent, admin or ops.")
    departments, missing = _rows(session, Department, details.department_ids, "departments")
    teams, missing_teams = _rows(session, Team, details.team_ids, "teams")
    problems += missing + missing_teams
    if teams and details.role == Role.OPS.value:
        problems.append(
            "Operations staff do not work tickets, so they cannot be members of a team; "
            "clear the teams or choose another role."
        )
    return departments, teams, problems


def _membership_summary(departments: list, teams: list) -> dict[str, Any]:
    return {
        "departments": [d.name for d in departments],
        "teams": [t.name for t in teams],
    }


def create_staff(
    session: Session,
    actor: Actor,
    now: datetime,
    email: str,
    details: StaffDetails,
    password_hash: str | None = None,
) -> User:
    """A new staff account. Without a password hash it cannot sign in until the person
    chooses a password through an invitation link. Emails are unique whatever their case."""
    require_admin(actor)
    email = (email or "").strip().lower()
    problems = []
    if not EMAIL.match(email) or len(email) > 254:
        problems.append("Enter an email address such as name@example.com.")
    elif session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        problems.append(f"Someone already has the email address {email}.")
    departments, teams, more = _check(session, details)
    problems += more
    if problems:
        raise InvalidInput(problems)
    with transaction(session):
        user = User(
            email=email,
            name=details.name.strip(),
            role=Role(details.role),
            password_hash=password_hash,
            created_at=now,
            departments=departments,
            teams=teams,
        )
        session.add(user)
        try:
            session.flush()
        except IntegrityError:  # another admin created the same address a moment ago
            raise InvalidInput(f"Someone already has the email address {email}.") from None
        admin_history.record(
            session,
            actor,
            now,
            "staff.create",
            email,
            f"Created {user.role.value} {user.name} <{email}>"
            + (" with an initial password." if password_hash else ", invited by email."),
            {"role": user.role.value, **_membership_summary(departments, teams)},
        )
    return user


def update_staff(
    session: Session, actor: Actor, now: datetime, user_id: int, details: StaffDetails
) -> User:
    """Change a staff member's name, role, departments and teams.

    Refused: taking the admin role from yourself (another admin can), and making someone
    ops while they still own open tickets (ops staff cannot own tickets; hand them over
    first)."""
    require_admin(actor)
    user = staff_member(session, user_id)
    departments, teams, problems = _check(session, details)
    if user.id == actor.id and details.role != Role.ADMIN.value:
        problems.append("You cannot take the admin role from yourself; another admin can.")
    if details.role == Role.OPS.value and user.role != Role.OPS:
        owned = open_ticket_counts(session, [user.id]).get(user.id, 0)
        if owned:
            problems.append(
                f"{user.name} owns {owned} open ticket{'s' if owned != 1 else ''}, and "
                "operations staff cannot own tickets. Reassign them from the dashboard first."
            )
    if problems:
        raise InvalidInput(problems)
    with transaction(session):
        before = {
            "name": user.name,
            "role": user.role.value,
            **_membership_summary(user.departments, user.teams),
        }
        user.name = details.name.strip()
        user.role = Role(details.role)
        user.departments = departments
        user.teams = teams
        after = {
            "name": user.name,
            "role": user.role.value,
            **_membership_summary(departments, teams),
        }
        changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
        if changed:
            admin_history.record(
                session,
                actor,
                now,
                "staff.update",
                user.email,
                f"Changed {', '.join(changed)} of {user.name}.",
                changed,
            )
    return user


def reactivate(session: Session, actor: Actor, now: datetime, user_id: int) -> User:
    """Let a deactivated person sign in again, with their old role and memberships."""
    require_admin(actor)
    user = staff_member(session, user_id)
    if user.is_active:
        raise InvalidInput(f"{user.name}'s account is already active.")
    with transaction(session):
        user.is_active = True
        admin_history.record(
            session, actor, now, "staff.reactivate", user.email, f"Reactivated {user.name}."
        )
    return user


def password_reset_sent(
    session: Session, actor: Actor, now: datetime, user_id: int, lock: bool
) -> User:
    """Record that a reset link goes to this person; with `lock`, their current password
    stops working at once (for a password someone else may know). Call before making the
    link: the link is tied to the password as it is after this call."""
    require_admin(actor)
    user = staff_member(session, user_id)
    if not user.is_active:
        raise InvalidInput(
            f"{user.name}'s account is deactivated; reactivate it before resetting the password."
        )
    with transaction(session):
        if lock:
            user.password_hash = None
        admin_history.record(
            session,
            actor,
            now,
            "staff.password_reset",
            user.email,
            f"Sent {user.name} a link to choose a new password"
            + ("; the old password no longer works." if lock else "."),
        )
    return user
