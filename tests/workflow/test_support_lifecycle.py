"""The `support` lifecycle, rule by rule, through the real services on a real database.

The business rules are written out here by hand (who may do what, in which state) rather
than read back from workflow/definitions/support.yaml: a test that computes its expectations
from the document it checks would agree with any mistake in that document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.conftest import NOW
from tests.factories import World, build_world
from workflow import services
from workflow.errors import InvalidInput, NotFound, StaleTicket, TransitionRejected
from workflow.loading import compiled_version
from workflow.models import Base, EntryKind, ThreadEntry, Ticket, TransitionLog
from workflow.rules import Actor
from workflow.ticket_record import TicketRecord

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
AnyTicket = Ticket | TicketRecord
"""A new ticket comes back as the ORM row; a changed one as the service's record."""

# ---- who acts -------------------------------------------------------------------------------

OWNER, OTHER, ASSIGNEE, COLLEAGUE, ADMIN, OPS, SYSTEM = (
    "owner",
    "other_customer",
    "assignee",
    "colleague",
    "admin",
    "ops",
    "system",
)
ROLES = (OWNER, OTHER, ASSIGNEE, COLLEAGUE, ADMIN, OPS, SYSTEM)
AGENTS_AND_ADMINS = frozenset({ASSIGNEE, COLLEAGUE, ADMIN})
ASSIGNEE_OR_ADMIN = frozenset({ASSIGNEE, ADMIN})


def person(world: World, role: str) -> Actor:
    """The actor behind a role name. The assignee is Alice, whom every driven ticket is
    claimed by; the colleague is Bob (level 2), an agent who does not own the ticket."""
    users = {
        OWNER: world.customer,
        OTHER: world.other_customer,
        ASSIGNEE: world.agent,
        COLLEAGUE: world.colleague,
        ADMIN: world.admin,
        OPS: world.ops,
        SYSTEM: None,
    }
    return world.actor(users[role])


# ---- what each event needs from the person who fires it ---------------------------------------

TRANSFER_NOTE = "Printer driver issue; level 2, please take over."
DISCARD_NOTE = "Duplicate of #100001"
REPLY = "We replaced the fuser. Is anything else not working?"


def inputs(world: World, event: str) -> dict[str, Any]:
    """Valid inputs for an event: its note, its public reply, its target."""
    return {
        "assign": {"team_id": world.level2.id},
        "transfer": {"note": TRANSFER_NOTE, "team_id": world.level2.id},
        "request_info": {"reply": "Which printer model is it, and what does the display say?"},
        "resolve": {"reply": REPLY},
        "discard": {"note": DISCARD_NOTE},
    }.get(event, {})


# ---- the world, shared by the module ----------------------------------------------------------


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[World]:
    """One world for the whole module, overriding the function-scoped fixture.

    The exhaustive table below fires more than 700 events; rebuilding people, reference data
    and the published workflow for each would cost more than the events themselves. Every
    test opens its own ticket, so the tests still cannot see each other's changes.
    """
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    with Session(engine, expire_on_commit=False) as session:
        yield build_world(session, NOW)


@dataclass(frozen=True)
class Snapshot:
    """What a refused event must leave alone, as the database holds it."""

    ticket: dict[str, Any]
    thread_entries: int
    log_rows: int


def snapshot(world: World, ticket_id: int) -> Snapshot:
    """Read with a connection of its own, so it sees what is committed, not the identity map."""
    table = Ticket.__table__
    entries = (
        select(func.count())
        .select_from(ThreadEntry)
        .where(ThreadEntry.ticket_id == ticket_id)
        .scalar_subquery()
    )
    logs = (
        select(func.count())
        .select_from(TransitionLog)
        .where(TransitionLog.ticket_id == ticket_id)
        .scalar_subquery()
    )
    with world.session.get_bind().connect() as conn:
        row = (
            conn.execute(
                select(table, entries.label("__entries"), logs.label("__logs")).where(
                    table.c.id == ticket_id
                )
            )
            .one()
            ._asdict()
        )
    return Snapshot(row, row.pop("__entries"), row.pop("__logs"))


def log_rows(world: World, ticket_id: int) -> list[TransitionLog]:
    return list(
        world.session.scalars(
            select(TransitionLog)
            .where(TransitionLog.ticket_id == ticket_id)
            .order_by(TransitionLog.id)
        )
    )


def thread(world: World, ticket_id: int) -> list[ThreadEntry]:
    return list(
        world.session.scalars(
            select(ThreadEntry).where(ThreadEntry.ticket_id == ticket_id).order_by(ThreadEntry.id)
        )
    )


def fire(
    world: World, ticket: AnyTicket, event: str, role: str, at: datetime, **params: Any
) -> AnyTicket:
    return services.apply_event(
        world.session, ticket.id, event, person(world, role), at, **params
    ).ticket


# ---- driving a ticket to a state through the real services -------------------------------------

