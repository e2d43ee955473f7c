"""The agent's ticket page, composer and conflicts: a canned response is inserted once, the
composer keeps the mode just used, a change refused as stale says who changed what (not
version numbers) and loses nothing typed, and the page's HTML has no "None" attributes and
no repeated ids."""

from __future__ import annotations

import html as htmllib
import re
from collections import Counter

import pytest

from tests.web.helpers import HX, fresh, text
from workflow import canned, services

NOTE_CHECKED = re.compile(r'checked[^>]*value="note"|value="note"[^>]*checked')
REPLY_CHECKED = re.compile(r'checked[^>]*value="reply"|value="reply"[^>]*checked')


def claimed_by_bob(world, ticket):
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.colleague), world.now)


# ---- canned responses: one way to insert ----------------------------------------------------


def test_with_javascript_choosing_inserts_and_the_insert_button_is_only_there_without(
    browser, world, ticket
):
    canned.save(
        world.session,
        world.actor(world.admin),
        world.now,
        name="Thanks",
        body="Thanks!",
        is_active=True,
    )
    browser.sign_in(world.agent.email)
    page = text(browser.get(f"/staff/tickets/{ticket.number}"))
    picker = page[page.index('class="field canned-picker"') :]
    picker = picker[: picker.index("</p>")]
    assert 'hx-trigger="change"' in picker
    assert re.search(r"<noscript><button[^>]*>Insert</button></noscript>", picker)
    assert picker.count("<button") == 1


# ---- the composer keeps its mode ------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "body", "kept", "other"),
    [
        ("note", "Checked the logs.", NOTE_CHECKED, REPLY_CHECKED),
        ("reply", "On it.", REPLY_CHECKED, NOTE_CHECKED),
    ],
)
def test_after_a_message_the_composer_stays_in_the_mode_just_used(
    browser, world, ticket, mode, body, kept, other
):
    """After an internal note the next message is a note too, never public by surprise."""
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": mode, "body": body, "version": ticket.version},
        headers=HX,
    )
    assert answer.status_code == 200, text(answer)
    composer = text(answer)[text(answer).index('id="ticket-composer"') :]
    assert kept.search(composer) and not other.search(composer)


def test_without_javascript_a_note_comes_back_to_the_page_on_internal_note(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": "note", "body": "Checked the logs.", "version": ticket.version},
    )
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith(f"/staff/tickets/{ticket.number}?mode=note")
    page = text(browser.get(answer.headers["Location"]))
    assert NOTE_CHECKED.search(page) and "Internal note added." in page
    plain = text(browser.get(f"/staff/tickets/{ticket.number}?mode=<b>"))
    assert REPLY_CHECKED.search(plain)  # anything else is a reply, as before


# ---- a stale version: words for people, nothing typed lost -------------------------------


def test_with_htmx_a_stale_message_says_who_changed_what_and_offers_a_refresh(
    browser, world, ticket
):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    claimed_by_bob(world, ticket)
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": "reply", "body": "My long draft", "version": ticket.version},
        headers=HX,
    )
    assert answer.status_code == 409
    said = htmllib.unescape(text(answer))
    assert "Bob Level2 claimed this ticket after you opened it." in said
    assert "Your message was not sent; it is still in the composer." in said
    assert "version" not in said and "Reload" not in said
    assert f'hx-get="/staff/tickets/{ticket.number}/live"' in said
    assert 'hx-swap="none"' in said
    assert fresh(world, ticket).assignee_id == world.colleague.id


def test_the_refresh_shows_the_changes_and_moves_the_composer_on_without_replacing_it(
    browser, world, ticket
):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    claimed_by_bob(world, ticket)
    answer = browser.get(f"/staff/tickets/{ticket.number}/live", headers=HX)
    html = text(answer)
    now = fresh(world, ticket).version
    assert 'id="ticket-main" hx-swap-oob' in html and "Bob Level2" in html
    assert f'id="composer-version" name="version" value="{now}" hx-swap-oob="true"' in html
    assert 'name="body"' not in html  # the draft is not touched


def test_an_event_refused_as_stale_says_nothing_was_changed(browser, world, ticket):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    claimed_by_bob(world, ticket)
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/claim", {"version": ticket.version}, headers=HX
    )
    assert answer.status_code == 409
    said = htmllib.unescape(text(answer))
    assert "Bob Level2 claimed this ticket after you opened it." in said
    assert "Nothing was changed." in said and "version" not in said


def test_without_javascript_a_stale_message_comes_back_in_the_composer_and_sends_next_time(
    browser, world, ticket
):
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    claimed_by_bob(world, ticket)
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": "note", "body": "My <long> draft", "version": ticket.version},
    )
    assert answer.status_code == 409
    page = text(answer)
    assert "My &lt;long&gt; draft</textarea>" in page
    assert NOTE_CHECKED.search(page)
    assert "Bob Level2 claimed this ticket after you opened it." in htmllib.unescape(page)
    assert "Your message was not sent: it is below, as you wrote it." in page
    now = fresh(world, ticket).version
    assert f'id="composer-version" name="version" type="hidden" value="{now}"' in page
    again = browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": "note", "body": "My <long> draft", "version": now},
    )
    assert again.status_code == 303


# ---- the page's HTML ------------------------------------------------------------------------


def test_no_attribute_says_none_and_no_id_repeats(browser, world, ticket):
    browser.sign_in(world.agent.email)
    page = text(browser.get(f"/staff/tickets/{ticket.number}"))
    assert '="None"' not in page
    repeated = [i for i, n in Counter(re.findall(r'\sid="([^"]+)"', page)).items() if n > 1]
    assert repeated == []
    assert page.count('name="csrf_token"') > 3  # every action form still carries the token
    assert "Show what changed" not in page  # the stale notice block is for 409s only


def test_an_autocomplete_given_is_still_rendered(browser):
    page = text(browser.get("/staff/login"))
    assert 'autocomplete="username"' in page and '="None"' not in page
