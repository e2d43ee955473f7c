"""Signing in and out, registering, and the guards every route uses."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import check_password_hash

from tests.web.conftest import PASSWORD
from workflow.models import Role, User


def test_staff_sign_in_lands_on_the_page_asked_for(browser, world):
    browser.get("/staff/login?next=/staff/probe")
    answer = browser.post(
        "/staff/login?next=/staff/probe", {"email": world.agent.email, "password": PASSWORD}
    )
    assert answer.status_code == 302 and answer.headers["Location"] == "/staff/probe"
    assert browser.get("/staff/probe").get_data(as_text=True) == "staff page"


def test_sign_in_ignores_an_offsite_next(browser, world):
    browser.get("/staff/login")
    answer = browser.post(
        "/staff/login?next=https://evil.example/x",
        {"email": world.agent.email, "password": PASSWORD},
    )
    assert answer.headers["Location"] == "/staff"
    answer = browser.post(
        "/staff/login?next=//evil.example/x", {"email": world.agent.email, "password": PASSWORD}
    )
    assert answer.headers["Location"] == "/staff"


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(browser, world):
    wrong = browser.sign_in(world.agent.email, "not the password")
    unknown = browser.sign_in("nobody@example.com")
    for answer in (wrong, unknown):
        assert answer.status_code == 422
        assert "Wrong email or password." in answer.get_data(as_text=True)
    assert browser.get("/staff/probe").status_code == 302  # still signed out


def test_customers_cannot_sign_in_as_staff_nor_staff_as_customers(browser, world):
    """Refused either way (422, nobody signed in); the right password on the wrong page is
    pointed to the right one (tests/web/test_portal_front_door.py)."""
    answer = browser.sign_in(world.customer.email, staff=True)
    assert answer.status_code == 422 and "sign in at the" in answer.get_data(as_text=True)
    answer = browser.sign_in(world.agent.email, staff=False)
    assert answer.status_code == 422
    assert browser.get("/staff/probe").status_code == 302
    assert browser.get("/tickets").status_code == 302


def test_a_deactivated_agent_cannot_sign_in(browser, world):
    world.agent.is_active = False
    world.session.commit()
    assert browser.sign_in(world.agent.email).status_code == 422


def test_a_state_changing_post_without_the_csrf_token_is_refused(browser, world):
    answer = browser.post(
        "/staff/login", {"email": world.agent.email, "password": PASSWORD}, csrf=False
    )
    assert answer.status_code == 400
    assert "CSRF" in answer.get_data(as_text=True)


def test_signing_out_needs_a_post_with_the_token(browser, world):
    browser.sign_in(world.agent.email)
    assert browser.client.get("/staff/logout").status_code == 405
    browser.post("/staff/logout", csrf=False)
    assert browser.get("/staff/probe").status_code == 200  # a forged sign-out did nothing
    browser.get("/")
    assert browser.post("/staff/logout").status_code == 302
    assert browser.get("/staff/probe").status_code == 302


def test_register_creates_a_signed_in_customer_with_a_hashed_password(browser, world):
    browser.get("/register")
    answer = browser.post(
        "/register",
        {
            "name": "Nina New",
            "email": "Nina@Example.com",
            "password": "a good long password",
            "confirm": "a good long password",
        },
    )
    assert answer.status_code == 302
    user = world.session.scalar(select(User).where(User.email == "nina@example.com"))
    assert user.role == Role.END_USER and user.name == "Nina New"
    assert "a good long password" not in user.password_hash
    assert check_password_hash(user.password_hash, "a good long password")
    assert browser.get("/portal-probe").get_data(as_text=True) == "customer page"


def test_register_explains_each_problem(browser, world):
    browser.get("/register")
    answer = browser.post(
        "/register",
        {"name": "", "email": "not-an-email", "password": "short", "confirm": "different"},
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    for message in (
        "Tell us your name.",
        "does not look like an email address",
        "at least 10 characters",
        "not the same",
    ):
        assert message in html
    taken = browser.post(
        "/register",
        {
            "name": "Carol",
            "email": world.customer.email.upper(),
            "password": "another long password",
            "confirm": "another long password",
        },
    )
    assert taken.status_code == 422
    assert "already exists" in taken.get_data(as_text=True)


def test_not_signed_in_is_sent_to_the_right_sign_in_page(browser):
    staff = browser.client.get("/staff/probe")
    admin = browser.client.get("/admin/probe")
    customer = browser.client.get("/portal-probe")
    assert staff.status_code == admin.status_code == customer.status_code == 302
    assert staff.headers["Location"].startswith("/staff/login?next=/staff/probe")
    assert admin.headers["Location"].startswith("/staff/login?next=/admin/probe")
    assert customer.headers["Location"].startswith("/login?next=/portal-probe")


def test_the_wrong_role_gets_403(browser, world):
    browser.sign_in(world.agent.email)
    assert browser.get("/admin/probe").status_code == 403
    assert browser.get("/portal-probe").status_code == 403
    browser.post("/staff/logout")
    browser.sign_in(world.customer.email, staff=False)
    assert browser.get("/staff/probe").status_code == 403
    assert browser.get("/admin/probe").status_code == 403


def test_admins_reach_admin_pages(browser, world):
    browser.sign_in(world.admin.email)
    assert browser.get("/admin/probe").get_data(as_text=True) == "admin page"