STEPS: dict[str, tuple[tuple[str, str], ...]] = {
    "new": (),
    "assigned": (("claim", ASSIGNEE),),
    "in_progress": (("claim", ASSIGNEE), ("start", ASSIGNEE)),
    "awaiting_customer": (("claim", ASSIGNEE), ("start", ASSIGNEE), ("request_info", ASSIGNEE)),
    "resolved": (("claim", ASSIGNEE), ("start", ASSIGNEE), ("resolve", ASSIGNEE)),
    "resolved_confirmed": (
        ("claim", ASSIGNEE),
        ("start", ASSIGNEE),
        ("resolve", ASSIGNEE),
        ("confirm", OWNER),
    ),
    "resolved_silent": (("claim", ASSIGNEE), ("start", ASSIGNEE), ("resolve", ASSIGNEE)),
    "closed": (
        ("claim", ASSIGNEE),
        ("start", ASSIGNEE),
        ("resolve", ASSIGNEE),
        ("confirm", OWNER),
        ("close", ASSIGNEE),
    ),
}
"""One path per situation, one hour per step. `resolved` has three situations because what
may happen there depends on the ticket's history: whether the customer confirmed, and
whether seven days passed without an answer."""

STATE_OF = {
    situation: situation.removesuffix("_confirmed").removesuffix("_silent") for situation in STEPS
}


@dataclass
class Driven:
    ticket: AnyTicket
    at: datetime
    """When the next event happens: an hour after the last step (eight days for `_silent`)."""


def drive(world: World, situation: str) -> Driven:
    """Open a ticket and take it to `situation` with real events, as real people would."""
    ticket, at = world.open(now=NOW), NOW
    for event, role in STEPS[situation]:
        at += HOUR
        ticket = fire(world, ticket, event, role, at, **inputs(world, event))
    assert ticket.state == STATE_OF[situation]
    return Driven(ticket, at + (8 * DAY if situation == "resolved_silent" else HOUR))


# ---- the business rules, written out --------------------------------------------------------

EVENTS = (
    "claim",
    "assign",
    "start",
    "transfer",
    "request_info",
    "customer_replied",
    "resolve",
    "confirm",
    "reopen",
    "close",
    "auto_close",
    "discard",
    "escalate",
)

ALLOWED: dict[str, dict[str, frozenset[str]]] = {
    "new": {
        "claim": AGENTS_AND_ADMINS,  # nobody owns it yet, so any agent may take it
        "assign": AGENTS_AND_ADMINS,
        "transfer": AGENTS_AND_ADMINS,  # e.g. straight from intake to level 2
        "discard": frozenset({ADMIN}),
        "escalate": frozenset({SYSTEM}),
    },
    "assigned": {
        "claim": frozenset({COLLEAGUE, ADMIN}),  # the assignee already has it
        "assign": AGENTS_AND_ADMINS,
        "start": ASSIGNEE_OR_ADMIN,
        "transfer": AGENTS_AND_ADMINS,
        "request_info": AGENTS_AND_ADMINS,
        "resolve": ASSIGNEE_OR_ADMIN,
        "discard": frozenset({ADMIN}),
        "escalate": frozenset({SYSTEM}),
    },
    "in_progress": {
        "assign": AGENTS_AND_ADMINS,
        "transfer": AGENTS_AND_ADMINS,
        "request_info": AGENTS_AND_ADMINS,
        "resolve": ASSIGNEE_OR_ADMIN,
        "discard": frozenset({ADMIN}),
        "escalate": frozenset({SYSTEM}),
    },
    "awaiting_customer": {
        "transfer": AGENTS_AND_ADMINS,
        "customer_replied": frozenset({OWNER}),
        "resolve": ASSIGNEE_OR_ADMIN,
        "discard": frozenset({ADMIN}),
        "escalate": frozenset({SYSTEM}),
    },
    "resolved": {  # an hour after the resolve, not confirmed: nobody may close it yet
        "confirm": frozenset({OWNER}),
        "reopen": frozenset({OWNER}) | AGENTS_AND_ADMINS,
        "discard": frozenset({ADMIN}),
    },
    "resolved_confirmed": {
        "confirm": frozenset({OWNER}),
        "reopen": frozenset({OWNER}) | AGENTS_AND_ADMINS,
        "close": AGENTS_AND_ADMINS,
        "discard": frozenset({ADMIN}),
    },
    "resolved_silent": {  # eight days after the resolve, not confirmed
        "confirm": frozenset({OWNER}),
        "reopen": frozenset({OWNER}) | AGENTS_AND_ADMINS,
        "auto_close": frozenset({SYSTEM}),
        "discard": frozenset({ADMIN}),
    },
    "closed": {},  # final: nothing happens to a closed ticket
}

TARGET = {
    "claim": "assigned",
    "assign": "assigned",
    "start": "in_progress",
    "transfer": "assigned",
    "request_info": "awaiting_customer",
    "customer_replied": "in_progress",
    "resolve": "resolved",
    "reopen": "in_progress",
    "close": "closed",
    "auto_close": "closed",
    "discard": "closed",
}
"""Where each event leads; confirm and escalate leave the ticket where it is."""


