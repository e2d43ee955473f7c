"""The staff area (agents, admins, ops). This module holds the staff sign-in; the dashboard
lands here with its own modules."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import login_user, logout_user

from web.auth import SessionUser, authenticate, safe_next
from web.forms import EmptyForm, SignInForm
from web.throttle import sign_in_throttled

bp = Blueprint("staff", __name__, url_prefix="/staff")
WRONG = "Wrong email or password."


@bp.route("/login", methods=["GET", "POST"])
@sign_in_throttled
def login():
    """Staff sign-in; the same answer for an unknown email and a wrong password."""
    form = SignInForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data, staff=True)
        if user is not None:
            login_user(SessionUser(user))
            return redirect(safe_next(url_for("staff.dashboard")))
        form.password.errors.append(WRONG)
    status = 422 if form.is_submitted() else 200
    return render_template("staff/login.html", form=form), status


@bp.post("/logout")
def logout():
    """Sign out (a POST with the CSRF token, so no other site can sign anyone out)."""
    form = EmptyForm()
    if form.validate_on_submit():
        logout_user()
        flash("You are signed out.")
    return redirect(url_for("staff.login"))


# The ticket page (its own module, registered on this blueprint).
from web.staff import ticket_page  # noqa: E402

bp.add_url_rule("/tickets/<int:number>", "ticket", ticket_page.ticket_page)
bp.add_url_rule(
    "/tickets/<int:number>/events/<event>", "fire_event", ticket_page.fire_event, methods=["POST"]
)
bp.add_url_rule("/tickets/<int:number>/compose", "compose", ticket_page.compose, methods=["POST"])

# The dashboard's queues.
from web.staff import dashboard  # noqa: E402

bp.add_url_rule("", "dashboard", dashboard.dashboard)
