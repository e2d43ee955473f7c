"""SLA plans (`/admin/sla-plans`): list with each plan's open tickets, create, edit.

Targets are typed as `90m` or `8h`, the at-risk threshold as a percentage or as minutes
before due (not both), the calendar chosen (none: around the clock), the escalation policy
edited as rows. A problem answers 422 with the sentence next to its field (an escalation
row's next to that row) and the input kept; nothing is saved. Saving a changed plan
recomputes its open tickets' clocks from now (workflow/plan_admin.py) and the route hands
their timers to Redis after the commit; beyond one batch the rest are re-clocked by a
background run (workflow/reclock_runs.py), whose progress the plan pages show. Without
JavaScript, "Add rows" gives blank rows.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from web import clock
from web.admin import bp
from web.admin.people_forms import options
from web.admin.reclock_start import saved_words, start_run
from web.admin.sla_forms import (
    BLANK_ROWS,
    CLOCK_NAMES,
    MAX_ROWS,
    PlanForm,
    clock_choices,
    plan_data,
    plan_fields,
    show_problems,
)
from web.auth import staff_required
from web.extensions import db
from web.followups import after_commit
from workflow import plan_admin, reclock_runs
from workflow.models import Role, SlaCalendar, SlaPlan, Team
from workflow.outcome import Outcome
from workflow.plan_input import InvalidFields, PlanFields, minutes_text

PAGE = "admin/sla/plan.html"


@bp.get("/sla-plans")
@staff_required(Role.ADMIN)
def sla_plans():
    """Plans with their targets, calendar and open tickets (two queries, however many)."""
    rows = db.session.execute(
        select(SlaPlan, SlaCalendar.name.label("calendar"))
        .outerjoin(SlaCalendar, SlaPlan.calendar_id == SlaCalendar.id)
        .order_by(func.lower(SlaPlan.name))
    ).all()
    return render_template(
        "admin/sla/plans.html",
        rows=rows,
        open_tickets=plan_admin.open_tickets_per_plan(db.session),
        runs=_runs_per_plan(),
        target=minutes_text,
    )


@bp.route("/sla-plans/new", methods=["GET", "POST"])
@bp.route("/sla-plans/<int:plan_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def sla_plan(plan_id: int | None = None):
    """Create an SLA plan, or change one (its open tickets get new clocks from now)."""
    existing = db.get_or_404(SlaPlan, plan_id) if plan_id is not None else None
    if request.method == "POST":
        form = PlanForm()
    elif existing is not None:
        form = PlanForm(data=plan_data(plan_admin.fields_for(existing)))
    else:
        blank = PlanFields(at_risk_percent="80")
        form = PlanForm(data=plan_data(blank))
    problems: dict[str, list[str]] = {}
    status = 200
    if form.validate_on_submit():
        if "more" in request.form:  # blank rows to add steps; nothing is saved
            for _ in range(min(BLANK_ROWS, MAX_ROWS - len(form.steps.entries))):
                form.steps.append_entry({"at": "breach"})
        else:
            fields, rows = plan_fields(form)
            try:
                saved = plan_admin.save_plan(
                    db.session, current_user.actor, clock.now(), fields, plan_id
                )
            except InvalidFields as exc:
                problems = show_problems(form, exc, rows)
                status = 422
            else:
                after_commit(Outcome(None, saved.follow_ups))
                start_run(saved)
                flash(_saved_message(saved))
                return redirect(url_for("admin.sla_plans"), 303)
    elif form.is_submitted():
        status = 422
    form.calendar_id.choices = options(
        [
            ("", "None: around the clock (24x7, UTC)"),
            *db.session.execute(
                select(SlaCalendar.id, SlaCalendar.name).order_by(func.lower(SlaCalendar.name))
            ).all(),
        ]
    )
    choices = clock_choices(entry.form.data for entry in form.steps.entries)
    for entry in form.steps.entries:
        entry.form.clocks.choices = choices
    open_tickets = plan_admin.open_tickets_on(db.session, plan_id) if plan_id else 0
    return render_template(
        PAGE,
        form=form,
        plan=existing,
        problems=problems,
        all_problems=[m for f in form for m in _errors(f)]
        + [m for v in problems.values() for m in v],
        open_tickets=open_tickets,
        runs=reclock_runs.runs_on_plan(db.session, plan_id) if plan_id else [],
        teams=db.session.scalars(select(Team.name).order_by(Team.name)).all(),
        clock_names=CLOCK_NAMES,
    ), status


def _runs_per_plan() -> dict[int, list]:
    """Unfinished background re-clock runs by plan id (one query; there are few)."""
    runs: dict[int, list] = {}
    for run in reclock_runs.unfinished(db.session):
        for plan_id in run.changes:
            runs.setdefault(int(plan_id), []).append(run)
    return runs


def _errors(field) -> list[str]:
    if field.name == "steps":
        return [m for entry in field.entries for f in entry.form for m in f.errors]
    return list(field.errors)


def _saved_message(saved: plan_admin.Saved) -> str:
    if saved.created:
        return f"The SLA plan {saved.name} was created."
    if not saved.changed:
        return f"Nothing changed in the SLA plan {saved.name}."
    return f"The SLA plan {saved.name} was saved; {saved_words(saved)}."
