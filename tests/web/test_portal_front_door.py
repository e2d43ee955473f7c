"""The Support Center's front door and its errors, as a customer meets them: the landing
page and where it sends people, the header's links, signing in on the wrong page, an empty
reply, and saying what is still wrong when a resolved ticket is not."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.web.conftest import PASSWORD
from tests.web.helpers import fresh, signed_in, text
from workflow import services
from workflow.models import EntryKind, ThreadEntry, TransitionLog

HEADER = re.compile(r"<header.*?</header>", re.S)


def customer_messages(world, ticket) -> list[str]:
    world.session.expire_all()
    return list(
        world.session.scalars(
            select(ThreadEntry.body)
            .where(
                ThreadEntry.ticket_id == ticket.id,
                ThreadEntry.kind == EntryKind.CUSTOMER_MESSAGE,
            )
            .order_by(ThreadEntry.id)
        )
    )


def resolved(world, ticket):
    agent = world.actor(world.agent)
    services.apply_event(world.session, ticket.id, "claim", agent, world.now)
    services.apply_event(world.session, ticket.id, "resolve", agent, world.now, reply="Fixed?")
    return fresh(world, ticket)


# ---- the front door -------------------------------------------------------------------------


def test_a_visitor_gets_a_welcome_with_sign_in_register_open_and_staff_links(browser):
    answer = browser.get("/")
    assert answer.status_code == 200
    html = text(answer)
    assert "<h1>Support Center</h1>" in html
    links = {label: href for href, label in re.findall(r'href="([^"]+)"[^>]*>([^<]+)</a>', html)}
    assert links["Sign in"] == "/login"
    assert links["Create an account"] == "/register"
    assert links["Open a ticket"] == "/login?next=/tickets/new"
    assert links["Staff sign in"] == "/staff/login"
    for developer_words in ("Help-desk lifecycles", "next pieces to land", "Guards", "States"):
        assert developer_words not in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_open_a_ticket_leads_through_sign_in_to_the_new_ticket_form(browser, world):
    browser.get("/login?next=/tickets/new")
    answer = browser.post(
        "/login?next=/tickets/new", {"email": world.customer.email, "password": PASSWORD}
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/tickets/new"
    assert browser.get("/tickets/new").status_code == 200


def test_open_a_ticket_leads_through_a_new_account_too(browser):
    login = text(browser.get("/login?next=/tickets/new"))
    assert 'href="/register?next=/tickets/new">Create an account</a>' in login
    form = text(browser.get("/register?next=/tickets/new"))
    assert 'name="next" value="/tickets/new"' in form
    answer = browser.post(
        "/register",
        {
            "name": "Nina New",
            "email": "nina@example.com",
            "password": "a long enough password",
            "confirm": "a long enough password",
            "next": "/tickets/new",
        },
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/tickets/new"


def test_registration_ignores_an_offsite_next(browser):
    browser.get("/register")
    answer = browser.post(
        "/register",
        {
            "name": "Olga Off",
            "email": "olga@example.com",
            "password": "a long enough password",
            "confirm": "a long enough password",
            "next": "//evil.example/x",
        },
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/tickets"


def test_a_signed_in_customer_goes_to_my_tickets(app, world):
    carol = signed_in(app, world.customer.email, staff=False)
    answer = carol.get("/")
    assert answer.status_code == 302 and answer.headers["Location"] == "/tickets"


@pytest.mark.parametrize("who", ["agent", "admin", "ops"])
def test_signed_in_staff_go_to_the_dashboard(app, world, who):
    staff = signed_in(app, getattr(world, who).email)
    answer = staff.get("/")
    assert answer.status_code == 302 and answer.headers["Location"] == "/staff"


# ---- the customer header --------------------------------------------------------------------


def test_a_signed_in_customer_has_my_tickets_and_open_a_ticket_in_the_header(app, world):
    carol = signed_in(app, world.customer.email, staff=False)
    header = HEADER.search(text(carol.get("/tickets"))).group(0)
    assert '<a href="/tickets" style="color: #fff" aria-current="page">My tickets</a>' in header
    assert '<a href="/tickets/new" style="color: #fff">Open a ticket</a>' in header
    header = HEADER.search(text(carol.get("/tickets/new"))).group(0)
    assert 'aria-current="page">Open a ticket</a>' in header


def test_visitors_and_staff_get_no_customer_links(app, world, browser):
    assert "portal-nav" not in HEADER.search(text(browser.get("/login"))).group(0)
    alice = signed_in(app, world.agent.email)
    assert "portal-nav" not in HEADER.search(text(alice.get("/staff"))).group(0)


# ---- signing in on the wrong page -----------------------------------------------------------


def test_staff_with_the_right_password_at_the_customer_sign_in_are_sent_to_theirs(browser, world):
    answer = browser.sign_in(world.agent.email, staff=False)
    assert answer.status_code == 422
    html = text(answer)
    assert 'This is a staff account: sign in at the <a href="/staff/login">staff page</a>.' in html
    assert "Wrong email or password." not in html
    assert f'value="{world.agent.email}"' in html  # what was typed stays
    assert browser.get("/staff/probe").status_code == 302  # nobody signed in


def test_a_customer_with_the_right_password_at_the_staff_sign_in_is_sent_to_theirs(browser, world):
    answer = browser.sign_in(world.customer.email, staff=True)
    assert answer.status_code == 422
    html = text(answer)
    assert 'This is a customer account: sign in at the <a href="/login">Support Center</a>.' in html
    assert browser.get("/tickets").status_code == 302


def test_a_wrong_password_on_the_wrong_page_reveals_nothing(browser, world):
    for email, staff in ((world.agent.email, False), (world.customer.email, True)):
        html = text(browser.sign_in(email, "not the password", staff=staff))
        assert "Wrong email or password." in html and "account: sign in at" not in html


def test_a_deactivated_staff_account_at_the_customer_page_is_just_wrong(browser, world):
    world.agent.is_active = False
    world.session.commit()
    html = text(browser.sign_in(world.agent.email, staff=False))
    assert "Wrong email or password." in html and "staff account" not in html


# ---- an empty reply -------------------------------------------------------------------------


def test_an_empty_reply_is_an_error_next_to_the_reply_box(app, world):
    ticket = world.open(customer=world.customer)
    carol = signed_in(app, world.customer.email, staff=False)
    carol.get(f"/tickets/{ticket.number}")
    before = customer_messages(world, ticket)
    answer = carol.post(
        f"/tickets/{ticket.number}/reply", {"body": "   ", "version": ticket.version}
    )
    assert answer.status_code == 422
    html = text(answer)
    assert 'class="flash"' not in html  # no green banner
    form = html[html.index('class="long-form reply-form"') :]
    form = form[: form.index("</form>")]
    assert '<span class="error" role="alert">Write a message first.</span>' in form
    assert 'aria-invalid="true"' in form
    assert re.search(r'id="body"[^>]*>\r?\n   </textarea>', form)  # what was typed is kept
    assert f'id="reply-version" name="version" type="hidden" value="{ticket.version}"' in form
    assert customer_messages(world, ticket) == before


def test_a_reply_without_its_version_field_is_a_400(app, world):
    ticket = world.open(customer=world.customer)
    carol = signed_in(app, world.customer.email, staff=False)
    carol.get(f"/tickets/{ticket.number}")
    answer = carol.post(f"/tickets/{ticket.number}/reply", {"body": "", "version": "x"})
    assert answer.status_code == 400
    assert "reload the page" in text(answer)


# ---- "It is still a problem", with what is still wrong --------------------------------------


def test_the_reopen_form_asks_what_is_still_wrong(app, world):
    ticket = resolved(world, world.open(customer=world.customer))
    carol = signed_in(app, world.customer.email, staff=False)
    html = text(carol.get(f"/tickets/{ticket.number}"))
    form = html[html.index('class="reopen-form"') :]
    form = form[: form.index("</form>")]
    assert '<label for="reopen-message">What is still wrong?' in form
    assert 'hx-preserve="true"' in form and 'id="reopen-message"' in form
    assert "It is still a problem</button>" in form
    assert "Yes, my issue is resolved" in html  # the confirm button is still there


def test_what_is_still_wrong_goes_on_the_thread_and_reopens(app, world):
    ticket = resolved(world, world.open(customer=world.customer))
    carol = signed_in(app, world.customer.email, staff=False)
    carol.get(f"/tickets/{ticket.number}")
    before = customer_messages(world, ticket)
    answer = carol.post(
        f"/tickets/{ticket.number}/reopen",
        {"version": ticket.version, "message": "<b>Still</b> failing<script>alert(1)</script>"},
    )
    assert answer.status_code == 303
    assert fresh(world, ticket).state == "in_progress"
    added = customer_messages(world, ticket)[len(before) :]
    assert added == ["<b>Still</b> failing"]  # sanitized like a reply
    events = world.session.scalars(
        select(TransitionLog.event).where(TransitionLog.ticket_id == ticket.id)
    ).all()
    assert events.count("reopen") == 1
    page = text(carol.get(f"/tickets/{ticket.number}"))
    assert "We reopened the ticket" in page and "<b>Still</b> failing" in page


def test_reopening_without_a_message_adds_nothing_to_the_thread(app, world):
    ticket = resolved(world, world.open(customer=world.customer))
    carol = signed_in(app, world.customer.email, staff=False)
    carol.get(f"/tickets/{ticket.number}")
    before = customer_messages(world, ticket)
    answer = carol.post(
        f"/tickets/{ticket.number}/reopen", {"version": ticket.version, "message": "  "}
    )
    assert answer.status_code == 303
    assert fresh(world, ticket).state == "in_progress"
    assert customer_messages(world, ticket) == before


def test_a_message_with_a_refused_reopen_is_not_stored(app, world):
    ticket = world.open(customer=world.customer)  # new: nothing to reopen
    carol = signed_in(app, world.customer.email, staff=False)
    carol.get(f"/tickets/{ticket.number}")
    before = customer_messages(world, ticket)
    answer = carol.post(
        f"/tickets/{ticket.number}/reopen", {"version": ticket.version, "message": "Hello?"}
    )
    assert answer.status_code == 422
    assert customer_messages(world, ticket) == before
    assert fresh(world, ticket).state == "new"


def test_a_stale_reopen_with_a_message_stores_nothing(app, world):
    ticket = resolved(world, world.open(customer=world.customer))
    carol = signed_in(app, world.customer.email, staff=False)
    carol.get(f"/tickets/{ticket.number}")
    seen = ticket.version
    services.add_note(world.session, ticket.id, world.actor(world.agent), world.now, "meanwhile")
    before = customer_messages(world, ticket)
    answer = carol.post(
        f"/tickets/{ticket.number}/reopen", {"version": seen, "message": "Still broken"}
    )
    assert answer.status_code == 409
    assert customer_messages(world, ticket) == before
    assert fresh(world, ticket).state == "resolved"
