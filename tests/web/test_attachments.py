"""Attachments over HTTP: sent with a new ticket, a customer's reply, an agent's reply or
internal note; refused by kind, content or size with a sentence (never a 500) and then
nothing is stored; downloaded only by people who may see them, never rendered inline."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from sqlalchemy import select

from tests.web.helpers import (
    EXE,
    LIMIT,
    PDF,
    PNG,
    attachment_limits,
    count,
    count_queries,
    fresh,
    links,
    stored,
    upload,
)
from workflow import services
from workflow.models import Attachment, ThreadEntry, Ticket


@pytest.fixture
def files(app, tmp_path):
    """Attachments stored under this test's own folder, with a small limit."""
    return attachment_limits(app, tmp_path)


@pytest.fixture
def ticket(app, world):
    world.agent.departments.append(world.department)
    world.other_customer.password_hash = world.customer.password_hash  # set by `app`
    world.session.commit()
    return world.open()


def fetch(browser, url):
    """A download as the browser gets it (bytes; the response closed, as a server does)."""
    with browser.client.get(url) as answer:
        return answer.status_code, answer.headers, answer.get_data()


def reply_as_customer(browser, world, ticket, *files, version=None):
    browser.get(f"/tickets/{ticket.number}")
    return browser.post(
        f"/tickets/{ticket.number}/reply",
        {
            "body": "Here is what I see.",
            "version": version or fresh(world, ticket).version,
            "attachments": list(files),
        },
    )


def compose(browser, world, ticket, mode, *files):
    browser.get(f"/staff/tickets/{ticket.number}")
    return browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {
            "mode": mode,
            "body": "See the attached file.",
            "version": fresh(world, ticket).version,
            "attachments": list(files),
        },
    )


def test_a_customer_opens_a_ticket_with_a_screenshot_and_downloads_it(browser, world, files):
    browser.sign_in(world.customer.email, staff=False)
    browser.get("/tickets/new")
    answer = browser.post(
        "/tickets/new",
        {
            "help_topic_id": world.topic.id,
            "subject": "VPN error",
            "body": "See the screenshot.",
            "attachments": [upload(PNG, "../../carol/error screen.png")],
        },
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    number = int(re.search(r"/tickets/(\d+)", answer.headers["Location"]).group(1))
    page = browser.get(f"/tickets/{number}").get_data(as_text=True)
    ((href, name),) = links(page, f"/tickets/{number}")
    assert name == "error screen.png"
    status, headers, data = fetch(browser, href)
    assert (status, data) == (200, PNG)
    assert headers["Content-Type"] == "image/png"
    assert headers["Content-Disposition"].startswith("attachment;")
    assert "error screen.png" in headers["Content-Disposition"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in headers["Content-Security-Policy"]
    assert len(stored(files)) == 1


def test_internal_notes_files_reach_staff_but_never_the_customer(browser, world, ticket, files):
    browser.sign_in(world.agent.email)
    assert compose(browser, world, ticket, "note", upload(b"root cause", "notes.txt")).status_code
    assert compose(browser, world, ticket, "reply", upload(PDF, "fix.pdf")).status_code == 303
    staff_page = browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    staff_links = links(staff_page, f"/staff/tickets/{ticket.number}")
    assert [name for _, name in staff_links] == ["notes.txt", "fix.pdf"]
    assert "internal note" in staff_page
    assert fetch(browser, staff_links[0][0])[2] == b"root cause"
    browser.post("/staff/logout")

    browser.sign_in(world.customer.email, staff=False)
    page = browser.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    assert [name for _, name in links(page, f"/tickets/{ticket.number}")] == ["fix.pdf"]
    assert "notes.txt" not in page
    note_file = staff_links[0][0].removeprefix("/staff")
    assert fetch(browser, note_file)[0] == 404  # exactly like a file that does not exist
    assert fetch(browser, staff_links[1][0].removeprefix("/staff"))[2] == PDF


def test_a_customers_reply_carries_its_files_to_the_agent(browser, world, ticket, files):
    browser.sign_in(world.customer.email, staff=False)
    answer = reply_as_customer(browser, world, ticket, upload(PDF, "invoice.pdf"))
    assert answer.status_code == 303
    browser.post("/logout")
    browser.sign_in(world.agent.email)
    page = browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    ((href, name),) = links(page, f"/staff/tickets/{ticket.number}")
    assert name == "invoice.pdf" and fetch(browser, href)[2] == PDF


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (EXE, "invoice.pdf", "is a program or script; those cannot be attached."),
        (b"<html><script>alert(1)</script></html>", "page.html", "web page"),
        (PDF, "photo.png", "is named like a PNG image but its content is not"),
        (b"x" * (LIMIT + 1), "big.txt", "is larger than 4,096 bytes, the most one attachment"),
    ],
)
def test_a_refused_file_is_a_422_sentence_and_nothing_is_stored(
    browser, world, ticket, files, data, name, message
):
    browser.sign_in(world.customer.email, staff=False)
    entries = count(world, ThreadEntry)
    answer = reply_as_customer(browser, world, ticket, upload(PNG, "ok.png"), upload(data, name))
    assert answer.status_code == 422
    assert message in htmllib.unescape(answer.get_data(as_text=True))
    assert (count(world, ThreadEntry), count(world, Attachment)) == (entries, 0)
    assert fresh(world, ticket).version == 1
    assert stored(files) == []


