"""The staff header's navigation (web/staff_nav.py): each role sees exactly the pages it may
open, every link it sees answers 200, the admin lists are for admins only, the Support Center
keeps its header, the current section is marked, and the nav sends no SQL.

Each link's roles are read from its route (`staff_required` records them on the view), and
`test_each_links_roles_are_exactly_who_its_route_lets_in` proves what that promises: every
entry, as every kind of person, answers 200 to its roles and 403 to everyone else."""

from __future__ import annotations

import re

import pytest
from flask_login import login_user

from tests.web.helpers import HX, count_queries, signed_in, text
from web import staff_nav
from web.auth import SessionUser, roles_of
from workflow.models import Role

NAV = re.compile(r'<nav class="staff-nav"[^>]*>(.*?)</nav>', re.S)
LINK = re.compile(r'<a href="([^"]+)"( aria-current="page")?>([^<]+)</a>')
HEADER = re.compile(r"<header[^>]*>.*?</header>", re.S)

STAFF_ROLES = {"agent": Role.AGENT, "ops": Role.OPS, "admin": Role.ADMIN}
SHOWN = {
    "agent": ["Dashboard"],
    "ops": ["Dashboard", "SLA breaches", "Compliance", "Queue health"],
    "admin": [
        "Dashboard",
        "SLA breaches",
        "Compliance",
        "Queue health",
        "Workflows",
        "SLA plans",
        "Calendars",
        "Canned responses",
        "People",
        "Departments",
        "Teams",
        "Help topics",
    ],
}
"""What each role's header shows, in order, written out so a change to the table is seen."""


def nav_links(html: str) -> list[tuple[str, str, bool]]:
    """The header nav's links: (address, label, marked current)."""
    found = NAV.search(html)
    assert found is not None, "the page has no staff nav"
    return [(href, label, bool(mark)) for href, mark, label in LINK.findall(found.group(1))]


def person(app, world, role: str):
    email = getattr(world, "customer" if role == "end_user" else role).email
    return signed_in(app, email, staff=role != "end_user")


@pytest.mark.parametrize("role", ["agent", "ops", "admin"])
def test_every_link_the_header_shows_answers_200_for_that_role(app, world, role):
    """Followed with the test client from the dashboard, every link opens (200), shows the
    same links, and marks itself current; agents and ops see no admin link."""
    browser = person(app, world, role)
    home = browser.get("/staff")
    assert home.status_code == 200
    links = nav_links(text(home))
    assert [label for _, label, _ in links] == SHOWN[role]
    if role != "admin":
        assert not [href for href, _, _ in links if href.startswith("/admin")]
        assert "/admin" not in HEADER.search(text(home)).group(0)
    for href, label, _ in links:
        answer = browser.get(href)
        assert answer.status_code == 200, f"{role}: {label} ({href}) answered {answer.status_code}"
        there = nav_links(text(answer))
        assert [(h, lab) for h, lab, _ in there] == [(h, lab) for h, lab, _ in links]
        assert [lab for _, lab, current in there if current] == [label], (role, href)


@pytest.mark.parametrize("role", ["end_user", "agent", "ops", "admin"])
def test_each_links_roles_are_exactly_who_its_route_lets_in(app, world, role):
    """The one truth is the routes' decorators: each entry of staff_nav.LINKS answers 200 to
    the roles it names and 403 to every other signed-in person."""
    browser = person(app, world, role)
    as_role = STAFF_ROLES.get(role, Role.END_USER)
    with app.test_request_context():
        from flask import url_for

        targets = [
            (link, url_for(link.endpoint), roles_of(link.endpoint)) for link in staff_nav.LINKS
        ]
    for link, target, roles in targets:
        expected = 200 if as_role in roles else 403
        answer = browser.get(target)
        assert answer.status_code == expected, (
            f"{link.endpoint} answered {answer.status_code} to {role}; its view's roles are "
            f"{sorted(r.value for r in roles)}"
        )


def test_the_links_are_the_roles_pages_and_nothing_else(app):
    """links_for gives each role its entries in order; end users get none."""
    with app.app_context():
        for role, labels in SHOWN.items():
            assert [link.label for link in staff_nav.links_for(STAFF_ROLES[role])] == labels
        assert staff_nav.links_for(Role.END_USER) == []


