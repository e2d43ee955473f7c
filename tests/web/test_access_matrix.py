"""The access rules of every route, as a matrix: each rule of `app.url_map`, each method,
each kind of person.

The rules are enumerated from the app itself, so a route added later is checked without
anyone remembering to add it here. Where a route lives decides who may use it:

- PUBLIC (an explicit allow-list: `/`, `/healthz`, static files, sign-in, sign-out,
  registration, password reset): anyone.
- `/staff...`: agents and admins; end users 403; ops 403 except on the endpoints OPS_MAY
  names (reading the dashboard, tickets, their files and live updates; internal notes).
- `/admin...`: admins only; everyone else 403.
- `/ops...`: ops and admins; agents and end users 403; ADMIN_ONLY names what ops may not do.
- everything else is the Support Center: end users only; staff 403.

Not signed in, every protected route answers with a redirect to the right sign-in page
(staff areas: `/staff/login`; Support Center: `/login`), an htmx request with HX-Redirect
to it (a non-page endpoint may answer 401/403 instead), and never with data. Every
POST/PUT/PATCH/DELETE without a CSRF token answers 400 and changes nothing. An end user on
another person's ticket, or an agent on a ticket of a department they do not work in, gets
404 on every route that names a ticket. A GET as someone allowed never changes the database
and never answers 500. Every refusal leaves the database exactly as it was (compared row by
row).

A NEW ROUTE FAILS THIS MODULE UNTIL SOMEONE DECIDES WHO MAY USE IT; that is the point.
A new public route fails the anonymous test until it is added to PUBLIC, a new `/staff`
route that lets ops in fails until it is in OPS_MAY, a new `/ops` route closed to ops fails
until it is in ADMIN_ONLY, and a route with a URL parameter this module cannot fill fails
until PARAMS knows the parameter.

The world is seeded once for the module and only read: every check here is a refusal or a
read, and each asserts that nothing changed.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.routing import Rule
from werkzeug.security import generate_password_hash

from config import Config
from tests.conftest import NOW, _truncate
from tests.factories import build_world
from tests.web.conftest import PASSWORD, Browser, app_config
from web import create_app
from web.extensions import limiter
from workflow import attachments, canned, drafts, services
from workflow.attachments import Store, Upload
from workflow.models import (
    Attachment,
    Base,
    HelpTopic,
    SlaCalendar,
    SlaPlan,
    Ticket,
    WorkflowVersion,
)

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
ROLES = ("anonymous", "end_user", "agent", "ops", "admin")
STAFF_SIGN_IN, CUSTOMER_SIGN_IN = "/staff/login", "/login"

PUBLIC = {
    "public.index": "the Support Center's front door (sign in, create an account)",
    "public.healthz": "the load balancer's health check (a count, no ticket data)",
    "static": "stylesheets and scripts",
    "staff.login": "staff sign-in",
    "staff.logout": "sign-out (a POST with the CSRF token)",
    "portal.login": "customer sign-in",
    "portal.logout": "sign-out (a POST with the CSRF token)",
    "portal.register": "customer registration",
    "portal.reset_request": "asking for a password reset link",
    "portal.reset_password": "choosing a new password through the link",
}
"""Routes anyone may use, signed in or not. Adding one is a security decision."""

OPS_MAY = {
    "staff.dashboard": "reads the queues",
    "staff.ticket": "reads a ticket",
    "staff.attachment": "downloads a file of a ticket they may read",
    "staff.compose": "internal notes only: the domain refuses an ops reply (403)",
    "live.staff_stream": "live updates of what they read",
    "live.staff_ticket_changes": "live updates of a ticket page",
    "live.staff_presence": "who else is viewing (Redis only, no database write)",
    "live.staff_presence_leave": "leaving the viewers list",
    "staff.notifications": "reads their own notices (an escalation may notify any staff member)",
    "staff.mark_notice_read": "marks one of their own notices read (someone else's: 404)",
    "staff.mark_all_notices_read": "marks all of their own notices read",
}
"""Staff endpoints open to the ops role (the rest of `/staff` answers ops 403)."""

ADMIN_ONLY = {"ops.retry_job": "putting a failed job back on its queue"}
"""`/ops` endpoints closed to the ops role (admins only)."""

NON_PAGE = {
    "live.staff_stream",
    "live.portal_stream",
    "live.staff_ticket_changes",
    "live.portal_ticket_changes",
    "ops.breaches_csv",
    "staff.attachment",
    "portal.attachment",
}
"""GET endpoints that are not pages: not signed in, they may answer 401/403 instead of the
redirect (every POST may too). None of them does today; all redirect."""

SIGNED_IN_AS = {
    "end_user": "carol@example.com",
    "agent": "alice@example.com",
    "ops": "otto@example.com",
    "admin": "ada@example.com",
}


# ---- the world ---------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x01" * 40


@dataclass
class Seeded:
    """The ids and numbers of what the module's world holds, and what must never leak."""

    mine: int  # Carol's ticket, department Support (Alice works there)
    theirs: int  # Oscar's ticket, department Billing (Alice does not work there)
    versions: dict[int, int]  # ticket number -> version
    files: dict[int, int]  # ticket number -> an attachment of its first message
    note_file: int  # an attachment of Alice's internal note on Carol's ticket
    draft: int  # a draft version number of the `support` workflow
    ids: dict[str, int]
    secrets: tuple[str, ...]  # text no refusal may show


