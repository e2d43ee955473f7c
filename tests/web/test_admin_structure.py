"""The admin's structure pages: departments, teams and their members, help topics. Who may
reach them, what is refused and why, and that the lists cost a fixed number of queries."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.web.helpers import count_queries
from workflow.models import (
    AdminChange,
    Department,
    HelpTopic,
    Team,
    User,
    VersionStatus,
    Workflow,
    WorkflowVersion,
)

PAGES = [
    "/admin/departments",
    "/admin/departments/new",
    "/admin/departments/{department}",
    "/admin/teams",
    "/admin/teams/new",
    "/admin/teams/{team}",
    "/admin/topics",
    "/admin/topics/new",
    "/admin/topics/{topic}",
]
POSTS = [
    "/admin/departments/new",
    "/admin/departments/{department}",
    "/admin/departments/{unused}/delete",
    "/admin/teams/new",
    "/admin/teams/{team}",
    "/admin/topics/new",
    "/admin/topics/{topic}",
]


@pytest.fixture
def unused(world):
    """A department nothing refers to (deletable)."""
    department = Department(name="Facilities")
    world.session.add(department)
    world.session.commit()
    return department


def url(template, world, unused):
    return template.format(
        department=world.department.id,
        team=world.level2.id,
        topic=world.topic.id,
        unused=unused.id,
    )


def fresh(world, model, row_id):
    world.session.expire_all()
    return world.session.get(model, row_id)


def history_rows(world):
    return world.session.scalar(select(func.count()).select_from(AdminChange))


def submit(browser, path, fields):
    browser.get(path)
    return browser.post(path, fields)


# ---- who may reach the pages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "page"), [("get", p) for p in PAGES] + [("post", p) for p in POSTS]
)
def test_anyone_not_signed_in_is_sent_to_the_staff_sign_in(browser, world, unused, method, page):
    browser.get("/staff/login")
    answer = getattr(browser, method)(url(page, world, unused))
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/staff/login?next=")


@pytest.mark.parametrize("who", ["agent", "ops"])
@pytest.mark.parametrize(
    ("method", "page"), [("get", p) for p in PAGES] + [("post", p) for p in POSTS]
)
def test_staff_without_the_admin_role_get_403(browser, world, unused, who, method, page):
    browser.sign_in(getattr(world, who).email)
    answer = getattr(browser, method)(url(page, world, unused), data={"name": "Hijacked"})
    assert answer.status_code == 403
    assert fresh(world, Department, unused.id) is not None
    assert history_rows(world) == 0


@pytest.mark.parametrize("page", PAGES)
def test_an_admin_reaches_every_page(admin, world, unused, page):
    assert admin.get(url(page, world, unused)).status_code == 200


@pytest.mark.parametrize("page", POSTS)
def test_a_form_posted_without_its_csrf_token_is_refused(admin, world, unused, page):
    answer = admin.post(url(page, world, unused), {"name": "Forged"}, csrf=False)
    assert answer.status_code == 400
    assert fresh(world, Department, unused.id) is not None
    assert history_rows(world) == 0


@pytest.mark.parametrize("page", ["/admin/departments", "/admin/teams", "/admin/topics"])
def test_the_lists_make_the_same_few_queries_however_many_rows(app, admin, world, page):
    def queries():
        answer, statements = count_queries(app, lambda: admin.get(page))
        assert answer.status_code == 200
        return len(statements)

    few = queries()
    for i in range(12):
        department = Department(name=f"Department {i}")
        world.session.add(department)
        world.session.flush()
        team = Team(name=f"Team {i}", department_id=department.id)
        team.members.append(world.agent)
        world.session.add(team)
        world.session.add(
            HelpTopic(
                name=f"Topic {i}",
                department_id=department.id,
                priority_id=world.topic.priority_id,
                sla_plan_id=world.topic.sla_plan_id,
                workflow_id=world.topic.workflow_id,
            )
        )
    world.session.commit()
    world.open()
    assert queries() == few <= 7


# ---- departments ---------------------------------------------------------------------------


def test_a_department_is_created_and_renamed_with_history(admin, world):
    answer = submit(admin, "/admin/departments/new", {"name": " Facilities "})
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/departments"
    facilities = world.session.scalar(select(Department).where(Department.name == "Facilities"))
    answer = submit(admin, f"/admin/departments/{facilities.id}", {"name": "Buildings"})
    assert answer.status_code == 303
    assert fresh(world, Department, facilities.id).name == "Buildings"
    kinds = world.session.scalars(select(AdminChange.kind).order_by(AdminChange.id)).all()
    assert kinds == ["department.create", "department.rename"]


def test_a_taken_name_in_other_capitals_is_refused_with_the_input_kept(admin, world):
    answer = submit(admin, "/admin/departments/new", {"name": "SUPPORT"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "There is already a department called “SUPPORT”; choose another name." in html
    assert 'value="SUPPORT"' in html
    assert world.session.scalar(select(func.count()).select_from(Department)) == 2


def test_an_unused_department_is_deleted_and_its_staff_simply_leave_it(admin, world, unused):
    world.agent.departments.append(unused)
    world.session.commit()
    admin.get(f"/admin/departments/{unused.id}")
    answer = admin.post(f"/admin/departments/{unused.id}/delete")
    assert answer.status_code == 303
    assert fresh(world, Department, unused.id) is None
    assert [d.name for d in fresh(world, User, world.agent.id).departments] == []


def test_a_department_with_tickets_or_topics_cannot_be_deleted_and_says_why(admin, world):
    world.open()
    admin.get(f"/admin/departments/{world.department.id}")
    answer = admin.post(f"/admin/departments/{world.department.id}/delete")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "1 ticket, 1 help topic and 1 team still refer to it" in html
    assert "rename it instead" in html
    assert fresh(world, Department, world.department.id) is not None
    assert history_rows(world) == 0


# ---- teams ---------------------------------------------------------------------------------


def test_a_team_is_created_with_a_department_and_members(admin, world):
    answer = submit(
        admin,
        "/admin/teams/new",
        {
            "name": "Night shift",
            "department_id": world.other_department.id,
            "members": [world.agent.id, world.colleague.id],
        },
    )
    assert answer.status_code == 303
    team = world.session.scalar(select(Team).where(Team.name == "Night shift"))
    assert team.department_id == world.other_department.id
    assert sorted(m.email for m in team.members) == ["alice@example.com", "bob@example.com"]
    html = admin.get("/admin/teams").get_data(as_text=True)
    assert re.search(r"Night shift</a></td>\s*<td>Billing</td>\s*<td>Alice Agent, Bob", html)


def test_members_are_changed_and_ops_staff_cannot_join(admin, world):
    path = f"/admin/teams/{world.level2.id}"
    answer = submit(
        admin,
        path,
        {"name": "Level 2 Support", "department_id": "", "members": [world.ops.id]},
    )
    assert answer.status_code == 422
    assert "Otto Ops is not an agent or admin, so cannot be in a team." in answer.get_data(
        as_text=True
    )
    assert [m.id for m in fresh(world, Team, world.level2.id).members] == [world.colleague.id]
    answer = admin.post(
        path, {"name": "Level 2 Support", "department_id": "", "members": [world.agent.id]}
    )
    assert answer.status_code == 303
    team = fresh(world, Team, world.level2.id)
    assert [m.id for m in team.members] == [world.agent.id] and team.department_id is None
    [row] = world.session.scalars(select(AdminChange)).all()
    assert row.details["added"] == ["Alice Agent"] and row.details["removed"] == ["Bob Level2"]


def test_a_tampered_department_is_refused_in_a_sentence(admin):
    answer = submit(admin, "/admin/teams/new", {"name": "Ghosts", "department_id": "x9"})
    assert answer.status_code == 422
    assert "The chosen department no longer exists" in answer.get_data(as_text=True)


# ---- help topics ---------------------------------------------------------------------------


def topic_fields(world, **changes):
    fields = {
        "name": "Password reset",
        "department_id": world.other_department.id,
        "priority_id": 3,
        "sla_plan_id": "",
        "workflow_id": world.topic.workflow_id,
        "is_active": "y",
    }
    return {**fields, **changes}


def test_a_help_topic_is_created_and_offered_at_intake(admin, world):
    answer = submit(admin, "/admin/topics/new", topic_fields(world))
    assert answer.status_code == 303
    topic = world.session.scalar(select(HelpTopic).where(HelpTopic.name == "Password reset"))
    assert (topic.department_id, topic.priority_id, topic.sla_plan_id, topic.is_active) == (
        world.other_department.id,
        3,
        None,
        True,
    )
    assert ">Password reset</option>" in admin.get("/staff/tickets/new").get_data(as_text=True)


def test_a_deactivated_topic_is_no_longer_offered(admin, world):
    fields = topic_fields(world, name=world.topic.name, department_id=world.department.id)
    del fields["is_active"]  # an unticked box is not sent
    answer = submit(admin, f"/admin/topics/{world.topic.id}", fields)
    assert answer.status_code == 303
    assert fresh(world, HelpTopic, world.topic.id).is_active is False
    intake = admin.get("/staff/tickets/new").get_data(as_text=True)
    assert f">{world.topic.name}</option>" not in intake


def test_a_topic_needs_its_choices_and_says_which_are_missing(admin, world):
    answer = submit(
        admin,
        "/admin/topics/new",
        topic_fields(world, name="Half done", department_id="", priority_id=""),
    )
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Choose the department for tickets of this topic." in html
    assert "Choose the priority for tickets of this topic." in html
    assert 'value="Half done"' in html
    assert world.session.scalar(select(HelpTopic).where(HelpTopic.name == "Half done")) is None


def test_an_active_topic_needs_a_workflow_with_a_published_version(admin, world):
    draft_only = Workflow(key="returns", label="Returns")
    world.session.add(draft_only)
    world.session.commit()
    fields = topic_fields(world, workflow_id=draft_only.id)
    answer = submit(admin, "/admin/topics/new", fields)
    assert answer.status_code == 422
    assert "no published version" in answer.get_data(as_text=True)
    del fields["is_active"]
    assert admin.post("/admin/topics/new", fields).status_code == 303  # inactive is fine
    published = world.session.scalar(
        select(func.count())
        .select_from(WorkflowVersion)
        .where(WorkflowVersion.status == VersionStatus.PUBLISHED)
    )
    assert published == 1


def test_a_topic_change_is_recorded_with_what_changed(admin, world):
    fields = topic_fields(world, name=world.topic.name, department_id=world.department.id)
    fields["sla_plan_id"] = world.topic.sla_plan_id
    assert submit(admin, f"/admin/topics/{world.topic.id}", fields).status_code == 303
    [row] = world.session.scalars(select(AdminChange)).all()
    assert row.kind == "help_topic.update"
    assert row.details == {"priority_id": {"from": 2, "to": 3}}
