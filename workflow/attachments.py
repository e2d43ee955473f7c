"""Files sent with a message: checked, stored under a random name, saved with the message.

What is guaranteed:
- A file is accepted only if its extension is on the list AND its first bytes are what that
  extension promises (a program renamed `.pdf` is refused, and so is anything that looks
  like a program or a web page, whatever its name). HTML and SVG are never accepted, so no
  attachment can run script in our origin; downloads add `attachment` and `nosniff` too.
- Each file is at most `Store.max_bytes`; a larger one is refused while it streams in.
- The name a person gave is only a label (sanitised: no path, no control characters); the
  file lives under `Store.root` at a random key.
- The attachment rows are written by the service verb that writes their message (`reply`,
  `add_note`, `open_ticket` take `attachments=`), in its transaction, linked to that entry's
  id: a refused or stale message leaves no rows, `staged` then removes the files, and a
  failure saving the rows leaves no message either.
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

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from workflow.errors import NotFound
from workflow.file_types import CHUNK, UploadRefused, check_content, clean_filename, extension_of
from workflow.models import Attachment, EntryKind, ThreadEntry, User
from workflow.ticket_record import TicketChange

__all__ = [
    "Staged",
    "Staging",
    "Store",
    "Upload",
    "UploadRefused",
    "UploadTooLarge",
    "add_message",
    "for_download",
    "listing",
    "record",
    "staged",
]

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


class Staging(list[Staged]):
    """The checked files of one message, written to the store and awaiting their rows.

    A service verb given these (`attachments=`) inserts their rows with the message's own
    thread entry, in its transaction, through `record`; `recorded` says it did."""

    recorded: bool = False


@contextmanager
def staged(store: Store, uploads: Sequence[Upload]) -> Iterator[Staging]:
    """Check and write `uploads` (a refusal raises before anything else happens), and hand
    them to the block, which passes them to ONE service verb as `attachments=`.

    If the block raises (the verb was refused, found the ticket stale, or its transaction
    failed) the files are removed: the transaction rolled their rows back. A block that ends
    without a verb having recorded them is a programming error: the files are removed and
    it says so, rather than leave files no row points at.
    """
    files = Staging(store.stage(uploads))
    try:
        yield files
    except BaseException:
        store.discard(files)
        raise
    if files and not files.recorded:
        store.discard(files)
        raise RuntimeError("attachments were staged, but no service verb recorded them")


def record(
    session: Session,
    files: Sequence[Staged],
    *,
    ticket_id: int,
    entry_id: int,
    uploader_id: int,
    now: datetime,
) -> None:
    """Insert the rows of `files` for thread entry `entry_id`, in the caller's transaction
    (the service verb that wrote the entry commits or rolls back both together)."""
    if not files:
        return
    session.execute(
        insert(Attachment.__table__),
        [
            {
                "ticket_id": ticket_id,
                "thread_entry_id": entry_id,
                "uploader_id": uploader_id,
                "filename": item.filename,
                "content_type": item.content_type,
                "size_bytes": item.size_bytes,
                "storage_key": item.key,
                "created_at": now,
            }
            for item in files
        ],
    )
    if isinstance(files, Staging):
        files.recorded = True


def add_message(
    session: Session, change: TicketChange, entry: ThreadEntry, files: Sequence[Staged]
) -> None:
    """Add a service call's message to the thread, with its files. Without files it goes
    with the write path's entries (`change.save`); with files it is inserted now, to learn
    the id their rows point at (first in the call, so it keeps its place before the entries
    an event the call fires adds), in the call's transaction."""
    if not files:
        change.entries.append(entry)
        return
    ticket_id = change.record.id
    entry_id = session.scalar(
        insert(ThreadEntry.__table__)
        .values(
            ticket_id=ticket_id,
            kind=entry.kind,
            author_id=entry.author_id,
            body=entry.body,
            created_at=entry.created_at,
        )
        .returning(ThreadEntry.__table__.c.id)
    )
    record(
        session,
        files,
        ticket_id=ticket_id,
        entry_id=entry_id,
        uploader_id=entry.author_id,
        now=entry.created_at,
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
