"""A live refresh asked for while another is in flight is not lost: it runs once the first
has answered (and swapped), so a ticket that arrived meanwhile shows without a reload."""

from playwright.sync_api import expect
from werkzeug.security import generate_password_hash

PASSWORD = "a long enough password"


def test_a_refresh_asked_for_during_another_runs_after_it(live_server, page, world):
    agent = world.agent
    agent.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    agent.departments.append(world.department)
    world.session.commit()
    world.open(subject="Apple")
    page.goto(f"{live_server}/staff/login")
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/staff")
    page.goto(f"{live_server}/staff?queue=open&sort=-subject")
    page.evaluate("() => { document.body.dataset.poll = 'off'; window.loadedOnce = true; }")

    # The first refresh is answered by the server at once but delivered to the page only
    # when the test says: it is in flight, and what it carries is from before Zebra.
    held = []

    def hold_first_refresh(route):
        if route.request.headers.get("hx-request") and not held:
            held.append((route, route.fetch()))
        else:
            route.continue_()

    page.route("**/staff?queue=open*", hold_first_refresh)
    page.evaluate("() => htmx.trigger('#queue-live', 'sse:changed')")
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the first refresh was never sent"
    world.open(subject="Zebra")
    page.evaluate("() => htmx.trigger('#queue-live', 'sse:changed')")  # arrives meanwhile
    page.wait_for_timeout(300)
    route, stale = held[0]
    route.fulfill(response=stale)

    first_subject = page.locator("#queue-table tr td:nth-child(3)").first
    expect(first_subject).to_have_text("Zebra", timeout=5000)
    subjects = page.locator("#queue-table tr td:nth-child(3)").all_inner_texts()
    assert subjects == ["Zebra", "Apple"], subjects
    assert page.evaluate("() => window.loadedOnce") is True  # swapped, not reloaded