def test_a_request_over_the_size_limit_is_a_413_sentence_and_stores_nothing(
    browser, world, ticket, files
):
    browser.sign_in(world.agent.email)
    entries = count(world, ThreadEntry)
    answer = compose(browser, world, ticket, "reply", upload(b"a" * (4 * LIMIT), "huge.txt"))
    assert answer.status_code == 413
    assert "What you sent is too large: attach at most 2 files of" in answer.get_data(as_text=True)
    assert (count(world, ThreadEntry), count(world, Attachment), stored(files)) == (entries, 0, [])


def test_too_many_files_are_refused(browser, world, ticket, files):
    browser.sign_in(world.agent.email)
    answer = compose(browser, world, ticket, "reply", *(upload(PNG, f"{i}.png") for i in range(3)))
    assert answer.status_code == 422
    assert "Attach at most 2 files to one message." in answer.get_data(as_text=True)
    assert stored(files) == []


def test_opening_a_ticket_with_a_refused_file_keeps_what_was_typed(browser, world, files):
    browser.sign_in(world.customer.email, staff=False)
    browser.get("/tickets/new")
    answer = browser.post(
        "/tickets/new",
        {
            "help_topic_id": world.topic.id,
            "subject": "Printer broken",
            "body": "It jams.",
            "attachments": [upload(EXE, "driver.exe")],
        },
    )
    assert answer.status_code == 422
    page = htmllib.unescape(answer.get_data(as_text=True))
    assert "“driver.exe” is a program or script" in page
    assert 'value="Printer broken"' in page
    assert (count(world, Ticket), stored(files)) == (0, [])


def test_a_stale_reply_keeps_no_file(browser, world, ticket, files):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    services.add_note(world.session, ticket.id, world.actor(world.admin), world.now, "First!")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": "reply", "body": "Hi", "version": 1, "attachments": [upload(PNG, "a.png")]},
    )
    assert answer.status_code == 409
    assert (count(world, Attachment), stored(files)) == (0, [])


def test_a_reply_with_a_file_needs_the_csrf_token(browser, world, ticket, files):
    browser.sign_in(world.customer.email, staff=False)
    answer = browser.post(
        f"/tickets/{ticket.number}/reply",
        {"body": "Hi", "version": 1, "attachments": [upload(PNG, "a.png")]},
        csrf=False,
    )
    assert answer.status_code == 400
    assert (count(world, Attachment), stored(files)) == (0, [])


@pytest.fixture
def public_file(browser, world, ticket, files):
    """A file the customer sent: the URL of its staff and its Support Center download."""
    browser.sign_in(world.customer.email, staff=False)
    reply_as_customer(browser, world, ticket, upload(PNG, "shot.png"))
    browser.post("/logout")
    attachment_id = world.session.scalar(select(Attachment.id))
    return (
        f"/staff/tickets/{ticket.number}/attachments/{attachment_id}",
        f"/tickets/{ticket.number}/attachments/{attachment_id}",
    )


@pytest.mark.parametrize(
    ("who", "staff_status", "portal_status"),
    [
        (None, 302, 302),
        ("customer", 403, 200),
        ("other_customer", 403, 404),
        ("agent", 200, 403),
        ("colleague", 404, 403),  # an agent of no department of this ticket
        ("ops", 200, 403),
        ("admin", 200, 403),
    ],
)
def test_who_may_download(browser, world, public_file, who, staff_status, portal_status):
    staff_url, portal_url = public_file
    if who is not None:
        user = getattr(world, who)
        browser.sign_in(user.email, staff=user.is_staff)
    (staff, staff_headers, _), (portal, portal_headers, _) = (
        fetch(browser, staff_url),
        fetch(browser, portal_url),
    )
    assert (staff, portal) == (staff_status, portal_status)
    if who is None:
        assert "/staff/login" in staff_headers["Location"]
        assert portal_headers["Location"].startswith("/login")


def test_a_file_is_only_reachable_through_its_own_ticket(browser, world, public_file):
    other = world.open(subject="Another one")
    _, portal_url = public_file
    browser.sign_in(world.customer.email, staff=False)
    wrong = re.sub(r"/tickets/\d+/", f"/tickets/{other.number}/", portal_url)
    assert fetch(browser, wrong)[0] == 404


def queries(app, call):
    answer, statements = count_queries(app, call)
    assert answer.status_code == 200
    return len(statements)


def test_ticket_pages_make_the_same_queries_however_many_files(app, browser, world, ticket, files):
    staff_page = f"/staff/tickets/{ticket.number}"
    portal_page = f"/tickets/{ticket.number}"
    browser.sign_in(world.customer.email, staff=False)
    reply_as_customer(browser, world, ticket, upload(PNG, "one.png"))
    portal_few = queries(app, lambda: browser.get(portal_page))
    browser.post("/logout")
    browser.sign_in(world.agent.email)
    staff_few = queries(app, lambda: browser.get(staff_page))
    for i in range(3):
        compose(browser, world, ticket, "reply", upload(PNG, f"{i}a.png"), upload(PDF, f"{i}.pdf"))
    assert count(world, Attachment) == 7
    assert queries(app, lambda: browser.get(staff_page)) == staff_few
    browser.post("/staff/logout")
    browser.sign_in(world.customer.email, staff=False)
    assert queries(app, lambda: browser.get(portal_page)) == portal_few
