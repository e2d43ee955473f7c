"""Password reset links: signed, expiring, and single-use.

The token carries the user id and a fingerprint of the current password hash. Setting a
new password changes the hash, so a used link (or any older one) no longer matches: no
table of issued tokens is needed. Expiry comes from the signature's timestamp.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from web.extensions import db
from workflow.models import User

SALT = "ticketflow-password-reset"


class ResetLinkInvalid(Exception):
    """The link is expired, already used, or was never issued; the message says which."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def make_token(user: User) -> str:
    return _serializer().dumps({"user": user.id, "fp": _fingerprint(user)})


def user_for(token: str) -> User:
    """The person the link was issued to, if it is still valid."""
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise ResetLinkInvalid(
            f"This link has expired (links are valid for {max_age // 60} minutes). "
            "Ask for a new one."
        ) from None
    except BadSignature:
        raise ResetLinkInvalid("This link is not valid. Ask for a new one.") from None
    user = db.session.get(User, data.get("user"))
    if user is None or not user.is_active or data.get("fp") != _fingerprint(user):
        raise ResetLinkInvalid("This link was already used or replaced. Ask for a new one.")
    return user
