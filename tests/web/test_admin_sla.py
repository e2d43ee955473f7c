"""The admin's SLA plan and calendar pages: who may reach them, each refusal's sentence next
to its field with the input kept and nothing saved, the history, the lists' query counts,
and a change that moves an open ticket's deadline and its timer in Redis."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from jobs import queues, reclock
from tests.web.helpers import count_queries
from web.admin.sla_forms import rows_of
from workflow import plan_admin
from workflow.models import AdminChange, ReclockRun, SlaCalendar, SlaPlan, Ticket
from workflow.plan_input import minutes_text

OFFICE = {day: "09:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}
PAGES = [
    "/admin/sla-plans",
    "/admin/sla-plans/new",
    "/admin/sla-plans/{plan}",
    "/admin/calendars",
    "/admin/calendars/new",
    "/admin/calendars/{calendar}",
]
POSTS = [
    "/admin/sla-plans/new",
    "/admin/sla-plans/{plan}",
    "/admin/calendars/new",
    "/admin/calendars/{calendar}",
    "/admin/calendars/preview",
]


@pytest.fixture
def calendar(world):
    """A Berlin office calendar (no plan uses it yet)."""
    row = SlaCalendar(
        name="Berlin office",
        definition={"timezone": "Europe/Berlin", "hours": {d: ["09:00-17:00"] for d in OFFICE}},
    )
    world.session.add(row)
    world.session.commit()
    return row


def sev_c(world) -> SlaPlan:
    world.session.expire_all()
    return world.session.scalar(select(SlaPlan).where(SlaPlan.name == "SEV C"))


def url(template, world, calendar):
    return template.format(plan=sev_c(world).id, calendar=calendar.id)


def history(world, kind=None):
    query = select(AdminChange).order_by(AdminChange.id)
    if kind:
        query = query.where(AdminChange.kind == kind)
    return world.session.scalars(query).all()


def count(world, model):
    return world.session.scalar(select(func.count()).select_from(model))


def plan_form(plan: SlaPlan, **changes) -> dict[str, str]:
    """What the plan's edit page posts, with some fields changed."""
    data = {
        "name": plan.name,
        "first_response": minutes_text(plan.first_response_minutes),
        "next_response": minutes_text(plan.next_response_minutes),
        "resolution": minutes_text(plan.resolution_minutes),
        "at_risk_percent": str(plan.at_risk_percent or ""),
        "at_risk_minutes": str(plan.at_risk_minutes or ""),
        "calendar_id": str(plan.calendar_id or ""),
    }
    for i, row in enumerate(rows_of(plan.escalation_policy)):
        data.update({f"steps-{i}-{key}": value for key, value in row.items()})
    data.update(changes)
    return data


def calendar_form(**changes) -> dict[str, str]:
    data = {"name": "Lisbon office", "timezone": "Europe/Lisbon", **OFFICE, "do": "save-fields"}
    data.update(changes)
    return data


def submit(browser, path, fields):
    browser.get(path)
    return browser.post(path, fields)


def page_text(answer) -> str:
    return unescape(answer.get_data(as_text=True))


# ---- who may reach the pages -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "page"), [("get", p) for p in PAGES] + [("post", p) for p in POSTS]
)
def test_anyone_not_signed_in_is_sent_to_the_staff_sign_in(browser, world, calendar, method, page):
    browser.get("/staff/login")
    answer = getattr(browser, method)(url(page, world, calendar))
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/staff/login?next=")


@pytest.mark.parametrize("who", ["agent", "ops"])
@pytest.mark.parametrize(
    ("method", "page"), [("get", p) for p in PAGES] + [("post", p) for p in POSTS]
)
def test_staff_without_the_admin_role_get_403(browser, world, calendar, who, method, page):
    browser.sign_in(getattr(world, who).email)
    fields = calendar_form(name="Hijacked", resolution="1m")
    answer = getattr(browser, method)(url(page, world, calendar), data=fields)
    assert answer.status_code == 403
    assert sev_c(world).resolution_minutes == 5 * 24 * 60
    assert count(world, SlaCalendar) == 1
    assert history(world) == []


@pytest.mark.parametrize("page", PAGES)
def test_an_admin_reaches_every_page(admin, world, calendar, page):
    assert admin.get(url(page, world, calendar)).status_code == 200


@pytest.mark.parametrize("page", POSTS)
def test_a_form_posted_without_its_csrf_token_is_refused(admin, world, calendar, page):
    fields = {**plan_form(sev_c(world), resolution="1m"), **calendar_form()}
    answer = admin.post(url(page, world, calendar), fields, csrf=False)
    assert answer.status_code == 400
    assert sev_c(world).resolution_minutes == 5 * 24 * 60
    assert count(world, SlaCalendar) == 1
    assert history(world) == []


