"""An agent's morning in a real browser: sign in, pick the most urgent ticket, claim it,
try a transfer without a note (refused, nothing changes), transfer with a courteous note."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from workflow.models import Ticket

PASSWORD = "a long enough password"


def test_an_agent_claims_and_transfers_a_ticket_in_the_browser(live_server, page, world):
    world.agent.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    world.agent.departments.append(world.department)
    world.session.commit()
    ticket = world.open(subject="Projector in room 4 is dead")

    page.goto(f"{live_server}/staff")
    assert "/staff/login" in page.url  # sent to sign in first
    page.fill("input[name=email]", world.agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/staff")
    page.click("text=All open")
    page.click(f"text={ticket.number}")
    page.wait_for_url(f"**/staff/tickets/{ticket.number}")

    page.click("form.action >> button:has-text('Claim')")
    page.wait_for_selector(f"text=Claim: #{ticket.number} is now yours.")
    assert page.locator(".badge").first.text_content().strip() == "Assigned"

    transfer = page.locator("form.action", has=page.locator("button:has-text('Transfer')"))
    transfer.locator("select[name=team_id]").select_option(label=world.level2.name)
    transfer.locator("button:has-text('Transfer')").click()
    # the guard's sentence (status 422), shown in place next to the form (HTMX)
    expect(transfer.locator(".form-errors")).to_contain_text("needs a note")
    world.session.expire_all()
    assert world.session.scalar(select(Ticket.team_id).where(Ticket.id == ticket.id)) is None

    transfer.locator("textarea[name=note]").fill(
        "Hi Bob, the lamp seems gone; could you bring a spare? Thank you!"
    )
    transfer.locator("select[name=team_id]").select_option(label=world.level2.name)
    transfer.locator("button:has-text('Transfer')").click()
    page.wait_for_selector("text=could you bring a spare? Thank you!")
    world.session.expire_all()
    assert (
        world.session.scalar(select(Ticket.team_id).where(Ticket.id == ticket.id))
        == world.level2.id
    )
