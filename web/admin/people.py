"""Staff accounts (`/admin/people`): list, create, change role and memberships, deactivate
(handing open tickets over), reactivate, and password reset by emailed link.

Why a reset link rather than a password the admin types: the admin never knows anyone's
password, the link works once and expires, and using it proves the person controls the
mailbox. When a password may be compromised, the admin can also stop the current one working
at once. An initial password typed by the admin remains possible for a new account, for
someone without mail yet; everyone else is invited to choose their own.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from jobs.connection import for_requests
from jobs.dispatch import dispatch
from web import clock
from web.admin import bp
from web.admin.people_forms import (
    ROLE_CHOICES,
    ConfirmForm,
    NewStaffForm,
    PasswordResetForm,
    StaffForm,
    options,
    parse_destination,
    seen_versions,
)
from web.auth import staff_required
from web.extensions import db
from web.mail import MailNotSent, send_mail
from web.password_reset import make_token
from workflow import handover, staffing
from workflow.errors import InvalidInput, StaleTicket
from workflow.followups import FollowUp
from workflow.loading import compiled_version
from workflow.models import Department, Role, Team, User


def _choices(form: StaffForm) -> None:
    form.role.choices = ROLE_CHOICES
    form.departments.choices = options(
        db.session.execute(
            select(Department.id, Department.name).order_by(func.lower(Department.name))
        ).all()
    )
    form.teams.choices = options(
        db.session.execute(select(Team.id, Team.name).order_by(func.lower(Team.name))).all()
    )


def _details(form: StaffForm) -> staffing.StaffDetails:
    return staffing.StaffDetails(
        name=form.name.data or "",
        role=form.role.data or "",
        department_ids=tuple(form.departments.data or ()),
        team_ids=tuple(form.teams.data or ()),
    )


def _send_link(user: User, subject: str, opening: str) -> bool:
    """Mail the person a link to choose a password; False (logged) when the mail failed."""
    link = url_for("portal.reset_password", token=make_token(user), _external=True)
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    try:
        send_mail(
            user.email,
            subject,
            f"Hello {user.name},\n\n{opening} Choose your password here:\n\n{link}\n\n"
            f"The link works once, for the next {minutes} minutes. When it has expired, ask "
            "for a new one with “Forgotten your password?” on the staff sign-in page.\n",
        )
    except MailNotSent:
        current_app.logger.exception("Password link mail to user %s failed", user.id)
        return False
    return True


def _dispatch(follow_ups: list[FollowUp]) -> None:
    """After the commit: live updates for the moved tickets (timers once the SLA work lands)."""
    url = current_app.config.get("REDIS_URL")
    if url:
        dispatch(follow_ups, for_requests(url), current_app.config["LIVE_CHANNEL"])


@bp.get("/people")
@staff_required(Role.ADMIN)
def people():
    """Every staff account with its role, memberships and open tickets."""
    return render_template(
        "admin/people/list.html", rows=staffing.staff_list(db.session), confirm=ConfirmForm()
    )


@bp.route("/people/new", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def new_person():
    """Create a staff account; invite them by email or give them an initial password."""
    form = NewStaffForm()
    _choices(form)
    problems: list[str] = []
    if form.validate_on_submit():
        invite = form.access.data == "invite"
        try:
            user = staffing.create_staff(
                db.session,
                current_user.actor,
                clock.now(),
                form.email.data,
                _details(form),
                None if invite else generate_password_hash(form.password.data),
            )
        except InvalidInput as exc:
            problems = exc.messages
        else:
            message = f"{user.name} can now sign in at the staff sign-in page."
            if invite:
                sent = _send_link(
                    user,
                    "Your Ticketflow account",
                    f"{current_user.user.name} created a Ticketflow staff account for you.",
                )
                message = (
                    f"{user.name} was sent an invitation to choose a password."
                    if sent
                    else f"{user.name}'s account exists, but the invitation could not be "
                    "mailed; send a password link from their page once mail works."
                )
            flash(message)
            return redirect(url_for("admin.people"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/people/new.html", form=form, problems=problems), status


@bp.route("/people/<int:user_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def edit_person(user_id: int):
    """Change a staff member's name, role, departments and teams."""
    user = staffing.staff_member(db.session, user_id)
    form = StaffForm(
        data={
            "name": user.name,
            "role": user.role.value,
            "departments": [d.id for d in user.departments],
            "teams": [t.id for t in user.teams],
        }
    )
    _choices(form)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            staffing.update_staff(
                db.session, current_user.actor, clock.now(), user.id, _details(form)
            )
        except InvalidInput as exc:
            problems = exc.messages
        else:
            flash(f"{user.name}'s account was saved.")
            return redirect(url_for("admin.people"), 303)
    status = 422 if form.is_submitted() else 200
    open_count = staffing.open_ticket_counts(db.session, [user.id]).get(user.id, 0)
    return render_template(
        "admin/people/edit.html",
        form=form,
        person=user,
        open_count=open_count,
        problems=problems,
        confirm=ConfirmForm(),
    ), status


