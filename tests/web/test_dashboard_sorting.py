"""Sorting the agent dashboard by any column: every page walk yields each ticket once, in
an order computed here independently (NULL after every value, ties by id), both directions;
headings, filters, pages and live refreshes keep the sort."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.factories import make_user
from tests.web.helpers import count_queries
from web.staff import queue_sorts, queues
from workflow.models import Role, Ticket

ROW = re.compile(r'<td><a href="/staff/tickets/(\d+)">\1</a>')
NEXT = re.compile(r'<a href="([^"]+)">Next page')
STATES = ("new", "assigned", "in_progress", "awaiting_customer", "resolved")


def numbers(page) -> list[int]:
    return [int(n) for n in ROW.findall(page.get_data(as_text=True))]


@pytest.fixture
def varied(world):
    """30 open tickets with repeated values in every column (ties), NULL due times and
    NULL assignees, from four requesters."""
    world.agent.departments.append(world.department)
    requesters = [
        world.customer,
        make_user(world.session, "dana@example.com", "Dana Customer", Role.END_USER, world.now),
        make_user(world.session, "erik@example.com", "Erik Customer", Role.END_USER, world.now),
        make_user(world.session, "fay@example.com", "Fay Customer", Role.END_USER, world.now),
    ]
    world.session.commit()
    assignees = [world.agent, world.colleague, world.admin, None]
    expected = {}  # ticket id -> the value of each sort column
    for i in range(30):
        requester = requesters[(i * 7) % 4]
        assignee = assignees[(i * 5) % 4]
        ticket = world.open(subject=f"Subject {i % 7}", customer=requester)
        values = {
            "priority_id": 1 + (i * 3) % 4,
            "next_due_at": None if i % 5 == 0 else world.now + timedelta(hours=i % 6),
            "updated_at": world.now + timedelta(minutes=(i * 11) % 9),
            "assignee_id": assignee.id if assignee else None,
            "state": STATES[i % len(STATES)],
        }
        world.session.execute(update(Ticket).where(Ticket.id == ticket.id).values(**values))
        expected[ticket.id] = {
            "number": ticket.number,
            "subject": ticket.subject,
            "requester": requester.name,
            "state": values["state"],
            "priority": values["priority_id"],
            "due": values["next_due_at"],
            "assignee": assignee.name if assignee else None,
            "updated_at": values["updated_at"],
        }
    world.session.commit()
    world.expected = expected
    return world


def expected_order(world, key: str, descending: bool) -> list[int]:
    """The order by (value, id), NULL larger than every value; descending reverses it all."""

    def rank(item):
        ticket_id, values = item
        value = values[key]
        return (value is None, value if value is not None else 0, ticket_id)

    ordered = sorted(world.expected.items(), key=rank, reverse=descending)
    return [values["number"] for _, values in ordered]


def walk(browser, url: str) -> tuple[list[int], list[str]]:
    """Every page from `url` on, following the Next page links."""
    seen, links = [], []
    while url:
        page = browser.get(url)
        assert page.status_code == 200, page.get_data(as_text=True)
        seen += numbers(page)
        found = NEXT.search(page.get_data(as_text=True))
        url = html.unescape(found.group(1)) if found else None
        if url:
            links.append(url)
    return seen, links


@pytest.mark.parametrize("descending", [False, True], ids=["ascending", "descending"])
@pytest.mark.parametrize("key", list(queue_sorts.COLUMNS))
def test_every_sort_walks_every_ticket_once_in_order(browser, varied, monkeypatch, key, descending):
    monkeypatch.setattr(queues, "PAGE_SIZE", 4)
    browser.sign_in(varied.agent.email)
    param = f"-{key}" if descending else key
    seen, links = walk(browser, f"/staff?queue=open&sort={param}")
    assert seen == expected_order(varied, key, descending)
    assert len(seen) == len(set(seen)) == 30
    assert len(links) == 7 and all(f"sort={param}" in link for link in links)


def test_the_default_order_is_unchanged_without_sort(browser, varied, monkeypatch):
    monkeypatch.setattr(queues, "PAGE_SIZE", 4)
    browser.sign_in(varied.agent.email)
    seen, links = walk(browser, "/staff?queue=open")

    def urgency(item):
        ticket_id, values = item
        due = values["due"]
        return (-values["priority"], due is None, due or varied.now, ticket_id)

    assert seen == [v["number"] for _, v in sorted(varied.expected.items(), key=urgency)]
    assert not any("sort=" in link for link in links)


def test_headings_link_to_their_sort_and_toggle_keeping_filters(browser, varied):
    browser.sign_in(varied.agent.email)
    text = browser.get("/staff?queue=open&q=Subject&sort=subject").get_data(as_text=True)
    # The sorted column's heading says so and links to the other direction; the others
    # link to their ascending sort. Plain links for no JS, hx-get + push-url for HTMX.
    assert re.search(r'<th aria-sort="ascending"><a href="[^"]*sort=-subject[^"]*"', text)
    requester = re.search(r'<th><a href="([^"]*sort=requester[^"]*)" hx-get="([^"]*)"', text)
    assert requester and requester.group(1) == requester.group(2)
    assert "q=Subject" in requester.group(1) and "queue=open" in requester.group(1)
    assert 'hx-push-url="true"' in text
    descending = browser.get("/staff?queue=open&sort=-subject").get_data(as_text=True)
    assert re.search(r'<th aria-sort="descending"><a href="[^"]*sort=subject[^"&]*"', descending)


def test_queues_filters_and_live_refresh_keep_the_sort(browser, varied):
    browser.sign_in(varied.agent.email)
    text = html.unescape(browser.get("/staff?queue=open&sort=-updated_at").get_data(as_text=True))
    assert re.search(r'href="/staff\?queue=mine&sort=-updated_at"', text)  # queue tabs
    assert '<input type="hidden" name="sort" value="-updated_at" form="queue-filters">' in text
    assert 'id="queue-filters"' in text
    live = re.search(r'<div id="queue-live" hidden hx-get="([^"]+)"', text).group(1)
    assert "sort=-updated_at" in live and "since" not in live
    # A live refresh (HTMX, with the cursor) redraws the table in the same order, and the
    # refresh elements again carry the sort.
    fragment = browser.get(live + "&since=stale", headers={"HX-Request": "true"})
    body = html.unescape(fragment.get_data(as_text=True))
    assert numbers(fragment)[:5] == expected_order(varied, "updated_at", True)[:5]
    assert 'id="queue-refresh" hx-swap-oob' in body
    refresh = re.search(r'id="queue-here" hidden data-url="([^"]+)"', body).group(1)
    assert "sort=-updated_at" in refresh and "since" not in refresh


def test_an_unknown_sort_or_a_broken_page_link_is_a_clear_400(browser, varied):
    browser.sign_in(varied.agent.email)
    page = browser.get("/staff?queue=open&sort=colour")
    assert page.status_code == 400
    assert "cannot be sorted by 'colour'" in html.unescape(page.get_data(as_text=True))
    for after in ("nonsense", "[1]", '["x",1]', '[1,"2"]', '["2026-01-01",1]', "1,2026-01-01,3"):
        broken = browser.get(
            "/staff", query_string={"queue": "open", "sort": "due", "after": after}
        )
        assert broken.status_code == 400, after
        assert "page link is broken" in broken.get_data(as_text=True)


def test_a_queue_too_big_to_count_keeps_the_default_order_and_says_so(browser, varied, monkeypatch):
    monkeypatch.setattr(queues, "COUNT_CAP", 10)
    browser.sign_in(varied.agent.email)
    sorted_page = browser.get("/staff?queue=open&sort=subject")
    default_page = browser.get("/staff?queue=open")
    assert numbers(sorted_page) == numbers(default_page)
    assert "Sorting by “Subject” works on queues of up to 10 tickets" in sorted_page.get_data(
        as_text=True
    )
    # A queue within the cap sorts: search narrows the open queue to Subject 3's tickets.
    narrowed = browser.get("/staff?queue=open&sort=-requester&q=Subject+3")
    assert "sort-note" not in narrowed.get_data(as_text=True)
    matching = expected_order(varied, "requester", True)
    subjects = {v["number"]: v["subject"] for v in varied.expected.values()}
    assert numbers(narrowed) == [n for n in matching if subjects[n] == "Subject 3"]


@pytest.mark.parametrize("sort", ["requester", "-assignee", "updated_at"])
def test_a_sorted_page_makes_as_few_queries_as_the_default(app, browser, varied, sort):
    browser.sign_in(varied.agent.email)

    def queries(url):
        answer, statements = count_queries(app, lambda: browser.get(url))
        assert answer.status_code == 200
        return len(statements)

    assert queries(f"/staff?queue=open&sort={sort}") == queries("/staff?queue=open")