@dataclass
class Matrix:
    app: Flask
    engine: Engine
    seeded: Seeded
    people: dict[str, Browser] = field(default_factory=dict)


def _seed(session: Session, store: Store) -> Seeded:
    world = build_world(session, NOW)
    for user in (world.customer, world.other_customer, world.agent, world.admin, world.ops):
        user.password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    world.agent.departments.append(world.department)
    billing = HelpTopic(
        name="Invoices",
        department_id=world.other_department.id,
        priority_id=2,
        sla_plan_id=world.topic.sla_plan_id,
        workflow_id=world.topic.workflow_id,
    )
    calendar = SlaCalendar(
        name="Office hours", definition={"timezone": "UTC", "hours": {"mon": ["09:00-17:00"]}}
    )
    session.add_all([billing, calendar])
    session.commit()

    def opened(customer: Any, topic: HelpTopic, subject: str) -> Any:
        actor = world.actor(customer)
        upload = Upload("screenshot.png", io.BytesIO(PNG))
        with attachments.staged(store, [upload]) as files:
            return services.open_ticket(
                session,
                requester_id=customer.id,
                help_topic_id=topic.id,
                subject=subject,
                body="Leaked body: the printer eats paper.",
                actor=actor,
                now=NOW,
                attachments=files,
            ).ticket

    mine = opened(world.customer, world.topic, "Carol's secret subject")
    theirs = opened(world.other_customer, billing, "Oscar's secret invoice subject")
    alice = world.actor(world.agent)
    with attachments.staged(store, [Upload("internal.png", io.BytesIO(PNG))]) as files:
        note = "Leaked internal note for staff only."
        services.add_note(session, mine.id, alice, NOW, note, attachments=files)
    admin = world.actor(world.admin)
    reply = canned.save(session, admin, NOW, name="Thanks", body="Hello {requester_first_name}")
    first = session.scalar(select(WorkflowVersion).where(WorkflowVersion.number == 1))
    draft = drafts.create_draft(session, first.id, admin, NOW)
    session.expire_all()
    rows = {t.number: t for t in (session.get(Ticket, mine.id), session.get(Ticket, theirs.id))}
    files = {
        number: session.scalar(
            select(Attachment.id).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)
        )
        for number, ticket in rows.items()
    }
    note_file = session.scalar(
        select(Attachment.id).where(
            Attachment.ticket_id == mine.id,
            Attachment.id != files[mine.number],
        )
    )
    plan = session.scalar(select(SlaPlan.id).where(SlaPlan.name == "SEV C"))
    return Seeded(
        mine=mine.number,
        theirs=theirs.number,
        versions={n: t.version for n, t in rows.items()},
        files=files,
        note_file=note_file,
        draft=draft.number,
        ids={
            "user": world.agent.id,
            "canned": reply.id,
            "calendar": calendar.id,
            "plan": plan,
            "department": world.department.id,
            "team": world.level2.id,
            "topic": world.topic.id,
        },
        secrets=(
            "Carol&#39;s secret subject",
            "Carol's secret subject",
            "Oscar&#39;s secret invoice subject",
            "Oscar's secret invoice subject",
            "Leaked body",
            "Leaked internal note",
            "oscar@example.com",
        ),
    )


