"""What the workflow admin pages share: finding a version by URL, the live-ticket counts, the
page-or-fragment answer (decided by web.htmx), and who acts now."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import abort, make_response, render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from web.auth import staff_required
from web.extensions import db
from web.htmx import vary, wants_fragment
from workflow.models import Role, Ticket, Workflow, WorkflowVersion
from workflow.rules import Actor

admin_only = staff_required(Role.ADMIN)
"""Every workflow page: not signed in -> staff sign-in; any role but admin -> 403."""


def actor() -> Actor:
    return current_user.actor


def workflow_or_404(key: str) -> Workflow:
    workflow = db.session.scalar(select(Workflow).where(Workflow.key == key))
    if workflow is None:
        abort(404, f"There is no workflow called '{key}'.")
    return workflow


def version_or_404(key: str, number: int) -> tuple[Workflow, WorkflowVersion]:
    workflow = workflow_or_404(key)
    version = db.session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow.id, WorkflowVersion.number == number
        )
    )
    if version is None:
        abort(404, f"Workflow '{key}' has no version {number}.")
    return workflow, version


def live_counts(version_ids: Iterable[int]) -> dict[int, int]:
    """Live (not closed) tickets per version: one grouped query on the indexed column."""
    ids = list(version_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Ticket.workflow_version_id, func.count())
        .where(Ticket.workflow_version_id.in_(ids), Ticket.closed_at.is_(None))
        .group_by(Ticket.workflow_version_id)
    )
    return dict(rows.all())


def render(page: str, fragment: str | None, status: int = 200, **context: Any) -> Any:
    """The page, or only its fragment for HTMX; `Vary` keeps caches from mixing them."""
    template = fragment if fragment is not None and wants_fragment() else page
    return vary(make_response(render_template(template, **context), status))


def form_text(name: str, limit: int = 300) -> str:
    """A short text field, trimmed; longer input is cut rather than stored."""
    return (request.form.get(name) or "").strip()[:limit]