def test_the_rule_table_covers_every_state_and_event_of_the_definition(world):
    """When the lifecycle document grows a state or an event, this table must grow too."""
    version_id = world.open().workflow_version_id
    definition = compiled_version(world.session, version_id).definition
    assert set(STATE_OF.values()) == set(definition.states)
    assert set(EVENTS) == set(definition.events)


class Spares:
    """A driven ticket per situation, reused by the cases expected to be refused.

    A refusal changes nothing (each case asserts so), so those cases can share one ticket
    and the table stays fast; a case expected to succeed gets a ticket of its own. A ticket
    an unexpected success did change is dropped so it cannot mislead the cases after it.
    """

    def __init__(self, world: World):
        self.world = world
        self.tickets: dict[str, tuple[Driven, Snapshot]] = {}

    def get(self, situation: str) -> tuple[Driven, Snapshot]:
        """The shared ticket and how it looked when it was driven (refusals keep it so)."""
        if situation not in self.tickets:
            driven = drive(self.world, situation)
            self.tickets[situation] = driven, snapshot(self.world, driven.ticket.id)
        return self.tickets[situation]

    def spoil(self, situation: str) -> None:
        self.tickets.pop(situation, None)


@pytest.fixture(scope="module")
def spares(world: World) -> Spares:
    return Spares(world)


@pytest.mark.parametrize(
    ("situation", "event", "role"),
    [(s, e, r) for s in STEPS for e in EVENTS for r in ROLES],
    ids=lambda value: value,
)
def test_every_event_by_every_role_in_every_state(world, spares, situation, event, role):
    """Each (state, event, role) is allowed exactly where the business rules say, with valid
    inputs; a refusal says why and leaves the ticket, its thread and its log untouched."""
    allowed = role in ALLOWED[situation].get(event, frozenset())
    if allowed:
        driven = drive(world, situation)
        before = snapshot(world, driven.ticket.id)
    else:
        driven, before = spares.get(situation)
    ticket_id = driven.ticket.id
    try:
        ticket = fire(world, driven.ticket, event, role, driven.at, **inputs(world, event))
    except NotFound:
        assert role == OTHER, f"{role} was told the ticket does not exist"
        assert snapshot(world, ticket_id) == before
        return
    except TransitionRejected as refusal:
        assert not allowed, f"{event} by {role} in {situation} was refused: {refusal.reasons}"
        assert refusal.reasons and all(reason.strip() for reason in refusal.reasons)
        assert snapshot(world, ticket_id) == before
        return
    if not allowed:
        spares.spoil(situation)
    assert allowed, f"{event} by {role} in {situation} should have been refused"
    assert role != OTHER
    assert ticket.state == TARGET.get(event, STATE_OF[situation])
    assert ticket.version == before.ticket["version"] + 1
    last = log_rows(world, ticket_id)[-1]
    assert (last.event, last.from_state, last.to_state) == (
        event,
        STATE_OF[situation],
        ticket.state,
    )
    assert last.actor_role == person(world, role).role
    assert snapshot(world, ticket_id).log_rows == before.log_rows + 1


# ---- transfer and assignment ----------------------------------------------------------------


@pytest.mark.parametrize("note", [None, "", "          ", "Too short", "   Too short   "])
def test_transfer_without_note_is_refused(world, note):
    """The colleague who receives a ticket needs at least ten characters of context."""
    driven = drive(world, "in_progress")
    before = snapshot(world, driven.ticket.id)
    with pytest.raises(TransitionRejected) as refused:
        fire(
            world,
            driven.ticket,
            "transfer",
            ASSIGNEE,
            driven.at,
            note=note,
            team_id=world.level2.id,
        )
    assert any("note" in reason.lower() for reason in refused.value.reasons)
    assert snapshot(world, driven.ticket.id) == before


def test_transfer_with_a_ten_character_note_hands_the_ticket_over(world):
    driven = drive(world, "in_progress")
    ticket = fire(
        world,
        driven.ticket,
        "transfer",
        ASSIGNEE,
        driven.at,
        note="Over to L2",
        team_id=world.level2.id,
    )
    assert (ticket.state, ticket.team_id, ticket.assignee_id) == ("assigned", world.level2.id, None)
    last = log_rows(world, ticket.id)[-1]
    assert (last.note, last.data) == ("Over to L2", {"team_id": world.level2.id})


@pytest.mark.parametrize(
    ("role", "target", "reason"),
    [
        (ASSIGNEE, {}, "(?i)choose"),
        (ADMIN, {"assignee_id": "agent"}, "(?i)already"),
        (ASSIGNEE, {"assignee_id": "agent"}, "(?i)yourself"),
    ],
    ids=["to nobody", "to its current agent", "to themselves"],
)
def test_transfer_needs_a_different_receiver(world, role, target, reason):
    driven = drive(world, "in_progress")
    params = {key: getattr(world, who).id for key, who in target.items()}
    with pytest.raises(TransitionRejected, match=reason):
        fire(world, driven.ticket, "transfer", role, driven.at, note=TRANSFER_NOTE, **params)


