"""How the help desk is organised: departments (`/admin/departments`), teams and their
members (`/admin/teams`), help topics (`/admin/topics`). Thin routes over `workflow.structure`;
lists load in a fixed number of queries however many rows they show."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import aliased, selectinload

from web import clock
from web.admin import bp
from web.admin.people_forms import ConfirmForm, DepartmentForm, TeamForm, TopicForm, options
from web.auth import staff_required
from web.extensions import db
from workflow import structure
from workflow.errors import InvalidInput
from workflow.models import (
    Department,
    HelpTopic,
    Priority,
    Role,
    SlaPlan,
    Team,
    Ticket,
    User,
    Workflow,
    staff_departments,
)
from workflow.staffing import TICKET_ROLES

NONE = ("", "—")
"""The empty choice of a select."""


def _names(model: Any) -> list[tuple[int, str]]:
    return list(
        db.session.execute(select(model.id, model.name).order_by(func.lower(model.name))).all()
    )


def _counts(column: Any, *where: Any) -> dict[int, int]:
    return dict(
        db.session.execute(select(column, func.count()).where(*where).group_by(column)).all()
    )


# ---- departments ---------------------------------------------------------------------------


@bp.get("/departments")
@staff_required(Role.ADMIN)
def departments():
    """Departments with how much refers to each (one grouped count per kind)."""
    rows = db.session.scalars(select(Department).order_by(func.lower(Department.name))).all()
    counts = {
        "staff": _counts(staff_departments.c.department_id),
        "teams": _counts(Team.department_id),
        "topics": _counts(HelpTopic.department_id),
        "open": _counts(Ticket.department_id, Ticket.closed_at.is_(None)),
        "tickets": _counts(Ticket.department_id),
    }
    return render_template("admin/structure/departments.html", rows=rows, counts=counts)


def _department_page(form: DepartmentForm, department: Department | None, problems: list[str]):
    uses = structure.department_uses(db.session, department.id) if department else {}
    status = 422 if form.is_submitted() or problems else 200
    return render_template(
        "admin/structure/department.html",
        form=form,
        department=department,
        uses=uses,
        problems=problems,
        confirm=ConfirmForm(),
    ), status


@bp.route("/departments/new", methods=["GET", "POST"])
@bp.route("/departments/<int:department_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def department(department_id: int | None = None):
    """Create a department, or rename one."""
    existing = db.get_or_404(Department, department_id) if department_id is not None else None
    form = DepartmentForm(data={"name": existing.name} if existing else None)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            saved = structure.save_department(
                db.session, current_user.actor, clock.now(), form.name.data, department_id
            )
        except InvalidInput as exc:
            problems = exc.messages
        else:
            flash(f"The department {saved.name} was saved.")
            return redirect(url_for("admin.departments"), 303)
    return _department_page(form, existing, problems)


@bp.post("/departments/<int:department_id>/delete")
@staff_required(Role.ADMIN)
def delete_department(department_id: int):
    """Delete an unused department; one in use is refused with the reason (422)."""
    existing = db.get_or_404(Department, department_id)
    try:
        name = structure.delete_department(
            db.session, current_user.actor, clock.now(), department_id
        )
    except InvalidInput as exc:
        form = DepartmentForm(formdata=None, data={"name": existing.name})
        return _department_page(form, existing, exc.messages)
    flash(f"The department {name} was deleted.")
    return redirect(url_for("admin.departments"), 303)


# ---- teams ---------------------------------------------------------------------------------


@bp.get("/teams")
@staff_required(Role.ADMIN)
def teams():
    """Teams with their department and members (members loaded in one query for all)."""
    rows = db.session.scalars(
        select(Team).options(selectinload(Team.members)).order_by(func.lower(Team.name))
    ).all()
    return render_template(
        "admin/structure/teams.html", rows=rows, departments=dict(_names(Department))
    )


@bp.route("/teams/new", methods=["GET", "POST"])
@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def team(team_id: int | None = None):
    """Create a team, or change its name, department and members."""
    existing = db.get_or_404(Team, team_id) if team_id is not None else None
    form = TeamForm(
        data={
            "name": existing.name,
            "department_id": existing.department_id,
            "members": [m.id for m in existing.members],
        }
        if existing
        else None
    )
    form.department_id.choices = options([NONE, *_names(Department)])
    current = {m.id for m in existing.members} if existing else set()
    people = db.session.execute(
        select(User.id, User.name, User.is_active)
        .where(User.role.in_(TICKET_ROLES))
        .order_by(func.lower(User.name))
    ).all()
    form.members.choices = options(
        (p.id, p.name if p.is_active else f"{p.name} (deactivated)")
        for p in people
        if p.is_active or p.id in current
    )
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            saved = structure.save_team(
                db.session,
                current_user.actor,
                clock.now(),
                form.name.data,
                form.department_id.data,
                form.members.data or [],
                team_id,
            )
        except InvalidInput as exc:
            problems = exc.messages
        else:
            flash(f"The team {saved.name} was saved.")
            return redirect(url_for("admin.teams"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/structure/team.html", form=form, team=existing, problems=problems
    ), status


# ---- help topics ---------------------------------------------------------------------------


@bp.get("/topics")
@staff_required(Role.ADMIN)
def topics():
    """Help topics with their department, priority, plan and workflow (one joined query)."""
    plan = aliased(SlaPlan)
    rows = db.session.execute(
        select(
            HelpTopic,
            Department.name.label("department"),
            Priority.name.label("priority"),
            plan.name.label("plan"),
            Workflow.label.label("workflow"),
        )
        .join(Department, HelpTopic.department_id == Department.id)
        .join(Priority, HelpTopic.priority_id == Priority.id)
        .join(Workflow, HelpTopic.workflow_id == Workflow.id)
        .outerjoin(plan, HelpTopic.sla_plan_id == plan.id)
        .order_by(HelpTopic.is_active.desc(), func.lower(HelpTopic.name))
    ).all()
    return render_template("admin/structure/topics.html", rows=rows)


@bp.route("/topics/new", methods=["GET", "POST"])
@bp.route("/topics/<int:topic_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def topic(topic_id: int | None = None):
    """Create a help topic, or change it (for tickets opened from now on)."""
    existing = db.get_or_404(HelpTopic, topic_id) if topic_id is not None else None
    form = TopicForm(obj=existing)
    form.department_id.choices = options([NONE, *_names(Department)])
    form.priority_id.choices = options(
        [NONE, *db.session.execute(select(Priority.id, Priority.name).order_by(Priority.id))]
    )
    form.sla_plan_id.choices = options([("", "No SLA plan"), *_names(SlaPlan)])
    form.workflow_id.choices = options(
        [NONE, *db.session.execute(select(Workflow.id, Workflow.label).order_by(Workflow.label))]
    )
    problems: list[str] = []
    if form.validate_on_submit():
        details = structure.TopicDetails(
            name=form.name.data or "",
            department_id=form.department_id.data,
            priority_id=form.priority_id.data,
            sla_plan_id=form.sla_plan_id.data,
            workflow_id=form.workflow_id.data,
            is_active=bool(form.is_active.data),
        )
        try:
            saved = structure.save_topic(
                db.session, current_user.actor, clock.now(), details, topic_id
            )
        except InvalidInput as exc:
            problems = exc.messages
        else:
            flash(f"The help topic {saved.name} was saved.")
            return redirect(url_for("admin.topics"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/structure/topic.html", form=form, topic=existing, problems=problems
    ), status
