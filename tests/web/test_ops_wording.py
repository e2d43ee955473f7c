"""Words people read on the ops and admin pages: the breach queue names states by their
labels and says of each clock what is true ("overdue 5 min", "due in 3 min", "becomes at
risk in 4 min"); the dry run names a live ticket's state by its label; the calendar preview
picks "a" or "an" by how the target is said ("an 8h target")."""

from __future__ import annotations

import re

import pytest

from tests.web.helpers import text
from tests.web.test_admin_sla import calendar_form
from tests.web.test_ops import opened_ago, sev_a, signed_in  # noqa: F401 - sev_a: a fixture
from tests.workflow.test_publishing import ticket_in
from workflow import services
from workflow.calendar_input import indefinite_article

ROW = re.compile(r'<tr class="[^"]*" data-ticket="(\d+)">(.*?)</tr>', re.S)


def rows(html: str) -> dict[int, str]:
    """Each row of the queue by ticket number, as plain text on one line."""
    return {
        int(n): " ".join(re.sub(r"<[^>]+>", " ", body).split()) for n, body in ROW.findall(html)
    }


def test_breach_rows_say_overdue_or_due_and_when_they_become_at_risk(app, sev_a):  # noqa: F811
    """SEV A: first response due 30 min after opening, at risk with 6 min left."""
    world = sev_a
    overdue = opened_ago(world, 35, "Five minutes overdue")
    at_risk = opened_ago(world, 27, "Due in three, at risk already")
    soon = opened_ago(world, 20, "Due in ten, threshold in four")
    agent = world.actor(world.agent)
    for event in ("claim", "start"):
        services.apply_event(world.session, at_risk.id, event, agent, world.now)

    html = text(signed_in(app, world, "ops").get("/ops"))
    row = rows(html)

    assert "overdue 5 min" in row[overdue.number] and "New" in row[overdue.number]
    assert "at risk" not in row[overdue.number]
    assert "due in 3 min at risk now" in row[at_risk.number]
    assert row[at_risk.number].endswith("In progress")
    assert "due in 10 min becomes at risk in 4 min" in row[soon.number]
    for words in ("late by", "at risk in", "in_progress", ">new<"):
        assert words not in html.replace("becomes at risk in", ""), words
    assert "(1 breached, 2 at risk within the hour)" in html


def test_breach_rows_name_other_clocks_in_the_same_words(app, sev_a):  # noqa: F811
    world = sev_a
    late = opened_ago(world, 4 * 60 + 10, "Both clocks overdue")  # resolution: 4 h

    row = rows(text(signed_in(app, world, "ops").get("/ops")))[late.number]

    assert "First response Resolution: overdue 10 min overdue 3h 40m" in row
    assert "late by" not in row


def test_the_dry_run_names_a_live_tickets_state_by_its_label(admin, world):
    waiting = ticket_in(world, "awaiting_customer", "Waiting on the customer")

    page = text(admin.get("/admin/workflows/support/versions/1/dry-run"))

    option = re.search(rf'<option value="{waiting.number}"[^>]*>([^<]*)</option>', page)
    assert option is not None and option.group(1).endswith("(Awaiting customer)")


@pytest.mark.parametrize(
    ("number", "article"),
    [
        (1, "a"),
        (8, "an"),
        (11, "an"),
        (18, "an"),
        (80, "an"),
        (89, "an"),
        (90, "a"),
        (100, "a"),
        (180, "a"),
        (800, "an"),
        (1100, "a"),
        (8000, "an"),
        (8760, "an"),
        (11_000, "an"),
        (18_500, "an"),
        (81_000, "an"),
        (525_600, "a"),
    ],
)
def test_the_article_follows_how_the_number_is_said(number, article):
    assert indefinite_article(number) == article


@pytest.mark.parametrize(
    ("target", "sentence"),
    [
        ("8h", "An 8h target starting now is due"),
        ("11h", "An 11h target starting now is due"),
        ("90m", "A 90m target starting now is due"),
        ("80m", "An 80m target starting now is due"),
    ],
)
def test_the_calendar_preview_says_an_8h_target(admin, target, sentence):
    admin.get("/admin/calendars/new")
    answer = admin.post(
        "/admin/calendars/preview",
        {**calendar_form(), "example_target": target, "do": "preview-fields"},
        headers={"HX-Request": "true"},
    )

    assert answer.status_code == 200 and sentence in text(answer)
