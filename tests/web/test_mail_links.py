"""The ticket links in notices (jobs/mail.py spells the paths, as jobs/ does not import web/)
lead to the app's own ticket pages, and PUBLIC_URL is checked like every other setting."""

from __future__ import annotations

import pytest

from config import Config, ConfigError
from jobs.mail import ticket_link


@pytest.mark.parametrize(("staff", "endpoint"), [(True, "staff.ticket"), (False, "portal.ticket")])
def test_the_links_paths_are_the_apps_ticket_pages(app, staff, endpoint):
    link = ticket_link("https://help.example.test", 100042, staff)
    assert link is not None and link.startswith("https://help.example.test/")
    path = link.removeprefix("https://help.example.test")
    matched, args = app.url_map.bind("help.example.test").match(path, method="GET")
    assert (matched, args) == (endpoint, {"number": 100042})


def test_no_public_address_means_no_link():
    assert ticket_link(None, 100042, staff=False) is None


def test_public_url_must_be_an_address_people_open():
    assert Config.from_env({"PUBLIC_URL": "https://help.example.com/"}).PUBLIC_URL == (
        "https://help.example.com"
    )
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        Config.from_env({"PUBLIC_URL": "help.example.com"})
