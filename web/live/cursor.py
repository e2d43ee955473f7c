"""Where the help desk is at, in one cheap query: the polling fallback's "anything new?".

Every transition appends a row to the transition log, and every message or note a row to
the thread, so the highest id of each moves whenever a queue can have changed. Both are
primary-key maxima (one index probe each, whatever the table sizes). A change that writes
neither is caught by the live push, which refreshes without asking.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflow.models import ThreadEntry, TransitionLog


def queue_cursor(session: Session) -> str:
    """An opaque token that changes when any ticket was transitioned or written to."""
    log_id, entry_id = session.execute(
        select(
            select(func.max(TransitionLog.id)).scalar_subquery(),
            select(func.max(ThreadEntry.id)).scalar_subquery(),
        )
    ).one()
    return f"{log_id or 0}.{entry_id or 0}"
