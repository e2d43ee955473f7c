"""The whole lifecycle of issue 3 (section 7) in real browsers, one per person, against
`ticketflow run` (gunicorn, gevent), PostgreSQL and the run's own database on REDIS_URL's server.

Karen opens a password-reset ticket and Ken a mobile-banking ticket in the Support Center;
Isabella (Level 1 Support) sees both, Ken's (High) above Karen's (Normal). She claims Karen's,
lowers its SLA plan to SEV C, replies with a canned response and adds an internal note. She
transfers Ken's to Winston (Level 2 Support): without a note it is refused with the guard's
sentence and nothing changes; with one it goes through, and Winston's already open dashboard,
polling turned off, shows it without a reload (the server-sent event did it). She resolves
Karen's ticket with a reply asking whether anything else is needed; closing is refused with a
clear sentence until Karen presses "Yes, my issue is resolved"; then Isabella closes it.

Karen never sees the internal note: every HTML answer her browser receives (pages, redirects
and live fragments; the event stream carries only version numbers) is read on its way in.
The people and places are the demo's own (web/demo_seed.py `seed_cast`), without its tickets.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from web.demo_seed import LOGIN, Cast, seed_canned_responses, seed_cast
from workflow import publishing
from workflow.models import SlaPlan, Ticket
from workflow.reference import ensure_reference_data
from workflow.rules import Actor

WAIT_MS = 10_000  # for anything that arrives by a live update (push, or Karen's page's polling)
NOTE = "Karen's account had a card-fraud flag in May (case 7731); do not mention it to her."
SECRET = "case 7731"


@pytest.fixture
def world(session: Session) -> Cast:
    """This story's world, replacing the shared one (so `live_server` starts after it exists):
    priorities, SLA plans, the built-in workflow, and the demo's people, departments, teams
    and help topics, and the canned responses."""
    now = datetime.now(UTC)
    ensure_reference_data(session)
    publishing.load_builtin(session, Actor.system(), now)
    session.commit()
    cast = seed_cast(session, now)
    seed_canned_responses(session, cast, now)
    return cast


class Person:
    """One person's own browser (context): cookies, tabs and live connections of their own."""

    def __init__(self, browser, base: str, key: str) -> None:
        self.base, self.login = base, LOGIN[key]
        self.context: BrowserContext = browser.new_context()
        self.page: Page = self.context.new_page()

    def sign_in(self, staff: bool) -> None:
        self.page.goto(f"{self.base}{'/staff' if staff else ''}/login")
        self.page.fill("input[name=email]", self.login.email)
        self.page.fill("input[name=password]", self.login.password)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(f"{self.base}{'/staff' if staff else '/tickets'}")
        expect(self.page.locator(".signed-in")).to_contain_text(self.login.name)


class Customer(Person):
    """A customer whose browser keeps every HTML answer it receives, to look for staff-only
    text in them afterwards."""

    def __init__(self, browser, base: str, key: str) -> None:
        super().__init__(browser, base, key)
        self.received: list[tuple[str, str]] = []
        self.context.route("**/*", self._read)

    def _read(self, route: Route) -> None:
        if "/live/stream" in route.request.url:  # never ends; carries "changed" and a version
            route.continue_()
            return
        answer = route.fetch(max_redirects=0)  # the browser follows redirects itself
        if "text/html" in answer.headers.get("content-type", ""):
            self.received.append((route.request.url, answer.text()))
        route.fulfill(response=answer)

    def open_ticket(self, topic: str, subject: str, body: str) -> int:
        self.page.click("text=Open a new ticket")
        self.page.select_option("select[name=help_topic_id]", label=topic)
        self.page.fill("input[name=subject]", subject)
        self.page.fill("textarea[name=body]", body)
        self.page.click("button:has-text('Open the ticket')")
        self.page.wait_for_url(re.compile(r"/tickets/\d+$"))
        expect(self.page.locator("p.flash")).to_contain_text("is open")
        return int(self.page.url.rsplit("/", 1)[1])

    def never_saw(self, text: str) -> None:
        assert self.received, "the customer's browser received nothing"
        leaked = [url for url, html in self.received if text in html]
        assert not leaked, f"{text!r} reached the customer in {leaked}"
        assert text not in self.page.content()


def settled(page: Page, session: Session, number: int) -> None:
    """Wait until the page holds the ticket's current version, so no live refresh is due
    that could replace a form between choosing a value and pressing its button."""
    session.expire_all()
    version = session.scalar(select(Ticket.version).where(Ticket.number == number))
    expect(page.locator("#ticket-seen")).to_have_value(str(version))


def ticket(session: Session, number: int) -> Ticket:
    session.expire_all()
    return session.scalar(select(Ticket).where(Ticket.number == number))