def test_transfer_to_another_department_puts_it_in_their_intake_queue(world):
    """Naming only a department hands the ticket to that department's intake: it becomes
    new there and nobody owns it until one of them claims it."""
    driven = drive(world, "in_progress")
    ticket = fire(
        world,
        driven.ticket,
        "transfer",
        ASSIGNEE,
        driven.at,
        note="Refund question, Billing please.",
        department_id=world.other_department.id,
    )
    assert (ticket.state, ticket.department_id, ticket.assignee_id, ticket.team_id) == (
        "new",
        world.other_department.id,
        None,
        None,
    )
    last = log_rows(world, ticket.id)[-1]
    assert (last.from_state, last.to_state, last.data) == (
        "in_progress",
        "new",
        {"department_id": world.other_department.id},
    )


def test_transfer_to_a_team_in_another_department_stays_assigned(world):
    driven = drive(world, "in_progress")
    ticket = fire(
        world,
        driven.ticket,
        "transfer",
        ASSIGNEE,
        driven.at,
        note=TRANSFER_NOTE,
        team_id=world.level2.id,
        department_id=world.other_department.id,
    )
    assert (ticket.state, ticket.team_id, ticket.department_id) == (
        "assigned",
        world.level2.id,
        world.other_department.id,
    )


def test_transfer_to_someone_who_cannot_take_tickets_changes_nothing(world):
    """Targets are checked after the guards pass; that late refusal must roll back too."""
    driven = drive(world, "in_progress")
    before = snapshot(world, driven.ticket.id)
    with pytest.raises(InvalidInput):
        fire(
            world,
            driven.ticket,
            "transfer",
            ASSIGNEE,
            driven.at,
            note=TRANSFER_NOTE,
            assignee_id=world.ops.id,
        )
    assert snapshot(world, driven.ticket.id) == before


def test_claim_by_the_current_assignee_is_refused(world):
    driven = drive(world, "assigned")
    with pytest.raises(TransitionRejected, match="(?i)already assigned"):
        fire(world, driven.ticket, "claim", ASSIGNEE, driven.at)
    ticket = fire(world, driven.ticket, "claim", COLLEAGUE, driven.at)
    assert ticket.assignee_id == world.colleague.id


def test_assign_needs_a_target_that_changes_the_owner(world):
    driven = drive(world, "assigned")
    for params in ({}, {"assignee_id": world.agent.id}):
        with pytest.raises(TransitionRejected):
            fire(world, driven.ticket, "assign", ADMIN, driven.at, **params)
    ticket = fire(world, driven.ticket, "assign", ADMIN, driven.at, assignee_id=world.colleague.id)
    assert (ticket.state, ticket.assignee_id) == ("assigned", world.colleague.id)


def test_only_the_assignee_or_an_admin_can_start_work(world):
    driven = drive(world, "assigned")
    with pytest.raises(TransitionRejected, match="(?i)assigned to this ticket"):
        fire(world, driven.ticket, "start", COLLEAGUE, driven.at)
    assert fire(world, driven.ticket, "start", ADMIN, driven.at).state == "in_progress"


# ---- resolve, confirm, close ----------------------------------------------------------------


def test_only_assigned_agent_or_admin_can_resolve(world):
    for role in (COLLEAGUE, OPS, OWNER, SYSTEM):
        driven = drive(world, "in_progress")
        with pytest.raises(TransitionRejected):
            fire(world, driven.ticket, "resolve", role, driven.at, reply=REPLY)
    for role in (ASSIGNEE, ADMIN):
        driven = drive(world, "in_progress")
        assert (
            fire(world, driven.ticket, "resolve", role, driven.at, reply=REPLY).state == "resolved"
        )


def test_a_ticket_left_to_a_team_is_resolved_by_nobody_but_an_admin_until_claimed(world):
    """Team membership is not ownership: a team member claims the ticket first."""
    driven = drive(world, "in_progress")
    ticket = fire(
        world,
        driven.ticket,
        "transfer",
        ASSIGNEE,
        driven.at,
        note=TRANSFER_NOTE,
        team_id=world.level2.id,
    )
    with pytest.raises(TransitionRejected, match="(?i)assigned to this ticket"):
        fire(world, ticket, "resolve", COLLEAGUE, driven.at, reply=REPLY)
    ticket = fire(world, ticket, "claim", COLLEAGUE, driven.at)
    assert fire(world, ticket, "resolve", COLLEAGUE, driven.at, reply=REPLY).state == "resolved"


def test_resolve_needs_a_public_reply(world):
    driven = drive(world, "in_progress")
    for reply in (None, "", "   "):
        with pytest.raises(TransitionRejected, match="(?i)public reply"):
            fire(world, driven.ticket, "resolve", ASSIGNEE, driven.at, reply=reply)


