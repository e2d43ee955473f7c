"""Publishing a draft, rolling back and dry runs, through the admin pages.

A publish that would strand live tickets in a removed state is refused until each such state
is mapped; every moved ticket is logged; a rollback publishes a copy of the earlier version;
a dry run writes nothing.
"""

from __future__ import annotations

import html

from sqlalchemy import func, select, update

from tests.workflow.test_publishing import WITH_HOLD, WITHOUT_AWAITING, ticket_in
from workflow import drafts, publishing, services
from workflow.models import (
    AdminChange,
    ThreadEntry,
    Ticket,
    TransitionLog,
    WorkflowVersion,
)

BASE = "/admin/workflows/support"
HX = {"HX-Request": "true"}


def text(answer) -> str:
    return html.unescape(answer.get_data(as_text=True))


def statuses(world) -> dict[int, str]:
    world.session.expire_all()
    rows = world.session.execute(select(WorkflowVersion.number, WorkflowVersion.status)).all()
    return {n: s.value for n, s in rows}


def fresh(world, ticket) -> Ticket:
    world.session.expire_all()
    return world.session.get(Ticket, ticket.id)


def counts(world) -> tuple[int, ...]:
    world.session.expire_all()
    return tuple(
        world.session.scalar(select(func.count()).select_from(model))
        for model in (Ticket, TransitionLog, ThreadEntry, WorkflowVersion, AdminChange)
    )


def new_draft(world, source: str) -> WorkflowVersion:
    """Version 2 of support: a draft with `source`, made by the admin."""
    admin = world.actor(world.admin)
    published = world.session.scalar(select(WorkflowVersion).where(WorkflowVersion.number == 1))
    version = drafts.create_draft(world.session, published.id, admin, world.now)
    drafts.save_draft(world.session, version.id, source, None, admin, world.now)
    return version


def test_publishing_moves_every_live_ticket_and_logs_each_move(admin, world):
    waiting = ticket_in(world, "awaiting_customer")
    fresh_one = ticket_in(world, "new")
    done = ticket_in(world, "closed")
    new_draft(world, WITH_HOLD)
    page = text(admin.get(f"{BASE}/versions/2/publish"))
    assert "State on_hold added" in page.replace("<code>", "").replace("</code>", "")
    assert "Every live ticket's state exists in version 2" in page

    answer = admin.post(f"{BASE}/versions/2/publish")
    assert answer.status_code == 303
    assert statuses(world) == {1: "archived", 2: "published"}
    version_2 = world.session.scalar(select(WorkflowVersion.id).where(WorkflowVersion.number == 2))
    for ticket in (waiting, fresh_one):
        assert fresh(world, ticket).workflow_version_id == version_2
    assert fresh(world, done).workflow_version_id != version_2  # closed tickets stay
    moves = world.session.scalars(
        select(TransitionLog).where(TransitionLog.event == publishing.UPGRADE_EVENT)
    ).all()
    assert sorted((m.ticket_id, m.from_state, m.to_state, m.actor_id) for m in moves) == sorted(
        [
            (waiting.id, "awaiting_customer", "awaiting_customer", world.admin.id),
            (fresh_one.id, "new", "new", world.admin.id),
        ]
    )
    assert {m.note for m in moves} == {"Moved to version 2 of the workflow."}
    record = world.session.scalars(select(AdminChange).order_by(AdminChange.id.desc())).first()
    assert record.kind == "workflow.publish"
    assert record.summary == (
        "Published version 2 (1 state added (on_hold); 2 events added (hold, resume) since "
        "version 1); 2 live tickets moved onto it."
    )
    assert "2 live tickets moved onto it" in text(admin.get(BASE))


def test_a_publish_that_strands_tickets_needs_a_mapping_and_changes_nothing_without_it(
    admin, world
):
    waiting = ticket_in(world, "awaiting_customer")
    new_draft(world, WITHOUT_AWAITING)
    page = text(admin.get(f"{BASE}/versions/2/publish"))
    assert "Where do tickets in removed states go?" in page
    assert 'name="map_awaiting_customer"' in page

    before = counts(world)
    refused = admin.post(f"{BASE}/versions/2/publish", {"map_awaiting_customer": ""})
    assert refused.status_code == 422
    assert (
        "Version 2 removes states that live tickets are in: 'awaiting_customer' (1 live ticket). "
        "Map each of them to a state of the new version." in text(refused)
    )
    wrong = admin.post(f"{BASE}/versions/2/publish", {"map_awaiting_customer": "nowhere"})
    assert wrong.status_code == 422
    assert "The mapping sends 'awaiting_customer' to 'nowhere', which version 2 does not have." in (
        text(wrong)
    )
    assert counts(world) == before
    assert statuses(world) == {1: "published", 2: "draft"}
    assert fresh(world, waiting).state == "awaiting_customer"

    answer = admin.post(f"{BASE}/versions/2/publish", {"map_awaiting_customer": "in_progress"})
    assert answer.status_code == 303
    moved = fresh(world, waiting)
    assert moved.state == "in_progress" and moved.version > waiting.version  # stale pages reload
    log = world.session.scalars(
        select(TransitionLog).where(
            TransitionLog.ticket_id == waiting.id, TransitionLog.event == publishing.UPGRADE_EVENT
        )
    ).one()
    assert (log.from_state, log.to_state) == ("awaiting_customer", "in_progress")
    record = world.session.scalars(select(AdminChange).order_by(AdminChange.id.desc())).first()
    assert record.details["mapping"] == {"awaiting_customer": "in_progress"}
    assert "'awaiting_customer' → 'in_progress'" in record.summary


