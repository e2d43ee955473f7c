"""Admin pages (`/admin`, role `admin` only): workflows, SLA plans and calendars, people,
canned responses. Each feature lives in its own module and adds its routes to `bp`."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

# Feature modules register their routes on `bp` when imported (one module per feature).
from web.admin import features  # noqa: E402,F401