def test_resolve_posts_the_public_reply(world):
    driven = drive(world, "in_progress")
    ticket = fire(world, driven.ticket, "resolve", ASSIGNEE, driven.at, reply=REPLY)
    last = thread(world, ticket.id)[-1]
    assert (last.kind, last.author_id, last.body, last.created_at) == (
        EntryKind.PUBLIC_REPLY,
        world.agent.id,
        REPLY,
        driven.at,
    )
    assert last.is_public
    assert ticket.resolved_at == driven.at


def test_confirm_records_the_confirmation_time(world):
    driven = drive(world, "resolved")
    ticket = fire(world, driven.ticket, "confirm", OWNER, driven.at)
    assert (ticket.state, ticket.confirmed_at) == ("resolved", driven.at)
    last = log_rows(world, ticket.id)[-1]
    assert (last.event, last.from_state, last.to_state, last.actor_id) == (
        "confirm",
        "resolved",
        "resolved",
        world.customer.id,
    )


def test_close_before_customer_confirmation_is_refused(world):
    driven = drive(world, "resolved")
    before = snapshot(world, driven.ticket.id)
    for role in (ASSIGNEE, ADMIN):
        with pytest.raises(TransitionRejected, match="(?i)not confirmed"):
            fire(world, driven.ticket, "close", role, driven.at + 30 * DAY)
    assert snapshot(world, driven.ticket.id) == before


def test_close_after_confirmation_records_when_it_closed(world):
    driven = drive(world, "resolved_confirmed")
    ticket = fire(world, driven.ticket, "close", ASSIGNEE, driven.at)
    assert (ticket.state, ticket.closed_at) == ("closed", driven.at)


def test_reopen_after_resolve_then_close_requires_a_new_confirmation(world):
    driven = drive(world, "resolved_confirmed")
    at = driven.at
    ticket = fire(world, driven.ticket, "reopen", OWNER, at)
    assert ticket.state == "in_progress"
    ticket = fire(world, ticket, "resolve", ASSIGNEE, at + HOUR, reply="Second try: new drum.")
    with pytest.raises(TransitionRejected, match="(?i)not confirmed"):
        fire(world, ticket, "close", ASSIGNEE, at + 2 * HOUR)
    ticket = fire(world, ticket, "confirm", OWNER, at + 3 * HOUR)
    assert fire(world, ticket, "close", ASSIGNEE, at + 4 * HOUR).state == "closed"


def test_confirmation_given_before_a_new_resolve_never_allows_close(world):
    """A confirmation covers the fix it answered: one given before a new resolve never lets
    the agent close, even when both carry the same clock reading (one batch, or two hosts'
    clocks apart). Resolving clears the earlier confirmation."""
    driven = drive(world, "resolved")
    at = driven.at
    ticket = fire(world, driven.ticket, "confirm", OWNER, at)
    ticket = fire(world, ticket, "reopen", ASSIGNEE, at)
    ticket = fire(world, ticket, "resolve", ASSIGNEE, at, reply="A different fix, untested.")
    with pytest.raises(TransitionRejected, match="(?i)not confirmed"):
        fire(world, ticket, "close", ASSIGNEE, at)


def test_auto_close_only_by_system_after_seven_days_silence(world):
    driven = drive(world, "resolved")
    resolved_at = driven.ticket.resolved_at
    with pytest.raises(TransitionRejected, match="(?i)7 days"):
        fire(
            world, driven.ticket, "auto_close", SYSTEM, resolved_at + 7 * DAY - timedelta(seconds=1)
        )
    for role in (ASSIGNEE, ADMIN, OPS, OWNER):
        with pytest.raises(TransitionRejected, match="(?i)only for Ticketflow itself"):
            fire(world, driven.ticket, "auto_close", role, resolved_at + 8 * DAY)
    ticket = fire(world, driven.ticket, "auto_close", SYSTEM, resolved_at + 7 * DAY)
    assert (ticket.state, ticket.closed_at) == ("closed", resolved_at + 7 * DAY)
    assert log_rows(world, ticket.id)[-1].actor_role == "system"


def test_an_answer_from_the_customer_restarts_the_seven_days(world):
    """A customer message on a resolved ticket reopens it, so the silence starts again at
    the next resolve."""
    driven = drive(world, "resolved")
    at = driven.ticket.resolved_at
    services.reply(
        world.session,
        driven.ticket.id,
        person(world, OWNER),
        at + 6 * DAY,
        "Still jams on double-sided prints.",
    )
    ticket = fire(world, driven.ticket, "resolve", ASSIGNEE, at + 6 * DAY + HOUR, reply=REPLY)
    with pytest.raises(TransitionRejected, match="(?i)7 days"):
        fire(world, ticket, "auto_close", SYSTEM, at + 8 * DAY)


