"""Odd input on every route that changes something: never a 500.

Each POST (and PUT/PATCH/DELETE, should one appear) of `app.url_map` is sent, by someone the
route lets in and with a valid CSRF token, a form whose every field holds the same odd value:
a NUL character (YAML and PostgreSQL refuse it), a superscript digit (`str.isdigit` accepts
it, `int` does not), a number past every column, a negative number. Whatever the route
makes of it (a 4xx with a sentence, or a change it allows), it must not be a server error.
The list of routes and who may use each come from tests/web/test_access_matrix.py, so a new
route is tried here too.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.web import test_access_matrix as matrix
from tests.web.conftest import Browser
from workflow import drafts
from workflow.models import WorkflowVersion

FIELDS = (
    "version",
    "body",
    "mode",
    "note",
    "reply",
    "priority_id",
    "sla_plan_id",
    "canned_id",
    "action",
    "ticket",
    "assignee_id",
    "team_id",
    "department_id",
    "help_topic_id",
    "name",
    "email",
    "subject",
    "password",
    "confirm",
    "source",
    "base",
    "do",
    "yaml",
    "timezone",
    "mon",
    "holidays",
    "country",
    "first_response",
    "resolution",
    "at_risk_percent",
    "at_risk_minutes",
    "calendar_id",
    "role",
    "departments",
    "teams",
    "members",
    "seen",
    "all",
    "sample_state",
    "sample_ticket",
    "sample_resolved_days_ago",
    "step_event_1",
    "step_actor_1",
    "step_after_days_1",
    "state_name",
    "state_label",
    "state_colour",
    "event_name",
    "event_by",
    "event_from",
    "guard_event",
    "guard_rule",
    "guard_params",
    "sla_state",
    "sla_clock",
    "sla_behaviour",
    "steps-0-at",
    "steps-0-after",
    "steps-0-action",
    "steps-0-value",
    "next",
    "back",
)
ODD = {
    "nul": "\x00",
    "superscript": "²",
    "huge": "99999999999999999999",
    "negative": "-1",
}


@pytest.mark.parametrize("odd", ODD)
def test_odd_values_in_every_field_of_every_change_are_never_a_500(app, world, odd, tmp_path):
    world.agent.departments.append(world.department)
    world.session.commit()
    app.config["ATTACHMENT_DIR"] = str(tmp_path)
    ticket = world.open()
    first = world.session.scalar(select(WorkflowVersion).where(WorkflowVersion.number == 1))
    draft = drafts.create_draft(world.session, first.id, world.actor(world.admin), world.now)
    people = {"anonymous": Browser(app.test_client())}
    people["anonymous"].get("/staff/login")
    for role, email in matrix.SIGNED_IN_AS.items():
        people[role] = Browser(app.test_client())
        people[role].sign_in(email, staff=role != "end_user")
    seeded = matrix.Seeded(
        mine=ticket.number,
        theirs=ticket.number,
        versions={ticket.number: ticket.version},
        files={ticket.number: 1},
        note_file=1,
        draft=draft.number,
        ids={
            "user": world.agent.id,
            "canned": 1,
            "calendar": 1,
            "plan": world.topic.sla_plan_id,
            "department": world.department.id,
            "team": world.level2.id,
            "topic": world.topic.id,
        },
        secrets=(),
    )
    errors = []
    for rule in matrix.RULES:
        if rule.endpoint in ("staff.logout", "portal.logout"):
            continue
        for method in matrix.methods(rule):
            if method not in matrix.UNSAFE:
                continue
            role = matrix.someone_allowed(rule)
            target = matrix.url(rule, seeded)
            for htmx in (False, True):
                form = {name: ODD[odd] for name in FIELDS}
                answer = matrix.send(people[role], method, target, form, htmx=htmx)
                if answer.status >= 500:
                    errors.append(f"{method} {target} as {role} (htmx={htmx}): {answer.status}")
    assert not errors, "Server errors on odd input:\n" + "\n".join(errors)
