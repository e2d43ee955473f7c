"""Dry run: try a version on a sample ticket (a live one of the workflow, or made up) with a
sequence of events; see each step allowed or refused with its reasons, the resulting state
and the SLA clocks. Reads only; `workflow.dry_run` does the work on plain values."""

from __future__ import annotations

from typing import Any, NamedTuple

from flask import request
from sqlalchemy import select

from web import clock
from web.admin import bp
from web.admin.workflow_common import admin_only, form_text, render, version_or_404
from web.extensions import db
from workflow import dry_run
from workflow.errors import InvalidInput
from workflow.loading import compiled_version
from workflow.models import Ticket, WorkflowVersion

ROWS = 6
ACTORS = {
    "agent_a": "Agent A (agent)",
    "agent_b": "Agent B (agent)",
    "requester": "The customer who opened it",
    "admin": "An admin",
    "ops": "Operations staff",
    "system": "Ticketflow itself (timers)",
}
HAND_TO = {
    "": "—",
    "agent_a": "Agent A",
    "agent_b": "Agent B",
    "team": "A team",
    "other_department": "Another department",
}
ASSIGNEES = {"nobody": "Nobody", "agent_a": "Agent A", "agent_b": "Agent B"}


def _int(name: str, problems: list[str], label: str) -> int | None:
    raw = form_text(name, 10)
    if not raw:
        return None
    if not raw.isdecimal():
        problems.append(f"{label} must be a whole number of days, not {raw!r}.")
        return None
    return int(raw)


class LiveTicket(NamedTuple):
    number: int
    subject: str
    state_label: str
    """Its state's label in the ticket's own version, as the dashboard shows it."""


def _live_tickets(version: WorkflowVersion) -> list[LiveTicket]:
    """The latest live tickets of the workflow, to start a dry run from a real one."""
    rows = db.session.execute(
        select(
            Ticket.number,
            Ticket.subject,
            Ticket.state,
            WorkflowVersion.id,
            WorkflowVersion.checksum,
        )
        .join(WorkflowVersion, Ticket.workflow_version_id == WorkflowVersion.id)
        .where(WorkflowVersion.workflow_id == version.workflow_id, Ticket.closed_at.is_(None))
        .order_by(Ticket.id.desc())
        .limit(20)
    ).all()
    out = []
    for number, subject, state, version_id, checksum in rows:
        states = compiled_version(db.session, version_id, checksum).definition.states
        out.append(LiveTicket(number, subject, states[state].label if state in states else state))
    return out


def _sample(version: WorkflowVersion, problems: list[str]) -> dry_run.Sample:
    """The made-up ticket, or the chosen live one played by the dry run's cast."""
    number = form_text("sample_ticket", 20)
    if number:
        ticket = None
        if number.isdecimal():
            ticket = db.session.scalar(
                select(Ticket)
                .join(WorkflowVersion, Ticket.workflow_version_id == WorkflowVersion.id)
                .where(
                    Ticket.number == int(number),
                    WorkflowVersion.workflow_id == version.workflow_id,
                )
            )
        if ticket is None:
            problems.append(f"There is no ticket #{number} on this workflow.")
            return dry_run.Sample(state="")
        resolved = ticket.resolved_at
        return dry_run.Sample(
            state=ticket.state,
            assignee="agent_a" if ticket.assignee_id is not None else "nobody",
            resolved_days_ago=(clock.now() - resolved).days if resolved else None,
            confirmed=ticket.confirmed_at is not None,
            team=ticket.team_id is not None,
        )
    return dry_run.Sample(
        state=form_text("sample_state", 63),
        assignee=form_text("sample_assignee", 20) or "nobody",
        resolved_days_ago=_int("sample_resolved_days_ago", problems, "Days since resolving"),
        confirmed=bool(request.form.get("sample_confirmed")),
        team=bool(request.form.get("sample_team")),
    )


def _steps(problems: list[str]) -> list[dry_run.Step]:
    out = []
    for i in range(1, ROWS + 1):
        event = form_text(f"step_event_{i}", 63)
        if not event:
            continue
        out.append(
            dry_run.Step(
                event=event,
                actor=form_text(f"step_actor_{i}", 20),
                note=form_text(f"step_note_{i}", 2000) or None,
                reply=form_text(f"step_reply_{i}", 2000) or None,
                hand_to=form_text(f"step_hand_to_{i}", 20) or None,
                after_days=_int(f"step_after_days_{i}", problems, f"Step {i}'s days") or 0,
            )
        )
    return out


@bp.route("/workflows/<key>/versions/<int:number>/dry-run", methods=["GET", "POST"])
@admin_only
def workflow_dry_run(key: str, number: int):
    """Try the version on a sample ticket; nothing is written."""
    wf, version = version_or_404(key, number)
    compiled = compiled_version(db.session, version.id, version.checksum)
    result, messages, status = None, [], 200
    if request.method == "POST":
        problems: list[str] = []
        sample, steps = _sample(version, problems), _steps(problems)
        try:
            if problems:
                raise InvalidInput(problems)
            result = dry_run.run(compiled, sample, steps, clock.now())
        except InvalidInput as exc:
            messages, status = exc.messages, 422
    context: dict[str, Any] = {
        "workflow": wf,
        "version": version,
        "definition": compiled.definition,
        "result": result,
        "messages": messages,
        "form": request.form,
        "rows": ROWS,
        "actors": ACTORS,
        "hand_to": HAND_TO,
        "assignees": ASSIGNEES,
        "tickets": _live_tickets(version),
    }
    return render(
        "admin/workflows/dry_run.html", "admin/workflows/_dry_run_result.html", status, **context
    )