def test_discard_is_admin_only_and_needs_a_note(world):
    driven = drive(world, "in_progress")
    before = snapshot(world, driven.ticket.id)
    for role in (ASSIGNEE, COLLEAGUE, OPS, SYSTEM, OWNER):
        with pytest.raises(TransitionRejected, match="(?i)only for admins"):
            fire(world, driven.ticket, "discard", role, driven.at, note=DISCARD_NOTE)
    for note in (None, "  ", "ab", "  ab  "):
        with pytest.raises(TransitionRejected, match="(?i)note"):
            fire(world, driven.ticket, "discard", ADMIN, driven.at, note=note)
    assert snapshot(world, driven.ticket.id) == before
    ticket = fire(world, driven.ticket, "discard", ADMIN, driven.at, note="Spam")
    assert (ticket.state, ticket.closed_at) == ("closed", driven.at)
    assert log_rows(world, ticket.id)[-1].note == "Spam"


def test_escalate_only_by_system_and_records_it(world):
    driven = drive(world, "awaiting_customer")
    for role in (ASSIGNEE, ADMIN, OPS):
        with pytest.raises(TransitionRejected, match="(?i)only for Ticketflow itself"):
            fire(world, driven.ticket, "escalate", role, driven.at)
    ticket = fire(world, driven.ticket, "escalate", SYSTEM, driven.at)
    ticket = fire(world, ticket, "escalate", SYSTEM, driven.at + HOUR)
    assert (ticket.state, ticket.escalation_level, ticket.escalated_at) == (
        "awaiting_customer",
        2,
        driven.at + HOUR,
    )
    last = log_rows(world, ticket.id)[-1]
    assert (last.event, last.actor_id, last.actor_role, last.from_state, last.to_state) == (
        "escalate",
        None,
        "system",
        "awaiting_customer",
        "awaiting_customer",
    )


# ---- customers ------------------------------------------------------------------------------


@pytest.mark.parametrize("situation", list(STEPS))
def test_end_user_may_only_confirm_reopen_or_reply_on_own_ticket(world, situation):
    """The owner may confirm, reopen, answer (customer_replied) and write; nothing else.
    Anyone else's ticket does not exist for an end user: not to act on, not to reply to."""
    driven = drive(world, situation)
    before = snapshot(world, driven.ticket.id)
    for event in EVENTS:
        if event in ("confirm", "reopen", "customer_replied"):
            continue
        with pytest.raises(TransitionRejected):
            fire(world, driven.ticket, event, OWNER, driven.at, **inputs(world, event))
    for event in EVENTS:
        with pytest.raises(NotFound):
            fire(world, driven.ticket, event, OTHER, driven.at, **inputs(world, event))
    with pytest.raises(NotFound):
        services.reply(world.session, driven.ticket.id, person(world, OTHER), driven.at, "Hi!")
    assert snapshot(world, driven.ticket.id) == before


def test_customer_reply_fires_customer_replied_when_awaiting(world):
    driven = drive(world, "awaiting_customer")
    ticket = services.reply(
        world.session,
        driven.ticket.id,
        person(world, OWNER),
        driven.at,
        "It is the LaserJet 4250; it says 13.B2.",
    ).ticket
    assert ticket.state == "in_progress"
    entry, last = thread(world, ticket.id)[-1], log_rows(world, ticket.id)[-1]
    assert (entry.kind, entry.author_id) == (EntryKind.CUSTOMER_MESSAGE, world.customer.id)
    assert (last.event, last.actor_role, last.from_state, last.to_state) == (
        "customer_replied",
        "end_user",
        "awaiting_customer",
        "in_progress",
    )


def test_customer_reply_to_a_resolved_ticket_reopens_it(world):
    driven = drive(world, "resolved")
    ticket = services.reply(
        world.session, driven.ticket.id, person(world, OWNER), driven.at, "Still jammed, sorry."
    ).ticket
    assert ticket.state == "in_progress"
    assert log_rows(world, ticket.id)[-1].event == "reopen"


@pytest.mark.parametrize("situation", ["new", "assigned", "in_progress"])
def test_customer_reply_while_we_work_is_stored_without_a_transition(world, situation):
    driven = drive(world, situation)
    before = snapshot(world, driven.ticket.id)
    ticket = services.reply(
        world.session, driven.ticket.id, person(world, OWNER), driven.at, "Any news?"
    ).ticket
    after = snapshot(world, ticket.id)
    assert ticket.state == STATE_OF[situation]
    assert (after.thread_entries, after.log_rows) == (before.thread_entries + 1, before.log_rows)


def test_reply_to_closed_ticket_opens_linked_ticket(world):
    driven = drive(world, "closed")
    old = driven.ticket
    before = snapshot(world, old.id)
    new = services.reply(
        world.session, old.id, person(world, OWNER), driven.at, "It jams again since this morning."
    ).ticket
    assert snapshot(world, old.id) == before
    assert new.id != old.id
    assert (new.state, new.linked_ticket_id, new.requester_id, new.subject) == (
        "new",
        old.id,
        world.customer.id,
        f"Re: {old.subject}",
    )
    (entry,) = thread(world, new.id)
    assert (entry.kind, entry.body) == (
        EntryKind.CUSTOMER_MESSAGE,
        "It jams again since this morning.",
    )
    (opened,) = log_rows(world, new.id)
    assert (opened.event, opened.data) == ("open", {"linked_ticket_id": old.id})


