"""The staff header's navigation: which pages each staff role gets a link to.

Why it exists: nothing linked the dashboard to the admin and ops pages, so admins and ops had
to know their URLs. The header now lists the pages a signed-in staff member may open, and
only those: a link that answers 403 is worse than no link. So this table is the one place
that decides the links, and its roles must be exactly the roles the routes let in.

Why the roles are not spelled here: `web.auth.staff_required` records the roles it lets in
on the view it guards (`web.auth.roles_of` reads them back), and each link takes the roles
of its endpoint's view. So a route that widens or narrows its decorator moves its link with
it, and an endpoint not guarded by `staff_required` is an error, not a guess (tests prove
every link answers 200 to the roles it is shown to, and 403 to the others).

Rendering sends no SQL: the role comes from `current_user` (read once per request by the
user loader), the addresses from `url_for`, the current page from `request.path`.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import request, url_for
from flask_login import current_user

from web.auth import roles_of
from workflow.models import Role


class Link(NamedTuple):
    endpoint: str
    label: str


LINKS: tuple[Link, ...] = (
    Link("staff.dashboard", "Dashboard"),
    Link("ops.breaches", "SLA breaches"),
    Link("ops.compliance", "Compliance"),
    Link("ops.queues", "Queue health"),
    Link("admin.workflows", "Workflows"),
    Link("admin.sla_plans", "SLA plans"),
    Link("admin.calendars", "Calendars"),
    Link("admin.canned_list", "Canned responses"),
    Link("admin.people", "People"),
    Link("admin.departments", "Departments"),
    Link("admin.teams", "Teams"),
    Link("admin.topics", "Help topics"),
)
"""The header's links in the order shown; grouped by blueprint (staff, ops, admin)."""

ELSEWHERE = ("staff.notifications",)
"""Staff pages the header links to outside this list (the Notices link): their pages are
their own section, not the Dashboard's, although they live under `/staff`."""


class Entry(NamedTuple):
    url: str
    label: str
    current: bool


class StaffNav(NamedTuple):
    groups: list[tuple[str, list[Entry]]]  # ("staff" | "ops" | "admin", its links)
    current: str | None  # the endpoint of the section the page belongs to


def links_for(role: Role) -> list[Link]:
    """The links `role` gets, in order (in an app context: the roles are the routes')."""
    return [link for link in LINKS if role in roles_of(link.endpoint)]


def _within(path: str, url: str) -> bool:
    return path == url or path.startswith(url.rstrip("/") + "/")


def staff_nav() -> StaffNav | None:
    """The signed-in staff member's links, grouped, with the current section marked (the
    link whose address is the longest prefix of this page's path); None for anyone else."""
    if not (current_user.is_authenticated and current_user.is_staff):
        return None
    shown = links_for(current_user.role)
    urls = {link.endpoint: url_for(link.endpoint) for link in shown}
    urls.update({endpoint: url_for(endpoint) for endpoint in ELSEWHERE})
    inside = [endpoint for endpoint, url in urls.items() if _within(request.path, url)]
    current = max(inside, key=lambda endpoint: len(urls[endpoint]), default=None)
    groups: dict[str, list[Entry]] = {}
    for link in shown:
        entry = Entry(urls[link.endpoint], link.label, link.endpoint == current)
        groups.setdefault(link.endpoint.partition(".")[0], []).append(entry)
    return StaffNav(list(groups.items()), current)
