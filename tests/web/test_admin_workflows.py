"""Workflow admin pages: who may reach them, the list, the editor and its validator, the
structured form, saving, the diff and the history.

Publishing, rolling back and dry runs through the pages are in test_admin_workflow_publish.
"""

from __future__ import annotations

import html
import re

import pytest
import yaml
from sqlalchemy import func, select

from tests.web.helpers import count_queries
from workflow import drafts, publishing
from workflow.definition import MAX_BYTES, problems_in
from workflow.models import AdminChange, WorkflowVersion

SUPPORT = (publishing.BUILTIN_DIR / "support.yaml").read_text(encoding="utf-8")
BASE = "/admin/workflows/support"
HX = {"HX-Request": "true"}


def variant(change) -> str:
    doc = yaml.safe_load(SUPPORT)
    change(doc)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


@pytest.fixture
def versions(world):
    """support: version 1 archived, version 2 published (a copy of it), version 3 a draft."""
    admin = world.actor(world.admin)
    first = world.session.scalar(select(WorkflowVersion).where(WorkflowVersion.number == 1))
    second = drafts.create_draft(world.session, first.id, admin, world.now)
    drafts.publish_draft(world.session, second.id, {}, admin, world.now)
    third = drafts.create_draft(world.session, second.id, admin, world.now)
    return first, second, third


def draft(world, number=3) -> WorkflowVersion:
    world.session.expire_all()
    return world.session.scalar(select(WorkflowVersion).where(WorkflowVersion.number == number))


def history(world) -> list[AdminChange]:
    world.session.expire_all()
    return list(world.session.scalars(select(AdminChange).order_by(AdminChange.id)))


# ---- who may reach the pages -----------------------------------------------------------------

ROUTES = [
    ("admin.workflows", "GET", "/admin/workflows", None, 200),
    ("admin.workflow", "GET", BASE, None, 200),
    ("admin.workflow_history", "GET", f"{BASE}/history", None, 200),
    ("admin.workflow_version", "GET", f"{BASE}/versions/2", None, 200),
    ("admin.workflow_diff", "GET", f"{BASE}/diff?from=1&to=3", None, 200),
    ("admin.workflow_copy", "POST", f"{BASE}/versions/1/copy", {}, 303),
    ("admin.workflow_discard", "POST", f"{BASE}/versions/3/discard", {}, 303),
    ("admin.workflow_edit", "GET", f"{BASE}/versions/3/edit", None, 200),
    ("admin.workflow_save", "POST", f"{BASE}/versions/3/edit", {"source": SUPPORT}, 303),
    ("admin.workflow_check", "POST", f"{BASE}/versions/3/check", {"source": SUPPORT}, 200),
    (
        "admin.workflow_structured",
        "POST",
        f"{BASE}/versions/3/edit/set_sla",
        {"source": SUPPORT, "sla_state": "new", "sla_clock": "resolution", "sla_behaviour": "stop"},
        200,
    ),
    ("admin.workflow_dry_run", "GET", f"{BASE}/versions/3/dry-run", None, 200),
    (
        "admin.workflow_dry_run",
        "POST",
        f"{BASE}/versions/3/dry-run",
        {"sample_state": "new", "step_event_1": "claim", "step_actor_1": "agent_a"},
        200,
    ),
    ("admin.workflow_publish", "GET", f"{BASE}/versions/3/publish", None, 200),
    ("admin.workflow_publish", "POST", f"{BASE}/versions/3/publish", {}, 303),
    ("admin.workflow_rollback", "GET", f"{BASE}/versions/1/rollback", None, 200),
    ("admin.workflow_rollback", "POST", f"{BASE}/versions/1/rollback", {}, 303),
]
IDS = [f"{method} {endpoint}" for endpoint, method, *_ in ROUTES]


def test_every_workflow_admin_route_is_in_the_access_tests(app):
    registered = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.workflow")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert registered == {(endpoint, method) for endpoint, method, *_ in ROUTES}


def call(browser, method, url, data, **kw):
    return browser.get(url, **kw) if method == "GET" else browser.post(url, data, **kw)


@pytest.mark.parametrize(("endpoint", "method", "url", "data", "status"), ROUTES, ids=IDS)
def test_anonymous_people_are_sent_to_the_staff_sign_in(
    browser, versions, endpoint, method, url, data, status
):
    answer = call(browser, method, url, data)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/staff/login")