# ---- calendars -------------------------------------------------------------------------------


def test_an_admin_creates_a_calendar_from_its_fields(admin, world):
    fields = calendar_form(tue="09:00-12:00, 13:00-17:00", holidays="2026-12-24\n2026-12-31")
    answer = submit(admin, "/admin/calendars/new", {**fields, "country": "pt"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/admin/calendars"
    row = world.session.scalar(select(SlaCalendar).where(SlaCalendar.name == "Lisbon office"))
    assert row.definition["hours"]["tue"] == ["09:00-12:00", "13:00-17:00"]
    assert row.definition["holidays"] == ["2026-12-24", "2026-12-31"]
    assert row.definition["country"] == "PT"
    (change,) = history(world, "calendar.create")
    assert (change.subject, change.actor_id) == ("Lisbon office", world.admin.id)
    listing = page_text(admin.get("/admin/calendars"))
    assert "The calendar Lisbon office was created." in listing
    assert "Europe/Lisbon" in listing


def test_an_admin_pastes_a_calendar_as_yaml(admin, world, calendar):
    text = "timezone: America/New_York\nhours: 24x7\nholidays: [2026-07-03]\n"
    path = f"/admin/calendars/{calendar.id}"
    answer = submit(admin, path, {"name": "New York desk", "yaml": text, "do": "save-yaml"})
    assert answer.status_code == 303
    world.session.expire_all()
    row = world.session.get(SlaCalendar, calendar.id)
    assert (row.name, row.definition) == (
        "New York desk",
        {"timezone": "America/New_York", "hours": "24x7", "holidays": ["2026-07-03"]},
    )
    (change,) = history(world, "calendar.update")
    assert change.summary.startswith("Changed the calendar New York desk: name Berlin office")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"timezone": "Europe/Paderborn"},
            "timezone",
            "`Europe/Paderborn` is not a known time zone; use an IANA name such as Europe/Berlin.",
        ),
        (
            {"tue": "09:00-12:00, 11:30-17:00"},
            "tue",
            "The ranges 09:00-12:00 and 11:30-17:00 on tue overlap.",
        ),
        (
            {"fri": "22:00-06:00"},
            "fri",
            "The range `22:00-06:00` on fri ends before it starts; a range cannot cross "
            "midnight, so split it at 24:00 and 00:00 of the next day.",
        ),
        (
            {day: "" for day in OFFICE},
            None,
            "The calendar is never open: give at least one weekday an opening range.",
        ),
        (
            {"holidays": "Christmas"},
            "holidays",
            "`holidays` lists `Christmas`, which is not a date written as YYYY-MM-DD.",
        ),
        (
            {"do": "save-yaml", "yaml": "timezone: UTC\nhours: {mon: [09:00-17:00], funday: []}"},
            "yaml",
            "`hours` names an unknown weekday `funday`; use mon, tue, wed, thu, fri, sat or sun.",
        ),
    ],
)
def test_a_bad_calendar_is_refused_with_the_sentence_next_to_its_field(
    admin, world, fields, field, message
):
    answer = submit(admin, "/admin/calendars/new", calendar_form(**fields))
    assert answer.status_code == 422
    html = page_text(answer)
    assert "Nothing was saved." in html
    if field is None:  # above the weekly hours
        assert f'<span class="error" role="alert">{message}</span>' in html
    else:
        after_field = html.split(f'name="{field}"', 1)[1]
        assert after_field.index(message) < after_field.index("<p class")  # in its paragraph
        assert html.split(f'name="{field}"')[0].rsplit("<", 1)[1].find("aria-invalid") >= 0
    assert 'value="Lisbon office"' in html  # what was typed is kept
    assert count(world, SlaCalendar) == 0
    assert history(world) == []


