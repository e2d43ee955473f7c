"""Canned responses: admins keep them at /admin/canned; agents insert them in the composer,
filled in for the ticket (HTMX swaps the textarea; without JavaScript the page comes back
with the text in the composer)."""

from __future__ import annotations

import html as htmllib
import re

import pytest
from sqlalchemy import func, select

from tests.web.helpers import HX, count_queries
from workflow import canned
from workflow.models import CannedResponse

POLITE = "Hello {requester_first_name}, thank you for ticket #{ticket_number}. {agent_name}"


@pytest.fixture
def ticket(world):
    world.agent.departments.append(world.department)
    world.session.commit()
    return world.open()


def add(world, name="Thanks", body=POLITE, active=True):
    return canned.save(
        world.session, world.actor(world.admin), world.now, name=name, body=body, is_active=active
    )


def count_rows(world):
    world.session.expire_all()
    return world.session.scalar(select(func.count()).select_from(CannedResponse))


def queries(app, call):
    """The number of SQL statements `call` makes (the way test_dashboard counts them)."""
    answer, statements = count_queries(app, call)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return len(statements)


# ---- admin ---------------------------------------------------------------------------------


def test_an_admin_writes_a_canned_response_and_sees_it_listed(admin, world):
    assert admin.get("/admin/canned/new").status_code == 200
    answer = admin.post(
        "/admin/canned/new", {"name": "We are on it", "body": POLITE, "is_active": "y"}
    )
    assert answer.status_code == 303
    page = admin.get("/admin/canned").get_data(as_text=True)
    assert "We are on it" in page and "yes" in page
    row = world.session.scalar(select(CannedResponse))
    assert (row.name, row.body, row.is_active) == ("We are on it", POLITE, True)


def test_an_unknown_placeholder_is_refused_with_a_sentence_and_nothing_is_saved(admin, world):
    admin.get("/admin/canned/new")
    answer = admin.post("/admin/canned/new", {"name": "Oops", "body": "Dear {customer},"})
    assert answer.status_code == 422
    text = htmllib.unescape(answer.get_data(as_text=True))
    assert "The text uses {customer}, which Ticketflow cannot fill in" in text
    assert "Dear {customer}," in text  # what was typed is kept in the form
    assert count_rows(world) == 0


def test_an_admin_switches_one_off_and_removes_another(admin, world):
    keep, gone = add(world, "Keep"), add(world, "Gone")
    admin.get(f"/admin/canned/{keep.id}")
    answer = admin.post(f"/admin/canned/{keep.id}", {"name": "Keep", "body": "Hi"})
    assert answer.status_code == 303  # an unticked checkbox sends nothing: switched off
    admin.get(f"/admin/canned/{gone.id}")
    assert admin.post(f"/admin/canned/{gone.id}/delete").status_code == 303
    world.session.expire_all()
    rows = world.session.scalars(select(CannedResponse)).all()
    assert [(r.name, r.body, r.is_active) for r in rows] == [("Keep", "Hi", False)]


PAGES = ("/admin/canned", "/admin/canned/new")


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(("who", "status"), [(None, 302), ("agent", 403), ("ops", 403)])
def test_only_admins_manage_canned_responses(browser, world, page, who, status):
    if who is not None:
        browser.sign_in(getattr(world, who).email)
    answer = browser.get(page)
    assert answer.status_code == status
    if status == 302:
        assert "/staff/login" in answer.headers["Location"]
    browser.get("/staff/login")
    assert browser.post("/admin/canned/new", {"name": "X", "body": "Y"}).status_code == status
    assert count_rows(world) == 0


def test_customers_are_kept_out_of_the_admin_pages(browser, world):
    browser.sign_in(world.customer.email, staff=False)
    assert browser.get("/admin/canned").status_code == 403


def test_changes_need_the_csrf_token(admin, world):
    row = add(world)
    assert (
        admin.post("/admin/canned/new", {"name": "X", "body": "Y"}, csrf=False).status_code == 400
    )
    assert admin.post(f"/admin/canned/{row.id}/delete", csrf=False).status_code == 400
    assert count_rows(world) == 1


