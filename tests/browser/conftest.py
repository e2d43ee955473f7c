"""A real server (`ticketflow run`: gunicorn + gevent) on the test database, and Debian's
Chromium driven by Playwright. CI installs chromium; a missing browser fails, never skips."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from playwright.sync_api import sync_playwright

from tests.serving import start_server, wait_healthy

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_engine():
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium).")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(engine, world, redis_url, live_channel):
    """The app served the way production serves it, on a free port, with the run's own
    Redis database and live channel (tests/conftest.py)."""
    server, url = start_server(
        engine.url.render_as_string(hide_password=False),
        redis_url,
        live_channel,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        if wait_healthy(url) is None:
            pytest.fail("The server did not start.")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture
def page(browser_engine):
    context = browser_engine.new_context()
    page = context.new_page()
    yield page
    context.close()
