"""Sorting the dashboard in a real browser: a heading click sorts in place, a second click
flips the order, live updates keep it, and the filters keep it."""

from playwright.sync_api import expect
from werkzeug.security import generate_password_hash

PASSWORD = "a long enough password"


def test_clicking_a_heading_sorts_in_place_and_live_updates_keep_it(live_server, page, world):
    agent = world.agent
    agent.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    agent.departments.append(world.department)
    world.session.commit()
    for subject in ("Banana", "Apple", "Cherry"):
        world.open(subject=subject)
    page.goto(f"{live_server}/staff/login")
    page.fill("input[name=email]", agent.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/staff")
    page.goto(f"{live_server}/staff?queue=open")
    page.evaluate("() => { window.loadedOnce = true; }")
    page.click("#queue-table th a:text-is('Subject')")
    expect(page.locator("#queue-table th[aria-sort=ascending]")).to_contain_text("Subject")
    assert page.url.endswith("/staff?queue=open&sort=subject"), page.url
    subjects = page.locator("#queue-table tr td:nth-child(3)").all_inner_texts()
    assert subjects == ["Apple", "Banana", "Cherry"], subjects
    assert page.evaluate("() => window.loadedOnce") is True  # swapped, not reloaded
    page.click("#queue-table th a:has-text('Subject')")
    expect(page.locator("#queue-table th[aria-sort=descending]")).to_contain_text("Subject")
    assert page.url.endswith("sort=-subject"), page.url
    assert page.get_attribute("#queue-here", "data-url").endswith("sort=-subject")
    # A new ticket arrives: the queue's refresh (what a live push asks for) keeps the order.
    # One trigger is enough: one arriving while another refresh is in flight runs after it
    # (tests/browser/test_dashboard_refresh.py).
    world.open(subject="Zebra")
    page.evaluate("() => htmx.trigger('#queue-live', 'sse:changed')")
    first_subject = page.locator("#queue-table tr td:nth-child(3)").first
    expect(first_subject).to_have_text("Zebra")
    subjects = page.locator("#queue-table tr td:nth-child(3)").all_inner_texts()
    assert subjects == ["Zebra", "Cherry", "Banana", "Apple"], subjects
    # The filter form keeps the sort.
    page.fill("input[name=q]", "an")
    page.click("form#queue-filters button[type=submit]")
    page.wait_for_url("**sort=-subject**")
    subjects = page.locator("#queue-table tr td:nth-child(3)").all_inner_texts()
    assert subjects == ["Banana"], subjects
    page.evaluate("() => htmx.trigger(document.body, 'live-resync')")  # the poll's path
    page.wait_for_timeout(1000)
    assert page.locator("#queue-table tr td:nth-child(3)").all_inner_texts() == ["Banana"]
    page.go_back()
    page.wait_for_url("**/staff?queue=open&sort=-subject")
