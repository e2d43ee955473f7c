"""Business calendars (`/admin/calendars`): list, create, edit, and a live preview.

A calendar is edited through its fields (zone, hours per weekday, holidays, country) or as
pasted YAML in the calendar file format; either way `workflow.plan_input` checks it and a
problem answers 422 with the parser's sentence next to its field and the input kept. The
preview says when the calendar opens next and when an example target started now is due;
HTMX asks for it as the admin types, and without JavaScript the Preview button shows it.
Saving a changed calendar recomputes its plans' open tickets' clocks (workflow/calendar_admin.py)
and the route hands their timers to Redis after the commit.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from web import clock, htmx
from web.admin import bp
from web.admin.reclock_start import saved_words, start_run
from web.admin.sla_forms import DAY_NAMES, CalendarForm, calendar_data, calendar_fields
from web.admin.sla_forms import show_problems as attach
from web.auth import staff_required
from web.extensions import db
from web.followups import after_commit
from workflow import calendar_admin, plan_admin
from workflow.calendar_input import (
    Preview,
    calendar_from_fields,
    calendar_from_yaml,
    describe_hours,
    fields_of,
    preview,
    yaml_of,
)
from workflow.calendars import WEEKDAYS
from workflow.models import Role, SlaCalendar, SlaPlan, Ticket
from workflow.outcome import Outcome
from workflow.plan_input import InvalidFields

PAGE = "admin/sla/calendar.html"
STARTER = {
    "timezone": "UTC",
    "hours": {day: ["09:00-17:00"] if day not in ("sat", "sun") else [] for day in WEEKDAYS},
}
"""What a new calendar's form starts with: office hours on weekdays."""


@cache
def _zones() -> list[str]:
    """The IANA names for the time zone field's suggestions (read from disk once)."""
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def shown(at: datetime) -> str:
    """An instant as a person reads it in the calendar's zone: `Mon 30 Nov 2026, 09:00 CET`."""
    return at.strftime("%a %d %b %Y, %H:%M %Z")


@bp.get("/calendars")
@staff_required(Role.ADMIN)
def calendars():
    """Calendars with their hours, the plans on each and those plans' open tickets."""
    rows = db.session.scalars(select(SlaCalendar).order_by(func.lower(SlaCalendar.name))).all()
    plans = dict(
        db.session.execute(
            select(SlaPlan.calendar_id, func.count()).group_by(SlaPlan.calendar_id)
        ).all()
    )
    tickets = dict(
        db.session.execute(
            select(SlaPlan.calendar_id, func.count())
            .select_from(Ticket)
            .join(SlaPlan, Ticket.sla_plan_id == SlaPlan.id)
            .where(Ticket.closed_at.is_(None))
            .group_by(SlaPlan.calendar_id)
        ).all()
    )
    now = clock.now()
    previews = {row.id: preview(row.definition, now) for row in rows}
    return render_template(
        "admin/sla/calendars.html",
        rows=rows,
        plans=plans,
        tickets=tickets,
        previews=previews,
        hours=describe_hours,
        shown=shown,
    )


def _intent() -> tuple[str, bool]:
    """Which part of the form was sent (`fields` or `yaml`), and whether only to preview."""
    do = request.form.get("do", "save-fields")
    return ("yaml" if do.endswith("yaml") else "fields"), do.startswith("preview")


def _document(form: CalendarForm, source: str) -> dict[str, Any]:
    if source == "yaml":
        return calendar_from_yaml(form.yaml.data or "")
    return calendar_from_fields(calendar_fields(form))


def _example(form: CalendarForm) -> str:
    return (form.example_target.data or "").strip() or "8h"


@bp.route("/calendars/new", methods=["GET", "POST"])
@bp.route("/calendars/<int:calendar_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def calendar(calendar_id: int | None = None):
    """Create a calendar, or change one (its plans' open tickets get new clocks)."""
    existing = db.get_or_404(SlaCalendar, calendar_id) if calendar_id is not None else None
    if request.method == "POST":
        form = CalendarForm()
    elif existing is not None:
        document = existing.definition
        form = CalendarForm(
            data=calendar_data(fields_of(document), existing.name, yaml_of(document))
        )
    else:
        form = CalendarForm(data=calendar_data(fields_of(STARTER), "", yaml_of(STARTER)))
    problems: dict[str, list[str]] = {}
    seen: Preview | None = None
    status = 200
    if form.validate_on_submit():
        source, only_preview = _intent()
        try:
            document = _document(form, source)
            if only_preview:
                seen = preview(document, clock.now(), _example(form))
            else:  # the example target is for the preview only: it never blocks a save
                saved = calendar_admin.save_calendar(
                    db.session,
                    current_user.actor,
                    clock.now(),
                    form.name.data,
                    document,
                    calendar_id,
                )
                after_commit(Outcome(None, saved.follow_ups))
                start_run(saved)
                flash(_saved_message(saved))
                return redirect(url_for("admin.calendars"), 303)
        except InvalidFields as exc:
            problems = attach(form, exc)
            status = 422
    elif not form.is_submitted():
        seen = preview(existing.definition if existing else STARTER, clock.now())
    users = (
        db.session.scalar(
            select(func.count()).select_from(SlaPlan).where(SlaPlan.calendar_id == existing.id)
        )
        if existing
        else 0
    )
    return render_template(
        PAGE,
        form=form,
        calendar=existing,
        problems=problems,
        all_problems=[m for f in form for m in f.errors]
        + [m for v in problems.values() for m in v],
        preview=seen,
        plans_using=users,
        weekdays=WEEKDAYS,
        zones=_zones(),
        day_names=DAY_NAMES,
        shown=shown,
    ), status


@bp.post("/calendars/preview")
@staff_required(Role.ADMIN)
def calendar_preview():
    """The preview box alone, for HTMX: always 200, with the problem if there is one."""
    form = CalendarForm()
    source, _ = _intent()
    problems: list[str] = []
    seen = None
    try:
        seen = preview(_document(form, source), clock.now(), _example(form))
    except InvalidFields as exc:
        problems = exc.messages
    html = render_template(
        "admin/sla/_preview.html",
        preview=seen,
        preview_problems=problems,
        source=source,
        shown=shown,
    )
    return htmx.fragment(html)


def _saved_message(saved: plan_admin.Saved) -> str:
    if saved.created:
        return f"The calendar {saved.name} was created."
    if not saved.changed:
        return f"Nothing changed in the calendar {saved.name}."
    return f"The calendar {saved.name} was saved; {saved_words(saved)}."
