"""Phone and walk-in intake with files: an agent attaches what the customer sent, with the
Support Center's limits and checks; the customer sees and downloads those files; a refused
file (or customer) keeps nothing and says why in a sentence."""

from __future__ import annotations

import html as htmllib

import pytest
from sqlalchemy import select

from tests.web.helpers import EXE, LIMIT, PDF, PNG, attachment_limits, count, links, stored, upload
from workflow.models import Attachment, ThreadEntry, Ticket, User


@pytest.fixture
def files(app, world, tmp_path):
    """Attachments under this test's own folder, small limits; the agent works the topic's
    department (so sees the tickets opened there)."""
    root = attachment_limits(app, tmp_path)
    world.agent.departments.append(world.department)
    world.session.commit()
    return root


def intake(browser, world, *attached, email=None, name=""):
    browser.get("/staff/tickets/new")
    return browser.post(
        "/staff/tickets/new",
        {
            "email": email or world.customer.email,
            "name": name,
            "help_topic_id": world.topic.id,
            "subject": "Called: card reader error",
            "body": "Carol read out the error; photo attached.",
            "attachments": list(attached),
        },
    )


def fetch(browser, url):
    with browser.client.get(url) as answer:
        return answer.status_code, answer.get_data()


def test_the_intake_form_offers_files_with_the_portals_limits(browser, world, files):
    browser.sign_in(world.agent.email)
    page = browser.get("/staff/tickets/new").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file" name="attachments" multiple' in page
    assert "Up to 2 files of" in page


def test_an_agent_attaches_the_customers_files_and_the_customer_downloads_them(
    browser, world, files
):
    browser.sign_in(world.agent.email)
    answer = intake(browser, world, upload(PNG, "reader.png"), upload(PDF, "statement.pdf"))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    ticket = world.session.scalar(select(Ticket))
    rows = world.session.scalars(select(Attachment).order_by(Attachment.id)).all()
    first = world.session.scalar(select(ThreadEntry).where(ThreadEntry.ticket_id == ticket.id))
    assert [(r.filename, r.uploader_id, r.thread_entry_id) for r in rows] == [
        ("reader.png", world.agent.id, first.id),
        ("statement.pdf", world.agent.id, first.id),
    ]
    staff_page = browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert [n for _, n in links(staff_page, f"/staff/tickets/{ticket.number}")] == [
        "reader.png",
        "statement.pdf",
    ]
    browser.post("/staff/logout")

    browser.sign_in(world.customer.email, staff=False)
    page = browser.get(f"/tickets/{ticket.number}").get_data(as_text=True)
    found = links(page, f"/tickets/{ticket.number}")
    assert [n for _, n in found] == ["reader.png", "statement.pdf"]
    assert fetch(browser, found[0][0]) == (200, PNG)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (EXE, "statement.pdf", "is a program or script; those cannot be attached."),
        (b"<svg onload='alert(1)'/>", "logo.svg", "web page"),
        (b"x" * (LIMIT + 1), "big.txt", "is larger than 4,096 bytes, the most one attachment"),
    ],
)
def test_a_refused_file_is_a_422_sentence_and_no_ticket_customer_or_file_is_kept(
    browser, world, files, data, name, message
):
    browser.sign_in(world.agent.email)
    people = count(world, User)
    answer = intake(
        browser,
        world,
        upload(PNG, "ok.png"),
        upload(data, name),
        email="new@example.com",
        name="Nina New",
    )
    assert answer.status_code == 422
    page = htmllib.unescape(answer.get_data(as_text=True))
    assert message in page
    assert 'value="Called: card reader error"' in page  # what was typed stays
    assert (count(world, Ticket), count(world, Attachment), count(world, User)) == (0, 0, people)
    assert stored(files) == []


def test_too_many_files_are_refused(browser, world, files):
    browser.sign_in(world.agent.email)
    answer = intake(browser, world, *(upload(PNG, f"{i}.png") for i in range(3)))
    assert answer.status_code == 422
    assert "Attach at most 2 files to one message." in answer.get_data(as_text=True)
    assert (count(world, Ticket), stored(files)) == (0, [])


def test_a_refused_customer_keeps_the_files_too(browser, world, files):
    browser.sign_in(world.agent.email)
    answer = intake(browser, world, upload(PNG, "a.png"), email=world.admin.email)
    assert answer.status_code == 422
    assert "staff account" in answer.get_data(as_text=True)
    assert (count(world, Ticket), count(world, Attachment), stored(files)) == (0, 0, [])


def test_a_request_over_the_size_limit_is_a_413_and_stores_nothing(browser, world, files):
    browser.sign_in(world.agent.email)
    answer = intake(browser, world, upload(b"a" * (4 * LIMIT), "huge.txt"))
    assert answer.status_code == 413
    assert (count(world, Ticket), stored(files)) == (0, [])