def test_the_list_makes_the_same_few_queries_however_many_rows(app, admin, world):
    add(world, "One")
    few = queries(app, lambda: admin.get("/admin/canned"))
    for i in range(10):
        add(world, f"More {i}")
    assert queries(app, lambda: admin.get("/admin/canned")) == few


# ---- in the composer -----------------------------------------------------------------------


def test_the_composer_offers_the_active_ones(browser, world, ticket):
    add(world, "Thanks")
    add(world, "Retired", active=False)
    browser.sign_in(world.agent.email)
    html = browser.get(f"/staff/tickets/{ticket.number}").get_data(as_text=True)
    assert re.search(r'<option value="\d+">Thanks</option>', html)
    assert "Retired" not in html
    assert f'hx-get="/staff/tickets/{ticket.number}/canned"' in html


def test_with_htmx_the_textarea_comes_back_with_the_text_after_what_was_typed(
    browser, world, ticket
):
    row = add(world)
    browser.sign_in(world.agent.email)
    answer = browser.get(
        f"/staff/tickets/{ticket.number}/canned",
        query_string={"canned_id": row.id, "body": "Hi there"},
        headers=HX,
    )
    assert answer.status_code == 200
    assert answer.headers["HX-Retarget"] == "#body"
    html = answer.get_data(as_text=True)
    assert html.strip().startswith('<textarea autofocus id="body" name="body"')
    assert htmllib.unescape(html).count(
        f"Hi there\n\nHello Carol, thank you for ticket #{ticket.number}. Alice Agent"
    )


def test_without_javascript_insert_brings_the_page_back_with_the_text(browser, world, ticket):
    row = add(world)
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/canned",
        {"canned_id": row.id, "mode": "note", "body": "", "version": 1},
    )
    assert answer.status_code == 200
    html = htmllib.unescape(answer.get_data(as_text=True))
    assert f"Hello Carol, thank you for ticket #{ticket.number}. Alice Agent</textarea>" in html
    assert re.search(r'value="note"[^>]*checked|checked[^>]*value="note"', html)
    assert "#" + str(ticket.number) in html and "Actions" in html  # the whole page


@pytest.mark.parametrize(
    ("who", "status"), [(None, 302), ("customer", 403), ("ops", 403), ("colleague", 404)]
)
def test_who_may_insert_one(browser, world, ticket, who, status):
    row = add(world)
    if who is not None:
        user = getattr(world, who)
        browser.sign_in(user.email, staff=user.is_staff)
    url = f"/staff/tickets/{ticket.number}/canned?canned_id={row.id}"
    answer = browser.get(url)
    assert answer.status_code == status
    if who is None:
        assert "/staff/login" in answer.headers["Location"]
        # with HTMX: no sign-in form swapped into the composer, but a redirect of the page
        answer = browser.get(url, headers=HX)
        assert (answer.status_code, "/staff/login" in answer.headers["HX-Redirect"]) == (204, True)
    else:
        assert browser.get(url, headers=HX).status_code == status


def test_a_switched_off_or_missing_one_is_a_clear_refusal(browser, world, ticket):
    off = add(world, "Off", active=False)
    browser.sign_in(world.agent.email)
    url = f"/staff/tickets/{ticket.number}/canned"
    assert browser.get(f"{url}?canned_id={off.id}").status_code == 404
    answer = browser.get(f"{url}?canned_id=")
    assert answer.status_code == 422
    assert "Choose a canned response to insert." in answer.get_data(as_text=True)
    assert browser.get(f"{url}?canned_id=", headers=HX).status_code == 204  # picker reset
    browser.get(f"/staff/tickets/{ticket.number}")
    assert browser.post(url, {"canned_id": off.id}, csrf=False).status_code == 400


def test_the_ticket_page_queries_do_not_grow_with_canned_responses(app, browser, world, ticket):
    browser.sign_in(world.agent.email)
    add(world, "One")
    few = queries(app, lambda: browser.get(f"/staff/tickets/{ticket.number}"))
    for i in range(10):
        add(world, f"More {i}")
    assert queries(app, lambda: browser.get(f"/staff/tickets/{ticket.number}")) == few