def test_a_link_to_a_page_not_guarded_by_staff_required_is_refused(app):
    """A link whose route does not say who may open it is an error, not a guess."""
    with app.app_context():
        assert roles_of("admin.people") == frozenset({Role.ADMIN})
        with pytest.raises(LookupError, match="not guarded by staff_required"):
            roles_of("portal.tickets")


def test_an_end_users_pages_show_no_staff_nav(app, world):
    """Carol's Support Center pages (and the pages before sign-in) keep their plain header."""
    ticket = world.open()
    carol = person(app, world, "end_user")
    for page in ("/tickets", "/tickets/new", f"/tickets/{ticket.number}"):  # "/": to /tickets
        answer = carol.get(page)
        assert answer.status_code == 200, page
        header = HEADER.search(text(answer)).group(0)
        assert header.startswith("<header>") and "staff-nav" not in header, page
        assert "/staff" not in header and "/admin" not in header and "/ops" not in header
    visitor = app.test_client()
    for page in ("/login", "/staff/login", "/"):
        assert HEADER.search(text(visitor.get(page))).group(0).startswith("<header>"), page


@pytest.mark.parametrize(
    ("page", "current"),
    [
        ("/staff", "Dashboard"),
        ("/staff?queue=open", "Dashboard"),
        ("/staff/tickets/{ticket}", "Dashboard"),
        ("/staff/tickets/new", "Dashboard"),
        ("/ops", "SLA breaches"),
        ("/ops/compliance", "Compliance"),
        ("/ops/queues", "Queue health"),
        ("/admin/workflows/support", "Workflows"),
        ("/admin/sla-plans/new", "SLA plans"),
        ("/admin/people/new", "People"),
        ("/admin/topics", "Help topics"),
    ],
)
def test_the_current_sections_link_carries_aria_current(app, world, page, current):
    """Exactly one header link is marked: the section the page belongs to (a ticket is the
    Dashboard's, an SLA plan's form is SLA plans'), never its neighbours (/ops is not
    /ops/compliance)."""
    ticket = world.open()
    answer = person(app, world, "admin").get(page.format(ticket=ticket.number))
    assert answer.status_code == 200, page
    marked = [label for _, label, is_current in nav_links(text(answer)) if is_current]
    assert marked == [current]
    assert f'aria-current="page">{current}</a>' in NAV.search(text(answer)).group(1)


def test_the_notices_page_marks_notices_not_the_dashboard(app, world):
    answer = person(app, world, "agent").get("/staff/notifications")
    assert answer.status_code == 200
    assert not [label for _, label, is_current in nav_links(text(answer)) if is_current]
    header = HEADER.search(text(answer)).group(0)
    assert re.search(r'class="notices-link"[^>]*aria-current="page"', header)


def test_a_fragment_swapped_in_alone_carries_no_header(app, world):
    answer = person(app, world, "admin").get("/staff?queue=open", headers=HX)
    assert answer.status_code == 200 and "staff-nav" not in text(answer)


@pytest.mark.parametrize("role", ["agent", "ops", "admin", "customer"])
def test_the_nav_sends_no_sql(app, world, role):
    """The role comes from current_user as the user loader read it: building the nav is
    addresses and string comparisons only."""
    with app.test_request_context("/admin/people/new"):
        login_user(SessionUser(getattr(world, role)))
        nav, statements = count_queries(app, staff_nav.staff_nav)
    assert statements == []
    if role == "customer":
        assert nav is None
    else:
        assert [entry.label for _, group in nav.groups for entry in group] == SHOWN[role]


@pytest.mark.parametrize(
    ("role", "first", "may_open"),
    [("agent", "My tickets", True), ("admin", "My tickets", True), ("ops", "All open", False)],
)
def test_the_dashboard_opens_where_the_role_works(app, world, role, first, may_open):
    """Ops hold no tickets: their dashboard opens at "All open" (their "My tickets" would
    always be empty) and offers no "Open a ticket for a customer", which they may not do."""
    browser = person(app, world, role)
    html = text(browser.get("/staff"))
    current = re.search(r'aria-current="page" class="current">\s*([^<]+?)\s*<', html)
    assert current is not None and current.group(1) == first
    assert ("Open a ticket for a customer" in html) is may_open
    assert (browser.get("/staff/tickets/new").status_code == 200) is may_open