@pytest.mark.parametrize("who", ["agent", "ops"])
@pytest.mark.parametrize(("endpoint", "method", "url", "data", "status"), ROUTES, ids=IDS)
def test_staff_without_the_admin_role_are_refused(
    browser, world, versions, who, endpoint, method, url, data, status
):
    browser.sign_in(getattr(world, who).email)
    before = (len(history(world)), world.session.scalar(select(func.count(WorkflowVersion.id))))
    answer = call(browser, method, url, data)
    assert answer.status_code == 403
    assert (len(history(world)), world.session.scalar(select(func.count(WorkflowVersion.id)))) == (
        before
    )


@pytest.mark.parametrize(("endpoint", "method", "url", "data", "status"), ROUTES, ids=IDS)
def test_admins_reach_every_page(admin, versions, endpoint, method, url, data, status):
    admin.get("/admin/workflows")
    assert call(admin, method, url, data).status_code == status


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(admin, world, versions):
    before = draft(world).checksum
    answer = admin.post(f"{BASE}/versions/3/edit", {"source": SUPPORT + "# x\n"}, csrf=False)
    assert answer.status_code == 400
    assert draft(world).checksum == before
    assert admin.post(f"{BASE}/versions/3/discard", csrf=False).status_code == 400
    assert draft(world) is not None


def test_unknown_workflows_and_versions_are_404(admin, versions):
    assert admin.get("/admin/workflows/nope").status_code == 404
    assert admin.get(f"{BASE}/versions/99").status_code == 404
    assert admin.get(f"{BASE}/versions/3/edit/add_state").status_code == 405
    assert admin.post(f"{BASE}/versions/3/edit/rm_rf", {"source": SUPPORT}).status_code == 404
    assert admin.get(f"{BASE}/diff?from=x&to=1").status_code == 400


# ---- the list --------------------------------------------------------------------------------


def test_the_list_shows_versions_topics_and_live_tickets(admin, world, versions):
    world.open()
    world.open(subject="Second")
    closed = world.open(subject="Third")
    closed.closed_at = world.now
    world.session.commit()
    page = text(admin.get("/admin/workflows"))
    assert "General question" in page and "Support" in page  # the topic and its department
    assert re.search(r"version 2</a>\s*<span class=\"status published\">", page)
    assert re.search(r"data-version=\"2\">2 live tickets<", page)
    assert re.search(r"data-version=\"1\">0 live tickets<", page)
    assert "Created draft version 3 as a copy of version 2." in page


def test_the_list_makes_the_same_few_queries_however_many_versions(app, admin, world, versions):
    def queries() -> int:
        answer, statements = count_queries(app, lambda: admin.get("/admin/workflows"))
        assert answer.status_code == 200
        return len(statements)

    few = queries()
    actor = world.actor(world.admin)
    for _ in range(5):
        drafts.create_draft(world.session, versions[0].id, actor, world.now)
    assert queries() == few <= 6  # user, workflows, versions, counts, topics, history


def test_a_version_page_shows_its_text_with_line_numbers_and_its_diagram(admin, versions):
    page = admin.get(f"{BASE}/versions/2").get_data(as_text=True)
    assert '<span class="n">3</span>workflow: support' in page
    assert 'src="data:image/svg+xml;base64,' in page
    # the version can be copied into a new draft from its own page, as from the list
    assert f'action="{BASE}/versions/2/copy"' in page
    assert ">Copy into a new draft</button>" in page


# ---- the editor and its validator ------------------------------------------------------------


def check(browser, source, **kw):
    return browser.post(f"{BASE}/versions/3/check", {"source": source}, headers=HX, **kw)


def _set(path, value):
    def change(doc):
        *parents, last = path
        node = doc
        for key in parents:
            node = node[key]
        node[last] = value

    return change


KINDS = {
    "YAML that does not parse": SUPPORT.replace("label: New", "label: [New"),
    "a repeated key": SUPPORT.replace("  assigned:\n", "  new:\n", 1),
    "an unknown key": variant(_set(("states", "new", "owner"), "me")),
    "a bad colour": variant(_set(("states", "new", "colour"), "blue")),
    "no initial state": variant(_set(("states", "new", "initial"), False)),
    "an unknown guard": variant(_set(("events", "close", "guards"), ["customer_confirmed"])),
    "a bad guard parameter": variant(
        _set(("events", "discard", "guards"), [{"note_required": {"min_length": 0}}])
    ),  # noqa: E501
    "an unknown role": variant(_set(("events", "claim", "by"), ["end_user"])),
    "an unknown target state": variant(_set(("events", "start", "to"), "in_progres")),
    "an unknown SLA behaviour": variant(_set(("states", "new", "sla", "resolution"), "hold")),
    "an unreachable state": variant(_set(("states", "limbo"), {"label": "Limbo"})),
    "a reserved event name": variant(
        _set(("events", "open"), {"by": ["agent"], "from": ["new"], "to": "closed"})
    ),  # noqa: E501
}


