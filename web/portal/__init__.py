"""The Support Center for end users. This module holds sign-in and registration; opening
and following tickets land here with their own modules."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import login_user
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from web import clock
from web.auth import SessionUser, safe_next
from web.extensions import db
from web.forms import RegisterForm
from web.signin import sign_in, sign_out
from web.throttle import sign_in_throttled
from workflow.models import Role, User

bp = Blueprint("portal", __name__)


@bp.route("/login", methods=["GET", "POST"])
@sign_in_throttled
def login():
    """Customer sign-in."""
    return sign_in(staff=False, template="portal/login.html", landing="portal.tickets")


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create a customer account (name, email, password) and sign in; then on to the page
    the person was on their way to (`next`, as at sign-in), else My tickets."""
    form = RegisterForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        taken = db.session.scalar(select(func.count()).where(func.lower(User.email) == email))
        if taken:
            form.email.errors.append(
                "An account with this email already exists; sign in, or reset the password."
            )
        else:
            user = User(
                email=email,
                name=form.name.data.strip(),
                role=Role.END_USER,
                password_hash=generate_password_hash(form.password.data),
                created_at=clock.now(),
            )
            db.session.add(user)
            db.session.commit()
            login_user(SessionUser(user))
            flash("Welcome! Your account is ready.")
            return redirect(safe_next(url_for("portal.tickets")))  # "Open a ticket" first
    status = 422 if form.is_submitted() else 200
    return render_template("portal/register.html", form=form), status


@bp.post("/logout")
def logout():
    """Customer sign-out."""
    return sign_out("portal.login")


# Forgotten passwords (its own module, registered on this blueprint).
from web.portal import reset  # noqa: E402
from web.throttle import reset_throttled  # noqa: E402

bp.add_url_rule(
    "/reset", "reset_request", reset_throttled(reset.request_link), methods=["GET", "POST"]
)
bp.add_url_rule("/reset/<token>", "reset_password", reset.reset_password, methods=["GET", "POST"])

# The customer's tickets.
from web.portal import tickets  # noqa: E402

bp.add_url_rule("/tickets", "tickets", tickets.my_tickets)
bp.add_url_rule("/tickets/new", "open_ticket", tickets.open_ticket, methods=["GET", "POST"])
bp.add_url_rule("/tickets/<int:number>", "ticket", tickets.ticket)
bp.add_url_rule("/tickets/<int:number>/reply", "reply", tickets.reply, methods=["POST"])
bp.add_url_rule("/tickets/<int:number>/confirm", "confirm", tickets.confirm, methods=["POST"])
bp.add_url_rule("/tickets/<int:number>/reopen", "reopen", tickets.reopen, methods=["POST"])

# Attachments of my tickets' public messages.
from web.portal import attachments  # noqa: E402

bp.add_url_rule(
    "/tickets/<int:number>/attachments/<int:attachment_id>", "attachment", attachments.download
)
