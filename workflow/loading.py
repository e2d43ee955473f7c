"""The compiled workflow of a stored version, read from the database only on a cache miss."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.errors import NotFound
from workflow.machines import Compiled, compiled
from workflow.models import WorkflowVersion


def compiled_version(session: Session, version_id: int, checksum: str | None = None) -> Compiled:
    """The compiled workflow of a version; the source is only read on a cache miss."""
    if checksum is None:
        checksum = session.scalar(
            select(WorkflowVersion.checksum).where(WorkflowVersion.id == version_id)
        )
        if checksum is None:
            raise NotFound(f"There is no workflow version {version_id}.")

    def source() -> str:
        return session.scalar(
            select(WorkflowVersion.source).where(WorkflowVersion.id == version_id)
        )

    return compiled(checksum, source)
