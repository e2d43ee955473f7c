"""The dashboard's bulk bar in a real browser: a refusal (no priority chosen) shows its reason
in the bar and keeps the ticked rows, so nothing has to be selected again; the next action
that works clears the old reason and the ticks, and lists each ticket's outcome."""

from __future__ import annotations

from playwright.sync_api import expect
from werkzeug.security import generate_password_hash

from tests.browser.test_live import PASSWORD, sign_in


def test_a_refused_bulk_action_keeps_the_selection_and_a_good_one_clears_the_reason(
    live_server, page, world
):
    agent = world.agent
    agent.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    agent.departments.append(world.department)
    world.session.commit()
    first, second = world.open(subject="First printer"), world.open(subject="Second printer")
    sign_in(page, live_server, agent.email)
    page.goto(f"{live_server}/staff?queue=open")
    boxes = [page.locator(f"#pick-{t.number}") for t in (first, second)]
    for box in boxes:
        box.check()
    bar = page.locator("#bulk-actions")

    bar.locator("button[value=change_priority]").click()
    expect(bar.locator(".form-errors")).to_contain_text("Choose the priority")
    for box in boxes:
        expect(box).to_be_checked()  # the selection survives the refusal

    bar.locator("select[name=priority_id]").select_option(label="High")
    bar.locator("button[value=change_priority]").click()
    expect(page.locator("#bulk-result")).to_contain_text(str(first.number))
    expect(bar.locator(".form-errors")).to_be_empty()
    for box in boxes:
        expect(box).not_to_be_checked()
