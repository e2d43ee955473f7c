"""The app factory, configuration checks, the public pages and error answers."""

from __future__ import annotations

import pytest
from flask import Blueprint

from config import Config, ConfigError
from web import create_app
from workflow.errors import StaleTicket, TransitionRejected


@pytest.fixture
def app(engine, world):
    config = Config(DATABASE_URL=engine.url.render_as_string(hide_password=False), TESTING=True)
    app = create_app(config)
    probe = Blueprint("probe", __name__)

    @probe.get("/probe/rejected")
    def rejected():
        raise TransitionRejected("transfer", ["A transfer needs a note.", "Choose a team."])

    @probe.get("/probe/stale")
    def stale():
        raise StaleTicket(100001, 3, 4)

    @probe.get("/probe/crash")
    def crash():
        raise RuntimeError("internal detail that must not leak")

    app.register_blueprint(probe)
    yield app
    from web.extensions import db

    with app.app_context():
        db.engine.dispose()


def test_production_refuses_the_default_secret():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Config.from_env({"TICKETFLOW_ENV": "production", "DATABASE_URL": "postgresql://x/y"})


def test_production_refuses_sqlite():
    with pytest.raises(ConfigError, match="PostgreSQL"):
        Config.from_env({"TICKETFLOW_ENV": "production", "SECRET_KEY": "s" * 40})


def test_an_unknown_time_zone_is_refused_with_its_name():
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        Config.from_env({"TIMEZONE": "Mars/Olympus"})


def test_defaults_serve_the_embedded_demo():
    config = Config.from_env({})
    assert config.DATABASE_URL.startswith("sqlite:///") and config.DATABASE_URL.endswith(
        "instance/ticketflow.db"
    )
    assert config.REDIS_URL is None


def test_home_page_is_the_support_centers_front_door(app):
    """The developer page that listed the lifecycles is gone (admins see them under /admin);
    tests/web/test_portal_front_door.py covers the front door itself."""
    page = app.test_client().get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Support Center" in html and 'href="/login"' in html
    for developer_words in ("Help-desk lifecycles", "Guards", "Awaiting customer"):
        assert developer_words not in html


def test_health_check_reports_the_database(app, world):
    world.open()
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "open_tickets": 1}


def test_a_refused_event_answers_422_with_every_reason(app):
    answer = app.test_client().get("/probe/rejected")
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert "A transfer needs a note." in html and "Choose a team." in html


def test_a_stale_version_answers_409_asking_to_reload(app):
    answer = app.test_client().get("/probe/stale", headers={"Accept": "application/json"})
    assert answer.status_code == 409
    assert "Reload" in answer.json["messages"][0]


def test_an_unexpected_error_never_shows_a_traceback(app):
    answer = app.test_client().get("/probe/crash")
    assert answer.status_code == 500
    html = answer.get_data(as_text=True)
    assert "internal detail" not in html and "Traceback" not in html


def test_an_unknown_page_is_a_404_in_words_with_a_way_on(app):
    answer = app.test_client().get("/nowhere")
    assert answer.status_code == 404
    html = answer.get_data(as_text=True)
    assert "Page not found" in html and "it may be mistyped" in html
    assert "If you entered the URL manually" not in html  # Werkzeug's generic words
    assert '<a href="/">Go to the start page</a>' in html
