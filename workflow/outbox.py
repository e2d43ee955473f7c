"""The transactional outbox: a notice is a row committed with the change that causes it.

Services make `Notify` values (workflow/notices.py, workflow/opening.py, the escalation
policy's `notify`) and, inside their transaction, hand them to `record`, the one place that
turns them into `mail_outbox` rows: one INSERT each, with the id RETURNed and no SELECT
before it. What the notice is about is pinned by the same statement: the newest
transition-log row of the ticket (a move), or its newest public reply, read in a scalar
subquery on the `(ticket_id, id)` indexes. So `record` runs after `TicketChange.save`, when
the change's own rows are the newest ones: the ticket's row is locked by the version-checked
UPDATE, so no other transaction can add rows for it before the commit.

A refused change raises before anything is recorded, and a change rolled back takes its rows
with it; a committed change keeps them even if Redis is down or the process dies before the
enqueue. The mail job (jobs/mail.py) and the sweep (jobs/sweep.py) use the helpers below.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, tuple_
from sqlalchemy.orm import Session

from workflow.followups import FollowUp, Notify
from workflow.group_notices import KINDS as GROUP_KINDS
from workflow.models import EntryKind, OutboxMail, ThreadEntry, TransitionLog
from workflow.notices import ASSIGNED, PUBLIC_REPLY, RESOLUTION_REQUEST
from workflow.prepared import Prepared

MOVE_KINDS = (ASSIGNED, *GROUP_KINDS)
"""Notices about a move: pinned to the transition-log row that made it."""
REPLY_KINDS = (PUBLIC_REPLY, RESOLUTION_REQUEST)
"""Notices about a reply: pinned to the public reply's thread entry."""

OUTBOX = OutboxMail.__table__
_VALUES = {c: bindparam(c) for c in ("kind", "ticket_id", "recipient_id", "group_id", "created_at")}
_NEWEST_LOG = (
    select(func.max(TransitionLog.id))
    .where(TransitionLog.ticket_id == bindparam("ticket_id"))
    .scalar_subquery()
)
_NEWEST_REPLY = (
    select(func.max(ThreadEntry.id))
    .where(
        ThreadEntry.ticket_id == bindparam("ticket_id"),
        ThreadEntry.kind == EntryKind.PUBLIC_REPLY,
    )
    .scalar_subquery()
)
_INSERT = {
    pin: Prepared(insert(OUTBOX).values({**_VALUES, **about, "attempts": 0}).returning(OUTBOX.c.id))
    for pin, about in (
        ("move", {"log_id": _NEWEST_LOG}),
        ("reply", {"entry_id": _NEWEST_REPLY}),
        (None, {}),
    )
}
"""Built once: one statement per kind of pin, run on the driver connection (every notice of
a transition is one, so it skips SQLAlchemy's per-statement machinery: workflow/prepared.py)."""


def record(
    session: Session, follow_ups: Iterable[FollowUp], now: datetime, pin: bool = True
) -> list[FollowUp]:
    """Write a row for every `Notify` not yet recorded, in the caller's transaction, and
    return the follow-ups with each `Notify` carrying its row id (others unchanged).

    Call it after the change's rows are written (`pin`: the newest log row or public reply
    of the ticket is the one the notice is about). A caller that cannot (its rows are written
    later) passes `pin=False`: the mail then reads the latest move or reply when it is sent.
    """
    out: list[FollowUp] = []
    for item in follow_ups:
        if isinstance(item, Notify) and item.outbox_id is None:
            item = replace(item, outbox_id=_insert(session, item, now, pin))
        out.append(item)
    return out


def _insert(session: Session, notice: Notify, now: datetime, pin: bool) -> int:
    about = None
    if pin and notice.kind in MOVE_KINDS:
        about = "move"
    elif pin and notice.kind in REPLY_KINDS:
        about = "reply"
    params = {
        "kind": notice.kind,
        "ticket_id": notice.ticket_id,
        "recipient_id": notice.recipient_id,
        "group_id": notice.group_id,
        "created_at": now,
    }
    row = _INSERT[about].first(session, params)
    assert row is not None  # an INSERT ... RETURNING returns its row
    return int(row[0])


# ---- for the mail job and the sweep ----------------------------------------------------------


def claim(session: Session, outbox_id: int) -> OutboxMail | None:
    """The row, locked for this job until its commit (PostgreSQL: FOR UPDATE SKIP LOCKED, so
    a second run of the same job at the same moment does not wait and then send again);
    None when there is no such row or another job holds it (`exists` tells which)."""
    return session.scalar(
        select(OutboxMail).where(OutboxMail.id == outbox_id).with_for_update(skip_locked=True)
    )


def exists(session: Session, outbox_id: int) -> bool:
    return session.scalar(select(OutboxMail.id).where(OutboxMail.id == outbox_id)) is not None


def add_people(
    session: Session, parent: OutboxMail, people: Sequence[int], now: datetime
) -> list[OutboxMail]:
    """One child row per person of a group notice (same kind, ticket, group and pinned move),
    in the caller's transaction. The unique (parent, recipient) key makes a second fan-out of
    the same parent fail rather than mail anyone twice."""
    children = [
        OutboxMail(
            kind=parent.kind,
            ticket_id=parent.ticket_id,
            recipient_id=person,
            group_id=parent.group_id,
            log_id=parent.log_id,
            entry_id=parent.entry_id,
            parent_id=parent.id,
            created_at=now,
            attempts=0,
        )
        for person in people
    ]
    session.add_all(children)
    session.flush()
    return children


def unsent(
    session: Session, since: tuple[datetime, int], before: datetime, limit: int
) -> list[tuple[datetime, int]]:
    """(created_at, id) of unsent rows after the keyset `since` and created before `before`,
    oldest first: a range scan of the partial index `ix_mail_outbox_unsent`."""
    query = (
        select(OutboxMail.created_at, OutboxMail.id)
        .where(
            OutboxMail.sent_at.is_(None),
            OutboxMail.created_at >= since[0],
            tuple_(OutboxMail.created_at, OutboxMail.id) > tuple_(*since),
            OutboxMail.created_at < before,
        )
        .order_by(OutboxMail.created_at, OutboxMail.id)
        .limit(limit)
    )
    return [(at, row_id) for at, row_id in session.execute(query)]
