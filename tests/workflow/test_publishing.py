"""Workflow versions: drafts are numbered, one version is published, live tickets follow it.

Admins change a lifecycle while tickets are open in it. These tests pin down what a publish
guarantees: exactly one published version (the database agrees), every live ticket moved
and logged, closed tickets left as they were, and a publish that would strand tickets in a
removed state refused with nothing changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta, timezone
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from tests.factories import World
from workflow import publishing, services
from workflow.errors import InvalidDefinition, PublishRefused, TransitionRejected
from workflow.loading import compiled_version
from workflow.models import Ticket, TransitionLog, VersionStatus, Workflow, WorkflowVersion

SUPPORT = (publishing.BUILTIN_DIR / "support.yaml").read_text(encoding="utf-8")
UNCHANGED_STATES = SUPPORT + "# v2: wording only, every state kept\n"

RETURNS = """\
workflow: returns
states:
  requested: {initial: true}
  done: {final: true}
events:
  accept:
    by: [agent]
    from: [requested]
    to: done
"""


def variant(change: Callable[[dict[str, Any]], None]) -> str:
    """The built-in support document with `change` applied to its parsed form."""
    doc = yaml.safe_load(SUPPORT)
    change(doc)
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _add_hold(doc: dict[str, Any]) -> None:
    doc["states"]["on_hold"] = {
        "label": "On hold",
        "colour": "#a855f7",
        "sla": {"first_response": "run", "next_response": "pause", "resolution": "pause"},
    }
    doc["events"]["hold"] = {
        "label": "Put on hold",
        "by": ["agent", "admin"],
        "from": ["in_progress"],
        "to": "on_hold",
        "guards": ["actor_is_assignee"],
    }
    doc["events"]["resume"] = {
        "label": "Resume",
        "by": ["agent", "admin"],
        "from": ["on_hold"],
        "to": "in_progress",
    }


def _drop_awaiting_customer(doc: dict[str, Any]) -> None:
    """Remove `awaiting_customer` and every event that only made sense with it."""
    del doc["states"]["awaiting_customer"]
    for eid in list(doc["events"]):
        event = doc["events"][eid]
        blocks = event.get("transitions", [event])
        for block in blocks:
            if "from" in block:
                block["from"] = [s for s in block["from"] if s != "awaiting_customer"]
        blocks[:] = [b for b in blocks if b.get("from") and b.get("to") != "awaiting_customer"]
        if not blocks:
            del doc["events"][eid]


WITH_HOLD = variant(_add_hold)
WITHOUT_AWAITING = variant(_drop_awaiting_customer)


# ---- helpers --------------------------------------------------------------------------------


def support_versions(world: World) -> list[tuple[int, VersionStatus]]:
    return [
        tuple(r)
        for r in world.session.execute(
            select(WorkflowVersion.number, WorkflowVersion.status)
            .join(Workflow)
            .where(Workflow.key == "support")
            .order_by(WorkflowVersion.number)
        ).all()
    ]


def published(world: World, key: str = "support") -> WorkflowVersion:
    return world.session.scalars(
        select(WorkflowVersion)
        .join(Workflow)
        .where(Workflow.key == key, WorkflowVersion.status == VersionStatus.PUBLISHED)
    ).one()


def upgrade_rows(world: World) -> list[TransitionLog]:
    return list(
        world.session.scalars(
            select(TransitionLog)
            .where(TransitionLog.event == publishing.UPGRADE_EVENT)
            .order_by(TransitionLog.ticket_id)
        )
    )


def ticket_in(world: World, state: str, subject: str | None = None) -> Ticket:
    """A ticket driven through the real services into `state` (on whatever is published)."""
    s, now = world.session, world.now
    agent, admin = world.actor(world.agent), world.actor(world.admin)
    ticket = world.open(subject or f"A ticket that ends up {state}")
    steps: dict[str, list[tuple[str, Any, dict[str, Any]]]] = {
        "new": [],
        "assigned": [("claim", agent, {})],
        "in_progress": [("claim", agent, {}), ("start", agent, {})],
        "awaiting_customer": [
            ("claim", agent, {}),
            ("start", agent, {}),
            ("request_info", agent, {"reply": "Which floor is the printer on?"}),
        ],
        "closed": [("discard", admin, {"note": "Duplicate of an earlier ticket."})],
    }
    for event, actor, params in steps[state]:
        ticket = services.apply_event(s, ticket.id, event, actor, now, **params).ticket
    assert ticket.state == state
    return ticket


def reload(world: World, ticket: Ticket) -> Ticket:
    world.session.expire_all()
    return world.session.get(Ticket, ticket.id)


def add(world: World, source: str) -> WorkflowVersion:
    version = publishing.add_version(world.session, source, world.actor(world.admin), world.now)
    world.session.commit()
    return version


def publish(
    world: World, version: WorkflowVersion, at: timedelta = timedelta(hours=1), **kw: Any
) -> publishing.Published:
    result = publishing.publish(
        world.session, version.id, world.actor(world.admin), world.now + at, **kw
    )
    world.session.commit()
    return result


# ---- numbering and the one published version ------------------------------------------------


def test_the_variants_used_below_are_valid_workflows():
    """The edits are made on parsed YAML; make sure each result is still a valid document."""
    for source in (UNCHANGED_STATES, WITH_HOLD, WITHOUT_AWAITING, RETURNS):
        publishing.wfdef.parse(source)
    assert "awaiting_customer" not in WITHOUT_AWAITING


def test_versions_of_a_workflow_are_numbered_1_2_3_as_drafts(world):
    """A new key creates its workflow; each further document is the next number, a draft."""
    first = add(world, RETURNS)
    second = add(world, RETURNS + "# second\n")
    third = add(world, RETURNS + "# third\n")
    assert [v.number for v in (first, second, third)] == [1, 2, 3]
    assert {v.workflow_id for v in (first, second, third)} == {first.workflow_id}
    assert {v.status for v in (first, second, third)} == {VersionStatus.DRAFT}
    assert third.created_by_id == world.admin.id and third.created_at == world.now
    assert third.checksum == publishing.checksum(RETURNS + "# third\n")
    label = world.session.scalar(select(Workflow.label).where(Workflow.key == "returns"))
    assert label == "Returns"


def test_numbering_is_per_workflow(world):
    """The built-in support workflow is at version 1; its next draft is 2, whatever other
    workflows hold."""
    add(world, RETURNS)
    assert add(world, UNCHANGED_STATES).number == 2
    assert support_versions(world) == [(1, VersionStatus.PUBLISHED), (2, VersionStatus.DRAFT)]


def test_an_invalid_document_is_not_stored(world):
    with pytest.raises(InvalidDefinition) as caught:
        publishing.add_version(
            world.session,
            RETURNS.replace("to: done", "to: nowhere"),
            world.actor(world.admin),
            world.now,
        )
    assert [p.message for p in caught.value.problems] == ["`to` names an unknown state 'nowhere'."]
    world.session.rollback()
    assert world.session.scalar(select(func.count()).select_from(WorkflowVersion)) == 1


def test_publishing_a_version_archives_the_one_published_before(world):
    v1 = published(world)
    v2 = add(world, UNCHANGED_STATES)
    publish(world, v2)
    assert support_versions(world) == [(1, VersionStatus.ARCHIVED), (2, VersionStatus.PUBLISHED)]
    assert published(world).id == v2.id and v2.published_at == world.now + timedelta(hours=1)
    assert world.session.get(WorkflowVersion, v1.id).status == VersionStatus.ARCHIVED


def test_publishing_the_published_version_again_is_refused(world):
    with pytest.raises(PublishRefused, match="^Version 1 is already published.$"):
        publishing.publish(world.session, published(world).id, world.actor(world.admin), world.now)


def test_the_database_refuses_a_second_published_version_of_a_workflow(world):
    """The partial unique index is the last line of defence should code ever skip the archive
    step: flipping a draft to published next to the published one fails on commit."""
    draft = add(world, UNCHANGED_STATES)
    draft.status = VersionStatus.PUBLISHED
    with pytest.raises(IntegrityError):
        world.session.flush()
    world.session.rollback()
    with pytest.raises(IntegrityError):
        world.session.execute(
            update(WorkflowVersion)
            .where(WorkflowVersion.id == draft.id)
            .values(status=VersionStatus.PUBLISHED)
        )
    world.session.rollback()
    with pytest.raises(IntegrityError):  # and in plain SQL, bypassing the ORM entirely
        world.session.execute(
            text("UPDATE workflow_versions SET status = 'published' WHERE id = :id"),
            {"id": draft.id},
        )
    world.session.rollback()
    assert support_versions(world) == [(1, VersionStatus.PUBLISHED), (2, VersionStatus.DRAFT)]


def test_each_workflow_has_its_own_published_version(world):
    """The unique index is per workflow: publishing `returns` leaves `support` published."""
    publish(world, add(world, RETURNS))
    assert published(world, "returns").number == 1
    assert published(world, "support").number == 1


# ---- tickets follow the published version ---------------------------------------------------


def test_each_ticket_records_the_version_it_runs_on(world):
    v1 = published(world)
    before = world.open("Opened on version 1")
    assert before.workflow_version_id == v1.id
    opening = world.session.scalars(
        select(TransitionLog).where(TransitionLog.ticket_id == before.id)
    ).one()
    assert (opening.event, opening.workflow_version_id) == ("open", v1.id)
    v2 = add(world, UNCHANGED_STATES)
    publish(world, v2)
    after = world.open("Opened on version 2")
    assert after.workflow_version_id == v2.id
    assert reload(world, before).workflow_version_id == v2.id


def test_publishing_moves_live_tickets_and_logs_one_upgrade_per_ticket(world):
    """Every live ticket moves in the same transaction, keeps its state, gets a new version
    number (a form loaded before the publish is stale) and one `upgrade_workflow` log row."""
    v1 = published(world)
    live = {
        state: ticket_in(world, state)
        for state in ("new", "assigned", "in_progress", "awaiting_customer")
    }
    closed = ticket_in(world, "closed")
    seen = {state: (t.version, t.updated_at) for state, t in live.items()}
    closed_before = (closed.version, closed.state, closed.workflow_version_id)
    v2 = add(world, UNCHANGED_STATES)

    assert publish(world, v2).moved == 4

    at = world.now + timedelta(hours=1)
    for state, ticket in live.items():
        ticket = reload(world, ticket)
        assert (ticket.workflow_version_id, ticket.state) == (v2.id, state)
        assert ticket.version == seen[state][0] + 1
        assert ticket.updated_at == seen[state][1]  # a new version is nobody's activity
    closed = reload(world, closed)
    assert (closed.version, closed.state, closed.workflow_version_id) == closed_before
    assert closed.workflow_version_id == v1.id
    rows = upgrade_rows(world)
    assert [(r.ticket_id, r.from_state, r.to_state) for r in rows] == sorted(
        (t.id, state, state) for state, t in live.items()
    )
    for row in rows:
        assert (row.actor_id, row.actor_role, row.at) == (world.admin.id, "admin", at)
        assert row.workflow_version_id == v2.id
        assert row.note == "Moved to version 2 of the workflow."


def test_a_version_removing_a_state_with_live_tickets_is_refused_and_nothing_changes(world):
    waiting = [ticket_in(world, "awaiting_customer", f"Waiting {i}") for i in range(2)]
    other = ticket_in(world, "in_progress")
    v1 = published(world)
    before = {t.id: (t.state, t.version, t.workflow_version_id) for t in [*waiting, other]}
    v2 = add(world, WITHOUT_AWAITING)

    with pytest.raises(PublishRefused) as caught:
        publishing.publish(world.session, v2.id, world.actor(world.admin), world.now)
    assert str(caught.value) == (
        "Version 2 removes states that live tickets are in: 'awaiting_customer' (2 live "
        "tickets). Map each of them to a state of the new version."
    )

    world.session.rollback()
    assert published(world).id == v1.id
    assert world.session.get(WorkflowVersion, v2.id).status == VersionStatus.DRAFT
    world.session.expire_all()
    after = {
        t.id: (t.state, t.version, t.workflow_version_id)
        for t in world.session.scalars(select(Ticket).where(Ticket.id.in_(before)))
    }
    assert after == before
    assert upgrade_rows(world) == []


def test_the_refusal_counts_a_single_ticket_in_the_singular(world):
    ticket_in(world, "awaiting_customer")
    v2 = add(world, WITHOUT_AWAITING)
    with pytest.raises(PublishRefused, match=r"'awaiting_customer' \(1 live ticket\)\. Map"):
        publishing.publish(world.session, v2.id, world.actor(world.admin), world.now)


def test_removing_a_state_only_closed_or_no_tickets_used_needs_no_mapping(world):
    """Closed tickets stay on the version they closed on, so they never block a publish."""
    live = ticket_in(world, "in_progress")
    ticket_in(world, "closed")
    v2 = add(world, WITHOUT_AWAITING)
    assert publish(world, v2).moved == 1
    assert reload(world, live).workflow_version_id == v2.id


def test_with_a_mapping_tickets_in_a_removed_state_move_to_the_mapped_state(world):
    waiting = [ticket_in(world, "awaiting_customer", f"Waiting {i}") for i in range(2)]
    working = ticket_in(world, "in_progress")
    v2 = add(world, WITHOUT_AWAITING)

    result = publish(world, v2, state_mapping={"awaiting_customer": "in_progress"})

    assert result.moved == 3
    for ticket in [*waiting, working]:
        ticket = reload(world, ticket)
        assert (ticket.state, ticket.workflow_version_id) == ("in_progress", v2.id)
    assert sorted((r.ticket_id, r.from_state, r.to_state) for r in upgrade_rows(world)) == sorted(
        [(t.id, "awaiting_customer", "in_progress") for t in waiting]
        + [(working.id, "in_progress", "in_progress")]
    )


def test_a_mapped_tickets_sla_clocks_follow_its_new_state(world):
    """`awaiting_customer` pauses the resolution clock and `in_progress` runs it: a ticket
    moved from one to the other resumes its clock, its deadline pushed back by the pause."""
    ticket = ticket_in(world, "awaiting_customer")
    assert ticket.resolution_paused_at == world.now and ticket.next_due_at is None
    due = ticket.resolution_due_at
    v2 = add(world, WITHOUT_AWAITING)
    publish(world, v2, at=timedelta(hours=2), state_mapping={"awaiting_customer": "in_progress"})
    ticket = reload(world, ticket)
    assert ticket.resolution_paused_at is None
    assert ticket.resolution_due_at == due + timedelta(hours=2)
    assert ticket.next_due_at == ticket.resolution_due_at


def test_a_mapping_to_a_state_the_new_version_lacks_is_refused(world):
    ticket = ticket_in(world, "awaiting_customer")
    v2 = add(world, WITHOUT_AWAITING)
    with pytest.raises(PublishRefused) as caught:
        publishing.publish(
            world.session,
            v2.id,
            world.actor(world.admin),
            world.now,
            state_mapping={"awaiting_customer": "waiting_on_customer"},
        )
    assert str(caught.value) == (
        "The mapping sends 'awaiting_customer' to "
        "'waiting_on_customer', which version 2 does not have."
    )
    world.session.rollback()
    assert published(world).number == 1
    assert reload(world, ticket).state == "awaiting_customer"


def test_mapping_live_tickets_into_a_final_state_closes_them(world):
    """Every way into a final state stamps `closed_at` (what makes a ticket live for queues,
    the SLA sweep and the next publish is `closed_at IS NULL`), a mapping into one too."""
    ticket = ticket_in(world, "awaiting_customer")
    v2 = add(world, WITHOUT_AWAITING)
    at = timedelta(hours=1)
    publish(world, v2, at=at, state_mapping={"awaiting_customer": "closed"})
    ticket = reload(world, ticket)
    assert ticket.state == "closed"
    assert ticket.closed_at == world.now + at


# ---- rolling back, loading built-ins --------------------------------------------------------


def test_rollback_is_publishing_a_copy_of_an_earlier_version(world):
    """Versions are never edited or re-published in place: going back means publishing the
    old text as the next number, which keeps the history linear and every move logged."""
    v1 = published(world)
    ticket = ticket_in(world, "in_progress")
    v2 = add(world, WITH_HOLD)
    publish(world, v2)
    v3 = add(world, v1.source)
    assert (v3.number, v3.checksum) == (3, v1.checksum)

    publish(world, v3, at=timedelta(hours=2))

    assert support_versions(world) == [
        (1, VersionStatus.ARCHIVED),
        (2, VersionStatus.ARCHIVED),
        (3, VersionStatus.PUBLISHED),
    ]
    ticket = reload(world, ticket)
    assert ticket.workflow_version_id == v3.id
    assert [(r.workflow_version_id, r.from_state, r.to_state) for r in upgrade_rows(world)] == [
        (v2.id, "in_progress", "in_progress"),
        (v3.id, "in_progress", "in_progress"),
    ]
    assert compiled_version(world.session, v3.id) is compiled_version(world.session, v1.id)


def test_rolling_back_past_an_added_state_needs_a_mapping_for_its_tickets(world):
    v1 = published(world)
    ticket = ticket_in(world, "in_progress")
    publish(world, add(world, WITH_HOLD))
    services.apply_event(world.session, ticket.id, "hold", world.actor(world.agent), world.now)
    v3 = add(world, v1.source)
    with pytest.raises(PublishRefused, match=r"'on_hold' \(1 live ticket\)"):
        publishing.publish(world.session, v3.id, world.actor(world.admin), world.now)
    world.session.rollback()
    publish(world, v3, state_mapping={"on_hold": "in_progress"})
    assert reload(world, ticket).state == "in_progress"


def test_loading_the_builtin_workflows_twice_does_nothing_the_second_time(world):
    """`db upgrade` runs it on every deploy; world already ran it once."""
    ticket = ticket_in(world, "assigned")
    before = (support_versions(world), ticket.version)
    assert publishing.load_builtin(world.session, world.actor(None), world.now) == []
    world.session.commit()
    assert (support_versions(world), reload(world, ticket).version) == before
    assert upgrade_rows(world) == []


def test_a_changed_builtin_is_published_as_the_next_version_once(world, tmp_path, monkeypatch):
    ticket = ticket_in(world, "in_progress")
    (tmp_path / "support.yaml").write_text(WITH_HOLD, encoding="utf-8")
    monkeypatch.setattr(publishing, "BUILTIN_DIR", tmp_path)
    system = world.actor(None)
    assert publishing.load_builtin(world.session, system, world.now) == [
        "published support version 2"
    ]
    world.session.commit()
    assert publishing.load_builtin(world.session, system, world.now) == []
    assert support_versions(world) == [(1, VersionStatus.ARCHIVED), (2, VersionStatus.PUBLISHED)]
    assert reload(world, ticket).workflow_version_id == published(world).id


# ---- the new machine ------------------------------------------------------------------------


def test_after_a_publish_a_moved_ticket_runs_on_the_new_versions_machine(world):
    """The event `hold` exists only in version 2: refused before the publish, fired after,
    and logged against version 2. The compiled class is looked up by the new version."""
    s, agent = world.session, world.actor(world.agent)
    ticket = ticket_in(world, "in_progress")
    with pytest.raises(TransitionRejected) as caught:
        services.apply_event(s, ticket.id, "hold", agent, world.now)
    assert caught.value.reasons == ["This workflow has no event called 'hold'."]

    v2 = add(world, WITH_HOLD)
    publish(world, v2)
    later = world.now + timedelta(hours=2)
    ticket = services.apply_event(s, ticket.id, "hold", agent, later).ticket
    assert (ticket.state, ticket.workflow_version_id) == ("on_hold", v2.id)
    assert ticket.resolution_paused_at == later  # on_hold pauses the resolution clock
    ticket = services.apply_event(s, ticket.id, "resume", agent, later + timedelta(hours=1)).ticket
    assert ticket.state == "in_progress" and ticket.resolution_paused_at is None
    log = s.scalars(
        select(TransitionLog).where(TransitionLog.ticket_id == ticket.id).order_by(TransitionLog.id)
    ).all()
    assert [(r.event, r.from_state, r.to_state, r.workflow_version_id) for r in log[-3:]] == [
        ("upgrade_workflow", "in_progress", "in_progress", v2.id),
        ("hold", "in_progress", "on_hold", v2.id),
        ("resume", "on_hold", "in_progress", v2.id),
    ]


def test_the_upgrade_log_records_the_moment_of_the_publish_in_any_time_zone(world):
    """The set-based upgrade insert binds `now` as UtcDateTime like every other timestamp, so
    11:00+02:00 is stored as 09:00 UTC on SQLite too (whose DateTime would drop the offset)."""
    ticket = ticket_in(world, "new")
    paris = timezone(timedelta(hours=2))
    at = (world.now + timedelta(hours=1)).astimezone(paris)
    v2 = add(world, UNCHANGED_STATES)
    publishing.publish(world.session, v2.id, world.actor(world.admin), at)
    world.session.commit()
    [row] = upgrade_rows(world)
    assert row.at == at
    assert reload(world, ticket).updated_at == world.now  # its last activity, kept
