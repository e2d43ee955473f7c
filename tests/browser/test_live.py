"""Live pages in a real browser against `ticketflow run` (gunicorn, gevent) and real Redis:
Winston's dashboard, already open with the polling fallback turned off, shows the ticket
Isabella transfers to him without a reload (so the server-sent event did it), and her
transfer without a note is refused in place, next to the form, with the guard's sentence."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from workflow import services
from workflow.models import Ticket

PASSWORD = "a long enough password"
PUSH_WAIT_MS = 10_000


def sign_in(page, base, email):
    page.goto(f"{base}/staff/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/staff")


def test_winstons_open_dashboard_shows_the_ticket_isabella_transfers_to_him(
    live_server, browser_engine, page, world
):
    isabella, winston = world.agent, world.colleague
    isabella.name, winston.name = "Isabella", "Winston"
    for person in (isabella, winston):
        person.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    isabella.departments.append(world.department)
    world.session.commit()
    ticket = world.open(subject="The mobile banking app crashes at login")
    services.apply_event(world.session, ticket.id, "claim", world.actor(isabella), world.now)
    row = f"#queue-table a[href='/staff/tickets/{ticket.number}']"

    # Winston's dashboard: his own queue, empty, the push path connected, polling off.
    sign_in(page, live_server, winston.email)
    page.goto(f"{live_server}/staff?queue=mine&poll=off")
    expect(page.locator("#queue-table")).to_contain_text("Nothing in this queue.")
    page.wait_for_function("() => window.ticketflow.live.up", timeout=PUSH_WAIT_MS)
    assert page.evaluate("() => window.ticketflow.polling()") is False
    page.evaluate("() => { window.loadedOnce = true; }")  # gone if the page were reloaded

    # Isabella, on the ticket page in her own browser: a transfer without a note is refused.
    context = browser_engine.new_context()
    try:
        hers = context.new_page()
        sign_in(hers, live_server, isabella.email)
        hers.goto(f"{live_server}/staff/tickets/{ticket.number}")
        transfer = hers.locator("form#action-transfer")
        transfer.locator("select[name=assignee_id]").select_option(label="Winston")
        transfer.locator("button:has-text('Transfer')").click()
        expect(transfer.locator(".form-errors")).to_contain_text("needs a note")
        assert hers.url == f"{live_server}/staff/tickets/{ticket.number}"  # in place
        expect(hers.locator("#ticket-header")).to_contain_text("Isabella")  # nothing changed
        world.session.expire_all()
        assert world.session.scalar(select(Ticket.assignee_id).where(Ticket.id == ticket.id)) == (
            isabella.id
        )

        # With a note it goes through, and her page shows it without a reload either.
        transfer.locator("textarea[name=note]").fill(
            "Winston, the app crashes right after the fingerprint prompt; could you look? Thanks!"
        )
        transfer.locator("button:has-text('Transfer')").click()
        expect(hers.locator("#ticket-header")).to_contain_text("Winston")
        expect(hers.locator("#ticket-thread")).to_contain_text("fingerprint prompt")
    finally:
        context.close()

    # Winston's dashboard shows the ticket, pushed: no reload, no polling.
    expect(page.locator(row).first).to_be_visible(timeout=PUSH_WAIT_MS)
    expect(page.locator("#queue-table")).to_contain_text("The mobile banking app crashes")
    assert page.evaluate("() => window.loadedOnce") is True