@pytest.fixture(scope="module")
def matrix(engine, redis_url, live_channel, tmp_path_factory) -> Iterator[Matrix]:
    """The app built as tests/web/conftest.py builds it, on a world seeded once, with one
    signed-in browser per role (and one signed out)."""
    _truncate(engine)
    root = tmp_path_factory.mktemp("attachments")
    with sessionmaker(engine, expire_on_commit=False)() as session:
        seeded = _seed(session, Store(root))
    app = create_app(app_config(engine, redis_url, live_channel, ATTACHMENT_DIR=str(root)))
    with app.app_context():
        limiter.reset()
    found = Matrix(app, engine, seeded)
    for role in ROLES:
        browser = Browser(app.test_client())
        if role == "anonymous":
            browser.get(STAFF_SIGN_IN)  # a session with a CSRF token, as a visitor has
        else:
            signed = browser.sign_in(SIGNED_IN_AS[role], staff=role != "end_user")
            assert signed.status_code == 302, f"{role} could not sign in"
        found.people[role] = browser
    yield found
    from web.extensions import db

    with app.app_context():
        db.engine.dispose()
    _truncate(engine)


# ---- the rules, their areas and their parameters ------------------------------------------


def _rules() -> list[Rule]:
    """The app's rules, read at collection time from an app that never connects (the
    database URL is not used until a request). `test_the_matrix_saw_every_rule` checks
    that the app the tests run against has exactly these."""
    app = create_app(Config(DATABASE_URL="sqlite://", TESTING=True))
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


RULES = _rules()


def methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def area(rule: Rule) -> str:
    if rule.endpoint in PUBLIC:
        return "public"
    for prefix in ("/staff", "/admin", "/ops"):
        if rule.rule == prefix or rule.rule.startswith(prefix + "/"):
            return prefix[1:]
    return "support_center"


def decision(rule: Rule, role: str) -> str:
    """`allow`, `sign_in` (a redirect to the sign-in page) or `forbid` (403)."""
    where = area(rule)
    if where == "public":
        return "allow"
    if role == "anonymous":
        return "sign_in"
    allowed = {
        "staff": {"agent", "admin"} | ({"ops"} if rule.endpoint in OPS_MAY else set()),
        "admin": {"admin"},
        "ops": {"admin"} | (set() if rule.endpoint in ADMIN_ONLY else {"ops"}),
        "support_center": {"end_user"},
    }[where]
    return "allow" if role in allowed else "forbid"


def sign_in_page(rule: Rule) -> str:
    return CUSTOMER_SIGN_IN if area(rule) == "support_center" else STAFF_SIGN_IN


PARAMS: dict[str, Callable[[Seeded, int], Any]] = {
    # A ticket's number; `ticket` says which ticket the scenario is about.
    "number": lambda s, ticket: ticket,
    # Under `/versions/`, `number` is a version of the workflow (the draft).
    "versions/number": lambda s, ticket: s.draft,
    "attachment_id": lambda s, ticket: s.files[ticket],
    "key": lambda s, ticket: "support",
    "event": lambda s, ticket: "claim",
    "op": lambda s, ticket: "add_state",
    "job_id": lambda s, ticket: "no-such-job",
    "token": lambda s, ticket: "not-a-reset-token",
    "filename": lambda s, ticket: "ticketflow.js",
    "user_id": lambda s, ticket: s.ids["user"],
    "canned_id": lambda s, ticket: s.ids["canned"],
    "calendar_id": lambda s, ticket: s.ids["calendar"],
    "plan_id": lambda s, ticket: s.ids["plan"],
    "department_id": lambda s, ticket: s.ids["department"],
    "team_id": lambda s, ticket: s.ids["team"],
    "topic_id": lambda s, ticket: s.ids["topic"],
    # The world holds no notices; every check of that route is a refusal before the lookup.
    "notice_id": lambda s, ticket: 1,
}
"""How to fill each URL parameter from the world, keyed by its name (or by
`<segment before it>/<name>` where one name means two things)."""