@pytest.mark.parametrize("kind", KINDS, ids=list(KINDS))
def test_the_editor_lists_each_kind_of_problem_as_the_command_line_does(admin, versions, kind):
    source = KINDS[kind]
    expected = problems_in(source)
    assert expected, kind
    answer = check(admin, source)
    assert answer.status_code == 200
    page = text(answer)
    assert f"{len(expected)} problem" in page
    for problem in expected:
        assert problem.message in page
        if problem.line:
            assert f'data-line="{problem.line}">line {problem.line}</button>' in page
    assert 'id="diagram"' not in page  # the last good diagram stays until the text is valid


def test_a_valid_text_answers_no_problems_and_a_new_diagram(admin, world, versions):
    source = variant(_set(("states", "new", "label"), "Fresh"))
    page = text(check(admin, source))
    assert "No problems: a valid workflow with 6 states, 13 events and 33 transitions." in page
    assert '<figure id="diagram"' in page and 'hx-swap-oob="true"' in page
    assert draft(world).source == SUPPORT  # checking writes nothing


def test_a_draft_cannot_become_another_workflow(admin, versions):
    page = text(check(admin, SUPPORT.replace("workflow: support", "workflow: billing")))
    assert "this draft is a version of 'support': `workflow` must stay 'support'" in page


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("# " + "x" * MAX_BYTES, "the document is larger than 256 KiB."),
        (
            "workflow: big\nstates:\n"
            + "".join(f"  s{i}: {{}}\n" for i in range(201))
            + "events: {}\n",
            "a workflow may have at most 200 states.",
        ),
        (
            "workflow: big\nstates:\n  a: {initial: true}\n  b: {final: true}\nevents:\n"
            + "".join(f"  e{i}: {{by: [agent], from: [a, a], to: b}}\n" for i in range(1001))
            + "",
            "a workflow may have at most 2000 transitions (this one has 2002).",
        ),
    ],
    ids=["over 256 KiB", "over 200 states", "over 2000 transitions"],
)
def test_documents_over_the_size_limits_are_refused_with_a_sentence(
    admin, world, versions, source, message
):
    assert message in text(check(admin, source))
    answer = admin.post(
        f"{BASE}/versions/3/edit", {"source": source, "base": draft(world).checksum}
    )
    assert answer.status_code == 422 and message in text(answer)
    assert draft(world).source == SUPPORT


def test_the_check_button_works_without_javascript(admin, versions):
    answer = admin.post(f"{BASE}/versions/3/check", {"source": KINDS["a bad colour"]})
    page = text(answer)
    assert answer.status_code == 200 and "<textarea" in page
    assert "colour must look like '#1a2b3c', not 'blue'." in page
    assert "not saved yet" in page


def test_saving_bad_yaml_is_refused_with_the_sentences_and_nothing_is_saved(admin, world, versions):
    before, recorded = draft(world).checksum, len(history(world))
    bad = KINDS["YAML that does not parse"]
    answer = admin.post(f"{BASE}/versions/3/edit", {"source": bad, "base": before})
    assert answer.status_code == 422
    page = text(answer)
    assert "The draft was not saved" in page and problems_in(bad)[0].message in page
    assert bad in page  # the text stays in the editor to be fixed
    assert draft(world).checksum == before and len(history(world)) == recorded
    # the common edits say why their lists are empty instead of offering nothing silently
    assert "cannot be read as YAML" in page and "no states or events to offer" in page


def test_a_readable_document_offers_its_names_to_the_common_edits(admin, versions):
    page = text(admin.get(f"{BASE}/versions/3/edit"))
    assert "cannot be read as YAML" not in page


def test_saving_a_valid_text_updates_the_draft_and_records_what_changed(admin, world, versions):
    source = variant(_set(("states", "awaiting_customer", "sla", "resolution"), "run"))
    answer = admin.post(
        f"{BASE}/versions/3/edit",
        {"source": source.replace("\n", "\r\n"), "base": draft(world).checksum},
    )
    assert answer.status_code == 303
    assert draft(world).source == source  # the admin's CRLF line endings are made LF
    last = history(world)[-1]
    assert (last.kind, last.subject, last.actor_id) == ("workflow.edit", "support", world.admin.id)
    assert last.summary == ("Edited draft version 3: 1 state changed (awaiting_customer).")
    assert last.details["diff"]["states_changed"] == {
        "awaiting_customer": ["resolution clock: pause → run"]
    }
    assert "Edited draft version 3" in text(admin.get(f"{BASE}/history"))


