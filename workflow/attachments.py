"""Files sent with a message: checked, stored under a random name, saved with the message.

What is guaranteed:
- A file is accepted only if its extension is on the list AND its first bytes are what that
  extension promises (a program renamed `.pdf` is refused, and so is anything that looks
  like a program or a web page, whatever its name). HTML and SVG are never accepted, so no
  attachment can run script in our origin; downloads add `attachment` and `nosniff` too.
- Each file is at most `Store.max_bytes`; a larger one is refused while it streams in.
- The name a person gave is only a label (sanitised: no path, no control characters); the
  file lives under `Store.root` at a random key.
- The attachment rows are written in the same transaction as the message they belong to:
  a refused or stale message leaves no rows and no files, and a failure saving the rows
  leaves no message either.
- Who may download follows the message: staff who may see the ticket, and its requester
  for files of public messages only (never those of internal notes).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session, scoped_session

from workflow.errors import NotFound
from workflow.file_types import CHUNK, UploadRefused, check_content, clean_filename, extension_of
from workflow.models import Attachment, EntryKind, ThreadEntry, Ticket, User
from workflow.rules import Actor

__all__ = [
    "Store",
    "Upload",
    "UploadRefused",
    "UploadTooLarge",
    "attached",
    "for_download",
    "listing",
]

MESSAGE_KINDS = (EntryKind.CUSTOMER_MESSAGE, EntryKind.PUBLIC_REPLY, EntryKind.INTERNAL_NOTE)
PUBLIC_KINDS = (EntryKind.CUSTOMER_MESSAGE, EntryKind.PUBLIC_REPLY)


class UploadTooLarge(UploadRefused):
    """A file is larger than the limit; nothing of the request was kept."""


@dataclass(frozen=True)
class Upload:
    """A file as it arrived: the name the sender gave and a stream of its bytes."""

    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class Staged:
    """A checked file written to the store, not yet recorded in the database."""

    key: str
    filename: str
    content_type: str
    size_bytes: int


@dataclass(frozen=True)
class Listed:
    """One attachment as a ticket page lists it."""

    id: int
    filename: str
    content_type: str
    size_bytes: int
    created_at: datetime
    uploader: str
    internal: bool


@dataclass(frozen=True)
class Store:
    """Where files live and how large and how many a message may carry."""

    root: Path
    max_bytes: int = 10 * 1024 * 1024
    max_files: int = 5

    def path(self, key: str) -> Path:
        if len(key) != 32 or not key.isalnum():
            raise NotFound("There is no such file.")
        return self.root / key[:2] / key

    def stage(self, uploads: Sequence[Upload]) -> list[Staged]:
        """Check and write every upload, or none: the first refusal removes what was written
        and raises with a sentence naming the file."""
        uploads = [u for u in uploads if u.filename]
        if len(uploads) > self.max_files:
            raise UploadRefused(f"Attach at most {self.max_files} files to one message.")
        staged: list[Staged] = []
        try:
            for upload in uploads:
                staged.append(self._write(upload))
        except BaseException:
            self.discard(staged)
            raise
        return staged

    def _write(self, upload: Upload) -> Staged:
        name = clean_filename(upload.filename)
        head = upload.stream.read(CHUNK)
        content_type = check_content(name, extension_of(name), head)
        key = secrets.token_hex(16)
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = 0
        try:
            with target.open("xb") as out:
                chunk = head
                while chunk:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UploadTooLarge(
                            f"“{name}” is larger than {_megabytes(self.max_bytes)}, the most one "
                            "attachment may be; nothing was sent."
                        )
                    out.write(chunk)
                    chunk = upload.stream.read(CHUNK)
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        if size == 0:
            target.unlink(missing_ok=True)
            raise UploadRefused(f"“{name}” is empty; attach a file with something in it.")
        return Staged(key, name, content_type, size)

    def discard(self, staged: Sequence[Staged]) -> None:
        for item in staged:
            self.path(item.key).unlink(missing_ok=True)


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


@contextmanager
def attached(
    session: Session,
    store: Store,
    uploads: Sequence[Upload],
    actor: Actor,
    now: datetime,
    ticket_id: int | None = None,
) -> Iterator[list[Staged]]:
    """Attach `uploads` to the message the service called inside this block writes.

    The files are checked and written first (a refusal raises before the service runs).
    The rows are inserted when the service commits, in its transaction, linked to the entry
    `actor` wrote at `now` on `ticket_id` (or, for a customer, on the ticket they opened at
    `now`: a new ticket, or the one a reply to a closed ticket opened). If the block raises,
    the files are removed and the transaction has rolled the rows back.
    """
    staged = store.stage(uploads)
    if not staged:
        yield staged
        return
    real = session() if isinstance(session, scoped_session) else session
    floor = real.scalar(select(func.max(ThreadEntry.id))) or 0

    linked: list[bool] = []

    def link(s: Session) -> None:
        _insert_rows(s, staged, actor, now, ticket_id, floor)
        linked.append(True)

    event.listen(real, "before_commit", link)
    try:
        yield staged
    except BaseException:
        store.discard(staged)
        raise
    finally:
        if event.contains(real, "before_commit", link):
            event.remove(real, "before_commit", link)
    if not linked:  # the block never committed through this session: say so, keep no files
        store.discard(staged)
        raise RuntimeError("attachments were staged, but no commit of the session saved them")


def _insert_rows(
    session: Session,
    staged: list[Staged],
    actor: Actor,
    now: datetime,
    ticket_id: int | None,
    floor: int,
) -> None:
    """Insert the rows for the entry the service wrote: by `actor` at `now`, newer than any
    entry before the block began, on `ticket_id` or on a ticket `actor` opened at `now`."""
    session.flush()
    opened = (
        select(Ticket.id)
        .where(Ticket.requester_id == actor.id, Ticket.created_at == now)
        .order_by(Ticket.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    tickets = [opened] if ticket_id is None else [ticket_id, opened]
    found = session.execute(
        select(ThreadEntry.id, ThreadEntry.ticket_id)
        .where(
            ThreadEntry.ticket_id.in_(tickets),
            ThreadEntry.id > floor,
            ThreadEntry.author_id == actor.id,
            ThreadEntry.created_at == now,
            ThreadEntry.kind.in_(MESSAGE_KINDS),
        )
        .order_by(ThreadEntry.id.desc())
        .limit(1)
    ).first()
    if found is None:
        raise RuntimeError("attachments were staged, but the call wrote no message to carry them")
    entry_id, owner = found
    session.execute(
        insert(Attachment.__table__),
        [
            {
                "ticket_id": owner,
                "thread_entry_id": entry_id,
                "uploader_id": actor.id,
                "filename": item.filename,
                "content_type": item.content_type,
                "size_bytes": item.size_bytes,
                "storage_key": item.key,
                "created_at": now,
            }
            for item in staged
        ],
    )


def listing(session: Session, ticket_id: int, *, public_only: bool) -> list[Listed]:
    """A ticket's attachments, oldest first, in one query; `public_only` leaves out those
    of internal notes (what the requester may see)."""
    query = (
        select(Attachment, ThreadEntry.kind, User.name)
        .join(ThreadEntry, ThreadEntry.id == Attachment.thread_entry_id)
        .outerjoin(User, User.id == Attachment.uploader_id)
        .where(Attachment.ticket_id == ticket_id)
        .order_by(Attachment.id)
    )
    if public_only:
        query = query.where(ThreadEntry.kind.in_(PUBLIC_KINDS))
    return [
        Listed(
            a.id,
            a.filename,
            a.content_type,
            a.size_bytes,
            a.created_at,
            name or "a deleted account",
            kind == EntryKind.INTERNAL_NOTE,
        )
        for a, kind, name in session.execute(query).all()
    ]


def for_download(
    session: Session, store: Store, attachment_id: int, ticket_id: int, *, public_only: bool
) -> tuple[Attachment, Path]:
    """The attachment of this ticket and where its bytes are. The caller has checked the
    person may see the ticket; `public_only` (a requester) hides internal notes' files, as
    NotFound, never a hint that they exist."""
    query = (
        select(Attachment)
        .join(ThreadEntry, ThreadEntry.id == Attachment.thread_entry_id)
        .where(Attachment.id == attachment_id, Attachment.ticket_id == ticket_id)
    )
    if public_only:
        query = query.where(ThreadEntry.kind.in_(PUBLIC_KINDS))
    found = session.scalar(query)
    path = store.path(found.storage_key) if found is not None else None
    if found is None or path is None or not path.is_file():
        raise NotFound("There is no such file on this ticket.")
    return found, path
