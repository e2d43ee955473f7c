"""Admins create and change business calendars (the SLA plans' verbs: `workflow.plan_admin`).

A change that moves deadlines (a calendar's hours, zone, holidays or country) applies to the
open tickets of every plan on it from now on (`workflow.reclock`): the first batch in the
same transaction, the rest in a background run (`workflow.reclock_runs`); the result carries
the first batch's timer follow-ups for the caller to dispatch after the commit, and the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow import admin_history, reclock_runs
from workflow.admin_names import flush_unique, get_row, name_problems
from workflow.calendar_input import describe_hours
from workflow.models import SlaCalendar, SlaPlan
from workflow.outcome import transaction
from workflow.plan_admin import Saved, refuse_name, require_admin, rest_text, tickets_text
from workflow.plan_input import InvalidFields
from workflow.rules import Actor

MAX_CALENDAR_NAME = 120
CALENDAR_PARTS = {
    "timezone": "time zone",
    "hours": "weekly hours",
    "holidays": "holidays",
    "country": "country",
    "subdivision": "subdivision",
}


def save_calendar(
    session: Session,
    actor: Actor,
    now: datetime,
    name: str,
    document: Mapping[str, Any],
    calendar_id: int | None = None,
) -> Saved:
    """Create a calendar, or change one (its plans' open tickets get new clocks from now).

    `document` is a checked calendar (`workflow.calendar_input.calendar_from_fields` or
    `calendar_from_yaml`). Refused with InvalidFields when the name is missing or taken."""
    require_admin(actor)
    row = get_row(session, SlaCalendar, calendar_id, "calendar") if calendar_id else None
    name = " ".join((name or "").split())
    problems = name_problems(session, SlaCalendar, name, "calendar", MAX_CALENDAR_NAME, calendar_id)
    if problems:
        raise InvalidFields({"name": problems})
    document = dict(document)
    with transaction(session):
        if row is None:
            row = SlaCalendar(name=name, definition=document)
            session.add(row)
            flush_unique(session, name, "calendar", refuse_name)
            admin_history.record(
                session,
                actor,
                now,
                "calendar.create",
                name,
                f"Created the calendar {name} "
                f"({document['timezone']}, {describe_hours(document)}).",
                {"definition": document},
            )
            return Saved(row.id, name, created=True, changed=["created"])
        old_name, old = row.name, dict(row.definition)
        changed = [f"name {old_name} → {name}"] if old_name != name else []
        changed += [
            words for key, words in CALENDAR_PARTS.items() if old.get(key) != document.get(key)
        ]
        if not changed:
            return Saved(row.id, name)
        plans = session.scalars(select(SlaPlan).where(SlaPlan.calendar_id == row.id)).all()
        shots = (
            {
                p.id: (reclock_runs.snapshot(p, old), reclock_runs.snapshot(p, document))
                for p in plans
            }
            if old != document
            else {}
        )
        row.name, row.definition = name, document
        flush_unique(session, name, "calendar", refuse_name)
        note = f"The business calendar {name} changed; the SLA clocks were recomputed from now."
        began = reclock_runs.begin(session, shots, "calendar", row.id, name, actor, now, note)
        done = began.reclocked
        admin_history.record(
            session,
            actor,
            now,
            "calendar.update",
            name,
            f"Changed the calendar {name}: {', '.join(changed)}; "
            f"{tickets_text(done.tickets)} recomputed from now{rest_text(began)}.",
            {
                "name": {"from": old_name, "to": name},
                "definition": {"from": old, "to": document},
                "plans": sorted(p.name for p in plans),
                "open_tickets": began.total,
            },
        )
    return Saved(
        row.id, name, False, changed, done.tickets, done.follow_ups, began.run_id, began.total
    )
