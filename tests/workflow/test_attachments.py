"""Attachments in the domain: what is accepted (by name and content), the size limit, and
rows saved in the same transaction as their message, or nothing at all."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from workflow import attachments, services
from workflow.attachments import Store, Upload, UploadTooLarge
from workflow.errors import InvalidInput, NotFound, PermissionDenied, StaleTicket
from workflow.file_types import clean_filename
from workflow.models import Attachment, EntryKind, ThreadEntry, Ticket

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


def up(name, data):
    return Upload(name, io.BytesIO(data))


def stored(root):
    return sorted(p.name for p in root.rglob("*") if p.is_file())


@pytest.fixture
def store(tmp_path):
    return Store(tmp_path / "attachments", max_bytes=1000, max_files=3)


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("screenshot.PNG", PNG, "image/png"),
        ("invoice.pdf", PDF, "application/pdf"),
        ("vpn.log", "Fehler: Zeitüberschreitung\n".encode(), "text/plain; charset=utf-8"),
    ],
)
def test_files_whose_content_matches_their_name_are_accepted(store, name, data, content_type):
    (staged,) = store.stage([up(name, data)])
    assert (staged.filename, staged.content_type, staged.size_bytes) == (
        name,
        content_type,
        len(data),
    )
    assert store.path(staged.key).read_bytes() == data


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("report.pdf", b"MZ\x90\x00" + b"\x00" * 60, "is a program or script"),
        ("notes.txt", b"\x7fELF\x02\x01\x01", "is a program or script"),
        ("run.txt", b"#!/bin/sh\nrm -rf /\n", "is a program or script"),
        ("page.html", b"<p>hello</p>", "web page"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "web page"),
        ("readme.txt", b"hi <SCRIPT>alert(1)</script>", "web page"),
        ("photo.png", PDF, "is named like a PNG image but its content is not"),
        ("data.bin", b"\x01\x02", "is not a kind of file we accept"),
        ("setup.exe", b"hello", "is not a kind of file we accept"),
        ("notes.txt", b"\xff\xfe\x00h\x00i", "is named like plain text but its content is not"),
        ("empty.txt", b"", "is empty"),
    ],
)
def test_anything_else_is_refused_with_a_sentence_and_nothing_is_kept(store, name, data, message):
    with pytest.raises(InvalidInput, match=message):
        store.stage([up("fine.png", PNG), up(name, data)])
    assert stored(store.root) == []


def test_a_file_over_the_limit_is_refused_while_it_streams(store):
    with pytest.raises(UploadTooLarge, match="larger than 1,000 bytes"):
        store.stage([up("big.txt", b"a" * 1001)])
    assert stored(store.root) == []
    assert store.stage([up("fits.txt", b"a" * 1000)])[0].size_bytes == 1000


def test_too_many_files_are_refused(store):
    with pytest.raises(InvalidInput, match="at most 3 files"):
        store.stage([up(f"{i}.png", PNG) for i in range(4)])


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\carol\\report.pdf", "report.pdf"),
        ("evil\u202egnp.exe", "evilgnp.exe"),  # no right-to-left override
        ('a"b;c.pdf', "a_b_c.pdf"),
        ("x" * 300 + ".png", "x" * 116 + ".png"),
    ],
)
def test_filenames_are_labels_without_paths_or_tricks(raw, clean):
    assert clean_filename(raw) == clean


def entries_of(world, ticket_id):
    return world.session.scalars(
        select(ThreadEntry).where(ThreadEntry.ticket_id == ticket_id).order_by(ThreadEntry.id)
    ).all()


def test_attachments_are_saved_with_their_reply_in_one_transaction(world, store):
    ticket = world.open()
    agent = world.actor(world.agent)
    with attachments.staged(store, [up("fix.pdf", PDF)]) as files:
        services.reply(
            world.session, ticket.id, agent, world.now, "Here is the fix.", attachments=files
        )
    (row,) = world.session.scalars(select(Attachment)).all()
    reply_entry = entries_of(world, ticket.id)[-1]
    assert (row.ticket_id, row.thread_entry_id, row.uploader_id) == (
        ticket.id,
        reply_entry.id,
        world.agent.id,
    )
    assert reply_entry.kind == EntryKind.PUBLIC_REPLY
    assert store.path(row.storage_key).read_bytes() == PDF


def test_a_stale_message_keeps_no_rows_and_no_files(world, store):
    ticket = world.open()
    services.add_note(world.session, ticket.id, world.actor(world.admin), world.now, "First.")
    agent = world.actor(world.agent)
    with (
        pytest.raises(StaleTicket),
        attachments.staged(store, [up("a.png", PNG)]) as files,
    ):
        services.reply(
            world.session, ticket.id, agent, world.now, "Hi", expected_version=1, attachments=files
        )
    assert world.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert stored(store.root) == []
    # nothing lingers on the session: a later commit on it attaches nothing
    services.add_note(world.session, ticket.id, agent, world.now, "Later.")
    assert world.session.scalar(select(func.count()).select_from(Attachment)) == 0


def test_a_refused_message_keeps_no_rows_and_no_files(world, store):
    ticket = world.open()
    customer = world.actor(world.customer)
    with pytest.raises(PermissionDenied), attachments.staged(store, [up("a.png", PNG)]) as files:
        services.add_note(world.session, ticket.id, customer, world.now, "Hi", attachments=files)
    with pytest.raises(InvalidInput), attachments.staged(store, [up("b.png", PNG)]) as files:
        services.reply(world.session, ticket.id, customer, world.now, "  ", attachments=files)
    assert world.session.scalar(select(func.count()).select_from(Attachment)) == 0
    assert stored(store.root) == []


def test_a_failure_saving_the_rows_leaves_no_message_and_no_files(world, store):
    ticket = world.open()
    agent = world.actor(world.agent)
    before = len(entries_of(world, ticket.id))
    with attachments.staged(store, [up("a.png", PNG)]) as first:
        services.add_note(world.session, ticket.id, agent, world.now, "One.", attachments=first)
    kept = stored(store.root)
    with pytest.raises(IntegrityError), attachments.staged(store, [up("b.png", PNG)]) as files:
        # the same storage key twice: the second row breaks the unique constraint
        services.add_note(
            world.session, ticket.id, agent, world.now, "Two.", attachments=[*files, *first]
        )
    assert len(entries_of(world, ticket.id)) == before + 1
    assert world.session.scalar(select(func.count()).select_from(Attachment)) == 1
    assert stored(store.root) == kept


def test_a_customer_reply_with_files_still_moves_the_ticket_as_the_workflow_says(world, store):
    ticket = world.open()
    admin = world.actor(world.admin)
    services.apply_event(world.session, ticket.id, "claim", admin, world.now)
    services.apply_event(
        world.session, ticket.id, "request_info", admin, world.now, reply="Which version?"
    )
    customer = world.actor(world.customer)
    with attachments.staged(store, [up("version.txt", b"4.2")]) as files:
        outcome = services.reply(
            world.session, ticket.id, customer, world.now, "4.2", attachments=files
        )
    assert outcome.ticket.state == "in_progress"  # customer_replied fired
    message = world.session.scalar(select(ThreadEntry).where(ThreadEntry.body == "4.2"))
    assert message.kind == EntryKind.CUSTOMER_MESSAGE
    (row,) = world.session.scalars(select(Attachment)).all()
    assert (row.thread_entry_id, row.uploader_id) == (message.id, customer.id)


def test_a_customer_opening_a_ticket_attaches_to_its_first_message(world, store):
    customer = world.actor(world.customer)
    with attachments.staged(store, [up("error.png", PNG)]) as files:
        outcome = services.open_ticket(
            world.session,
            requester_id=customer.id,
            help_topic_id=world.topic.id,
            subject="VPN error",
            body="See the screenshot.",
            actor=customer,
            now=world.now,
            attachments=files,
        )
    (row,) = world.session.scalars(select(Attachment)).all()
    assert row.ticket_id == outcome.ticket.id
    assert row.thread_entry_id == entries_of(world, outcome.ticket.id)[0].id
    assert row.uploader_id == customer.id


def test_an_agent_opening_a_ticket_for_a_customer_attaches_as_the_uploader(world, store):
    agent = world.actor(world.agent)
    with attachments.staged(store, [up("call.txt", b"Called at 9")]) as files:
        outcome = services.open_ticket(
            world.session,
            requester_id=world.customer.id,
            help_topic_id=world.topic.id,
            subject="Phone call",
            body="Printer jam.",
            actor=agent,
            now=world.now,
            attachments=files,
        )
    (row,) = world.session.scalars(select(Attachment)).all()
    first = entries_of(world, outcome.ticket.id)[0]
    assert (row.ticket_id, row.thread_entry_id, row.uploader_id) == (
        outcome.ticket.id,
        first.id,
        world.agent.id,
    )
    assert first.author_id == world.customer.id
    public = attachments.listing(world.session, outcome.ticket.id, public_only=True)
    assert [a.filename for a in public] == ["call.txt"]  # the customer can download it


def test_a_reply_to_a_closed_ticket_carries_its_files_to_the_new_ticket(world, store):
    closed = world.open()
    services.apply_event(
        world.session, closed.id, "discard", world.actor(world.admin), world.now, note="Dupe."
    )
    customer = world.actor(world.customer)
    with attachments.staged(store, [up("again.png", PNG)]) as files:
        outcome = services.reply(
            world.session, closed.id, customer, world.now, "Still broken.", attachments=files
        )
    assert outcome.ticket.id != closed.id
    new = world.session.get(Ticket, outcome.ticket.id)
    assert new.linked_ticket_id == closed.id
    assert world.session.scalar(select(Attachment.ticket_id)) == new.id
    assert world.session.scalar(select(Attachment.thread_entry_id)) == (
        entries_of(world, new.id)[0].id
    )


def test_requesters_never_reach_the_files_of_internal_notes(world, store):
    ticket = world.open()
    agent = world.actor(world.agent)
    with attachments.staged(store, [up("secret.txt", b"x")]) as files:
        services.add_note(
            world.session, ticket.id, agent, world.now, "Internal.", attachments=files
        )
    customer = world.actor(world.customer)
    later = world.now.replace(minute=5)
    with attachments.staged(store, [up("mine.png", PNG)]) as files:
        services.reply(
            world.session, ticket.id, customer, later, "Screenshot attached.", attachments=files
        )
    staff_view = attachments.listing(world.session, ticket.id, public_only=False)
    customer_view = attachments.listing(world.session, ticket.id, public_only=True)
    assert [(a.filename, a.internal) for a in staff_view] == [
        ("secret.txt", True),
        ("mine.png", False),
    ]
    assert [a.filename for a in customer_view] == ["mine.png"]
    secret = staff_view[0].id
    with pytest.raises(NotFound):
        attachments.for_download(world.session, store, secret, ticket.id, public_only=True)
    found, path = attachments.for_download(
        world.session, store, secret, ticket.id, public_only=False
    )
    assert path.read_bytes() == b"x" and found.filename == "secret.txt"
    other = world.open()
    with pytest.raises(NotFound):  # not through another ticket's address
        attachments.for_download(world.session, store, secret, other.id, public_only=False)


def test_files_no_verb_recorded_are_not_kept_and_it_says_so(world, store):
    ticket = world.open()
    agent = world.actor(world.agent)
    with (
        pytest.raises(RuntimeError, match="no service verb recorded them"),
        attachments.staged(store, [up("a.png", PNG)]),
    ):
        # a verb called without them (or through some other path) would end up here
        services.add_note(world.session, ticket.id, agent, world.now, "Forgot the files.")
    assert stored(store.root) == []
