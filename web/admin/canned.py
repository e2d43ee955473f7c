"""Canned responses (`/admin/canned`, admins only): the reply templates agents insert in the
composer. Thin routes over `workflow.canned`, which refuses unknown placeholders (and every
other problem) with sentences shown above the form; nothing is saved then."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, StringField, TextAreaField

from web import clock
from web.admin import bp
from web.auth import staff_required
from web.extensions import db
from web.forms import EmptyForm
from workflow import canned
from workflow.errors import InvalidInput
from workflow.models import CannedResponse, Role


class CannedForm(FlaskForm):
    """Name, text and whether agents are offered it; the domain checks the values."""

    name = StringField("Name (what agents pick from)")
    body = TextAreaField("Text", render_kw={"rows": 10, "cols": 70})
    is_active = BooleanField("Offer it to agents", default=True)


@bp.get("/canned")
@staff_required(Role.ADMIN)
def canned_list():
    """Every canned response, by name (one query)."""
    rows = db.session.scalars(
        select(CannedResponse).order_by(func.lower(CannedResponse.name))
    ).all()
    return render_template("admin/canned/list.html", rows=rows)


@bp.route("/canned/new", methods=["GET", "POST"])
@bp.route("/canned/<int:canned_id>", methods=["GET", "POST"])
@staff_required(Role.ADMIN)
def canned_edit(canned_id: int | None = None):
    """Write a new canned response, or change one."""
    existing = db.get_or_404(CannedResponse, canned_id) if canned_id is not None else None
    form = CannedForm(obj=existing)
    problems: list[str] = []
    if form.validate_on_submit():
        try:
            saved = canned.save(
                db.session,
                current_user.actor,
                clock.now(),
                name=form.name.data or "",
                body=form.body.data or "",
                is_active=form.is_active.data,
                canned_id=canned_id,
            )
        except InvalidInput as exc:
            problems = exc.messages
        else:
            flash(f"The canned response “{saved.name}” was saved.")
            return redirect(url_for("admin.canned_list"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/canned/edit.html",
        form=form,
        existing=existing,
        problems=problems or [e for errors in form.errors.values() for e in errors],
        placeholders=canned.PLACEHOLDERS,
        confirm=EmptyForm(),
    ), status


@bp.post("/canned/<int:canned_id>/delete")
@staff_required(Role.ADMIN)
def canned_delete(canned_id: int):
    """Remove a canned response for good (replies already sent keep their text)."""
    if not EmptyForm().validate_on_submit():
        return redirect(url_for("admin.canned_edit", canned_id=canned_id), 303)
    name = canned.delete(db.session, current_user.actor, clock.now(), canned_id)
    flash(f"The canned response “{name}” was removed.")
    return redirect(url_for("admin.canned_list"), 303)