def test_staff_reply_to_a_closed_ticket_is_refused(world):
    driven = drive(world, "closed")
    before = snapshot(world, driven.ticket.id)
    with pytest.raises(TransitionRejected, match="(?i)closed"):
        services.reply(
            world.session, driven.ticket.id, person(world, ASSIGNEE), driven.at, "One more thing..."
        )
    assert snapshot(world, driven.ticket.id) == before


# ---- nothing changes unless everything is right ----------------------------------------------


def test_rejected_event_changes_nothing(world):
    """Refusals from every layer (the role, an input guard, the ticket's history, the state)
    leave the ticket's columns, thread entries and log rows exactly as they were; in
    particular a refused resolve must not post its public reply."""
    driven = drive(world, "in_progress")
    before = snapshot(world, driven.ticket.id)
    attempts = [
        ("resolve", COLLEAGUE, {"reply": REPLY}),  # not the assignee, with a reply
        ("resolve", ASSIGNEE, {}),  # no reply
        ("request_info", OPS, {"reply": "Which model?"}),
        ("transfer", ASSIGNEE, {"note": "short", "team_id": world.level2.id}),
        ("close", ADMIN, {}),  # not possible from in_progress
        ("confirm", OWNER, {}),
        ("auto_close", SYSTEM, {}),
    ]
    for event, role, params in attempts:
        with pytest.raises(TransitionRejected):
            fire(world, driven.ticket, event, role, driven.at, **params)
        assert snapshot(world, driven.ticket.id) == before, (event, role)


def test_stale_expected_version_is_refused(world):
    driven = drive(world, "in_progress")
    seen = driven.ticket.version
    fire(world, driven.ticket, "escalate", SYSTEM, driven.at)
    before = snapshot(world, driven.ticket.id)
    with pytest.raises(StaleTicket) as stale:
        services.apply_event(
            world.session,
            driven.ticket.id,
            "resolve",
            person(world, ASSIGNEE),
            driven.at,
            expected_version=seen,
            reply=REPLY,
        )
    assert (stale.value.expected, stale.value.actual) == (seen, seen + 1)
    assert snapshot(world, driven.ticket.id) == before
    ticket = services.apply_event(
        world.session,
        driven.ticket.id,
        "resolve",
        person(world, ASSIGNEE),
        driven.at,
        expected_version=seen + 1,
        reply=REPLY,
    ).ticket
    assert ticket.state == "resolved"


def test_closing_one_ticket_does_not_disturb_the_next_event_on_another(world):
    """Machines are pooled per thread; one that reached a final state has terminated, and
    the next ticket's event must not meet it."""
    other = drive(world, "in_progress")
    driven = drive(world, "resolved_confirmed")
    fire(world, driven.ticket, "close", ASSIGNEE, driven.at)
    assert fire(world, other.ticket, "escalate", SYSTEM, other.at).escalation_level == 1


# ---- explain --------------------------------------------------------------------------------


def test_explain_lists_every_reason(world):
    """A person sees every reason at once; what a form can still collect (a note, a target,
    a reply) is listed under `needs`, not as a reason the event is unavailable."""
    driven = drive(world, "in_progress")
    decisions = {
        d.event: d
        for d in services.explain(world.session, driven.ticket, person(world, COLLEAGUE), driven.at)
    }
    assert list(decisions) == [
        "assign",
        "transfer",
        "request_info",
        "resolve",
        "discard",
        "escalate",
    ]
    transfer = decisions["transfer"]
    assert transfer.allowed and not transfer.reasons
    assert len(transfer.needs) == 2
    assert any("note" in need.lower() for need in transfer.needs)
    assert any("choose" in need.lower() for need in transfer.needs)
    assert not decisions["resolve"].allowed
    assert any("assigned to this ticket" in reason for reason in decisions["resolve"].reasons)
    assert not decisions["discard"].allowed and not decisions["escalate"].allowed

    driven = drive(world, "resolved")
    decisions = {
        d.event: d
        for d in services.explain(world.session, driven.ticket, person(world, OPS), driven.at)
    }
    assert list(decisions) == ["confirm", "reopen", "close", "auto_close", "discard"]
    assert not any(d.allowed for d in decisions.values())
    close, auto_close = decisions["close"].reasons, decisions["auto_close"].reasons
    assert len(close) == 2
    assert any("only for agents or admins" in reason for reason in close)
    assert any("not confirmed" in reason for reason in close)
    assert len(auto_close) == 2
    assert any("only for Ticketflow itself" in reason for reason in auto_close)
    assert any("7 days" in reason for reason in auto_close)


def test_explain_with_the_inputs_given_needs_nothing_more(world):
    driven = drive(world, "in_progress")
    decisions = {
        d.event: d
        for d in services.explain(
            world.session,
            driven.ticket,
            person(world, ASSIGNEE),
            driven.at,
            note=TRANSFER_NOTE,
            team_id=world.level2.id,
            reply=REPLY,
        )
    }
    for event in ("assign", "transfer", "request_info", "resolve"):
        assert decisions[event].allowed and not decisions[event].needs, event


