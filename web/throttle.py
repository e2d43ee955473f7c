"""Throttling of sign-ins and reset mails, per account and per address (Flask-Limiter on
Redis). Only failed sign-ins count, so a person who types their password right is never
slowed down; an attacker guessing is stopped after a few tries."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, request
from flask_limiter.util import get_remote_address

from web.extensions import limiter

FAILED_PER_ACCOUNT = "5 per minute;20 per hour"
FAILED_PER_ADDRESS = "20 per minute;100 per hour"
RESET_PER_ACCOUNT = "3 per hour"
RESET_PER_ADDRESS = "10 per hour"
TOO_MANY_SIGN_INS = (
    "Too many failed sign-ins for this account or from your address. "
    "Wait a few minutes, or reset your password."
)
TOO_MANY_RESETS = "Too many reset links were asked for. Wait an hour and try again."


def _account() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()


def _failed(response: Response) -> bool:
    return response.status_code == 422


def sign_in_throttled(view: Callable) -> Callable:
    """Count failed sign-ins (422 answers) per account and per address."""
    for key, limit in ((_account, FAILED_PER_ACCOUNT), (get_remote_address, FAILED_PER_ADDRESS)):
        view = limiter.limit(
            limit,
            key_func=key,
            methods=["POST"],
            deduct_when=_failed,
            error_message=TOO_MANY_SIGN_INS,
        )(view)
    return view


def reset_throttled(view: Callable) -> Callable:
    """Count reset-link requests per account and per address (no mail bombing)."""
    for key, limit in ((_account, RESET_PER_ACCOUNT), (get_remote_address, RESET_PER_ADDRESS)):
        view = limiter.limit(limit, key_func=key, methods=["POST"], error_message=TOO_MANY_RESETS)(
            view
        )
    return view
