"""Flask-Login wiring: how a session maps to a person. Sign-in pages come with the dashboard."""

from __future__ import annotations

from flask_login import LoginManager, UserMixin

from web.extensions import db
from workflow.models import User


class SessionUser(UserMixin):
    """The signed-in person as Flask-Login sees them (a thin wrapper over the row)."""

    def __init__(self, user: User):
        self.user = user
        self.id = str(user.id)

    @property
    def is_active(self) -> bool:
        return self.user.is_active


def init_login(manager: LoginManager) -> None:
    @manager.user_loader
    def load(user_id: str) -> SessionUser | None:
        user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
        return SessionUser(user) if user is not None else None