@pytest.fixture
def browsers(browser_engine, live_server):
    """Opens one person's own browser (context); all are closed after the test."""
    opened: list[Person] = []

    def open_for(kind: type[Person], key: str) -> Person:
        opened.append(kind(browser_engine, live_server, key))
        return opened[-1]

    yield open_for
    for person in opened:
        person.context.close()


def test_the_whole_lifecycle_from_karens_ticket_to_its_closing(
    browsers, world: Cast, session: Session
):
    karen, ken = browsers(Customer, "karen"), browsers(Customer, "ken")
    isabella, winston = browsers(Person, "isabella"), browsers(Person, "winston")
    base = karen.base

    # ---- The Support Center: two tickets; the help topic decides priority and SLA plan.
    karen.sign_in(staff=False)
    karens = karen.open_ticket(
        "Password reset",
        "I cannot reset my password",
        "The reset link I get by mail opens a page that says the link is broken.",
    )
    ken.sign_in(staff=False)
    kens = ken.open_ticket(
        "Mobile banking",
        "The mobile app crashes at sign-in",
        "Right after the fingerprint prompt the app closes. Android 14, app 8.2.",
    )
    sev = dict(session.execute(select(SlaPlan.name, SlaPlan.id)).all())
    assert (ticket(session, karens).priority_id, ticket(session, karens).sla_plan_id) == (
        2,
        sev["SEV B"],
    )
    assert (ticket(session, kens).priority_id, ticket(session, kens).sla_plan_id) == (
        3,
        sev["SEV A"],
    )

    # ---- Winston's dashboard is open from here on: his own queue, push only (no polling).
    winston.sign_in(staff=True)
    board = winston.page
    board.goto(f"{base}/staff?queue=mine&poll=off")
    expect(board.locator("#queue-table")).to_contain_text("Nothing in this queue.")
    board.wait_for_function("() => window.ticketflow.live.up", timeout=WAIT_MS)
    assert board.evaluate("() => window.ticketflow.polling()") is False
    board.evaluate("() => { window.loadedOnce = true; }")  # gone if the page were reloaded

    # ---- Isabella's dashboard: both, the most urgent (Ken's, High) on top.
    isabella.sign_in(staff=True)
    desk = isabella.page
    desk.click("nav.queues >> text=Unassigned")
    desk.wait_for_url(f"{base}/staff?queue=unassigned")
    for number in (kens, karens):
        row_link = desk.locator(f"#queue-table a[href='/staff/tickets/{number}']").first
        expect(row_link).to_be_visible()
    rows = desk.locator("#queue-table tr").all_inner_texts()
    ken_row = next(i for i, row in enumerate(rows) if str(kens) in row)
    karen_row = next(i for i, row in enumerate(rows) if str(karens) in row)
    assert ken_row < karen_row, rows
    assert "High" in rows[ken_row] and "SEV A" in rows[ken_row], rows[ken_row]
    assert "Normal" in rows[karen_row] and "SEV B" in rows[karen_row], rows[karen_row]

    # ---- Karen's ticket: claim, SLA plan down to SEV C, a canned reply, an internal note.
    desk.click("#queue-table a:has-text('I cannot reset my password')")
    desk.wait_for_url(f"{base}/staff/tickets/{karens}")
    desk.click("form#action-claim >> button:has-text('Claim')")
    expect(desk.locator("#ticket-header")).to_contain_text("Isabella Rossi")
    expect(desk.locator("#ticket-header .badge")).to_have_text("Assigned")
    settled(desk, session, karens)

    desk.select_option("#settings-sla-plan select[name=sla_plan_id]", label="SEV C")
    desk.click("#settings-sla-plan >> button:has-text('Change SLA plan')")
    expect(desk.locator("#ticket-main .flash")).to_contain_text("SLA plan changed to SEV C")
    expect(desk.locator("#ticket-header")).to_contain_text("SEV C")
    assert ticket(session, karens).sla_plan_id == sev["SEV C"]
    settled(desk, session, karens)

    composer = desk.locator("#ticket-composer")
    composer.locator("select[name=canned_id]").select_option(label="Thanks, we are on it")
    expect(composer.locator("textarea[name=body]")).to_have_value(
        f"Hello Karen, thank you for getting in touch. We have your request as ticket "
        f"#{karens} and are looking into it now; we will write again as soon as we know "
        "more. Kind regards, Isabella Rossi"
    )
    composer.locator("button:has-text('Send')").click()
    expect(desk.locator("#ticket-main .flash")).to_contain_text("Reply sent to the customer.")
    expect(desk.locator("#ticket-thread")).to_contain_text("thank you for getting in touch")
    settled(desk, session, karens)

    composer.locator("input[name=mode][value=note]").check()
    composer.locator("textarea[name=body]").fill(NOTE)
    composer.locator("button:has-text('Send')").click()
    expect(desk.locator("#ticket-main .flash")).to_contain_text("Internal note added.")
    expect(desk.locator("#ticket-thread .internal_note")).to_contain_text(SECRET)

    # Karen's page, open all along, shows the reply by itself, and never the note.
    expect(karen.page.locator("ol.thread")).to_contain_text(
        "thank you for getting in touch", timeout=WAIT_MS
    )
    expect(karen.page.locator("ol.thread")).to_contain_text("Isabella Rossi")
    karen.never_saw(SECRET)

    # ---- Ken's ticket to Winston: without a note refused in place, nothing changes.
    desk.goto(f"{base}/staff/tickets/{kens}")
    before = ticket(session, kens).version
    transfer = desk.locator("form#action-transfer")
    transfer.locator("select[name=assignee_id]").select_option(label="Winston Clarke")
    transfer.locator("button:has-text('Transfer')").click()
    expect(transfer.locator(".form-errors")).to_have_text(
        "“Transfer” needs a note (at least 10 characters) for the person who reads it next."
    )
    assert desk.url == f"{base}/staff/tickets/{kens}"
    expect(desk.locator("#ticket-header")).to_contain_text("nobody")
    refused = ticket(session, kens)
    assert (refused.state, refused.assignee_id, refused.version) == ("new", None, before)

    transfer.locator("select[name=assignee_id]").select_option(label="Winston Clarke")
    transfer.locator("textarea[name=note]").fill(
        "Winston, the app closes right after the fingerprint prompt (Android 14, 8.2); "
        "could you take it? Thanks!"
    )
    transfer.locator("button:has-text('Transfer')").click()
    expect(desk.locator("#ticket-header")).to_contain_text("Winston Clarke")
    assert ticket(session, kens).assignee_id == world.people["winston"].id

    # Winston's dashboard shows it, pushed: no reload, no polling.
    expect(board.locator(f"#queue-table a[href='/staff/tickets/{kens}']").first).to_be_visible(
        timeout=WAIT_MS
    )
    expect(board.locator("#queue-table")).to_contain_text("The mobile app crashes at sign-in")
    assert board.evaluate("() => window.loadedOnce") is True
    assert board.evaluate("() => window.ticketflow.polling()") is False
    expect(ken.page.locator("main")).to_contain_text("Assigned to our team", timeout=WAIT_MS)

    # ---- Karen's ticket resolved, with the question whether anything else is needed.
    desk.goto(f"{base}/staff/tickets/{karens}")
    resolve = desk.locator("form#action-resolve")
    resolve.locator("textarea[name=reply]").fill(
        "Hello Karen, we sent you a fresh reset link; it works for an hour. "
        "Is there anything else we can help you with?"
    )
    resolve.locator("button:has-text('Resolve')").click()
    expect(desk.locator("#ticket-header .badge")).to_have_text("Resolved")
    settled(desk, session, karens)

    # Closing is refused until Karen confirms: the button says why, and the server agrees.
    why = (
        "The customer has not confirmed that the issue is resolved yet; "
        "a ticket is closed only after their confirmation."
    )
    close = desk.locator("form#action-close")
    expect(close.locator("button")).to_be_disabled()
    expect(close).to_contain_text(why)
    close.evaluate("form => form.requestSubmit()")  # sent anyway, as a stale page would
    expect(close.locator(".form-errors")).to_contain_text(why)
    assert ticket(session, karens).state == "resolved"

    # ---- Karen confirms in the Support Center (her open page offers it by itself).
    expect(karen.page.locator("ol.thread")).to_contain_text(
        "Is there anything else we can help you with?", timeout=WAIT_MS
    )
    karen.page.click("button:has-text('Yes, my issue is resolved')")
    expect(karen.page.locator("p.flash[role=status]")).to_contain_text("Thank you for confirming.")
    expect(karen.page.locator("#ticket-main")).to_contain_text("You confirmed that your issue")
    expect(karen.page.locator("button:has-text('Yes, my issue is resolved')")).to_have_count(0)

    # ---- Now Isabella may close it; her open page enables Close by itself.
    expect(close.locator("button")).to_be_enabled(timeout=WAIT_MS)
    settled(desk, session, karens)
    close.locator("button:has-text('Close')").click()
    expect(desk.locator("#ticket-header .badge")).to_have_text("Closed")
    closed = ticket(session, karens)
    assert closed.state == "closed" and closed.closed_at is not None

    expect(karen.page.locator("main")).to_contain_text("Status: Closed", timeout=WAIT_MS)
    karen.page.goto(f"{base}/tickets")
    expect(karen.page.locator("table")).to_contain_text("Closed")
    karen.never_saw(SECRET)
