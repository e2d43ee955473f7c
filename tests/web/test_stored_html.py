"""Stored text never comes back as something a browser would run.

Every path that stores text a person typed is fed `<script>`, `onerror=`, `javascript:` and
attribute-breaking payloads, then every page (and HTMX fragment) that shows the text is
parsed: no `<script>` carries the payload, no event-handler attribute (`on...`, `hx-on`)
does, no link or source points at `javascript:`. Thread bodies are HTML and pass through
nh3 (workflow/sanitize.py) when stored; names, labels, subjects and SLA plan names are text
and are escaped when shown. Each test also checks the payload's visible part is there, so
a page that simply dropped the text would not pass by accident.

(A module of its own, not part of tests/web/test_access_matrix.py: these tests write, and
that module's world is shared and read-only.)
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from html import unescape
from html.parser import HTMLParser

import yaml
from sqlalchemy import select

from tests.web.conftest import Browser
from tests.web.helpers import signed_in
from workflow import escalating
from workflow.models import SlaPlan, ThreadEntry, Ticket, WorkflowVersion

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}
RUNNABLE_SCHEMES = ("javascript:", "vbscript:", "data:text/html")


def payload(mark: str) -> str:
    """A body with every classic trick, and a visible part that must survive."""
    return (
        f'Visible {mark} <script>alert("{mark}")</script>'
        f"<img src=x onerror=\"alert('{mark}')\">"
        f"<a href=\"javascript:alert('{mark}')\">link {mark}</a>"
        f"<svg onload=\"alert('{mark}')\"></svg>"
        f'"><script>alert("{mark}")</script>'
        f"<b hx-on:click=\"alert('{mark}')\" onclick=\"alert('{mark}')\">bold {mark}</b>"
    )


def short(mark: str) -> str:
    """The same tricks in a name's length (names are limited to 120 characters)."""
    return f'{mark}"><script>{mark}</script><img src=x onerror={mark}>'


class _Scan(HTMLParser):
    """Where `mark` ends up in a page: as text (fine) or somewhere it would run (not)."""

    def __init__(self, mark: str):
        super().__init__(convert_charrefs=True)
        self.mark = mark
        self.runs: list[str] = []
        self.text: list[str] = []
        self._script = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._script += 1
        for name, value in attrs:
            value = value or ""
            if self.mark not in value and self.mark not in name:
                continue
            handler = name.startswith(("on", "hx-on", "data-hx-on")) or name == "srcdoc"
            scheme = value.strip().lower().startswith(RUNNABLE_SCHEMES)
            if handler or (name in URL_ATTRIBUTES and scheme):
                self.runs.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script:
            self._script -= 1

    def handle_data(self, data: str) -> None:
        if self._script and self.mark in data:
            self.runs.append(f"<script>{data[:80]!r}")
        elif self.mark in data:
            self.text.append(data)


def assert_inert(html: str, mark: str, where: str, *, shown: bool = True) -> None:
    """`mark` never sits where a browser would run it; when `shown`, it is visible text."""
    scan = _Scan(mark)
    scan.feed(html)
    scan.close()
    assert not scan.runs, f"{where} would run stored input: {scan.runs}"
    if shown:
        assert scan.text, f"{where} does not show the text at all (so this test proves nothing)"


def page(browser: Browser, url: str, **kw) -> str:
    answer = browser.get(url, **kw)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.get_data(as_text=True)


def fresh(world, ticket_id: int) -> Ticket:
    world.session.expire_all()
    return world.session.get(Ticket, ticket_id)


def newest(world) -> Ticket:
    world.session.expire_all()
    return world.session.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))


# ---- thread bodies ----------------------------------------------------------------------------


def test_a_customers_ticket_and_reply_are_inert_for_them_and_for_staff(app, world):
    world.agent.departments.append(world.department)
    world.session.commit()
    carol = signed_in(app, world.customer.email, staff=False)
    carol.get("/tickets/new")
    opened = carol.post(
        "/tickets/new",
        {
            "help_topic_id": world.topic.id,
            "subject": short("xss-subject"),
            "body": payload("xss-open"),
        },
    )
    assert opened.status_code == 302
    ticket = newest(world)
    carol.get(f"/tickets/{ticket.number}")
    replied = carol.post(
        f"/tickets/{ticket.number}/reply",
        {"body": payload("xss-reply"), "version": ticket.version},
    )
    assert replied.status_code == 303
    alice = signed_in(app, world.agent.email)
    pages = {
        "the customer's ticket page": page(carol, f"/tickets/{ticket.number}"),
        "the customer's list": page(carol, "/tickets"),
        "the agent's ticket page": page(alice, f"/staff/tickets/{ticket.number}"),
        "the live fragment": page(
            alice, f"/staff/tickets/{ticket.number}/live?seen=0", headers={"HX-Request": "true"}
        ),
    }
    for where, html in pages.items():
        assert_inert(html, "xss-subject", where)
        if where not in ("the customer's list",):
            assert_inert(html, "xss-open", where)
            assert_inert(html, "xss-reply", where)
    queue = page(alice, "/staff?queue=open")
    assert_inert(queue, "xss-subject", "the dashboard")


