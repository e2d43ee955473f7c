"""Publishing a draft, and rolling back by publishing a copy of an earlier version.

Both pages show what changes against the published version and, when live tickets sit in
states the new version removes, ask where each such state's tickets go. A refused publish
(a missing or wrong mapping, an invalid draft) answers 422 with the sentences and changes
nothing; success moves every live ticket in one transaction (each move logged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, request, url_for
from sqlalchemy import select

from web import clock
from web.admin import bp
from web.admin.workflow_common import actor, admin_only, render, version_or_404
from web.extensions import db
from web.followups import after_commit
from workflow import definition as wfdef
from workflow import drafts, publishing
from workflow.definition_diff import diff
from workflow.errors import InvalidDefinition, PublishRefused
from workflow.loading import compiled_version
from workflow.models import VersionStatus, Workflow, WorkflowVersion
from workflow.outcome import Outcome


def _current(workflow: Workflow) -> WorkflowVersion | None:
    return db.session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow.id,
            WorkflowVersion.status == VersionStatus.PUBLISHED,
        )
    )


def _page(
    mode: str, wf: Workflow, version: WorkflowVersion, status: int = 200, **extra: Any
) -> Any:
    """The publish (or roll back) page: what changes, and the mapping the move needs."""
    try:
        definition = compiled_version(db.session, version.id, version.checksum).definition
    except InvalidDefinition:  # listed below as `problems`, and the page offers no form
        definition = None
    current = _current(wf)
    change = None
    if definition is not None and current is not None and current.id != version.id:
        before = compiled_version(db.session, current.id, current.checksum).definition
        change = diff(before, definition)
    return render(
        "admin/workflows/publish.html",
        None,
        status,
        mode=mode,
        workflow=wf,
        version=version,
        definition=definition,
        current=current,
        change=change,
        removed=publishing.removed_states_in_use(db.session, version) if definition else {},
        problems=wfdef.problems_in(version.source),
        chosen=extra.pop("chosen", {}),
        messages=extra.pop("messages", []),
    )


def _mapping(version: WorkflowVersion) -> dict[str, str]:
    """The form's target for each removed state that live tickets are in (blank ones left
    out, so the publish refuses them with its own sentence)."""
    removed = publishing.removed_states_in_use(db.session, version)
    chosen = {state: (request.form.get(f"map_{state}") or "").strip() for state in removed}
    return {state: target for state, target in chosen.items() if target}


def _move_live_tickets(
    mode: str,
    key: str,
    number: int,
    status: VersionStatus,
    only: str,
    verb: Callable[..., drafts.Published],
    what: str,
) -> Any:
    """Publish and roll back alike: a version in another `status` than the route's is a 409
    (`only` says which one is); GET shows the page; POST runs `verb` with the mapping, a
    refusal answers 422 with the page and its sentences; after the commit re-clocked tickets
    get their timers, open pages refresh, and the admin returns to the workflow."""
    wf, version = version_or_404(key, number)
    if version.status != status:
        abort(409, f"Version {number} is {version.status.value}; {only}")
    if request.method == "GET":
        return _page(mode, wf, version)
    mapping = _mapping(version)
    try:
        result = verb(db.session, version.id, mapping, actor(), clock.now())
    except (PublishRefused, InvalidDefinition) as exc:
        messages = [str(p) for p in exc.problems] if isinstance(exc, InvalidDefinition) else []
        return _page(mode, wf, version, 422, chosen=mapping, messages=messages or [str(exc)])
    except drafts.ConcurrentChange as exc:
        abort(409, str(exc))
    after_commit(Outcome(None, result.follow_ups))
    moved = f"{result.moved} live ticket{'s' if result.moved != 1 else ''} moved onto it"
    flash(f"{what} version {result.version.number} is published; {moved}.")
    return redirect(url_for("admin.workflow", key=key), 303)


@bp.route("/workflows/<key>/versions/<int:number>/publish", methods=["GET", "POST"])
@admin_only
def workflow_publish(key: str, number: int):
    """Publish a valid draft, mapping the removed states that live tickets are in."""
    return _move_live_tickets(
        "publish",
        key,
        number,
        VersionStatus.DRAFT,
        "only a draft is published from here (an earlier version comes back through “Roll back”).",
        drafts.publish_draft,
        "Draft",
    )


@bp.route("/workflows/<key>/versions/<int:number>/rollback", methods=["GET", "POST"])
@admin_only
def workflow_rollback(key: str, number: int):
    """Roll back: publish a copy of an earlier version as a new version."""
    return _move_live_tickets(
        "rollback",
        key,
        number,
        VersionStatus.ARCHIVED,
        "only an earlier (archived) version can be rolled back to.",
        drafts.roll_back,
        f"A copy of version {number}:",
    )
