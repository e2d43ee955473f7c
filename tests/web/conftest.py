"""An app on the test database and the run's own Redis, with people who can sign in, a
CSRF-aware client, and the set-up many web tests share (a Support ticket, a Redis client,
a mail inbox, a clock the test sets). Plain helpers: tests/web/helpers.py."""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta

import pytest
from flask import Blueprint
from redis import Redis
from werkzeug.security import generate_password_hash

from config import Config
from jobs import runtime
from tests.web.mail_jobs import start_inbox
from web import create_app
from web.auth import end_user_required, staff_required
from web.extensions import limiter
from workflow.models import Role

PASSWORD = "a long enough password"
TOKEN = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf-token" content="([^"]+)"'
)


def _probes() -> Blueprint:
    """Routes guarded the way real pages are, to test the guards themselves."""
    probe = Blueprint("probe", __name__)

    @probe.get("/staff/probe")
    @staff_required()
    def staff_page():
        return "staff page"

    @probe.get("/admin/probe")
    @staff_required(Role.ADMIN)
    def admin_page():
        return "admin page"

    @probe.get("/portal-probe")
    @end_user_required
    def customer_page():
        return "customer page"

    return probe


def app_config(engine, redis_url, live_channel, **settings) -> Config:
    """The configuration the test apps share: the test database, the run's Redis database
    and live channel, and rate-limit keys of the run's own."""
    return Config(
        **{
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "REDIS_URL": redis_url,
            "RATELIMIT_KEY_PREFIX": f"ticketflow-test-{os.getpid()}",
            "LIVE_CHANNEL": live_channel,
            "TESTING": True,
            **settings,
        }
    )


@pytest.fixture
def app(engine, world, redis_url, live_channel):
    for user in (world.customer, world.agent, world.colleague, world.admin, world.ops):
        user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    world.session.commit()
    with Redis.from_url(redis_url) as connection:
        connection.flushdb()  # the run's own database: no queued job or key of an earlier test
    app = create_app(app_config(engine, redis_url, live_channel))
    app.register_blueprint(_probes())
    with app.app_context():
        limiter.reset()  # every test starts unthrottled (the limiter is one per process)
    yield app
    from web.extensions import db

    with app.app_context():
        db.engine.dispose()


class Browser:
    """A test client that reads the CSRF token from the last page, as a browser would."""

    def __init__(self, client):
        self.client = client
        self.token = None

    def get(self, url, **kw):
        answer = self.client.get(url, **kw)
        found = TOKEN.search(answer.get_data(as_text=True))
        if found:
            self.token = found.group(1) or found.group(2)
        return answer

    def post(self, url, data=None, *, csrf=True, **kw):
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/staff/login")
            data["csrf_token"] = self.token
        return self.client.post(url, data=data, **kw)

    def sign_in(self, email, password=PASSWORD, *, staff=True):
        page = "/staff/login" if staff else "/login"
        self.get(page)
        return self.post(page, {"email": email, "password": password})


class Clock:
    """The time the app's routes read (its TICKETFLOW_CLOCK, see web/clock.py): it stands
    still at the instant it was set to, and moves only when the test moves it."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = at

    def advance(self, **delta: float) -> datetime:
        """Move on by a timedelta's keywords (minutes=5); returns the new time."""
        self.at += timedelta(**delta)
        return self.at


@pytest.fixture
def clock(app, now) -> Clock:
    """The app's clock, standing at the NOW the world's data was created at, so what a
    route computes (due times, countdowns, ages) does not depend on the day the tests run."""
    app.config["TICKETFLOW_CLOCK"] = settable = Clock(now)
    return settable


@pytest.fixture
def browser(app):
    return Browser(app.test_client())


@pytest.fixture
def admin(browser, world):
    """The browser, signed in as the admin: where every admin page's test starts."""
    assert browser.sign_in(world.admin.email).status_code == 302
    return browser


@pytest.fixture
def ticket(world):
    """A ticket of the Support department, whose agents are Alice and Bob."""
    world.agent.departments.append(world.department)
    world.colleague.departments.append(world.department)
    world.session.commit()
    return world.open()


@pytest.fixture
def redis(redis_url):
    """A client on the run's Redis database (the one the app uses)."""
    client = Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def inbox(app, monkeypatch):
    """A real SMTP server the app's mail jobs deliver to (tests/web/mail_jobs.py)."""
    box, controller = start_inbox(app, monkeypatch)
    yield box
    controller.stop()
    runtime.reset()
