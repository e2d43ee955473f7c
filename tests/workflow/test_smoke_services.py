"""The happy path of a ticket, end to end through the services."""

from datetime import timedelta

from workflow import services


def test_a_ticket_goes_from_intake_to_closed_after_confirmation(world):
    s, now = world.session, world.now
    ticket = world.open()
    agent = world.actor(world.agent)
    assert ticket.state == "new" and ticket.version == 1 and ticket.number == 100001
    ticket = services.apply_event(s, ticket.id, "claim", agent, now, expected_version=1).ticket
    ticket = services.apply_event(s, ticket.id, "start", agent, now).ticket
    ticket = services.apply_event(
        s,
        ticket.id,
        "resolve",
        agent,
        now + timedelta(hours=1),
        reply="Replaced the fuser. Anything else we can do?",
    ).ticket
    ticket = services.apply_event(
        s, ticket.id, "confirm", world.actor(world.customer), now + timedelta(hours=2)
    ).ticket
    ticket = services.apply_event(s, ticket.id, "close", agent, now + timedelta(hours=3)).ticket
    assert ticket.state == "closed"
    assert ticket.closed_at == now + timedelta(hours=3)