def test_a_stored_draft_that_became_invalid_is_not_published(admin, world):
    version = new_draft(world, WITH_HOLD)
    world.session.execute(
        update(WorkflowVersion)
        .where(WorkflowVersion.id == version.id)
        .values(source=WITH_HOLD.replace("actor_is_assignee", "retired_guard"))
    )
    world.session.commit()
    assert "cannot be published" in text(admin.get(f"{BASE}/versions/2/publish"))
    refused = admin.post(f"{BASE}/versions/2/publish")
    assert refused.status_code == 422 and "unknown guard 'retired_guard'" in text(refused)
    assert statuses(world) == {1: "published", 2: "draft"}


def test_only_a_draft_is_published_and_only_an_archived_version_is_rolled_back_to(admin, world):
    assert admin.get(f"{BASE}/versions/1/publish").status_code == 409
    assert admin.post(f"{BASE}/versions/1/publish").status_code == 409
    assert admin.get(f"{BASE}/versions/1/rollback").status_code == 409
    new_draft(world, WITH_HOLD)
    assert admin.post(f"{BASE}/versions/2/rollback").status_code == 409
    assert statuses(world) == {1: "published", 2: "draft"}


def test_rolling_back_publishes_a_copy_of_the_earlier_version(admin, world):
    new_draft(world, WITH_HOLD)
    assert admin.post(f"{BASE}/versions/2/publish").status_code == 303
    held = ticket_in(world, "in_progress")
    services.apply_event(
        world.session, held.id, "hold", world.actor(world.agent), world.now
    )  # version 2's new state, which version 1 does not have
    page = text(admin.get(f"{BASE}/versions/1/rollback"))
    assert "State on_hold removed" in page.replace("<code>", "").replace("</code>", "")
    assert 'name="map_on_hold"' in page

    refused = admin.post(f"{BASE}/versions/1/rollback")
    assert refused.status_code == 422 and "'on_hold' (1 live ticket)" in text(refused)
    assert statuses(world) == {1: "archived", 2: "published"}

    answer = admin.post(f"{BASE}/versions/1/rollback", {"map_on_hold": "in_progress"})
    assert answer.status_code == 303
    assert statuses(world) == {1: "archived", 2: "archived", 3: "published"}
    rows = world.session.execute(select(WorkflowVersion.number, WorkflowVersion.source)).all()
    sources = {number: source for number, source in rows}
    assert sources[3] == sources[1]
    assert fresh(world, held).state == "in_progress"
    record = world.session.scalars(select(AdminChange).order_by(AdminChange.id.desc())).first()
    assert record.kind == "workflow.rollback" and record.details["copied_from"] == 1
    assert record.summary.startswith("Rolled back to version 1: published its copy as version 3")


# ---- dry runs --------------------------------------------------------------------------------


def test_a_dry_run_says_step_by_step_what_passes_and_writes_nothing(admin, world):
    ticket_in(world, "new")
    before = counts(world)
    answer = admin.post(
        f"{BASE}/versions/1/dry-run",
        {
            "sample_state": "new",
            "sample_assignee": "nobody",
            "step_event_1": "claim",
            "step_actor_1": "agent_a",
            "step_event_2": "start",
            "step_actor_2": "agent_b",
            "step_event_3": "start",
            "step_actor_3": "agent_a",
            "step_event_4": "request_info",
            "step_actor_4": "agent_a",
            "step_reply_4": "Which model is it?",
        },
        headers=HX,
    )
    assert answer.status_code == 200
    page = text(answer)
    assert page.lstrip().startswith('<section id="dry-run-result"')
    assert "Not passed" in page and "1 of 4 steps refused" in page
    assert "“Start work” is only for the agent assigned to this ticket (or an admin)." in page
    assert "Assignee: nobody → Agent A." in page
    assert "resolution clock: runs → paused" in page
    assert "Ends in: <strong>Awaiting customer</strong>" in page
    assert counts(world) == before


def test_a_dry_run_can_start_from_a_live_ticket(admin, world):
    ticket = ticket_in(world, "in_progress")
    answer = admin.post(
        f"{BASE}/versions/1/dry-run",
        {
            "sample_ticket": str(ticket.number),
            "step_event_1": "resolve",
            "step_actor_1": "agent_a",
            "step_reply_1": "Replaced the toner.",
        },
    )
    page = text(answer)
    assert answer.status_code == 200 and "Passed" in page
    assert "Ends in: <strong>Resolved</strong>" in page


def test_a_dry_run_with_unknown_input_is_a_422_with_sentences(admin, world):
    answer = admin.post(
        f"{BASE}/versions/1/dry-run",
        {"sample_ticket": "999999", "step_event_1": "claim", "step_actor_1": "wizard"},
    )
    assert answer.status_code == 422
    page = text(answer)
    assert "There is no ticket #999999 on this workflow." in page
    answer = admin.post(
        f"{BASE}/versions/1/dry-run",
        {"sample_state": "limbo", "step_event_1": "claim", "step_actor_1": "wizard"},
    )
    page = text(answer)
    assert answer.status_code == 422
    assert "The workflow has no state called 'limbo'." in page
    assert "Step 1: 'wizard' is not one of the people of a dry run." in page
    assert admin.post(f"{BASE}/versions/1/dry-run", {"sample_state": "new"}).status_code == 422