def test_staff_replies_notes_and_event_texts_are_inert(app, world):
    world.agent.departments.append(world.department)
    world.session.commit()
    ticket = world.open()
    alice = signed_in(app, world.agent.email)
    number = ticket.number
    alice.get(f"/staff/tickets/{number}")

    def post(path: str, **fields) -> None:
        fields["version"] = fresh(world, ticket.id).version
        answer = alice.post(f"/staff/tickets/{number}/{path}", fields)
        assert answer.status_code == 303, (path, answer.status_code)

    post("events/claim")
    post("compose", mode="reply", body=payload("xss-staff-reply"))
    post("compose", mode="note", body=payload("xss-staff-note"))
    post("events/request_info", reply=payload("xss-event-reply"))
    post("events/transfer", team_id=world.level2.id, note=payload("xss-transfer-note"))
    world.session.expire_all()
    kinds = world.session.scalars(
        select(ThreadEntry.kind).where(ThreadEntry.ticket_id == ticket.id).order_by(ThreadEntry.id)
    ).all()
    assert [k.value for k in kinds] == [
        "customer_message",
        "public_reply",
        "internal_note",
        "public_reply",
    ]
    staff_page = page(alice, f"/staff/tickets/{number}")
    for mark in ("xss-staff-reply", "xss-staff-note", "xss-event-reply", "xss-transfer-note"):
        assert_inert(staff_page, mark, "the agent's ticket page")
    carol = signed_in(app, world.customer.email, staff=False)
    portal = page(carol, f"/tickets/{number}")
    assert_inert(portal, "xss-staff-reply", "the customer's ticket page")
    assert_inert(portal, "xss-event-reply", "the customer's ticket page")
    assert "xss-staff-note" not in portal and "xss-transfer-note" not in portal


def test_intake_on_a_customers_behalf_is_inert(app, world):
    world.agent.departments.append(world.department)
    world.session.commit()
    alice = signed_in(app, world.agent.email)
    alice.get("/staff/tickets/new")
    answer = alice.post(
        "/staff/tickets/new",
        {
            "email": "walk-in@example.com",
            "name": short("xss-name"),
            "help_topic_id": world.topic.id,
            "subject": short("xss-intake-subject"),
            "body": payload("xss-intake"),
        },
    )
    assert answer.status_code == 302
    number = newest(world).number
    html = page(alice, f"/staff/tickets/{number}")
    for mark in ("xss-name", "xss-intake-subject", "xss-intake"):
        assert_inert(html, mark, "the agent's ticket page")
    assert_inert(page(alice, "/staff?queue=open"), "xss-name", "the dashboard")


def test_canned_responses_and_a_customers_name_in_them_are_inert(app, world):
    world.agent.departments.append(world.department)
    world.session.commit()
    visitor = Browser(app.test_client())
    visitor.get("/register")
    registered = visitor.post(
        "/register",
        {
            "name": short("xss-customer"),
            "email": "mallory@example.com",
            "password": "a long enough password",
            "confirm": "a long enough password",
        },
    )
    assert registered.status_code == 302
    visitor.get("/tickets/new")
    visitor.post(
        "/tickets/new", {"help_topic_id": world.topic.id, "subject": "Help", "body": "Hello"}
    )
    ticket = newest(world)
    admin = signed_in(app, world.admin.email)
    admin.get("/admin/canned/new")
    saved = admin.post(
        "/admin/canned/new",
        {
            "name": short("xss-canned-name"),
            "body": "Dear {requester_first_name}, " + payload("xss-canned"),
            "is_active": "y",
        },
    )
    assert saved.status_code == 303
    canned_id = re.search(r"/admin/canned/(\d+)", page(admin, "/admin/canned")).group(1)
    assert_inert(page(admin, "/admin/canned"), "xss-canned-name", "the canned list")
    edit = page(admin, f"/admin/canned/{canned_id}")
    assert_inert(edit, "xss-canned", "the canned editor")

    alice = signed_in(app, world.agent.email)
    ticket_page = page(alice, f"/staff/tickets/{ticket.number}")
    assert_inert(ticket_page, "xss-canned-name", "the canned picker")
    assert_inert(ticket_page, "xss-customer", "the ticket header")
    fragment = page(
        alice,
        f"/staff/tickets/{ticket.number}/canned?canned_id={canned_id}&mode=reply",
        headers={"HX-Request": "true"},
    )
    assert_inert(fragment, "xss-canned", "the composer with the canned text")
    assert_inert(fragment, "xss-customer", "the composer with the canned text")
    inserted = alice.post(f"/staff/tickets/{ticket.number}/canned", {"canned_id": canned_id})
    assert inserted.status_code == 200
    assert_inert(inserted.get_data(as_text=True), "xss-canned", "the page with the canned text")
    draft = re.search(
        r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', inserted.get_data(as_text=True), re.S
    ).group(1)
    sent = alice.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": "reply", "body": _unescape(draft), "version": fresh(world, ticket.id).version},
    )
    assert sent.status_code == 303
    for where, html in (
        ("the agent's ticket page", page(alice, f"/staff/tickets/{ticket.number}")),
        ("the customer's ticket page", page(visitor, f"/tickets/{ticket.number}")),
    ):
        assert_inert(html, "xss-canned", where)
        assert_inert(html, "xss-customer", where)


