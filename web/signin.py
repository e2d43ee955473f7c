"""The sign-in and sign-out views shared by the staff area and the Support Center; each
blueprint binds them to its own page, kind of account and landing page."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import login_user, logout_user
from markupsafe import Markup

from web.auth import OtherSignInPage, SessionUser, authenticate, safe_next
from web.forms import EmptyForm, SignInForm

WRONG = "Wrong email or password."
OTHER_PAGE = {  # by what the account is: where it signs in instead
    True: Markup('This is a staff account: sign in at the <a href="{}">staff page</a>.'),
    False: Markup('This is a customer account: sign in at the <a href="{}">Support Center</a>.'),
}


def sign_in(*, staff: bool, template: str, landing: str) -> Any:
    """Check the form; the same answer for an unknown email and a wrong password (422).
    A right password on the wrong page (staff at the Support Center's, a customer at the
    staff one) is told where to sign in, with a link: it is still a 422 and signs no one in."""
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, staff=staff)
        except OtherSignInPage as other:
            page = url_for("staff.login" if other.staff else "portal.login")
            form.email.errors.append(OTHER_PAGE[other.staff].format(page))
        else:
            if user is not None:
                login_user(SessionUser(user))
                return redirect(safe_next(url_for(landing)))
            form.password.errors.append(WRONG)
    status = 422 if form.is_submitted() else 200
    return render_template(template, form=form), status


def sign_out(then: str) -> Any:
    """Sign out on a POST carrying the CSRF token, so no other site can sign anyone out."""
    if EmptyForm().validate_on_submit():
        logout_user()
        flash("You are signed out.")
    return redirect(url_for(then))
