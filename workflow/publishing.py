"""Workflow versions: load the built-in documents, add drafts, publish one version.

Exactly one version of a workflow is published at a time (a partial unique index makes
the database agree). Publishing moves every live ticket of the workflow onto the new
version in the same transaction, logging each move; tickets in states the new version
removes need a mapping to one of its states, or the publish is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    case,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from workflow import definition as wfdef
from workflow import publish_clocks
from workflow.errors import NotFound, PublishRefused
from workflow.followups import FollowUp
from workflow.loading import compiled_version
from workflow.machines import checksum
from workflow.models import (
    Ticket,
    TransitionLog,
    UtcDateTime,
    VersionStatus,
    Workflow,
    WorkflowVersion,
)
from workflow.rules import Actor

BUILTIN_DIR = Path(__file__).parent / "definitions"
UPGRADE_EVENT = "upgrade_workflow"


@dataclass(frozen=True)
class Published:
    """What a publish did: how many live tickets moved onto the version, and the timers and
    live updates of the re-clocked ones, for the caller to dispatch after its commit."""

    moved: int
    follow_ups: list[FollowUp] = field(default_factory=list)


def add_version(session: Session, source: str, actor: Actor, now: datetime) -> WorkflowVersion:
    """Validate a document and store it as the next draft version of its workflow (created on
    first use). Raises InvalidDefinition with every problem; does not commit."""
    definition = wfdef.parse(source)
    workflow = session.scalar(select(Workflow).where(Workflow.key == definition.key))
    if workflow is None:
        workflow = Workflow(key=definition.key, label=definition.label)
        session.add(workflow)
        session.flush()
    last = (
        session.scalar(
            select(func.max(WorkflowVersion.number)).where(
                WorkflowVersion.workflow_id == workflow.id
            )
        )
        or 0
    )
    version = WorkflowVersion(
        workflow_id=workflow.id,
        number=last + 1,
        status=VersionStatus.DRAFT,
        source=source,
        checksum=checksum(source),
        created_at=now,
        created_by_id=actor.id,
    )
    session.add(version)
    session.flush()
    return version


def _definition(session: Session, version: WorkflowVersion) -> wfdef.Definition:
    """The version's definition from the per-process cache: one publish reads it in several
    steps, and parsing and validating it each time would be work done four times."""
    return compiled_version(session, version.id, version.checksum).definition


def removed_states_in_use(session: Session, version: WorkflowVersion) -> dict[str, int]:
    """Live tickets of the workflow sitting in states this version does not have: state -> count."""
    definition = _definition(session, version)
    rows = session.execute(
        select(Ticket.state, func.count())
        .join(WorkflowVersion, Ticket.workflow_version_id == WorkflowVersion.id)
        .where(
            WorkflowVersion.workflow_id == version.workflow_id,
            Ticket.workflow_version_id != version.id,
            Ticket.closed_at.is_(None),
        )
        .group_by(Ticket.state)
    )
    return {state: n for state, n in rows if state not in definition.states}


def publish(
    session: Session,
    version_id: int,
    actor: Actor,
    now: datetime,
    state_mapping: Mapping[str, str] | None = None,
) -> Published:
    """Publish a version and move the workflow's live tickets onto it (each ticket's version
    goes up by one); returns how many moved and the follow-ups of the re-clocked ones.

    Refuses (PublishRefused, nothing changed) when live tickets sit in removed states that the
    mapping does not send to a state of the new version. Does not commit: the caller's
    transaction makes the whole move atomic.
    """
    version = session.get(WorkflowVersion, version_id)
    if version is None:
        raise NotFound(f"There is no workflow version {version_id}.")
    if version.status == VersionStatus.PUBLISHED:
        raise PublishRefused(f"Version {version.number} is already published.")
    definition = _definition(session, version)
    mapping = dict(state_mapping or {})
    for old, new in mapping.items():
        if new not in definition.states:
            raise PublishRefused(
                f"The mapping sends '{old}' to '{new}', which version "
                f"{version.number} does not have."
            )
    missing = {s: n for s, n in removed_states_in_use(session, version).items() if s not in mapping}
    if missing:
        listed = ", ".join(
            f"'{s}' ({n} live ticket{'s' if n != 1 else ''})" for s, n in sorted(missing.items())
        )
        raise PublishRefused(
            f"Version {version.number} removes states that live tickets are "
            f"in: {listed}. Map each of them to a state of the new version."
        )
    session.execute(
        update(WorkflowVersion)
        .where(
            WorkflowVersion.workflow_id == version.workflow_id,
            WorkflowVersion.status == VersionStatus.PUBLISHED,
        )
        .values(status=VersionStatus.ARCHIVED)
    )
    session.flush()
    version.status = VersionStatus.PUBLISHED
    version.published_at = now
    session.flush()
    return _move_live_tickets(session, version, mapping, actor, now)


def _move_live_tickets(
    session: Session, version: WorkflowVersion, mapping: dict[str, str], actor: Actor, now: datetime
) -> Published:
    """Two set-based statements: log every move, then move (and version-bump) the tickets
    whose clocks stay as they are; workflow/publish_clocks.py moves the others one by one.

    `updated_at` is left as it was: it is the ticket's last activity (the dashboards' "Last
    activity" and the customer's "My tickets" sort by it), and a new version of the
    workflow is nobody's activity on the ticket. The version bump is what tells a form
    loaded before the move that the ticket changed (409), the log row is what moves the
    dashboards' polling cursor, and timers take `now` explicitly, so none needs it."""
    live = (
        select(Ticket.id)
        .join(WorkflowVersion, Ticket.workflow_version_id == WorkflowVersion.id)
        .where(
            WorkflowVersion.workflow_id == version.workflow_id,
            Ticket.workflow_version_id != version.id,
            Ticket.closed_at.is_(None),
        )
    )
    new_state = (
        case(
            *((Ticket.state == old, literal(new, String)) for old, new in mapping.items()),
            else_=Ticket.state,
        )
        if mapping
        else Ticket.state
    )
    note = f"Moved to version {version.number} of the workflow."
    definition = _definition(session, version)
    reclock = publish_clocks.tickets_whose_clocks_change(session, live, definition, mapping)
    session.execute(
        insert(TransitionLog).from_select(
            [
                "ticket_id",
                "actor_id",
                "actor_role",
                "at",
                "event",
                "from_state",
                "to_state",
                "workflow_version_id",
                "note",
            ],
            select(
                Ticket.id,
                literal(actor.id, BigInteger),
                literal(actor.role, String),
                literal(now, UtcDateTime()),
                literal(UPGRADE_EVENT, String),
                Ticket.state,
                new_state,
                literal(version.id, Integer),
                literal(note, String),
            ).where(Ticket.id.in_(live)),
        )
    )
    moved = session.execute(
        update(Ticket)
        .where(Ticket.id.in_(live), Ticket.id.not_in(reclock))
        .values(
            workflow_version_id=version.id,
            state=new_state,
            closed_at=_closed_at(new_state, definition, now),
            version=Ticket.version + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    follow_ups = publish_clocks.move(session, reclock, version.id, definition, mapping, now)
    session.expire_all()
    return Published(moved + len(reclock), follow_ups)


def _closed_at(new_state: ColumnElement, definition: wfdef.Definition, now: datetime) -> Any:
    """A ticket mapped into a final state is closed now, like any other way into one."""
    finals = [s.id for s in definition.states.values() if s.final]
    return case((new_state.in_(finals), literal(now, UtcDateTime())), else_=Ticket.closed_at)


def load_builtin(session: Session, actor: Actor, now: datetime) -> list[str]:
    """Store and publish each built-in document whose exact text is not stored yet.

    Idempotent: run on every `db upgrade` and seed. A changed built-in becomes a new version,
    published only while the workflow still runs a system-made version: once an admin has
    published their own, the new built-in waits as a draft for them to review. It also stays
    a draft when publishing it would need a state mapping. Returns one line per action taken.
    Does not commit.
    """
    done = []
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        source = path.read_text(encoding="utf-8")
        if (
            session.scalar(
                select(WorkflowVersion.id).where(WorkflowVersion.checksum == checksum(source))
            )
            is not None
        ):
            continue
        version = add_version(session, source, actor, now)
        current = session.scalar(
            select(WorkflowVersion).where(
                WorkflowVersion.workflow_id == version.workflow_id,
                WorkflowVersion.status == VersionStatus.PUBLISHED,
            )
        )
        if current is not None and current.created_by_id is not None:
            done.append(
                f"stored {path.stem} version {version.number} as a draft: an admin published "
                f"version {current.number}, so the new built-in waits for their review"
            )
            continue
        try:
            with session.begin_nested():
                # Timers of re-clocked tickets are left to the sweep: this runs from `db
                # upgrade` and seeding, often before Redis and the workers are up.
                publish(session, version.id, actor, now)
            done.append(f"published {path.stem} version {version.number}")
        except PublishRefused as exc:
            done.append(f"stored {path.stem} version {version.number} as a draft: {exc}")
    return done
