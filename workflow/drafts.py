"""What an admin does to a workflow's versions: copy one into a draft, edit the draft,
discard it, publish it, or roll back to an earlier version. Each verb is one transaction
that also records the change in the admin history, and commits; anything refused raises
before a row changes (a stored draft is always a valid document).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from workflow import admin_history, publishing
from workflow import definition as wfdef
from workflow.definition_diff import diff
from workflow.errors import (
    InvalidDefinition,
    InvalidInput,
    NotFound,
    Problem,
    PublishRefused,
    TicketflowError,
)
from workflow.followups import FollowUp
from workflow.loading import compiled_version
from workflow.machines import checksum
from workflow.models import VersionStatus, Workflow, WorkflowVersion
from workflow.outcome import transaction
from workflow.rules import Actor


class NotADraft(InvalidInput):
    """Only a draft can be edited, discarded or published as it is."""


class ConcurrentChange(TicketflowError):
    """Someone else changed the draft or published a version first; reload and look again."""


@dataclass(frozen=True)
class Published:
    version: WorkflowVersion
    moved: int
    """How many live tickets moved onto the version."""
    follow_ups: list[FollowUp] = field(default_factory=list)
    """Timers and live updates of the re-clocked tickets: dispatch after the commit."""


def _version(session: Session, version_id: int) -> WorkflowVersion:
    version = session.get(WorkflowVersion, version_id)
    if version is None:
        raise NotFound(f"There is no workflow version {version_id}.")
    return version


def _draft(session: Session, version_id: int, doing: str) -> WorkflowVersion:
    version = _version(session, version_id)
    if version.status != VersionStatus.DRAFT:
        raise NotADraft(
            f"Version {version.number} is {version.status.value}; only a draft can be {doing}. "
            "Copy it into a new draft first."
        )
    return version


def _key(session: Session, version: WorkflowVersion) -> str:
    return session.scalar(select(Workflow.key).where(Workflow.id == version.workflow_id))


def _published(session: Session, workflow_id: int) -> WorkflowVersion | None:
    return session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow_id,
            WorkflowVersion.status == VersionStatus.PUBLISHED,
        )
    )


def check_draft(source: str, key: str) -> tuple[wfdef.Definition | None, list[Problem]]:
    """The checks `ticketflow workflow validate` makes, plus one: a draft stays a version of
    its workflow, so its `workflow` key cannot change. (definition, []) when it is valid."""
    try:
        definition = wfdef.parse(source)
    except InvalidDefinition as exc:
        return None, exc.problems
    if definition.key != key:
        line = next(
            (i for i, text in enumerate(source.splitlines(), 1) if text.startswith("workflow:")),
            None,
        )
        return None, [
            Problem(
                f"this draft is a version of '{key}': `workflow` must stay '{key}' "
                f"(not '{definition.key}').",
                line,
            )
        ]
    return definition, []


def create_draft(
    session: Session, from_version_id: int, actor: Actor, now: datetime
) -> WorkflowVersion:
    """A new draft whose text is a copy of any version of the same workflow."""
    with transaction(session):
        source = _version(session, from_version_id)
        number = source.number
        draft = publishing.add_version(session, source.source, actor, now)
        admin_history.record(
            session, actor, now, "workflow.draft", _key(session, draft),
            f"Created draft version {draft.number} as a copy of version {number}.",
            {"version": draft.number, "copied_from": number},
        )  # fmt: skip
    return draft


def save_draft(
    session: Session,
    version_id: int,
    source: str,
    expected_checksum: str | None,
    actor: Actor,
    now: datetime,
) -> bool:
    """Replace a draft's text with a valid document of the same workflow; returns whether
    anything changed. A draft saved by someone else since `expected_checksum` was read is
    refused (ConcurrentChange), as is an invalid document (InvalidDefinition, every problem)."""
    with transaction(session):
        draft = _draft(session, version_id, "edited")
        key = _key(session, draft)
        definition, problems = check_draft(source, key)
        if definition is None:
            raise InvalidDefinition(problems)
        new_sum = checksum(source)
        if expected_checksum is not None and expected_checksum != draft.checksum:
            raise ConcurrentChange(
                f"Version {draft.number} was saved by someone else since you opened it. "
                "Copy your text, reload the page and apply your change again."
            )
        if new_sum == draft.checksum:
            return False
        before = compiled_version(session, draft.id, draft.checksum).definition
        changed = session.execute(
            update(WorkflowVersion)
            .where(WorkflowVersion.id == draft.id, WorkflowVersion.checksum == draft.checksum)
            .values(source=source, checksum=new_sum)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise ConcurrentChange(
                f"Version {draft.number} was saved by someone else at the same moment. "
                "Reload the page and apply your change again."
            )
        change = diff(before, definition)
        admin_history.record(
            session, actor, now, "workflow.edit", key,
            f"Edited draft version {draft.number}: {change.summary()}.",
            {"version": draft.number, "diff": change.as_details()},
        )  # fmt: skip
    session.expire_all()
    return True


def discard_draft(session: Session, version_id: int, actor: Actor, now: datetime) -> None:
    """Delete a draft (no ticket can run on a draft, so nothing else changes)."""
    with transaction(session):
        draft = _draft(session, version_id, "discarded")
        key, number = _key(session, draft), draft.number
        session.execute(delete(WorkflowVersion).where(WorkflowVersion.id == draft.id))
        admin_history.record(
            session, actor, now, "workflow.discard", key, f"Discarded draft version {number}.",
            {"version": number},
        )  # fmt: skip
    session.expire_all()


def publish_draft(
    session: Session,
    version_id: int,
    mapping: Mapping[str, str],
    actor: Actor,
    now: datetime,
) -> Published:
    """Publish a valid draft and move the workflow's live tickets onto it (each move logged);
    live tickets in states it removes go where `mapping` sends them. PublishRefused, with
    nothing changed, when a removed state that live tickets are in has no mapping."""
    with transaction(session):
        draft = _draft(session, version_id, "published")
        problems = wfdef.problems_in(draft.source)
        if problems:
            raise InvalidDefinition(problems)
        published = _publish(session, draft, mapping, actor, now)
        summary = (
            f"Published version {draft.number}"
            f"{published_diff(session, draft, published.previous)}; "
            f"{_moved(published.moved, mapping)}."
        )
        admin_history.record(
            session, actor, now, "workflow.publish", _key(session, draft), summary,
            published.details(draft.number, mapping),
        )  # fmt: skip
    return Published(draft, published.moved, published.follow_ups)


def roll_back(
    session: Session,
    version_id: int,
    mapping: Mapping[str, str],
    actor: Actor,
    now: datetime,
) -> Published:
    """Go back to an earlier version by publishing a copy of it as a new version (the
    history of versions only ever grows). Same guarantees as `publish_draft`."""
    with transaction(session):
        old = _version(session, version_id)
        if old.status == VersionStatus.PUBLISHED:
            raise PublishRefused(f"Version {old.number} is the published version already.")
        if old.status == VersionStatus.DRAFT:
            raise PublishRefused(
                f"Version {old.number} is a draft, never published: publish it instead."
            )
        number = old.number
        copy = publishing.add_version(session, old.source, actor, now)
        published = _publish(session, copy, mapping, actor, now)
        summary = (
            f"Rolled back to version {number}: published its copy as version {copy.number}"
            f"{published_diff(session, copy, published.previous)}; "
            f"{_moved(published.moved, mapping)}."
        )
        details = published.details(copy.number, mapping)
        admin_history.record(
            session, actor, now, "workflow.rollback", _key(session, copy), summary,
            {**details, "copied_from": number},
        )  # fmt: skip
    return Published(copy, published.moved, published.follow_ups)


@dataclass(frozen=True)
class _Done:
    previous: WorkflowVersion | None
    moved: int
    follow_ups: list[FollowUp]

    def details(self, number: int, mapping: Mapping[str, str]) -> dict[str, object]:
        return {
            "version": number,
            "previous": self.previous.number if self.previous is not None else None,
            "moved": self.moved,
            "mapping": dict(mapping),
        }


def _publish(
    session: Session,
    version: WorkflowVersion,
    mapping: Mapping[str, str],
    actor: Actor,
    now: datetime,
) -> _Done:
    previous = _published(session, version.workflow_id)
    try:
        published = publishing.publish(session, version.id, actor, now, dict(mapping))
    except IntegrityError:
        raise ConcurrentChange(
            "Another admin published a version of this workflow at the same moment. "
            "Reload the page and look again."
        ) from None
    return _Done(previous, published.moved, published.follow_ups)


def published_diff(
    session: Session, version: WorkflowVersion, previous: WorkflowVersion | None
) -> str:
    """ " (1 state added (x) since version 3)", or "" when there was nothing published."""
    if previous is None:
        return ""
    old = compiled_version(session, previous.id, previous.checksum).definition
    new = compiled_version(session, version.id, version.checksum).definition
    return f" ({diff(old, new).summary()} since version {previous.number})"


def _moved(moved: int, mapping: Mapping[str, str]) -> str:
    text = f"{moved} live ticket{'s' if moved != 1 else ''} moved onto it"
    if mapping:
        text += " (" + ", ".join(f"'{a}' → '{b}'" for a, b in sorted(mapping.items())) + ")"
    return text
