"""Who is signed in: Flask-Login wiring, password checks, and the access decorators.

Every route states who may use it with one decorator: not signed in sends the person to
the right sign-in page (staff or Support Center), the wrong role answers 403. Ownership of
a ticket is checked by the route's query (someone else's ticket is a 404, never data).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property, wraps
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, url_for
from flask_login import LoginManager, UserMixin, current_user
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import make_transient_to_detached
from werkzeug.security import check_password_hash, generate_password_hash

from web import htmx
from web.extensions import db
from workflow.models import Role, User
from workflow.prepared import Prepared
from workflow.rules import Actor

STAFF_AREAS = ("/staff", "/admin", "/ops")
_COLUMNS = tuple(User.__table__.columns.keys())
_BY_ID = Prepared(
    select(*(getattr(User, name) for name in _COLUMNS)).where(User.id == bindparam("id"))
)
"""The person's row as plain values, on the driver connection (workflow/prepared.py): no
ORM entity and no SQLAlchemy execution machinery on every signed-in request."""
_DUMMY_HASH = generate_password_hash("not a real password")
"""Checked against when the email is unknown, so a wrong email costs as long as a wrong
password and timing does not reveal which accounts exist."""


class SessionUser(UserMixin):
    """The signed-in person as Flask-Login sees them, read afresh on every request (a role
    change or a deactivation takes effect at once). What every request needs (id, role,
    name, active) comes from the row's plain values; the ORM `User` is built from those
    same values only when a page asks for `.user`, without another query."""

    def __init__(self, row: User | dict[str, Any]):
        if isinstance(row, User):  # sign-in, which has the ORM row already
            values = {name: getattr(row, name) for name in _COLUMNS}
            self.__dict__["user"] = row
        else:
            values = row
        self.values = values
        self.user_id: int = values["id"]
        self.id = str(self.user_id)
        self.role: Role = values["role"]
        self.name: str = values["name"]
        self.is_staff = self.role != Role.END_USER

    @property
    def is_active(self) -> bool:
        return bool(self.values["is_active"])

    @cached_property
    def user(self) -> User:
        """The row as an ORM object in this request's session (relationships load lazily):
        the session's own instance if the request loaded this person already (with any
        change it made), else one made from the values already read, added without SQL."""
        session = db.session()
        loaded = session.identity_map.get(session.identity_key(User, self.user_id))
        if loaded is not None:
            return loaded
        detached = User(**self.values)
        make_transient_to_detached(detached)
        session.add(detached)
        return detached

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, Role(self.role).value, self.name)


def init_login(manager: LoginManager) -> None:
    @manager.user_loader
    def load(user_id: str) -> SessionUser | None:
        """Every signed-in request reads the person afresh; the statement is built once."""
        if not user_id.isdecimal():
            return None
        row = _BY_ID.first(db.session, {"id": int(user_id)})
        return SessionUser(dict(zip(_COLUMNS, row, strict=True))) if row is not None else None

    @manager.unauthorized_handler
    def sign_in_first() -> Any:
        page = "staff.login" if request.path.startswith(STAFF_AREAS) else "portal.login"
        return sign_in_redirect(page)


class OtherSignInPage(Exception):
    """The email and password are right and the account is active, but it signs in on the
    other page (a staff account at the Support Center's, or a customer's at the staff one).
    Raised only after the password matched, so it tells nothing to someone guessing."""

    def __init__(self, staff: bool):
        super().__init__("staff account" if staff else "customer account")
        self.staff = staff  # what the account is


def authenticate(email: str, password: str, *, staff: bool) -> User | None:
    """The active person with this email and password, of the right kind, or None.
    Callers say only "wrong email or password" for None, whatever the cause; a right
    password on the wrong page raises OtherSignInPage, so the person is sent to theirs."""
    user = db.session.scalar(
        select(User).where(func.lower(User.email) == (email or "").strip().lower())
    )
    if user is None or not user.password_hash:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    if not user.is_active:
        return None
    if user.is_staff != staff:
        raise OtherSignInPage(staff=user.is_staff)
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
            if current_user.role not in allowed:
                abort(403, "Your role does not give access to this page.")
            return view(*args, **kwargs)

        guarded.roles = frozenset(allowed)  # type: ignore[attr-defined]  # read by web/staff_nav.py
        return guarded

    return decorate


def roles_of(endpoint: str) -> frozenset[Role]:
    """The roles `staff_required` lets into `endpoint` (it records them on the view), for a
    page that links there only for those who may follow the link (web/staff_nav.py). A
    KeyError or LookupError, never a guess, when the endpoint is missing or not so guarded."""
    roles = getattr(current_app.view_functions[endpoint], "roles", None)
    if roles is None:
        raise LookupError(f"{endpoint} is not guarded by staff_required: no roles to show it to")
    return roles


def end_user_required(view: Callable) -> Callable:
    """A signed-in end user (staff use the dashboard, not the Support Center's own pages)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return sign_in_redirect("portal.login")
        if current_user.role != Role.END_USER:
            abort(403, "This page is for customers; staff work from the dashboard.")
        return view(*args, **kwargs)

    return guarded


def sign_in_redirect(page: str) -> Any:
    if htmx.wants_fragment():  # a swap (say, a live refresh) must not put a sign-in form in a page
        shown = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = shown.path + (f"?{shown.query}" if shown.query else "") or request.path
        return htmx.fragment("", 204, headers={"HX-Redirect": url_for(page, next=back)})
    return redirect(url_for(page, next=request.full_path.rstrip("?")))
