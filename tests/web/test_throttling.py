"""Failed sign-ins are throttled per account and per address, on Redis; good ones never."""

from __future__ import annotations

import time

from config import Config
from tests.web.conftest import PASSWORD, Browser
from web import create_app
from web.extensions import db


def fail(browser, email, times, staff=True):
    return [browser.sign_in(email, "wrong password", staff=staff).status_code for _ in range(times)]


def test_five_failed_sign_ins_lock_the_account_for_a_while(browser, world):
    assert fail(browser, world.agent.email, 5) == [422] * 5
    locked = browser.sign_in(world.agent.email)  # even the right password waits now
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.get_data(as_text=True)
    assert browser.sign_in(world.admin.email).status_code == 302  # other accounts unaffected


def test_the_account_count_ignores_how_the_email_is_typed(browser, world):
    fail(browser, world.agent.email.upper(), 3)
    fail(browser, world.agent.email, 2)
    assert browser.sign_in(world.agent.email).status_code == 429


def test_successful_sign_ins_are_never_throttled(browser, world):
    for _ in range(8):
        assert browser.sign_in(world.agent.email).status_code == 302


def test_one_address_trying_many_accounts_is_stopped(browser, world):
    codes = []
    for i in range(21):
        codes.append(browser.sign_in(f"guess{i}@example.com", "x").status_code)
    assert codes[:20] == [422] * 20 and codes[20] == 429


def test_customer_sign_in_is_throttled_too(browser, world):
    assert fail(browser, world.customer.email, 5, staff=False) == [422] * 5
    assert browser.sign_in(world.customer.email, staff=False).status_code == 429


def test_a_redis_outage_never_blocks_or_delays_sign_in(engine, world, app):
    config = Config(
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        REDIS_URL="redis://127.0.0.1:1/0",
        TESTING=True,
    )
    down = create_app(config)
    browser = Browser(down.test_client())
    started = time.monotonic()
    try:
        assert browser.sign_in(world.agent.email, PASSWORD).status_code == 302
    finally:
        with down.app_context():
            db.engine.dispose()
    assert time.monotonic() - started < 5  # short socket timeouts, no retry storm