def url(rule: Rule, seeded: Seeded, ticket: int | None = None) -> str:
    """The rule's URL with its parameters filled in; `ticket` is the ticket it is about
    (Carol's, which everyone allowed may see, unless a scenario says otherwise)."""
    ticket = seeded.mine if ticket is None else ticket
    values = {}
    parts = rule.rule.split("/")
    for name in sorted(rule.arguments):
        before = next(
            (parts[i - 1] for i, p in enumerate(parts) if p.strip("<>").split(":")[-1] == name),
            "",
        )
        fill = PARAMS.get(f"{before}/{name}") or PARAMS.get(name)
        if fill is None:
            pytest.fail(
                f"The route {rule.rule} ({rule.endpoint}) has a parameter <{name}> that "
                "tests/web/test_access_matrix.py cannot fill: add it to PARAMS there (and, if "
                "the route is new, decide who may use it)."
            )
        values[name] = fill(seeded, ticket)
    return _build(rule, values)


def _build(rule: Rule, values: dict[str, Any]) -> str:
    out = rule.rule
    for name, value in values.items():
        for converter in ("", "int:", "path:", "string:"):
            out = out.replace(f"<{converter}{name}>", str(value))
    assert "<" not in out, f"could not fill {rule.rule} with {values}"
    return out


def form(seeded: Seeded, ticket: int) -> dict[str, str]:
    """A plausible form for any of the app's POSTs, so a refusal is the route's check and
    not a missing field; if a check is missing, the post would change something."""
    return {
        "version": str(seeded.versions[ticket]),
        "body": "A message that must not be stored.",
        "mode": "note",
        "note": "A note that must not be stored.",
        "reply": "A reply that must not be stored.",
        "priority_id": "4",
        "sla_plan_id": str(seeded.ids["plan"]),
        "canned_id": str(seeded.ids["canned"]),
        "action": "claim",
        "ticket": str(ticket),
        f"version-{ticket}": str(seeded.versions[ticket]),
        "name": "Mallory",
        "email": "mallory@example.com",
        "subject": "Posted without permission",
        "help_topic_id": str(seeded.ids["topic"]),
    }


def pairs(*, unsafe_only: bool = False) -> list[Any]:
    """(rule, method) for every route, or for those that change state, named for reading."""
    return [
        pytest.param(rule, method, id=f"{method} {rule.rule}")
        for rule in RULES
        for method in methods(rule)
        if method in UNSAFE or not unsafe_only
    ]


# ---- requests and what they may change ------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: Any
    body: str

    def where(self) -> str:
        return urlsplit(self.headers.get("Location") or self.headers.get("HX-Redirect") or "").path


def send(
    browser: Browser,
    method: str,
    target: str,
    data: dict[str, str] | None = None,
    *,
    csrf: bool = True,
    htmx: bool = False,
) -> Answer:
    """One request as the browser makes it; an event stream is answered but not read."""
    headers = {"HX-Request": "true", "HX-Current-URL": f"http://localhost{target}"} if htmx else {}
    payload = dict(data or {})
    if method != "GET" and csrf:
        payload["csrf_token"] = browser.token
    response = browser.client.open(
        target, method=method, data=payload if method != "GET" else None, headers=headers
    )
    with response:
        streaming = response.mimetype == "text/event-stream"
        body = "" if streaming else response.get_data().decode(errors="replace")
    return Answer(response.status_code, response.headers, body)


def snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, to show that a refused request changed nothing."""
    with engine.connect() as conn:
        return {
            table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
            for table in Base.metadata.sorted_tables
        }


def changes(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def leaked(answer: Answer, seeded: Seeded) -> list[str]:
    return [s for s in seeded.secrets if s in answer.body]


# ---- the matrix -------------------------------------------------------------------------------


def test_the_matrix_saw_every_rule(matrix):
    """The rules parametrised at collection are exactly those of the app under test."""
    served = sorted(
        (r.rule, r.endpoint, tuple(methods(r))) for r in matrix.app.url_map.iter_rules()
    )
    assert served == sorted((r.rule, r.endpoint, tuple(methods(r))) for r in RULES)


def test_every_url_parameter_can_be_filled(matrix):
    for rule in RULES:
        assert url(rule, matrix.seeded).startswith("/")


def test_every_decision_names_a_real_endpoint():
    """A stale entry in an allow-list would hide a typo that leaves a route undecided."""
    endpoints = {r.endpoint for r in RULES}
    for listed in (PUBLIC, OPS_MAY, ADMIN_ONLY, NON_PAGE):
        assert set(listed) <= endpoints, set(listed) - endpoints


@pytest.mark.parametrize(("rule", "method"), pairs())
def test_not_signed_in_is_sent_to_the_right_sign_in_page(matrix, rule, method):
    """Anonymous: a public route answers (never a 500); any other route redirects to its
    sign-in page (htmx: HX-Redirect), or for a non-page endpoint answers 401/403, and never
    shows data. A public route not in PUBLIC fails here: decide and list it."""
    seeded, anonymous = matrix.seeded, matrix.people["anonymous"]
    target = url(rule, seeded)
    if decision(rule, "anonymous") == "allow":
        if method == "GET":
            assert send(anonymous, method, target).status < 500
        return
    page = sign_in_page(rule)
    before = snapshot(matrix.engine)
    for htmx in (False, True):
        answer = send(anonymous, method, target, form(seeded, seeded.mine), htmx=htmx)
        may_refuse = method != "GET" or rule.endpoint in NON_PAGE
        if answer.status in (401, 403) and may_refuse:
            pass
        elif htmx:
            assert (answer.status, answer.where()) == (204, page), (
                f"{method} {target} (htmx) answered {answer.status} to someone not signed in: "
                f"it must send them to {page} with HX-Redirect. If this route is meant to be "
                "public, add its endpoint to PUBLIC in tests/web/test_access_matrix.py."
            )
        else:
            assert (answer.status, answer.where()) == (302, page), (
                f"{method} {target} answered {answer.status} to someone not signed in: it must "
                f"redirect to {page}. If this route is meant to be public, add its endpoint "
                "to PUBLIC in tests/web/test_access_matrix.py."
            )
        assert not leaked(answer, seeded), f"{method} {target} showed {leaked(answer, seeded)}"
    assert not changes(before, snapshot(matrix.engine))


FORBIDDEN = [
    pytest.param(rule, method, role, id=f"{role} {method} {rule.rule}")
    for rule in RULES
    for method in methods(rule)
    for role in ROLES[1:]
    if decision(rule, role) == "forbid"
]


@pytest.mark.parametrize(("rule", "method", "role"), FORBIDDEN)
def test_the_wrong_role_gets_403_and_nothing_changes(matrix, rule, method, role):
    """End users on staff, admin and ops routes; agents on admin and ops routes; ops outside
    OPS_MAY and on ADMIN_ONLY; staff on the Support Center: 403, no data, nothing written.
    The form carries a valid CSRF token, so the refusal is the role check's."""
    seeded = matrix.seeded
    target = url(rule, seeded)
    before = snapshot(matrix.engine)
    answer = send(matrix.people[role], method, target, form(seeded, seeded.mine))
    assert answer.status == 403, (
        f"{method} {target} answered {answer.status} to {role}, who must get 403. If {role} "
        "should be allowed here, record that decision in tests/web/test_access_matrix.py "
        "(PUBLIC, OPS_MAY or ADMIN_ONLY)."
    )
    assert not leaked(answer, seeded), f"{method} {target} showed {leaked(answer, seeded)}"
    assert not changes(before, snapshot(matrix.engine))


ALLOWED_GETS = [
    pytest.param(rule, role, id=f"{role} GET {rule.rule}")
    for rule in RULES
    if "GET" in rule.methods
    for role in ROLES
    if decision(rule, role) == "allow" and (area(rule) != "public" or role == "anonymous")
]


