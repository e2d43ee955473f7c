"""The admin's staff pages (`/admin/people`): who may reach them, creating and changing
accounts, deactivation with its handover form, reactivation, password links by mail."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.factories import make_user
from tests.web.conftest import PASSWORD, Browser
from tests.web.helpers import count_queries
from workflow import services
from workflow.models import AdminChange, Role, Ticket, TransitionLog, User

LINK = re.compile(r"http://localhost(/reset/\S+)")
NEW = "a brand new long password"


def link_in(mail) -> str:
    return LINK.search(mail.get_payload(decode=True).decode()).group(1)


def fresh(world, model, row_id):
    world.session.expire_all()
    return world.session.get(model, row_id)


def as_admin(browser, world):
    browser.sign_in(world.admin.email)
    return browser


def claimed_by_alice(world, n=1):
    agent = world.actor(world.agent)
    tickets = [world.open(subject=f"Ticket {i}") for i in range(n)]
    for ticket in tickets:
        services.apply_event(world.session, ticket.id, "claim", agent, world.now)
    return [fresh(world, Ticket, t.id) for t in tickets]


# ---- who may reach the pages ---------------------------------------------------------------

PAGES = [
    "/admin/people",
    "/admin/people/new",
    "/admin/people/{agent}",
    "/admin/people/{agent}/deactivate",
    "/admin/people/{agent}/password",
]
POSTS = [
    "/admin/people/new",
    "/admin/people/{agent}",
    "/admin/people/{agent}/deactivate",
    "/admin/people/{agent}/reactivate",
    "/admin/people/{agent}/password",
]


def url(template, world):
    return template.format(agent=world.agent.id)


@pytest.mark.parametrize(
    ("method", "page"), [("get", p) for p in PAGES] + [("post", p) for p in POSTS]
)
def test_anyone_not_signed_in_is_sent_to_the_staff_sign_in(browser, world, page, method):
    browser.get("/staff/login")  # a CSRF token, so the redirect is the guard's, not CSRF's
    answer = getattr(browser, method)(url(page, world))
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/staff/login?next=")


@pytest.mark.parametrize("who", ["agent", "ops"])
@pytest.mark.parametrize("page", PAGES)
def test_staff_without_the_admin_role_get_403_on_every_page(browser, world, who, page):
    browser.sign_in(getattr(world, who).email)
    assert browser.get(url(page, world)).status_code == 403


@pytest.mark.parametrize("who", ["agent", "ops"])
@pytest.mark.parametrize("page", POSTS)
def test_staff_without_the_admin_role_get_403_on_every_form(browser, world, who, page):
    browser.sign_in(getattr(world, who).email)
    answer = browser.post(url(page, world), {"name": "x", "email": "x@example.com"})
    assert answer.status_code == 403
    assert fresh(world, User, world.agent.id).is_active


@pytest.mark.parametrize("page", PAGES)
def test_an_admin_reaches_every_page(browser, world, page):
    as_admin(browser, world)
    assert browser.get(url(page, world)).status_code == 200


@pytest.mark.parametrize("page", POSTS)
def test_a_form_posted_without_its_csrf_token_is_refused(browser, world, page):
    as_admin(browser, world)
    answer = browser.post(
        url(page, world), {"name": "Mallory", "email": "m@example.com"}, csrf=False
    )
    assert answer.status_code == 400
    assert fresh(world, User, world.agent.id).is_active
    assert world.session.scalar(select(func.count()).select_from(AdminChange)) == 0


# ---- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_person_with_memberships_and_open_tickets(browser, world):
    claimed_by_alice(world, 2)
    world.agent.departments.append(world.department)
    world.session.commit()
    html = as_admin(browser, world).get("/admin/people").get_data(as_text=True)
    row = re.search(rf'<tr id="person-{world.agent.id}".*?</tr>', html, re.S).group(0)
    assert "alice@example.com" in row and "Support" in row
    assert '<td class="open-count">2</td>' in row
    assert "carol@example.com" not in html  # customers are not staff


def test_the_list_makes_the_same_few_queries_however_many_people(app, browser, world):
    as_admin(browser, world)

    def queries():
        answer, statements = count_queries(app, lambda: browser.get("/admin/people"))
        assert answer.status_code == 200
        return len(statements)

    few = queries()
    for i in range(15):
        user = make_user(
            world.session, f"agent{i}@example.com", f"Agent {i}", Role.AGENT, world.now
        )
        user.departments.append(world.department)
        user.teams.append(world.level2)
    world.session.commit()
    claimed_by_alice(world, 3)
    many = queries()
    assert few == many <= 6, (few, many)


# ---- creating and changing accounts --------------------------------------------------------


def create(browser, **fields):
    browser.get("/admin/people/new")
    data = {"name": "Dora Desk", "email": "dora@example.com", "role": "agent", "access": "invite"}
    return browser.post("/admin/people/new", {**data, **fields})


def test_an_admin_creates_an_agent_with_a_password_who_can_then_sign_in(browser, world):
    answer = create(
        as_admin(browser, world),
        access="password",
        password=NEW,
        confirm=NEW,
        departments=[world.department.id],
        teams=[world.level2.id],
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/people"
    dora = world.session.scalar(select(User).where(User.email == "dora@example.com"))
    assert [d.name for d in dora.departments] == ["Support"] and dora.teams[0].name.startswith(
        "Level"
    )
    browser.post("/staff/logout")
    assert browser.sign_in("dora@example.com", NEW).status_code == 302


def test_an_invited_person_chooses_their_own_password_from_the_mail(browser, world, inbox):
    assert create(as_admin(browser, world)).status_code == 303
    [mail] = inbox.messages
    assert mail["To"] == "dora@example.com" and "Ada Admin created" in mail.get_payload()
    browser.post("/staff/logout")
    path = link_in(mail)
    assert browser.get(path).status_code == 200
    assert browser.post(path, {"password": NEW, "confirm": NEW}).headers["Location"] == (
        "/staff/login"
    )
    assert browser.sign_in("dora@example.com", NEW).status_code == 302


def test_a_taken_email_in_other_capitals_is_refused_with_the_input_kept(browser, world):
    answer = create(as_admin(browser, world), name="Second Alice", email="ALICE@Example.com")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Someone already has the email address alice@example.com." in html
    assert 'value="Second Alice"' in html and 'value="ALICE@Example.com"' in html
    assert world.session.scalar(select(func.count()).where(User.name == "Second Alice")) == 0


def test_a_short_initial_password_is_refused(browser, world):
    answer = create(as_admin(browser, world), access="password", password="short", confirm="short")
    assert answer.status_code == 422
    assert "at least 10 characters" in answer.get_data(as_text=True)
    assert world.session.scalar(select(User).where(User.email == "dora@example.com")) is None


def test_a_role_change_takes_effect_on_the_next_request(browser, world):
    as_admin(browser, world).get(f"/admin/people/{world.agent.id}")
    answer = browser.post(
        f"/admin/people/{world.agent.id}",
        {"name": "Alice Agent", "role": "admin", "departments": [world.department.id]},
    )
    assert answer.status_code == 303
    browser.post("/staff/logout")
    browser.sign_in(world.agent.email)
    assert browser.get("/admin/people").status_code == 200


def test_an_admin_cannot_demote_themselves(browser, world):
    as_admin(browser, world).get(f"/admin/people/{world.admin.id}")
    answer = browser.post(f"/admin/people/{world.admin.id}", {"name": "Ada", "role": "agent"})
    assert answer.status_code == 422
    assert "cannot take the admin role from yourself" in answer.get_data(as_text=True)
    assert fresh(world, User, world.admin.id).role == Role.ADMIN


def test_a_customer_is_not_managed_here(browser, world):
    as_admin(browser, world)
    assert browser.get(f"/admin/people/{world.customer.id}").status_code == 404


# ---- deactivation --------------------------------------------------------------------------


def test_deactivating_asks_where_the_tickets_go_and_changes_nothing_until_answered(browser, world):
    tickets = claimed_by_alice(world, 2)
    page = as_admin(browser, world).get(f"/admin/people/{world.agent.id}/deactivate")
    html = page.get_data(as_text=True)
    assert all(f">{t.number}</a>" in html for t in tickets)
    assert 'value="queue"' in html and f'value="agent:{world.colleague.id}"' in html
    assert f'value="agent:{world.agent.id}"' not in html  # not to the person leaving
    seen = re.search(r'name="seen" value="([^"]+)"', html).group(1)

    answer = browser.post(f"/admin/people/{world.agent.id}/deactivate", {"seen": seen})
    assert answer.status_code == 422
    assert f"Choose where ticket #{tickets[0].number} goes." in answer.get_data(as_text=True)
    assert fresh(world, User, world.agent.id).is_active

    answer = browser.post(
        f"/admin/people/{world.agent.id}/deactivate",
        {
            "seen": seen,
            "all": f"agent:{world.colleague.id}",
            f"ticket-{tickets[1].id}": "queue",
        },
    )
    assert answer.status_code == 303
    assert fresh(world, User, world.agent.id).is_active is False
    first, second = (fresh(world, Ticket, t.id) for t in tickets)
    assert first.assignee_id == world.colleague.id and second.assignee_id is None
    events = world.session.scalars(
        select(TransitionLog.event).where(TransitionLog.actor_id == world.admin.id)
    ).all()
    assert sorted(events) == ["staff_handover", "transfer"]
    ticket_page = browser.get(f"/staff/tickets/{first.number}").get_data(as_text=True)
    assert (
        "Alice Agent&#39;s account was deactivated; the ticket goes to Bob Level2." in ticket_page
    )


def test_a_deactivated_person_cannot_sign_in_and_their_open_session_ends(app, browser, world):
    alice = Browser(app.test_client())
    alice.sign_in(world.agent.email)
    assert alice.get("/staff/probe").status_code == 200
    as_admin(browser, world).get(f"/admin/people/{world.agent.id}/deactivate")
    assert (
        browser.post(f"/admin/people/{world.agent.id}/deactivate", {"seen": ""}).status_code == 303
    )
    assert alice.get("/staff/probe").status_code == 302  # the open session no longer counts
    assert alice.sign_in(world.agent.email).status_code == 422


def test_a_ticket_changed_meanwhile_answers_409_and_shows_the_form_again(browser, world):
    [ticket] = claimed_by_alice(world, 1)
    html = as_admin(browser, world).get(f"/admin/people/{world.agent.id}/deactivate")
    seen = re.search(r'name="seen" value="([^"]+)"', html.get_data(as_text=True)).group(1)
    services.add_note(world.session, ticket.id, world.actor(world.agent), world.now, "Still on it.")
    answer = browser.post(
        f"/admin/people/{world.agent.id}/deactivate", {"seen": seen, "all": "queue"}
    )
    assert answer.status_code == 409
    assert "changed by someone else" in answer.get_data(as_text=True)
    assert fresh(world, User, world.agent.id).is_active
    assert fresh(world, Ticket, ticket.id).assignee_id == world.agent.id


def test_an_admin_cannot_deactivate_themselves(browser, world):
    page = as_admin(browser, world).get(f"/admin/people/{world.admin.id}/deactivate")
    assert "cannot deactivate your own account" in page.get_data(as_text=True)
    answer = browser.post(f"/admin/people/{world.admin.id}/deactivate", {"seen": ""})
    assert answer.status_code == 403
    assert fresh(world, User, world.admin.id).is_active


def test_reactivating_lets_them_sign_in_again(browser, world):
    world.agent.is_active = False
    world.session.commit()
    as_admin(browser, world).get("/admin/people")
    answer = browser.post(f"/admin/people/{world.agent.id}/reactivate")
    assert answer.status_code == 303
    browser.post("/staff/logout")
    assert browser.sign_in(world.agent.email).status_code == 302


# ---- password links ------------------------------------------------------------------------


def test_a_password_link_is_mailed_and_the_old_password_can_be_stopped(browser, world, inbox):
    as_admin(browser, world).get(f"/admin/people/{world.agent.id}/password")
    answer = browser.post(f"/admin/people/{world.agent.id}/password", {"lock": "y"})
    assert answer.status_code == 303
    [mail] = inbox.messages
    assert mail["To"] == world.agent.email
    browser.post("/staff/logout")
    assert browser.sign_in(world.agent.email, PASSWORD).status_code == 422  # stopped at once
    path = link_in(mail)
    browser.get(path)
    browser.post(path, {"password": NEW, "confirm": NEW})
    assert browser.sign_in(world.agent.email, NEW).status_code == 302
    assert (
        world.session.scalar(select(func.count()).where(AdminChange.kind == "staff.password_reset"))
        == 1
    )
