"""`/admin/workflows`: the workflows with their versions, who uses them and how many live
tickets run on each; one version's text and diagram; copying a version into a draft,
discarding a draft; the difference between two versions; the history of changes.

Editing, dry runs and publishing have their own modules (workflow_editor, workflow_dry_run,
workflow_publish); every route is for admins only.
"""

from __future__ import annotations

import difflib

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from web import clock
from web.admin import bp
from web.admin.workflow_common import (
    actor,
    admin_only,
    live_counts,
    version_or_404,
    workflow_or_404,
)
from web.extensions import db
from workflow import admin_history, diagram, drafts
from workflow.definition_diff import diff
from workflow.loading import compiled_version
from workflow.models import Department, HelpTopic, User, Workflow, WorkflowVersion


def _topics(workflow_ids: list[int]) -> dict[int, list[tuple[str, str, bool]]]:
    """Help topics (with their department and whether active) per workflow, in one query."""
    rows = db.session.execute(
        select(HelpTopic.workflow_id, HelpTopic.name, Department.name, HelpTopic.is_active)
        .join(Department, HelpTopic.department_id == Department.id)
        .where(HelpTopic.workflow_id.in_(workflow_ids))
        .order_by(HelpTopic.name)
    )
    out: dict[int, list[tuple[str, str, bool]]] = {}
    for workflow_id, topic, department, active in rows:
        out.setdefault(workflow_id, []).append((topic, department, active))
    return out


def _versions(workflow_ids: list[int]) -> dict[int, list]:
    """Each workflow's versions, newest first, without their text; with the creator's name."""
    rows = db.session.execute(
        select(
            WorkflowVersion.id,
            WorkflowVersion.workflow_id,
            WorkflowVersion.number,
            WorkflowVersion.status,
            WorkflowVersion.created_at,
            WorkflowVersion.published_at,
            User.name.label("creator"),
        )
        .outerjoin(User, WorkflowVersion.created_by_id == User.id)
        .where(WorkflowVersion.workflow_id.in_(workflow_ids))
        .order_by(WorkflowVersion.workflow_id, WorkflowVersion.number.desc())
    ).all()
    out: dict[int, list] = {}
    for row in rows:
        out.setdefault(row.workflow_id, []).append(row)
    return out


@bp.get("/workflows")
@admin_only
def workflows():
    """Every workflow, its versions, who uses it and its live tickets per version."""
    rows = db.session.scalars(select(Workflow).order_by(Workflow.key)).all()
    ids = [w.id for w in rows]
    versions = _versions(ids)
    return render_template(
        "admin/workflows/list.html",
        workflows=rows,
        versions=versions,
        counts=live_counts(v.id for vs in versions.values() for v in vs),
        topics=_topics(ids),
        history=admin_history.recent(db.session, area="workflow", limit=10),
    )


@bp.get("/workflows/<key>")
@admin_only
def workflow(key: str):
    """One workflow: its versions, the topics that use it, and its history."""
    wf = workflow_or_404(key)
    versions = _versions([wf.id]).get(wf.id, [])
    return render_template(
        "admin/workflows/workflow.html",
        workflow=wf,
        versions=versions,
        counts=live_counts(v.id for v in versions),
        topics=_topics([wf.id]).get(wf.id, []),
        history=admin_history.recent(db.session, area="workflow", subject=key, limit=20),
    )


@bp.get("/workflows/<key>/history")
@admin_only
def workflow_history(key: str):
    """Every recorded change to one workflow: who, when, what."""
    wf = workflow_or_404(key)
    return render_template(
        "admin/workflows/history.html",
        workflow=wf,
        history=admin_history.recent(db.session, area="workflow", subject=key, limit=500),
    )


@bp.get("/workflows/<key>/versions/<int:number>")
@admin_only
def workflow_version(key: str, number: int):
    """One version's document, with line numbers, and its diagram."""
    wf, version = version_or_404(key, number)
    definition = compiled_version(db.session, version.id, version.checksum).definition
    return render_template(
        "admin/workflows/version.html",
        workflow=wf,
        version=version,
        definition=definition,
        diagram=diagram.render(definition),
        live=live_counts([version.id]).get(version.id, 0),
    )


@bp.post("/workflows/<key>/versions/<int:number>/copy")
@admin_only
def workflow_copy(key: str, number: int):
    """A new draft whose text is a copy of this version."""
    _, version = version_or_404(key, number)
    draft = drafts.create_draft(db.session, version.id, actor(), clock.now())
    flash(f"Draft version {draft.number} created from version {number}.")
    return redirect(url_for("admin.workflow_edit", key=key, number=draft.number), 303)


@bp.post("/workflows/<key>/versions/<int:number>/discard")
@admin_only
def workflow_discard(key: str, number: int):
    """Delete a draft."""
    _, version = version_or_404(key, number)
    drafts.discard_draft(db.session, version.id, actor(), clock.now())
    flash(f"Draft version {number} discarded.")
    return redirect(url_for("admin.workflow", key=key), 303)


def _number(name: str) -> int | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdecimal():
        abort(400, "Choose the versions to compare from the lists.")
    return int(raw)


@bp.get("/workflows/<key>/diff")
@admin_only
def workflow_diff(key: str):
    """What changed between two versions: states, events and guards, then the text."""
    wf = workflow_or_404(key)
    numbers = [v.number for v in _versions([wf.id]).get(wf.id, [])]
    old_n, new_n = _number("from"), _number("to")
    if new_n is None and numbers:
        new_n = numbers[0]
    if old_n is None and new_n is not None:
        old_n = max((n for n in numbers if n < new_n), default=new_n)
    if old_n is None or new_n is None:
        abort(404, f"Workflow '{key}' has no versions to compare.")
    _, old = version_or_404(key, old_n)
    _, new = version_or_404(key, new_n)
    before = compiled_version(db.session, old.id, old.checksum).definition
    after = compiled_version(db.session, new.id, new.checksum).definition
    text = difflib.unified_diff(
        old.source.splitlines(),
        new.source.splitlines(),
        f"version {old.number}",
        f"version {new.number}",
        lineterm="",
    )
    return render_template(
        "admin/workflows/diff.html",
        workflow=wf,
        old=old,
        new=new,
        numbers=numbers,
        change=diff(before, after),
        text=list(text),
    )
