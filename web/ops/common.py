"""What every ops page shares: who may see it and local times for people (the clock: web.clock)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from web.auth import staff_required
from workflow.models import Role

ops_required = staff_required(Role.OPS, Role.ADMIN)
"""Ops and admins; agents and customers get 403, nobody signed in goes to the sign-in."""


def zone() -> ZoneInfo:
    """The zone people read times in (TIMEZONE; stored times are UTC)."""
    return ZoneInfo(current_app.config.get("TICKETFLOW_TIMEZONE") or "UTC")


def local_time(at: datetime | None, pattern: str = "%a %d %b %H:%M") -> str:
    """An instant as the help desk's wall clock shows it, e.g. `Mon 23 Nov 10:05`."""
    return at.astimezone(zone()).strftime(pattern) if at is not None else "—"


def template_helpers() -> dict[str, Any]:
    return {"local_time": local_time, "zone_name": zone().key}