@pytest.mark.parametrize(("rule", "role"), ALLOWED_GETS)
def test_a_get_by_someone_allowed_answers_and_changes_nothing(matrix, rule, role):
    """Every GET as someone allowed: never a 500, never a refusal or a sign-in page, and
    never a write (a GET that changes state would be a way round CSRF)."""
    target = url(rule, matrix.seeded)
    if rule.endpoint == "staff.insert_canned":
        target += f"?canned_id={matrix.seeded.ids['canned']}"
    before = snapshot(matrix.engine)
    answer = send(matrix.people[role], "GET", target)
    assert answer.status < 500, f"GET {target} as {role} answered {answer.status}"
    assert answer.status not in (401, 403, 404), f"GET {target} refused {role}: {answer.status}"
    assert answer.where() not in (STAFF_SIGN_IN, CUSTOMER_SIGN_IN), (
        f"GET {target} sent {role} to sign in"
    )
    assert not changes(before, snapshot(matrix.engine)), f"GET {target} as {role} wrote"


def someone_allowed(rule: Rule) -> str:
    """Someone the route lets in, so a 400 is the missing token's, not a refusal."""
    if rule.endpoint == "staff.logout":
        return "agent"
    if rule.endpoint == "portal.logout":
        return "end_user"
    return {
        "public": "anonymous",
        "staff": "agent",
        "admin": "admin",
        "ops": "admin",
        "support_center": "end_user",
    }[area(rule)]


@pytest.mark.parametrize(("rule", "method"), pairs(unsafe_only=True))
def test_a_change_without_the_csrf_token_is_refused_and_changes_nothing(matrix, rule, method):
    """Every POST/PUT/PATCH/DELETE, by someone allowed, without the token (a plain form) or
    with a forged one (htmx's header): 400, and the database and the session as they were."""
    seeded = matrix.seeded
    role = someone_allowed(rule)
    browser = matrix.people[role]
    target = url(rule, seeded)
    before = snapshot(matrix.engine)
    plain = send(browser, method, target, form(seeded, seeded.mine), csrf=False)
    assert plain.status == 400, f"{method} {target} without a CSRF token answered {plain.status}"
    forged = browser.client.open(
        target,
        method=method,
        data=form(seeded, seeded.mine),
        headers={"HX-Request": "true", "X-CSRFToken": "forged"},
    )
    assert forged.status_code == 400, f"{method} {target} with a forged token: {forged.status_code}"
    assert not changes(before, snapshot(matrix.engine))
    if role != "anonymous":  # still signed in: a sign-out without the token did nothing
        home = "/tickets" if role == "end_user" else "/staff"
        assert send(browser, "GET", home).status == 200


# ---- someone else's ticket ---------------------------------------------------------------------


def _ticket_rules(where: str) -> list[Any]:
    return [
        pytest.param(rule, method, id=f"{method} {rule.rule}")
        for rule in RULES
        if area(rule) == where and "number" in rule.arguments and "/versions/" not in rule.rule
        for method in methods(rule)
    ]


@pytest.mark.parametrize(("rule", "method"), _ticket_rules("support_center"))
def test_another_persons_ticket_is_404_for_an_end_user(matrix, rule, method):
    """Carol on Oscar's ticket: 404 on every route that names a ticket, with a valid CSRF
    token and form (so a missing check would show as a change), no data, nothing written."""
    seeded = matrix.seeded
    target = url(rule, seeded, seeded.theirs)
    before = snapshot(matrix.engine)
    answer = send(matrix.people["end_user"], method, target, form(seeded, seeded.theirs))
    assert answer.status == 404, f"{method} {target} (Oscar's ticket) answered {answer.status}"
    assert not leaked(answer, seeded), f"{method} {target} showed {leaked(answer, seeded)}"
    assert not changes(before, snapshot(matrix.engine))