def _targets(leaving: User) -> dict[str, Any]:
    """Who can receive the tickets: active agents and admins (not the person leaving), teams."""
    agents = db.session.execute(
        select(User.id, User.name)
        .where(User.is_active, User.role.in_(staffing.TICKET_ROLES), User.id != leaving.id)
        .order_by(func.lower(User.name))
    ).all()
    teams = db.session.execute(select(Team.id, Team.name).order_by(func.lower(Team.name))).all()
    return {"agents": agents, "teams": teams}


def _deactivate_page(user: User, status: int, problems: list[str], chosen: dict[str, str]):
    tickets = handover.open_tickets_of(db.session, user.id)
    states = {
        version: compiled_version(db.session, version).definition.states
        for version in {t.workflow_version_id for t in tickets}
    }
    return render_template(
        "admin/people/deactivate.html",
        person=user,
        tickets=tickets,
        states=states,
        seen=",".join(f"{t.id}:{t.version}" for t in tickets),
        targets=_targets(user),
        departments=dict(db.session.execute(select(Department.id, Department.name)).all()),
        problems=problems,
        chosen=chosen,
        form=ConfirmForm(),
        is_self=user.id == current_user.user.id,
    ), status


@bp.route("/people/<int:user_id>/deactivate", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def deactivate_person(user_id: int):
    """Ask where the person's open tickets go; nothing changes until the form is answered."""
    user = staffing.staff_member(db.session, user_id)
    if not user.is_active:
        flash(f"{user.name}'s account is already deactivated.")
        return redirect(url_for("admin.edit_person", user_id=user.id), 303)
    if request.method == "GET":
        return _deactivate_page(user, 200, [], {})
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _deactivate_page(user, 400, ["The form expired; look again and resubmit."], {})
    chosen = {k: v for k, v in request.form.items() if k == "all" or k.startswith("ticket-")}
    everything = parse_destination(chosen.get("all"))
    destinations = {}
    for ticket_id in seen_versions(request.form.get("seen")):
        own = parse_destination(chosen.get(f"ticket-{ticket_id}"))
        if own is not None or everything is not None:
            destinations[ticket_id] = own if own is not None else everything
    try:
        result = handover.deactivate(
            db.session,
            current_user.actor,
            clock.now(),
            user.id,
            destinations,
            seen_versions(request.form.get("seen")),
        )
    except InvalidInput as exc:
        return _deactivate_page(user, 422, exc.messages, chosen)
    except StaleTicket as exc:
        return _deactivate_page(user, 409, [str(exc)], chosen)
    _dispatch(result.follow_ups)
    moved = len(result.moved)
    flash(
        f"{user.name} can no longer sign in"
        + (f"; {moved} open ticket{'s' if moved != 1 else ''} handed over." if moved else ".")
    )
    return redirect(url_for("admin.people"), 303)


@bp.post("/people/<int:user_id>/reactivate")
@staff_required(Role.ADMIN)
def reactivate_person(user_id: int):
    """Let a deactivated person sign in again."""
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form expired; reload the page and try again.")
    user = staffing.reactivate(db.session, current_user.actor, clock.now(), user_id)
    flash(f"{user.name} can sign in again, with their old role, departments and teams.")
    return redirect(url_for("admin.people"), 303)


@bp.route("/people/<int:user_id>/password", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def reset_password(user_id: int):
    """Mail the person a link to choose a new password (optionally locking the old one)."""
    user = staffing.staff_member(db.session, user_id)
    form = PasswordResetForm()
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            staffing.password_reset_sent(
                db.session, current_user.actor, clock.now(), user.id, bool(form.lock.data)
            )
        except InvalidInput as exc:
            problems = exc.messages
        else:
            sent = _send_link(
                user,
                "Choose a new Ticketflow password",
                f"{current_user.user.name} asked Ticketflow to send you a new password link.",
            )
            flash(
                f"{user.name} was sent a link to choose a new password."
                if sent
                else "The mail could not be sent; try again once mail works."
            )
            return redirect(url_for("admin.edit_person", user_id=user.id), 303)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/people/password.html", form=form, person=user, problems=problems
    ), status