def _unescape(text: str) -> str:
    """A textarea's content as the browser sends it back."""
    return unescape(text).lstrip("\n")


# ---- names an admin types -----------------------------------------------------------------------


def test_department_team_and_topic_names_are_inert_wherever_they_show(app, world):
    world.agent.departments.append(world.department)
    world.session.commit()
    ticket = world.open()
    admin = signed_in(app, world.admin.email)
    for path, fields in (
        (f"/admin/departments/{world.department.id}", {"name": short("xss-dept")}),
        (
            f"/admin/teams/{world.level2.id}",
            {
                "name": short("xss-team"),
                "department_id": world.department.id,
                "members": [world.colleague.id],
            },
        ),
        (
            f"/admin/topics/{world.topic.id}",
            {
                "name": short("xss-topic"),
                "department_id": world.department.id,
                "priority_id": 2,
                "sla_plan_id": world.topic.sla_plan_id,
                "workflow_id": world.topic.workflow_id,
                "is_active": "y",
            },
        ),
    ):
        admin.get(path)
        assert admin.post(path, fields).status_code == 303, path
    alice = signed_in(app, world.agent.email)
    carol = signed_in(app, world.customer.email, staff=False)
    checks = (
        (admin, "/admin/departments", ("xss-dept",)),
        (admin, "/admin/teams", ("xss-team", "xss-dept")),
        (admin, "/admin/topics", ("xss-topic", "xss-dept")),
        (admin, "/admin/people", ("xss-dept", "xss-team")),
        (admin, f"/admin/people/{world.colleague.id}", ("xss-team",)),
        (alice, "/staff", ("xss-dept", "xss-topic")),
        (alice, f"/staff/tickets/{ticket.number}", ("xss-dept", "xss-topic", "xss-team")),
        (alice, "/staff/tickets/new", ("xss-topic",)),
        (carol, "/tickets/new", ("xss-topic",)),
    )
    for who, url, marks in checks:
        html = page(who, url)
        for mark in marks:
            assert_inert(html, mark, url)


def test_sla_plan_and_calendar_names_are_inert_wherever_they_show(app, world, clock):
    world.agent.departments.append(world.department)
    world.session.commit()
    ticket = world.open()  # SEV C: its 8 h first reply is breached a day later, on the ops pages
    clock.advance(days=1)
    admin = signed_in(app, world.admin.email)
    admin.get("/admin/calendars/new")
    calendar = admin.post(
        "/admin/calendars/new",
        {
            "name": short("xss-calendar"),
            "timezone": "UTC",
            "mon": "09:00-17:00",
            "do": "save-fields",
        },
    )
    assert calendar.status_code == 303
    plan = world.session.scalar(select(SlaPlan).where(SlaPlan.name == "SEV C"))
    admin.get(f"/admin/sla-plans/{plan.id}")
    renamed = admin.post(
        f"/admin/sla-plans/{plan.id}",
        {
            "name": short("xss-pl"),
            "first_response": "8h",
            "next_response": "8h",
            "resolution": "120h",
            "at_risk_percent": "80",
        },
    )
    assert renamed.status_code == 303
    ops = signed_in(app, world.ops.email)
    alice = signed_in(app, world.agent.email)
    for who, url, marks in (
        (admin, "/admin/calendars", ("xss-calendar",)),
        (admin, "/admin/sla-plans", ("xss-pl",)),
        (admin, f"/admin/sla-plans/{plan.id}", ("xss-pl", "xss-calendar")),
        (admin, f"/admin/topics/{world.topic.id}", ("xss-pl",)),
        (alice, f"/staff/tickets/{ticket.number}", ("xss-pl",)),
        (ops, "/ops", ("xss-pl",)),
        (ops, "/ops/compliance", ("xss-pl",)),
    ):
        html = page(who, url)
        for mark in marks:
            assert_inert(html, mark, url)