def test_explain_says_where_a_transfer_leads_only_once_the_receiver_is_known(world):
    """A transfer to an agent or team stays assigned; one to a department alone lands in that
    department's intake queue. Before the form names the receiver, explain cannot know which,
    so it gives no target and asks only for what both branches need."""
    driven = drive(world, "in_progress")
    agent = person(world, ASSIGNEE)

    def transfer(**params):
        return {
            d.event: d
            for d in services.explain(world.session, driven.ticket, agent, driven.at, **params)
        }["transfer"]

    undecided = transfer()
    assert undecided.allowed and undecided.target is None
    assert any("note" in need.lower() for need in undecided.needs)
    assert transfer(note=TRANSFER_NOTE, team_id=world.level2.id).target == "assigned"
    to_department = transfer(note=TRANSFER_NOTE, department_id=world.other_department.id)
    assert (to_department.target, to_department.needs) == ("new", ())


# ---- SLA clocks -----------------------------------------------------------------------------


def test_a_new_ticket_runs_its_first_response_and_resolution_clocks(world):
    ticket = world.open(now=NOW)  # SEV C: first response 8 hours, resolution 5 days
    assert (ticket.first_response_due_at, ticket.resolution_due_at) == (
        NOW + 8 * HOUR,
        NOW + 5 * DAY,
    )
    assert ticket.next_due_at == NOW + 8 * HOUR


def test_resolution_clock_pauses_while_awaiting_customer_and_resumes_shifted(world):
    driven = drive(world, "awaiting_customer")
    ticket, asked_at = driven.ticket, driven.at - HOUR
    assert ticket.resolution_paused_at == asked_at
    assert ticket.resolution_due_at == NOW + 5 * DAY
    assert ticket.next_due_at is None  # first response given, resolution paused
    answered_at = asked_at + 2 * DAY
    ticket = services.reply(
        world.session, ticket.id, person(world, OWNER), answered_at, "It is the LaserJet 4250."
    ).ticket
    assert ticket.resolution_paused_at is None
    assert ticket.resolution_due_at == NOW + 5 * DAY + 2 * DAY
    # the customer's answer also starts the next-response clock (SEV C: 8 hours)
    assert ticket.next_response_due_at == answered_at + 8 * HOUR
    assert ticket.next_due_at == ticket.next_response_due_at


def test_resolution_clock_pauses_while_resolved_and_resumes_on_reopen(world):
    driven = drive(world, "resolved")
    ticket, resolved_at = driven.ticket, driven.ticket.resolved_at
    assert ticket.resolution_paused_at == resolved_at and ticket.next_due_at is None
    ticket = fire(world, ticket, "confirm", OWNER, resolved_at + HOUR)
    assert ticket.resolution_paused_at == resolved_at  # still resolved: still paused
    ticket = fire(world, ticket, "reopen", OWNER, resolved_at + 3 * DAY)
    assert ticket.resolution_paused_at is None
    assert ticket.resolution_due_at == NOW + 5 * DAY + 3 * DAY
    assert ticket.next_due_at == ticket.resolution_due_at


def test_a_pause_across_two_paused_states_counts_once(world):
    """awaiting_customer -> resolved keeps one pause, from when we asked the customer."""
    driven = drive(world, "awaiting_customer")
    asked_at = driven.at - HOUR
    ticket = fire(world, driven.ticket, "resolve", ASSIGNEE, asked_at + DAY, reply=REPLY)
    assert ticket.resolution_paused_at == asked_at
    ticket = fire(world, ticket, "reopen", ASSIGNEE, asked_at + 2 * DAY)
    assert ticket.resolution_due_at == NOW + 5 * DAY + 2 * DAY


def test_first_responded_at_is_set_by_the_first_public_reply(world):
    driven = drive(world, "in_progress")  # claim and start say nothing to the customer
    ticket = driven.ticket
    assert ticket.first_responded_at is None
    services.add_note(
        world.session, ticket.id, person(world, ASSIGNEE), driven.at, "Internal: check the fuser."
    )
    services.reply(world.session, ticket.id, person(world, OWNER), driven.at, "Hello?")
    assert snapshot(world, ticket.id).ticket["first_responded_at"] is None
    first = driven.at + HOUR
    ticket = services.reply(
        world.session, ticket.id, person(world, COLLEAGUE), first, "We are on it."
    ).ticket
    assert ticket.first_responded_at == first
    assert ticket.next_due_at == ticket.resolution_due_at  # first-response clock stopped
    ticket = services.reply(
        world.session, ticket.id, person(world, ASSIGNEE), first + HOUR, "Fuser ordered."
    ).ticket
    assert ticket.first_responded_at == first


def test_the_public_reply_of_request_info_is_the_first_response(world):
    driven = drive(world, "awaiting_customer")
    asked_at = driven.at - HOUR
    assert driven.ticket.first_responded_at == asked_at
    entry = thread(world, driven.ticket.id)[-1]
    assert (entry.kind, entry.created_at) == (EntryKind.PUBLIC_REPLY, asked_at)
