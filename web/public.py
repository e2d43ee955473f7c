"""Public pages: what this instance is, and a health check for load balancers."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select, text

from web.extensions import db
from workflow.loading import compiled_version
from workflow.models import Ticket, VersionStatus, Workflow, WorkflowVersion

bp = Blueprint("public", __name__)


@bp.get("/")
def index():
    """The published lifecycles: their states and events, as the engine will enforce them."""
    rows = db.session.execute(
        select(Workflow, WorkflowVersion)
        .join(WorkflowVersion, WorkflowVersion.workflow_id == Workflow.id)
        .where(WorkflowVersion.status == VersionStatus.PUBLISHED)
        .order_by(Workflow.key)
    ).all()
    lifecycles = [
        (wf, version, compiled_version(db.session, version.id, version.checksum).definition)
        for wf, version in rows
    ]
    return render_template("index.html", lifecycles=lifecycles)


@bp.get("/healthz")
def healthz():
    """200 when the database answers; for load balancers and `make demo`."""
    db.session.execute(text("SELECT 1"))
    open_tickets = db.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.closed_at.is_(None))
    )
    return {"status": "ok", "open_tickets": open_tickets}