def test_escalation_texts_in_the_thread_are_inert(app, world):
    """An admin's escalation note and team name reach the thread through the SLA steps
    (workflow/escalating.py), not through a form a person posts on the ticket."""
    world.agent.departments.append(world.department)
    world.session.commit()
    admin = signed_in(app, world.admin.email)
    path = f"/admin/teams/{world.level2.id}"
    admin.get(path)
    team = {"name": short("xss-esc-team"), "department_id": world.department.id}
    assert admin.post(path, team).status_code == 303
    admin.get("/admin/sla-plans/new")
    created = admin.post(
        "/admin/sla-plans/new",
        {
            "name": "Fast",
            "first_response": "30m",
            "resolution": "8h",
            "at_risk_percent": "80",
            "steps-0-at": "breach",
            "steps-0-action": "reassign",
            "steps-0-value": team["name"],
            "steps-1-at": "breach",
            "steps-1-action": "note",
            "steps-1-value": payload("xss-esc-note"),
        },
    )
    assert created.status_code == 303
    world.topic.sla_plan_id = world.session.scalar(select(SlaPlan.id).where(SlaPlan.name == "Fast"))
    world.session.commit()
    ticket = world.open()
    run = escalating.run_due(world.session, ticket.id, world.now + timedelta(minutes=31))
    assert run.ran, "the breach step should have run"
    html = page(admin, f"/staff/tickets/{ticket.number}")
    assert_inert(html, "xss-esc-note", "the thread's escalation note")
    assert_inert(html, "xss-esc-team", "the thread's escalation event")


# ---- workflow definitions ---------------------------------------------------------------------


def test_workflow_labels_and_descriptions_are_inert_in_every_admin_page_and_after_publishing(
    app, world
):
    world.agent.departments.append(world.department)
    world.session.commit()
    ticket = world.open()
    admin = signed_in(app, world.admin.email)
    base = "/admin/workflows/support"
    admin.get(base)
    copied = admin.post(f"{base}/versions/1/copy")
    assert copied.status_code == 303
    draft = world.session.scalar(select(WorkflowVersion).where(WorkflowVersion.number == 2))
    doc = yaml.safe_load(draft.source)
    doc["label"] = short("xss-wf-label")
    doc["description"] = payload("xss-wf-description")
    new = doc["states"]["new"]
    new["label"] = short("xss-state-label")
    new["customer_label"] = short("xss-customer-label")
    new["description"] = payload("xss-state-description")
    doc["events"]["claim"]["label"] = short("xss-event-label")
    doc["events"]["claim"]["description"] = payload("xss-event-description")
    source = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    edit = f"{base}/versions/2/edit"
    admin.get(edit)
    saved = admin.post(edit, {"source": source})
    assert saved.status_code == 303
    marks = ("xss-wf-label", "xss-state-label", "xss-event-label")
    check = admin.post(
        f"{base}/versions/2/check", {"source": source}, headers={"HX-Request": "true"}
    ).get_data(as_text=True)
    dry = admin.post(
        f"{base}/versions/2/dry-run",
        {"sample_state": "new", "step_event_1": "claim", "step_actor_1": "agent_a"},
    )
    assert dry.status_code == 200
    admin_pages = {
        "the version page": page(admin, f"{base}/versions/2"),
        "the editor": page(admin, edit),
        "the editor's check": check,
        "the dry run": dry.get_data(as_text=True),
        "the diff": page(admin, f"{base}/diff?from=1&to=2"),
        "the publish page": page(admin, f"{base}/versions/2/publish"),
    }
    for where, html in admin_pages.items():
        for mark in (*marks, "xss-state-description", "xss-event-description"):
            assert_inert(html, mark, where, shown=False)
        for uri in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html):
            svg = base64.b64decode(uri).decode()
            for mark in marks:  # an <img> never runs its SVG; the SVG is clean anyway
                assert_inert(svg, mark, f"the diagram on {where}", shown=False)
    assert_inert(admin_pages["the version page"], "xss-state-label", "the version page")
    published = admin.post(f"{base}/versions/2/publish")
    assert published.status_code == 303
    carol = signed_in(app, world.customer.email, staff=False)
    alice = signed_in(app, world.agent.email)
    for where, html, shown in (
        ("the dashboard", page(alice, "/staff?queue=open"), ("xss-state-label",)),
        (
            "the agent's ticket page",
            page(alice, f"/staff/tickets/{ticket.number}"),
            ("xss-state-label", "xss-event-label"),
        ),
        ("the customer's ticket page", page(carol, f"/tickets/{ticket.number}"), ()),
        ("the workflow history", page(admin, f"{base}/history"), ()),
    ):
        for mark in (*marks, "xss-customer-label", "xss-state-description"):
            assert_inert(html, mark, where, shown=mark in shown)
    assert_inert(page(carol, f"/tickets/{ticket.number}"), "xss-customer-label", "the portal")
