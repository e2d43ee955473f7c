"""In-app notices for staff (web/staff/notices.py): the unread count in the header, the list
at /staff/notifications (own notices only, newest first, bodies escaped, keyset pages), and
marking one or all read (CSRF, someone else's notice is a 404 and stays unread)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.web.helpers import count_queries
from web.staff import notices
from workflow import escalating, services
from workflow.models import Notification, SlaPlan

BADGE = re.compile(r'class="notices-unread"[^>]*>([^<]*)</span>')
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def staffed(world):
    world.agent.departments.append(world.department)
    world.session.commit()
    return world


def notify(world, user, ticket, body="Ticket is at risk.", *, at=None, read=False) -> Notification:
    """A notice as an escalation step writes it (step_actions._notify), committed."""
    at = at or world.now
    row = Notification(
        user_id=user.id,
        ticket_id=ticket.id,
        kind="sla.first_response.at_risk",
        body=body,
        created_at=at,
        read_at=at if read else None,
    )
    world.session.add(row)
    world.session.commit()
    return row


def badge(page) -> str | None:
    found = BADGE.search(page.get_data(as_text=True))
    return found.group(1) if found else None


def read_at(world, notice_id: int):
    world.session.expire_all()
    return world.session.get(Notification, notice_id).read_at


def test_an_escalation_notice_shows_in_the_header_and_the_list_escaped(browser, staffed):
    """The real writer: an at-risk step notifies the assignee; the subject it quotes (with
    markup and a name in it) is shown as text, linked to the ticket."""
    world = staffed
    plan = world.session.scalar(select(SlaPlan).where(SlaPlan.name == "SEV A"))
    world.topic.sla_plan_id = plan.id
    world.session.commit()
    ticket = world.open(subject="<script>alert(1)</script> O'Brien's printer", now=START)
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), START)
    escalating.run_due(world.session, ticket.id, START + timedelta(minutes=24))
    world.session.commit()
    [notice] = world.session.scalars(select(Notification)).all()
    assert notice.user_id == world.agent.id

    browser.sign_in(world.agent.email)
    assert badge(browser.get("/staff")) == "1"
    page = browser.get("/staff/notifications")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; O&#39;Brien&#39;s printer" in html
    assert f'href="/staff/tickets/{ticket.number}"' in html


def test_the_list_holds_only_ones_own_notices_newest_first(browser, staffed):
    world = staffed
    ticket = world.open()
    older = notify(world, world.agent, ticket, "Older notice.", at=world.now)
    newer = notify(world, world.agent, ticket, "Newer notice.", at=world.now + timedelta(hours=1))
    notify(world, world.colleague, ticket, "Bob's private notice.")
    browser.sign_in(world.agent.email)
    html = browser.get("/staff/notifications").get_data(as_text=True)
    assert html.index(f"notice-{newer.id}") < html.index(f"notice-{older.id}")
    assert "Bob&#39;s private notice." not in html and "Bob's private notice." not in html
    assert badge(browser.get("/staff")) == "2"


def test_marking_one_read_lowers_the_count_and_marking_all_clears_it(browser, staffed):
    world = staffed
    ticket = world.open()
    first = notify(world, world.agent, ticket, "First.")
    second = notify(world, world.agent, ticket, "Second.")
    third = notify(world, world.agent, ticket, "Third.")
    bobs = notify(world, world.colleague, ticket, "Bob's.")
    browser.sign_in(world.agent.email)
    assert badge(browser.get("/staff/notifications")) == "3"

    marked = browser.post(f"/staff/notifications/{first.id}/read")
    assert marked.status_code == 303 and marked.headers["Location"].endswith("/staff/notifications")
    assert read_at(world, first.id) is not None
    page = browser.get("/staff/notifications")
    assert badge(page) == "2" and "Notice marked as read." in page.get_data(as_text=True)

    stamped = read_at(world, first.id)
    assert browser.post(f"/staff/notifications/{first.id}/read").status_code == 303
    assert read_at(world, first.id) == stamped  # marking again keeps the first time

    assert browser.post("/staff/notifications/read").status_code == 303
    page = browser.get("/staff/notifications")
    assert badge(page) == "0" and "Marked 2 notices as read." in page.get_data(as_text=True)
    assert read_at(world, second.id) is not None and read_at(world, third.id) is not None
    assert read_at(world, bobs.id) is None  # someone else's notices are untouched


def test_someone_elses_notice_is_404_and_stays_unread(browser, staffed):
    world = staffed
    bobs = notify(world, world.colleague, world.open(), "Bob's.")
    browser.sign_in(world.agent.email)
    assert browser.post(f"/staff/notifications/{bobs.id}/read").status_code == 404
    assert browser.post(f"/staff/notifications/{bobs.id + 1000}/read").status_code == 404
    assert read_at(world, bobs.id) is None


def test_without_the_csrf_token_nothing_is_marked(browser, staffed):
    world = staffed
    mine = notify(world, world.agent, world.open())
    browser.sign_in(world.agent.email)
    assert browser.post(f"/staff/notifications/{mine.id}/read", csrf=False).status_code == 400
    assert browser.post("/staff/notifications/read", csrf=False).status_code == 400
    forged = browser.client.post(
        "/staff/notifications/read", headers={"HX-Request": "true", "X-CSRFToken": "forged"}
    )
    assert forged.status_code == 400
    assert read_at(world, mine.id) is None
    assert badge(browser.get("/staff")) == "1"


def test_not_signed_in_goes_to_the_staff_sign_in(browser, staffed):
    world = staffed
    mine = notify(world, world.agent, world.open())
    browser.get("/staff/login")  # a session with a CSRF token
    for answer in (
        browser.get("/staff/notifications"),
        browser.post(f"/staff/notifications/{mine.id}/read"),
        browser.post("/staff/notifications/read"),
    ):
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith("/staff/login")
    assert read_at(world, mine.id) is None


def test_an_end_user_gets_403(browser, staffed):
    world = staffed
    mine = notify(world, world.agent, world.open())
    browser.sign_in(world.customer.email, staff=False)
    assert browser.get("/staff/notifications").status_code == 403
    assert browser.post(f"/staff/notifications/{mine.id}/read").status_code == 403
    assert browser.post("/staff/notifications/read").status_code == 403
    assert read_at(world, mine.id) is None
    assert badge(browser.get("/tickets")) is None  # no staff badge in the Support Center


@pytest.mark.parametrize("who", ["ops", "admin"])
def test_every_staff_role_reads_its_own_notices(browser, staffed, who):
    world = staffed
    person = getattr(world, who)
    notify(world, person, world.open(), f"For {person.name}.")
    browser.sign_in(person.email)
    page = browser.get("/staff/notifications")
    assert page.status_code == 200 and f"For {person.name}." in page.get_data(as_text=True)
    assert badge(page) == "1"


def test_pages_are_fifty_newest_first_with_a_link_to_older(browser, staffed):
    world = staffed
    ticket = world.open()
    rows = [
        Notification(
            user_id=world.agent.id,
            ticket_id=ticket.id,
            kind="sla.resolution.breach",
            body=f"Notice {i:03d}.",
            created_at=world.now + timedelta(minutes=i),
        )
        for i in range(notices.PAGE_SIZE + 5)
    ]
    world.session.add_all(rows)
    world.session.commit()
    browser.sign_in(world.agent.email)
    first = browser.get("/staff/notifications").get_data(as_text=True)
    shown = re.findall(r"Notice (\d{3})\.", first)
    assert shown == [f"{i:03d}" for i in range(54, 4, -1)]
    link = re.search(r'href="(/staff/notifications\?before=\d+)"', first)
    assert link is not None
    second = browser.get(link.group(1)).get_data(as_text=True)
    assert re.findall(r"Notice (\d{3})\.", second) == ["004", "003", "002", "001", "000"]
    assert "Older notices" not in second


@pytest.mark.parametrize("before", ["abc", "-1", "9" * 40])
def test_a_broken_page_link_is_a_sentence_not_a_500(browser, staffed, before):
    browser.sign_in(staffed.agent.email)
    answer = browser.get(f"/staff/notifications?before={before}")
    assert answer.status_code == 400
    assert "That page link is broken" in answer.get_data(as_text=True)


def test_the_badge_is_capped(browser, staffed, monkeypatch):
    world = staffed
    monkeypatch.setattr(notices, "UNREAD_CAP", 3)
    ticket = world.open()
    for _ in range(5):
        notify(world, world.agent, ticket)
    notify(world, world.agent, ticket, read=True)
    browser.sign_in(world.agent.email)
    assert badge(browser.get("/staff")) == "3+"
    world.session.execute(
        update(Notification).where(Notification.user_id == world.agent.id).values(read_at=world.now)
    )
    world.session.commit()
    assert badge(browser.get("/staff")) == "0"


def test_the_header_count_is_one_statement_and_fragments_pay_nothing(app, browser, staffed):
    """The count is asked for only by base.html: a full page makes one statement on the
    notifications table, an htmx fragment (no header) none."""
    world = staffed
    ticket = world.open()
    notify(world, world.agent, ticket)
    browser.sign_in(world.agent.email)

    def notice_statements(target: str, **kw) -> int:
        answer, statements = count_queries(app, lambda: browser.get(target, **kw))
        assert answer.status_code == 200
        return sum("notifications" in s for s in statements)

    assert notice_statements(f"/staff/tickets/{ticket.number}") == 1
    assert notice_statements("/staff/notifications") == 2  # the badge and the list
    assert notice_statements("/staff?queue=open") == 1
    assert notice_statements("/staff?queue=open", headers={"HX-Request": "true"}) == 0


def test_the_admin_console_has_no_badge_and_pays_no_query(app, browser, staffed):
    """The count belongs to the `/staff` pages; the admin console keeps its query budget."""
    world = staffed
    notify(world, world.admin, world.open())
    browser.sign_in(world.admin.email)
    assert badge(browser.get("/staff")) == "1"
    page = browser.get("/admin/departments")
    assert page.status_code == 200 and badge(page) is None
