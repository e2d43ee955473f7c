"""Error pages say what happened in words and offer a way on: a route's own sentence is
kept, and the link leads to where this person starts (dashboard, My tickets, start page)."""

from __future__ import annotations

from tests.web.helpers import text


def test_a_routes_own_404_words_are_kept_with_the_dashboard_as_the_way_on(browser, world):
    assert browser.sign_in(world.agent.email).status_code == 302
    answer = browser.get("/staff?queue=nope")
    html = text(answer)
    assert answer.status_code == 404 and "There is no queue called" in html
    assert "Page not found" not in html
    assert '<a href="/staff">Go to the dashboard</a>' in html


def test_a_customers_way_on_is_their_tickets(browser, world):
    assert browser.sign_in(world.customer.email, staff=False).status_code == 302
    answer = browser.get("/tickets/999999")
    assert answer.status_code == 404
    assert '<a href="/tickets">Go to my tickets</a>' in text(answer)
