"""Forgotten passwords: ask for a link by email, then choose a new password through it."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from web.extensions import db
from web.forms import NewPasswordForm, ResetRequestForm
from web.mail import MailNotSent, send_mail
from web.password_reset import ResetLinkInvalid, make_token, user_for
from workflow.models import User

SENT = (
    "If an account exists for that address, we have sent it a link to choose a new "
    "password. The link works once, for the next hour."
)


def request_link():
    """Send a reset link; the answer is the same whether or not the account exists."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        email = (form.email.data or "").strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is not None and user.is_active:
            link = url_for("portal.reset_password", token=make_token(user), _external=True)
            try:
                send_mail(
                    user.email,
                    "Choose a new Ticketflow password",
                    f"Hello {user.name},\n\nsomeone (hopefully you) asked to reset the password "
                    f"of your Ticketflow account. Choose a new one here:\n\n{link}\n\n"
                    "The link works once, for the next hour. If you did not ask for it, "
                    "ignore this message: your password stays as it is.\n",
                )
            except MailNotSent:
                current_app.logger.exception("Password reset mail to user %s failed", user.id)
        flash(SENT)
        return redirect(url_for("portal.login"))
    status = 422 if form.is_submitted() else 200
    return render_template("portal/reset_request.html", form=form), status


def reset_password(token: str):
    """Choose a new password through a valid link; the link then stops working."""
    try:
        user = user_for(token)
    except ResetLinkInvalid as exc:
        return render_template("portal/reset_invalid.html", message=str(exc)), 410
    form = NewPasswordForm()
    if form.validate_on_submit():
        user.password_hash = generate_password_hash(form.password.data)
        db.session.commit()
        flash("Your password was changed. Sign in with the new one.")
        return redirect(url_for("staff.login" if user.is_staff else "portal.login"))
    status = 422 if form.is_submitted() else 200
    return render_template("portal/reset_password.html", form=form), status