@pytest.mark.parametrize(("rule", "method"), _ticket_rules("staff"))
def test_a_ticket_outside_the_agents_departments_is_404(matrix, rule, method):
    """Alice works in Support; Oscar's ticket is Billing's: 404 on every staff route that
    names a ticket, no data, nothing written."""
    seeded = matrix.seeded
    target = url(rule, seeded, seeded.theirs)
    before = snapshot(matrix.engine)
    answer = send(matrix.people["agent"], method, target, form(seeded, seeded.theirs))
    assert answer.status == 404, f"{method} {target} (a Billing ticket) answered {answer.status}"
    assert not leaked(answer, seeded), f"{method} {target} showed {leaked(answer, seeded)}"
    assert not changes(before, snapshot(matrix.engine))


def test_the_same_routes_open_the_agents_own_department_and_everything_for_ops(matrix):
    """The positive side of the 404s above: the Billing ticket is there for ops and admins,
    and the Support ticket for Alice (so a 404 above is the scope, not a broken URL)."""
    seeded = matrix.seeded
    for role, ticket in (("agent", seeded.mine), ("admin", seeded.theirs), ("ops", seeded.theirs)):
        answer = send(matrix.people[role], "GET", f"/staff/tickets/{ticket}")
        assert answer.status == 200, (role, answer.status)


def test_a_file_is_reached_only_through_its_own_ticket(matrix):
    """A file of Oscar's ticket under Carol's ticket's URL is a 404 (for her and for staff),
    and an internal note's file is a 404 for the customer though the ticket is hers."""
    seeded = matrix.seeded
    crossed = seeded.files[seeded.theirs]
    carol, admin = matrix.people["end_user"], matrix.people["admin"]
    assert send(carol, "GET", f"/tickets/{seeded.mine}/attachments/{crossed}").status == 404
    assert send(admin, "GET", f"/staff/tickets/{seeded.mine}/attachments/{crossed}").status == 404
    assert (
        send(carol, "GET", f"/tickets/{seeded.mine}/attachments/{seeded.note_file}").status == 404
    )
    staff_file = f"/staff/tickets/{seeded.mine}/attachments/{seeded.note_file}"
    assert send(admin, "GET", staff_file).status == 200


def test_a_bulk_action_never_reaches_a_ticket_outside_the_agents_departments(matrix):
    """`/staff/bulk` names its tickets in the form, not the URL: Oscar's Billing ticket is
    reported as not found to Alice, and stays as it was."""
    seeded, alice = matrix.seeded, matrix.people["agent"]
    before = snapshot(matrix.engine)
    data = {"action": "claim", "ticket": str(seeded.theirs)}
    data[f"version-{seeded.theirs}"] = str(seeded.versions[seeded.theirs])
    answer = send(alice, "POST", "/staff/bulk", data, htmx=True)
    assert answer.status == 200
    assert "There is no such ticket" in answer.body and not leaked(answer, seeded)
    assert not changes(before, snapshot(matrix.engine))


@pytest.mark.parametrize("htmx", [False, True])
def test_a_control_character_in_a_workflow_document_is_a_sentence_not_a_500(matrix, htmx):
    """YAML refuses control characters before it parses; the editor says so (it was a 500)."""
    admin, draft = matrix.people["admin"], matrix.seeded.draft
    source = "workflow: support\nlabel: Sup\x00port\n"
    before = snapshot(matrix.engine)
    base = f"/admin/workflows/support/versions/{draft}"
    checked = send(admin, "POST", f"{base}/check", {"source": source}, htmx=htmx)
    assert checked.status == 200
    assert "the document contains a control character (#x0000)" in checked.body
    saved = send(admin, "POST", f"{base}/edit", {"source": source}, htmx=htmx)
    assert saved.status == 422 and "control character" in saved.body
    assert not changes(before, snapshot(matrix.engine))


def test_ops_may_leave_an_internal_note_but_never_reply_to_the_customer(matrix):
    """What OPS_MAY says of `staff.compose`: the reply half is refused by the domain (the
    note half is a write, so it is not tried on this shared, read-only world)."""
    seeded = matrix.seeded
    before = snapshot(matrix.engine)
    data = {"mode": "reply", "body": "Ops writing to the customer."}
    data["version"] = str(seeded.versions[seeded.mine])
    answer = send(matrix.people["ops"], "POST", f"/staff/tickets/{seeded.mine}/compose", data)
    assert answer.status == 403
    assert not changes(before, snapshot(matrix.engine))
