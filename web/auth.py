"""Who is signed in: Flask-Login wiring, password checks, and the access decorators.

Every route states who may use it with one decorator: not signed in sends the person to
the right sign-in page (staff or Support Center), the wrong role answers 403. Ownership of
a ticket is checked by the route's query (someone else's ticket is a 404, never data).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import abort, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user
from sqlalchemy import bindparam, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from web import htmx
from web.extensions import db
from workflow.models import Role, User
from workflow.rules import Actor
from workflow.services import actor_for

STAFF_AREAS = ("/staff", "/admin", "/ops")
_BY_ID = select(User).where(User.id == bindparam("id"))
_DUMMY_HASH = generate_password_hash("not a real password")
"""Checked against when the email is unknown, so a wrong email costs as long as a wrong
password and timing does not reveal which accounts exist."""


class SessionUser(UserMixin):
    """The signed-in person as Flask-Login sees them (a thin wrapper over the row)."""

    def __init__(self, user: User):
        self.user = user
        self.id = str(user.id)

    @property
    def is_active(self) -> bool:
        return self.user.is_active

    @property
    def actor(self) -> Actor:
        return actor_for(self.user)


def init_login(manager: LoginManager) -> None:
    @manager.user_loader
    def load(user_id: str) -> SessionUser | None:
        """Every signed-in request reads the person afresh (a role or deactivation takes
        effect at once); the statement is built once (`session.get` builds its own per call)."""
        if not user_id.isdecimal():
            return None
        user = db.session.scalars(_BY_ID, {"id": int(user_id)}).one_or_none()
        return SessionUser(user) if user is not None else None

    @manager.unauthorized_handler
    def sign_in_first() -> Any:
        page = "staff.login" if request.path.startswith(STAFF_AREAS) else "portal.login"
        return sign_in_redirect(page)


def authenticate(email: str, password: str, *, staff: bool) -> User | None:
    """The active person with this email and password, of the right kind, or None.
    Callers say only "wrong email or password", whatever the cause."""
    user = db.session.scalar(
        select(User).where(func.lower(User.email) == (email or "").strip().lower())
    )
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    if not user.is_active or user.is_staff != staff:
        return None
    return user


def safe_next(default: str) -> str:
    """The `next` page if it stays on this site (no open redirects), else `default`."""
    target = request.args.get("next") or request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


def staff_required(*roles: Role) -> Callable:
    """Signed-in staff with one of `roles` (any staff role when none is named)."""
    allowed = set(roles) or {Role.AGENT, Role.ADMIN, Role.OPS}

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return sign_in_redirect("staff.login")
            if current_user.user.role not in allowed:
                abort(403, "Your role does not give access to this page.")
            return view(*args, **kwargs)

        return guarded

    return decorate


def end_user_required(view: Callable) -> Callable:
    """A signed-in end user (staff use the dashboard, not the Support Center's own pages)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return sign_in_redirect("portal.login")
        if current_user.user.role != Role.END_USER:
            abort(403, "This page is for customers; staff work from the dashboard.")
        return view(*args, **kwargs)

    return guarded


def sign_in_redirect(page: str) -> Any:
    if htmx.wants_fragment():  # a swap (say, a live refresh) must not put a sign-in form in a page
        shown = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = shown.path + (f"?{shown.query}" if shown.query else "") or request.path
        return htmx.fragment("", 204, headers={"HX-Redirect": url_for(page, next=back)})
    return redirect(url_for(page, next=request.full_path.rstrip("?")))
