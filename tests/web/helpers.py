"""Small helpers the web tests share, so each test file keeps only what is its own.

HTMX headers and a page's text, a ticket re-read after a request changed it, a second
person's browser, the SQL statements a request sends (the way the query-count tests count
them), and the attachment tests' files, limits and stored-file listing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from sqlalchemy import event, func, select

from tests.factories import World
from tests.web.conftest import Browser
from web.extensions import db
from workflow.models import Ticket

HX = {"HX-Request": "true"}


def text(answer) -> str:
    return answer.get_data(as_text=True)


def fresh(world: World, ticket: Ticket) -> Ticket:
    """The ticket as the database has it now (after a request changed it)."""
    world.session.expire_all()
    return world.session.get(Ticket, ticket.id)


def signed_in(app: Flask, email: str, *, staff: bool = True) -> Browser:
    """Another person, in a browser of their own, signed in to the staff pages (or the
    Support Center with staff=False)."""
    browser = Browser(app.test_client())
    assert browser.sign_in(email, staff=staff).status_code == 302, f"{email} could not sign in"
    return browser


def count_queries(app: Flask, call: Callable[[], object]) -> tuple[object, list[str]]:
    """What `call` answers, and the SQL statements it sent through the app's engine."""
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        answer = call()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return answer, statements


# ---- attachments ---------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 40
PDF = b"%PDF-1.4\n" + b"1 0 obj << >> endobj\n" * 5
EXE = b"MZ\x90\x00\x03" + b"\x00" * 100
LIMIT = 4096


def attachment_limits(app: Flask, tmp_path: Path) -> Path:
    """Store attachments under this test's own folder, with small limits (LIMIT bytes a
    file, two files a message); returns that folder."""
    root = tmp_path / "attachments"
    app.config.update(
        ATTACHMENT_DIR=str(root),
        ATTACHMENT_MAX_BYTES=LIMIT,
        ATTACHMENT_MAX_FILES=2,
        MAX_CONTENT_LENGTH=3 * LIMIT,
    )
    return root


def upload(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    """A file field's value, as the test client posts it."""
    return (io.BytesIO(data), name)


def stored(root: Path) -> list[str]:
    """The names of the files stored under `root` (none when it does not exist yet)."""
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def links(html: str, prefix: str) -> list[tuple[str, str]]:
    """The attachment links on a page below `prefix` (a ticket's address): (address, name)."""
    return re.findall(rf'href="({re.escape(prefix)}/attachments/\d+)">([^<]+)</a>', html)


def count(world: World, model: type) -> int:
    world.session.expire_all()
    return world.session.scalar(select(func.count()).select_from(model))


def count_of(page, label: str) -> str:
    """The count the dashboard shows next to the queue called `label`."""
    found = re.search(
        rf'{re.escape(label)} <span class="count">([^<]+)</span>', page.get_data(as_text=True)
    )
    assert found, f"no count for {label}"
    return found.group(1)
