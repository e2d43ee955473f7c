"""Canned responses: placeholders filled in for one ticket, unknown ones refused when saved,
the output sanitised, only admins manage them."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from workflow import canned
from workflow.errors import InvalidInput, NotFound, PermissionDenied
from workflow.models import AdminChange, CannedResponse

POLITE = (
    "Hello {requester_first_name},\n\nthank you for your patience with ticket "
    "#{ticket_number}. We are on it.\n\nKind regards,\n{agent_name}"
)


def save(world, **kw):
    values = {"name": "We are on it", "body": POLITE, **kw}
    return canned.save(world.session, world.actor(world.admin), world.now, **values)


def test_placeholders_are_filled_in_for_the_ticket_and_the_agent(world):
    ticket = world.open()
    row = save(world)
    text = canned.render_for(world.session, row.id, ticket, world.actor(world.agent))
    assert text == (
        f"Hello Carol,\n\nthank you for your patience with ticket #{ticket.number}. "
        "We are on it.\n\nKind regards,\nAlice Agent"
    )


def test_the_output_is_sanitised_and_names_stay_text(world):
    world.customer.name = "<img src=x onerror=alert(1)> Mallory"
    world.session.commit()
    ticket = world.open()
    row = save(world, body="<p onclick='x()'>Hi {requester_first_name}</p><script>evil()</script>")
    text = canned.render_for(world.session, row.id, ticket, world.actor(world.agent))
    assert "<script>" not in text and "onclick" not in text and "<img" not in text
    assert text.startswith("<p>Hi &lt;img")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("Dear {customer_name}, thanks.", "{customer_name}"),
        ("Hi {agent_name.__class__}", "{agent_name.__class__}"),
        ("Hi {agent_name!r} and { }", "{ }, {agent_name!r}"),
    ],
)
def test_unknown_placeholders_are_refused_when_saved_with_a_sentence(world, body, named):
    with pytest.raises(InvalidInput) as refused:
        save(world, body=body)
    message = " ".join(refused.value.messages)
    assert f"The text uses {named}, which Ticketflow cannot fill in" in message
    assert "{requester_first_name}, {ticket_number}, {agent_name}" in message
    assert world.session.scalar(select(func.count()).select_from(CannedResponse)) == 0


def test_every_problem_is_listed_at_once(world):
    save(world, name="Thanks")
    with pytest.raises(InvalidInput) as refused:
        save(world, name="thanks", body="{nope}")
    assert refused.value.messages == [
        "The text uses {nope}, which Ticketflow cannot fill in; the placeholders are "
        "{requester_first_name}, {ticket_number}, {agent_name}.",
        "There is already a canned response called “thanks”.",
    ]


def test_only_admins_manage_them_and_each_change_is_in_the_admin_history(world):
    with pytest.raises(PermissionDenied):
        canned.save(world.session, world.actor(world.agent), world.now, name="Mine", body="Hello")
    row = save(world)
    canned.save(
        world.session,
        world.actor(world.admin),
        world.now,
        name="We are on it",
        body="Hello {requester_first_name}",
        is_active=False,
        canned_id=row.id,
    )
    assert canned.delete(world.session, world.actor(world.admin), world.now, row.id) == (
        "We are on it"
    )
    kinds = world.session.scalars(select(AdminChange.kind).order_by(AdminChange.id)).all()
    assert kinds == ["canned.create", "canned.update", "canned.delete"]


def test_switched_off_responses_are_neither_offered_nor_rendered(world):
    ticket = world.open()
    on = save(world, name="On")
    off = save(world, name="Off", is_active=False)
    assert [name for _, name in canned.offered(world.session)] == ["On"]
    with pytest.raises(NotFound):
        canned.render_for(world.session, off.id, ticket, world.actor(world.agent))
    with pytest.raises(PermissionDenied):
        canned.render_for(world.session, on.id, ticket, world.actor(world.ops))
