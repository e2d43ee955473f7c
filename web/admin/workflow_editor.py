"""Editing a draft: the YAML editor with its problems and diagram beside it, the structured
form for the common edits, and saving.

The problems come from the same checks as `ticketflow workflow validate` (plus: a draft keeps
its workflow's key), asked for as the admin types (a debounced HTMX post to `check`, which
writes nothing). The structured form rewrites the text in the editor without saving it.
Saving accepts only a valid document; anything else answers 422 with every problem and the
stored draft stays as it was. Without JavaScript every button posts the same form.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, request, url_for

from web import clock
from web.admin import bp
from web.admin.workflow_common import (
    actor,
    admin_only,
    form_text,
    render,
    version_or_404,
)
from web.extensions import db
from web.htmx import wants_fragment
from workflow import definition_edits as edits
from workflow import diagram, drafts, rules
from workflow.definition import CLOCKS, SLA_BEHAVIOURS, Definition
from workflow.errors import InvalidDefinition, InvalidInput
from workflow.loading import compiled_version
from workflow.models import VersionStatus, Workflow, WorkflowVersion

EDITS = ("add_state", "add_event", "attach_guard", "set_sla")


def summary(definition: Definition | None) -> str:
    """ "6 states, 13 events and 33 transitions", as the command line says it."""
    if definition is None:
        return ""
    transitions = sum(len(e.transitions) for e in definition.events.values())
    return (
        f"{len(definition.states)} states, {len(definition.events)} events "
        f"and {transitions} transitions"
    )


def _source() -> str:
    """The editor's text as the browser sent it, with its line endings made Unix ones."""
    return (request.form.get("source") or "").replace("\r\n", "\n").replace("\r", "\n")


def _draft_or_409(key: str, number: int) -> tuple[Workflow, WorkflowVersion]:
    wf, version = version_or_404(key, number)
    if version.status != VersionStatus.DRAFT:
        abort(
            409,
            f"Version {number} is {version.status.value}; only a draft can be edited. "
            "Copy it into a new draft from the workflow's page.",
        )
    return wf, version


def _workspace(
    wf: Workflow,
    version: WorkflowVersion,
    source: str,
    *,
    status: int = 200,
    messages: list[str] | None = None,
    notice: str | None = None,
) -> Any:
    """The editor page (or, for HTMX, its workspace) for `source`, with problems and diagram.

    The diagram is that of `source` when it is valid, else of the last saved draft."""
    definition, problems = drafts.check_draft(source, wf.key)
    shown = definition or compiled_version(db.session, version.id, version.checksum).definition
    states, events = edits.names(source)
    return render(
        "admin/workflows/edit.html",
        "admin/workflows/_workspace.html",
        status,
        workflow=wf,
        version=version,
        source=source,
        saved=source == version.source,
        problems=problems,
        valid=definition is not None,
        summary=summary(definition),
        diagram=diagram.render(shown),
        diagram_is_current=definition is not None,
        messages=messages or [],
        notice=notice,
        states=states,
        events=events,
        roles=rules.ROLES,
        guards=sorted(rules.REGISTRY.values(), key=lambda r: r.name),
        clocks=CLOCKS,
        behaviours=SLA_BEHAVIOURS,
    )


@bp.get("/workflows/<key>/versions/<int:number>/edit")
@admin_only
def workflow_edit(key: str, number: int):
    """The editor for a draft."""
    wf, version = _draft_or_409(key, number)
    return _workspace(wf, version, version.source)


@bp.post("/workflows/<key>/versions/<int:number>/edit")
@admin_only
def workflow_save(key: str, number: int):
    """Save the editor's text as the draft: only a valid document of the same workflow."""
    wf, version = _draft_or_409(key, number)
    source = _source()
    try:
        changed = drafts.save_draft(
            db.session, version.id, source, request.form.get("base") or None, actor(), clock.now()
        )
    except InvalidDefinition as exc:
        count = len(exc.problems)
        return _workspace(
            wf,
            version,
            source,
            status=422,
            messages=[
                f"The draft was not saved: the document has {count} "
                f"problem{'s' if count != 1 else ''} (listed beside the editor)."
            ],
        )
    except drafts.ConcurrentChange as exc:
        abort(409, str(exc))
    flash("Draft saved." if changed else "Nothing to save: the draft already has this text.")
    return redirect(url_for("admin.workflow_edit", key=key, number=number), 303)


@bp.post("/workflows/<key>/versions/<int:number>/check")
@admin_only
def workflow_check(key: str, number: int):
    """Check the editor's text without saving: its problems, and its diagram when valid."""
    wf, version = version_or_404(key, number)
    source = _source()
    if not wants_fragment():
        if version.status != VersionStatus.DRAFT:
            abort(409, "Only a draft can be edited; copy this version into a draft first.")
        return _workspace(wf, version, source)
    definition, problems = drafts.check_draft(source, wf.key)
    return render(
        "admin/workflows/_checks.html",
        None,
        problems=problems,
        valid=definition is not None,
        summary=summary(definition),
        diagram=diagram.render(definition) if definition is not None else None,
        diagram_is_current=True,
        oob=True,
    )


def _edit(op: str, source: str) -> str:
    if op == "add_state":
        return edits.add_state(
            source,
            form_text("state_name", 63),
            form_text("state_label", 120),
            form_text("state_colour", 7),
            {clock: form_text(f"state_sla_{clock}", 10) for clock in CLOCKS},
            form_text("state_description", 1000),
        )
    if op == "add_event":
        return edits.add_event(
            source,
            form_text("event_name", 63),
            request.form.getlist("event_by"),
            request.form.getlist("event_from"),
            form_text("event_to", 63) or None,
            form_text("event_label", 120),
        )
    if op == "attach_guard":
        return edits.attach_guard(
            source,
            form_text("guard_event", 63),
            form_text("guard_rule", 63),
            form_text("guard_params", 1000),
        )
    return edits.set_sla(
        source,
        form_text("sla_state", 63),
        form_text("sla_clock", 20),
        form_text("sla_behaviour", 10),
    )


@bp.post("/workflows/<key>/versions/<int:number>/edit/<op>")
@admin_only
def workflow_structured(key: str, number: int, op: str):
    """A common edit made from the form: rewrites the editor's text (not saved yet)."""
    if op not in EDITS:
        abort(404, f"There is no form edit called '{op}'.")
    wf, version = _draft_or_409(key, number)
    source = _source()
    try:
        changed = _edit(op, source)
    except InvalidInput as exc:
        return _workspace(wf, version, source, status=422, messages=exc.messages)
    return _workspace(
        wf,
        version,
        changed,
        notice=(
            "The editor's text was changed and is not saved yet: check it, then press "
            "“Save draft”. The form rewrites the YAML, so comments and layout are not kept."
        ),
    )
