"""Public pages: the Support Center's front door, and a health check for load balancers."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select, text

from web.extensions import db
from workflow.models import Ticket

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """The front door: a visitor is offered sign-in, an account or a new ticket; a person
    already signed in goes straight to their own start page (My tickets, or the dashboard)."""
    if current_user.is_authenticated:
        return redirect(url_for("staff.dashboard" if current_user.is_staff else "portal.tickets"))
    return render_template(
        "index.html", open_ticket=url_for("portal.login", next=url_for("portal.open_ticket"))
    )


@bp.get("/healthz")
def healthz():
    """200 when the database answers; for load balancers and `make demo`."""
    db.session.execute(text("SELECT 1"))
    open_tickets = db.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.closed_at.is_(None))
    )
    return {"status": "ok", "open_tickets": open_tickets}