def test_a_draft_saved_by_someone_else_meanwhile_is_not_overwritten(admin, world, versions):
    seen = draft(world).checksum
    drafts.save_draft(
        world.session,
        draft(world).id,
        SUPPORT + "# theirs\n",
        seen,
        world.actor(world.admin),
        world.now,
    )
    answer = admin.post(f"{BASE}/versions/3/edit", {"source": SUPPORT + "# mine\n", "base": seen})
    assert answer.status_code == 409
    assert draft(world).source.endswith("# theirs\n")


def test_only_a_draft_can_be_edited(admin, versions):
    assert admin.get(f"{BASE}/versions/2/edit").status_code == 409
    answer = admin.post(f"{BASE}/versions/2/edit", {"source": SUPPORT + "# x\n"})
    assert answer.status_code == 409
    assert "only a draft can be edited" in text(answer)


# ---- the structured form ---------------------------------------------------------------------


def test_the_form_adds_a_state_to_the_editor_text_without_saving(admin, world, versions):
    answer = admin.post(
        f"{BASE}/versions/3/edit/add_state",
        {
            "source": SUPPORT,
            "state_name": "waiting_on_vendor",
            "state_label": "Waiting on vendor",
            "state_sla_resolution": "pause",
        },
        headers=HX,
    )
    assert answer.status_code == 200
    page = text(answer)
    assert page.lstrip().startswith('<div id="workspace"')  # the fragment, not the page
    assert "comments and layout are not kept" in page
    textarea = re.search(r"<textarea[^>]*>\n(.*?)</textarea>", page, re.S).group(1)
    state = yaml.safe_load(textarea)["states"]["waiting_on_vendor"]
    assert state["sla"] == {"first_response": "run", "next_response": "run", "resolution": "pause"}
    assert "unreachable: no sequence of events leads here from 'new'." in page
    assert draft(world).source == SUPPORT


def test_a_form_edit_that_cannot_be_made_is_refused_with_a_sentence(admin, world, versions):
    answer = admin.post(
        f"{BASE}/versions/3/edit/add_event",
        {"source": SUPPORT, "event_name": "claim", "event_by": "agent", "event_from": "new"},
    )
    assert answer.status_code == 422
    assert "There is already an event called 'claim'." in text(answer)
    answer = admin.post(
        f"{BASE}/versions/3/edit/attach_guard",
        {"source": SUPPORT, "guard_event": "close", "guard_rule": "note_required",
         "guard_params": "min_length=zero"},
    )  # fmt: skip
    assert answer.status_code == 422
    assert "Parameter 'min_length' of guard 'note_required' must be a whole number" in text(answer)
    assert draft(world).source == SUPPORT


# ---- differences -----------------------------------------------------------------------------


def test_the_diff_lists_states_events_and_guards_then_the_text(admin, world, versions):
    source = variant(
        lambda doc: (
            doc["states"].pop("awaiting_customer"),
            doc["events"].pop("request_info"),
            doc["events"].pop("customer_replied"),
            doc["events"]["resolve"].update({"from": ["assigned", "in_progress"]}),
            doc["events"]["transfer"]["transitions"][0].update(
                {"from": ["new", "assigned", "in_progress"]}
            ),
            doc["events"]["transfer"]["transitions"][1].update(
                {"from": ["new", "assigned", "in_progress"]}
            ),
            doc["events"]["discard"].update(
                {"from": ["new", "assigned", "in_progress", "resolved"]}
            ),
            doc["events"]["escalate"].update({"from": ["new", "assigned", "in_progress"]}),
            doc["events"]["close"].update(
                {"guards": ["confirmed_since_resolve", "actor_is_assignee"]}
            ),
        )
    )
    drafts.save_draft(
        world.session, draft(world).id, source, None, world.actor(world.admin), world.now
    )
    page = text(admin.get(f"{BASE}/diff?from=2&to=3"))
    assert "State awaiting_customer removed" in page.replace("<code>", "").replace("</code>", "")
    assert "Event request_info removed" in page.replace("<code>", "").replace("</code>", "")
    assert "guard actor_is_assignee added on 'close' from 'resolved' to 'closed'" in page
    assert '<span class="del">-  awaiting_customer:</span>' in page