def test_the_preview_says_when_it_opens_and_when_a_target_is_due(admin):
    admin.get("/admin/calendars/new")
    answer = admin.post(
        "/admin/calendars/preview",
        {**calendar_form(), "example_target": "90m", "do": "preview-fields"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    text = page_text(answer)
    assert "<html" not in text  # a fragment
    assert "A 90m target starting now is due" in text
    assert "Times in Europe/Lisbon; from the fields." in text
    bad = admin.post(
        "/admin/calendars/preview",
        {**calendar_form(mon="17:00-09:00"), "do": "preview-fields"},
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 200  # htmx swaps it: the sentence is the preview
    assert "The range `17:00-09:00` on mon ends before it starts" in page_text(bad)


def test_the_preview_button_works_without_javascript_and_saves_nothing(admin, world):
    answer = submit(admin, "/admin/calendars/new", calendar_form(do="preview-fields"))
    assert answer.status_code == 200
    assert "An 8h target starting now is due" in page_text(answer)
    assert "Times in Europe/Lisbon" in page_text(answer)
    bad = admin.post(
        "/admin/calendars/new", calendar_form(do="preview-fields", example_target="1d")
    )
    assert bad.status_code == 422
    assert "`1d` is not a target" in page_text(bad).split('name="example_target"', 1)[1]
    assert count(world, SlaCalendar) == 0


def test_a_bad_example_target_never_blocks_a_save(admin, world):
    answer = submit(admin, "/admin/calendars/new", calendar_form(example_target="soon"))
    assert answer.status_code == 303
    assert count(world, SlaCalendar) == 1


# ---- SLA plans -------------------------------------------------------------------------------


def test_an_admin_creates_a_plan_with_escalation_rows(admin, world, calendar):
    fields = {
        "name": "Gold",
        "first_response": "30m",
        "resolution": "8h",
        "at_risk_minutes": "15",
        "calendar_id": str(calendar.id),
        "steps-0-at": "at_risk",
        "steps-0-action": "notify:assignee",
        "steps-1-at": "breach",
        "steps-1-action": "reassign",
        "steps-1-value": "Level 2 Support",
        "steps-2-at": "breach",
        "steps-2-after": "30",
        "steps-2-clocks": "resolution",
        "steps-2-action": "raise_priority",
        "steps-2-value": "2",
        "steps-3-at": "breach",
        "steps-3-action": "note",
        "steps-3-value": "Escalated: the target was missed.",
        "steps-4-action": "",
    }
    answer = submit(admin, "/admin/sla-plans/new", fields)
    assert answer.status_code == 303
    plan = world.session.scalar(select(SlaPlan).where(SlaPlan.name == "Gold"))
    assert (plan.first_response_minutes, plan.resolution_minutes) == (30, 480)
    assert (plan.at_risk_percent, plan.at_risk_minutes, plan.calendar_id) == (None, 15, calendar.id)
    assert plan.escalation_policy == [
        {"at": "at_risk", "actions": [{"notify": "assignee"}]},
        {
            "at": "breach",
            "actions": [
                {"reassign": "Level 2 Support"},
                {"note": "Escalated: the target was missed."},
            ],
        },
        {"at": "breach+30", "clocks": ["resolution"], "actions": [{"raise_priority": 2}]},
    ]
    (change,) = history(world, "sla_plan.create")
    assert change.summary == "Created the SLA plan Gold (first response 30m, resolution 8h)."
    again = page_text(admin.get(f"/admin/sla-plans/{plan.id}"))
    assert 'value="Level 2 Support"' in again and 'value="30m"' in again


@pytest.mark.parametrize(
    ("changes", "message", "near"),
    [
        (
            {"resolution": "2 days"},
            "`2 days` is not a target; write whole minutes or hours such as 90m or 8h.",
            'name="resolution"',
        ),
        (
            {"at_risk_percent": "80", "at_risk_minutes": "30"},
            "Give the at-risk threshold as a percentage of the target or as minutes before the "
            "due time, not both.",
            'name="at_risk_minutes"',
        ),
        (
            {"steps-1-action": "raise_priority", "steps-1-value": "9"},
            "Step 2 (breach), action 1: `raise_priority` takes a number of levels from 1 to 3, "
            "not 9.",
            'name="steps-1-action"',
        ),
        (
            {"steps-0-at": "at_risk", "steps-0-after": "10"},
            "Step 1: only the breach takes an offset (breach+N), not at_risk.",
            'name="steps-0-action"',
        ),
        (
            {"steps-4-at": "breach", "steps-4-action": "reassign", "steps-4-value": "Level 9"},
            "Step 2 (breach), action 4: there is no team called “Level 9”; the teams are "
            "Level 2 Support.",
            'name="steps-4-action"',
        ),
    ],
)
def test_a_bad_plan_is_refused_with_the_sentence_next_to_its_field(
    admin, world, changes, message, near
):
    plan = sev_c(world)
    before = plan_admin.fields_for(plan)
    answer = submit(admin, f"/admin/sla-plans/{plan.id}", plan_form(plan, **changes))
    assert answer.status_code == 422
    html = page_text(answer)
    assert "Nothing was saved." in html
    after_field = html.split(near, 1)[1]
    assert message in after_field.split("</td>" if "steps" in near else "</p>", 1)[0]
    for value in changes.values():
        assert f'value="{value}"' in html or f'value="{value}" selected' in html
    assert plan_admin.fields_for(sev_c(world)) == before
    assert history(world) == []


def test_add_rows_keeps_what_was_typed_and_saves_nothing(admin, world):
    plan = sev_c(world)
    fields = {**plan_form(plan, resolution="9h"), "more": "1"}
    answer = submit(admin, f"/admin/sla-plans/{plan.id}", fields)
    assert answer.status_code == 200
    html = page_text(answer)
    assert 'value="9h"' in html
    assert 'name="steps-4-action"' in html  # two stored rows and three blank ones
    assert sev_c(world).resolution_minutes == 5 * 24 * 60


def test_a_target_change_moves_an_open_tickets_deadline_and_its_timer(
    admin, world, redis_url, clock
):
    opened = world.now - timedelta(minutes=10)
    ticket = world.open(now=opened)
    assert ticket.resolution_due_at == opened + timedelta(hours=120)
    plan = sev_c(world)
    answer = submit(admin, f"/admin/sla-plans/{plan.id}", plan_form(plan, resolution="8h"))
    assert answer.status_code == 303
    assert "the clocks of 1 open ticket were recomputed from now" in page_text(
        admin.get("/admin/sla-plans")
    )
    world.session.expire_all()
    moved = world.session.get(Ticket, ticket.id)
    due = opened + timedelta(hours=8)  # the ten minutes used are kept; around the clock
    assert moved.resolution_due_at == due
    assert moved.version == 2  # opened at 1; the change is a write like any other
    redis = Redis.from_url(redis_url)
    try:
        assert queues.scheduled_at(redis, ticket.id, "resolution", "breach") == queues.run_at(due)
        at_risk = opened + timedelta(minutes=384)  # 80% of 8 h
        assert queues.scheduled_at(redis, ticket.id, "resolution", "at_risk") == queues.run_at(
            at_risk
        )
    finally:
        redis.close()
    (change,) = history(world, "sla_plan.update")
    assert change.details["resolution"] == {"from": "120h", "to": "8h"}
    assert change.details["open_tickets"] == 1


def test_the_plan_list_counts_open_tickets(admin, world):
    world.open("One")
    world.open("Two")
    html = page_text(admin.get("/admin/sla-plans"))
    row = html.split(">SEV C</a>", 1)[1].split("</tr>", 1)[0]
    assert '<td class="open-tickets">2</td>' in row


@pytest.mark.parametrize("page", ["/admin/sla-plans", "/admin/calendars"])
def test_the_lists_make_the_same_few_queries_however_many_rows(app, admin, world, page):
    def queries():
        answer, statements = count_queries(app, lambda: admin.get(page))
        assert answer.status_code == 200
        return len(statements)

    few = queries()
    for i in range(8):
        cal = SlaCalendar(
            name=f"Calendar {i}",
            definition={"timezone": "Europe/Berlin", "hours": {"mon": ["09:00-17:00"]}},
        )
        world.session.add(cal)
        world.session.flush()
        world.session.add(SlaPlan(name=f"Plan {i}", resolution_minutes=60, calendar_id=cal.id))
    world.session.commit()
    world.open()
    assert queries() == few <= 5


def test_a_big_change_moves_the_first_batch_now_and_shows_the_background_progress(
    admin, world, redis_url, monkeypatch, clock
):
    monkeypatch.setattr("workflow.reclock.BATCH", 4)
    opened = world.now - timedelta(minutes=10)
    for i in range(10):
        world.open(f"Ticket {i}", now=opened)
    plan = sev_c(world)
    answer = submit(admin, f"/admin/sla-plans/{plan.id}", plan_form(plan, resolution="8h"))
    assert answer.status_code == 303
    listed = page_text(admin.get("/admin/sla-plans"))
    assert (
        "the clocks of 4 open tickets were recomputed from now; "
        "the other 6 are being re-clocked in the background"
    ) in listed
    assert "re-clocking: 4 of 10 tickets done" in listed
    assert "Re-clocking: 4 of 10 tickets done" in page_text(
        admin.get(f"/admin/sla-plans/{plan.id}")
    )
    run = world.session.scalars(select(ReclockRun)).one()
    redis = Redis.from_url(redis_url)
    try:  # enqueued after the commit, on the queue workers take last
        assert reclock.job_id(run.id, 0) in Queue(queues.SWEEP, connection=redis).job_ids
    finally:
        redis.close()
