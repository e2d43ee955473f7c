"""Reference data every installation has: the four priorities and the shipped SLA plans.

Loaded by `ticketflow db upgrade` (with the built-in workflows) and idempotent: rows that
exist are left as the admins edited them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.models import Priority, SlaPlan

PRIORITIES = (
    (1, "Low", "#6b7280"),
    (2, "Normal", "#2563eb"),
    (3, "High", "#d97706"),
    (4, "Emergency", "#dc2626"),
)

# (name, first response, next response, resolution) in minutes; wall-clock until the SLA
# work brings business calendars.
SLA_PLANS = (
    ("SEV A", 30, 60, 4 * 60),
    ("SEV B", 2 * 60, 4 * 60, 24 * 60),
    ("SEV C", 8 * 60, 8 * 60, 5 * 24 * 60),
)


def ensure_reference_data(session: Session) -> list[str]:
    """Create missing priorities and SLA plans; return what was created. Does not commit."""
    created = []
    have = set(session.scalars(select(Priority.id)))
    for pid, name, colour in PRIORITIES:
        if pid not in have:
            session.add(Priority(id=pid, name=name, colour=colour))
            created.append(f"priority {name}")
    plans = set(session.scalars(select(SlaPlan.name)))
    for name, first, following, resolution in SLA_PLANS:
        if name not in plans:
            session.add(
                SlaPlan(
                    name=name,
                    first_response_minutes=first,
                    next_response_minutes=following,
                    resolution_minutes=resolution,
                )
            )
            created.append(f"SLA plan {name}")
    session.flush()
    return created
