"""Random sequences of events on one ticket keep the lifecycle's promises.

Hypothesis plays a help desk at random: anyone (the customer, a stranger, agents, an admin,
operations staff, Ticketflow itself) fires any event, with or without a note, a reply or a
receiver, on the version they saw or an older one; messages go back and forth; hours and
days pass. Whatever happens, through the real services on the real database:

* a ticket reaches `closed` by `close` only with a confirmation after the latest resolve;
  otherwise only `auto_close` by the system (seven days after the resolve) or `discard` by
  an admin (with a note) close it;
* a transfer never succeeds without a note of at least ten characters;
* a refused event changes nothing: not the ticket's columns, not its thread, not its log;
* the transition log is the ticket's history: folding its `to_state`s, and replaying its
  events through a fresh machine of the compiled class, both end in the current state.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.factories import World
from workflow import actions, services
from workflow.errors import (
    InvalidInput,
    NotFound,
    PermissionDenied,
    StaleTicket,
    TransitionRejected,
)
from workflow.loading import compiled_version
from workflow.models import ThreadEntry, Ticket, TransitionLog
from workflow.rules import Actor, GuardContext

OWNER, OTHER, AGENT, COLLEAGUE, ADMIN, OPS, SYSTEM = (
    "owner",
    "other_customer",
    "agent",
    "colleague",
    "admin",
    "ops",
    "system",
)
ROLES = (OWNER, OTHER, AGENT, COLLEAGUE, ADMIN, OPS, SYSTEM)
STAFF = (AGENT, COLLEAGUE, ADMIN)
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
WEIGHTS = {
    "claim": 3,
    "start": 3,
    "resolve": 3,
    "close": 3,
    "transfer": 3,
    "discard": 3,
    "request_info": 2,
}
"""How much likelier than `assign` or `reopen` staff pick an event: the ones that move a
ticket on, or are guarded by what this test checks; uniform picks pass tickets around."""
NOTES = (
    None,
    "",
    "   ",
    "ok",
    "Spam",
    "Too short",
    "   Too short   ",
    "Over to L2",
    "Level 2, please: the driver logs are attached.",
)
"""Missing, blank, under three, under ten (also once padded with spaces), exactly ten, and
long enough."""
RECEIVERS = ("nobody", "level2", "agent", "colleague", "admin", "ops", "billing")
"""Who an assign or transfer names; `ops` cannot take tickets (refused after the guards)."""
PAUSES = (
    timedelta(0),
    timedelta(minutes=5),
    timedelta(hours=1),
    timedelta(days=1),
    timedelta(days=6, hours=23),
    timedelta(days=7),
)
"""How long before the next action. Zero too: callers pass `now` in, and one batch (or two
hosts' clocks) can give several actions the same instant; order must still decide."""
JOB_DELAYS = (timedelta(hours=1), timedelta(days=6, hours=23), timedelta(days=7))
"""How long after the last action an SLA job runs: soon, just short of a week, or a week."""
STARTS: dict[str, tuple[tuple[str, str], ...]] = {
    "new": (),
    "assigned": (("claim", AGENT),),
    "in_progress": (("claim", AGENT), ("start", AGENT)),
    "awaiting_customer": (("claim", AGENT), ("start", AGENT), ("request_info", AGENT)),
    "resolved": (("claim", AGENT), ("start", AGENT), ("resolve", AGENT)),
    "resolved and confirmed": (
        ("claim", AGENT),
        ("start", AGENT),
        ("resolve", AGENT),
        ("confirm", OWNER),
    ),
}
"""Where an example's random walk starts, reached by real events logged like any other, so
that every example reaches the later states rather than only the lucky ones."""
REPLY = "We replaced the fuser; is anything else not working?"
REPLAYED_REPLY = "(the reply is in the thread)"
"""The log records that an event happened, not the public reply it carried (that is a thread
entry); replaying an event that needs a reply gives it this one."""


class Replayed:
    """The fields of a ticket that guards read and actions write, rebuilt from the log."""

    def __init__(self, requester_id: int, department_id: int):
        self.state: str | None = None
        self.requester_id = requester_id
        self.department_id = department_id
        self.assignee_id: int | None = None
        self.team_id: int | None = None
        self.resolved_at: datetime | None = None
        self.confirmed_at: datetime | None = None
        self.first_responded_at: datetime | None = None
        self.escalation_level = 0
        self.escalated_at: datetime | None = None


Snapshot = tuple[dict[str, Any], int, int]


class TicketLifecycle(RuleBasedStateMachine):
    """One ticket per example, on the world of the test that runs the machine."""

    world: ClassVar[World]

    @initialize(start=st.sampled_from(list(STARTS)))
    def open_ticket(self, start: str) -> None:
        world = self.world
        users = {
            OWNER: world.customer,
            OTHER: world.other_customer,
            AGENT: world.agent,
            COLLEAGUE: world.colleague,
            ADMIN: world.admin,
            OPS: world.ops,
            SYSTEM: None,
        }
        self.actors = {role: world.actor(user) for role, user in users.items()}
        self.receivers: dict[str, dict[str, Any]] = {
            "nobody": {},
            "level2": {"team_id": world.level2.id},
            "agent": {"assignee_id": world.agent.id},
            "colleague": {"assignee_id": world.colleague.id},
            "admin": {"assignee_id": world.admin.id},
            "ops": {"assignee_id": world.ops.id},
            "billing": {"department_id": world.other_department.id},
        }
        self.department_id = world.topic.department_id
        self.now = world.now
        ticket = world.open(now=self.now)
        self.ticket_id, self.state = ticket.id, ticket.state
        self.definition = compiled_version(self.session, ticket.workflow_version_id).definition
        self.confirmed_after_resolve = False
        self.resolved_at: datetime | None = None
        for event, who in STARTS[start]:
            self.fire(event, who, None, True, "nobody", timedelta(hours=1))
        assert self.state == start.removesuffix(" and confirmed")

    # ---- reading the database ----------------------------------------------------------------

    @property
    def session(self) -> Session:
        return self.world.session

    def snapshot(self) -> Snapshot:
        """The ticket's columns and how many thread entries and log rows it has, as committed
        (read on a connection of its own, not from the session's identity map)."""
        table = Ticket.__table__
        entries = (
            select(func.count())
            .select_from(ThreadEntry)
            .where(ThreadEntry.ticket_id == self.ticket_id)
            .scalar_subquery()
        )
        logs = (
            select(func.count())
            .select_from(TransitionLog)
            .where(TransitionLog.ticket_id == self.ticket_id)
            .scalar_subquery()
        )
        with self.session.get_bind().connect() as conn:
            row = (
                conn.execute(
                    select(table, entries.label("__entries"), logs.label("__logs")).where(
                        table.c.id == self.ticket_id
                    )
                )
                .one()
                ._asdict()
            )
        return row, row.pop("__entries"), row.pop("__logs")

    # ---- events ------------------------------------------------------------------------------

    def fire(
        self,
        event: str,
        who: str,
        note: str | None,
        with_reply: bool,
        receiver: str,
        pause: timedelta,
        version: str = "unchecked",
    ) -> None:
        """Fire one event and check what it did (or that, refused, it did nothing).

        `version` is what the caller says it saw: nothing ("unchecked"), the version in the
        database ("current") or the one before it ("stale")."""
        params = dict(self.receivers[receiver])
        if with_reply:
            params["reply"] = REPLY
        before = row, _, logs = self.snapshot()
        if version != "unchecked":
            params["expected_version"] = row["version"] - (version == "stale")
        self.now += pause
        try:
            services.apply_event(
                self.session, self.ticket_id, event, self.actors[who], self.now, note=note, **params
            )
        except (TransitionRejected, NotFound, InvalidInput, StaleTicket) as refusal:
            assert isinstance(refusal, NotFound) == (who == OTHER), refusal
            assert isinstance(refusal, StaleTicket) == (version == "stale" and who != OTHER)
            assert self.snapshot() == before, f"refused {event} by {who} changed the ticket"
            return
        assert version != "stale", f"{event} by {who} went through on an old version"
        after, _, after_logs = self.snapshot()
        assert after_logs == logs + 1, "a success adds exactly one log row"
        assert after["version"] == row["version"] + 1
        if event == "transfer":
            assert note is not None and len(note.strip()) >= 10, f"transfer with note {note!r}"
        if after["state"] == "closed":
            self.check_closing(event, who, note)
        if event == "resolve":
            self.confirmed_after_resolve, self.resolved_at = False, self.now
        elif event == "confirm":
            self.confirmed_after_resolve = True
        self.state = after["state"]

    def check_closing(self, event: str, who: str, note: str | None) -> None:
        if event == "close":
            assert self.confirmed_after_resolve, "closed without a confirmation after resolve"
            assert who in STAFF
        elif event == "auto_close":
            assert who == SYSTEM
            assert self.resolved_at is not None
            assert self.now - self.resolved_at >= timedelta(days=7)
        elif event == "discard":
            assert who == ADMIN and note is not None and len(note.strip()) >= 3
        else:
            raise AssertionError(f"{event} by {who} closed the ticket")

    @rule(
        data=st.data(),
        note=st.sampled_from(NOTES),
        with_reply=st.one_of(st.just(True), st.booleans()),
        receiver=st.sampled_from(RECEIVERS),
        pause=st.sampled_from(PAUSES),
        check_version=st.booleans(),
    )
    def staff_work_the_ticket(
        self,
        data: st.DataObject,
        note: str | None,
        with_reply: bool,
        receiver: str,
        pause: timedelta,
        check_version: bool,
    ) -> None:
        """An agent or an admin fires an event the state offers staff, some likelier than
        others (guards and inputs may still refuse it)."""
        events = [
            e.id for e in self.definition.events_from(self.state) if {"agent", "admin"} & set(e.by)
        ] or list(EVENTS)
        event = data.draw(
            st.sampled_from([e for e in events for _ in range(WEIGHTS.get(e, 1))]), label="event"
        )
        who = data.draw(st.sampled_from(STAFF), label="who")
        self.fire(
            event,
            who,
            note,
            with_reply,
            receiver,
            pause,
            "current" if check_version else "unchecked",
        )

    @rule(data=st.data())
    def the_customer_or_ticketflow_acts(self, data: st.DataObject) -> None:
        """The customer confirms, reopens, answers or writes; Ticketflow's SLA jobs escalate
        or close a silent resolved ticket, wherever it is (a job may run late)."""
        offered = [e.id for e in self.definition.events_from(self.state) if "requester" in e.by]
        choice = data.draw(
            st.sampled_from([*offered, "write", "escalate", "auto_close"]), label="what"
        )
        if choice in ("escalate", "auto_close"):
            delay = data.draw(st.sampled_from(JOB_DELAYS), label="delay")
            self.fire(choice, SYSTEM, None, False, "nobody", delay)
        elif choice == "write":
            self.write(OWNER, data.draw(st.sampled_from(PAUSES), label="pause"))
        else:
            self.fire(
                choice,
                OWNER,
                None,
                False,
                "nobody",
                data.draw(st.sampled_from(PAUSES), label="pause"),
            )

    @rule(
        event=st.sampled_from((*EVENTS, "write")),
        who=st.sampled_from(ROLES),
        note=st.sampled_from(NOTES),
        with_reply=st.booleans(),
        receiver=st.sampled_from(RECEIVERS),
        pause=st.sampled_from(PAUSES),
        version=st.sampled_from(("unchecked", "current", "stale")),
    )
    def anyone_does_anything(
        self,
        event: str,
        who: str,
        note: str | None,
        with_reply: bool,
        receiver: str,
        pause: timedelta,
        version: str,
    ) -> None:
        """Anyone fires any event or writes, on the version they saw or an older one."""
        if event == "write":
            self.write(who, pause)
        else:
            self.fire(event, who, note, with_reply, receiver, pause, version)

    # ---- messages ----------------------------------------------------------------------------

    def write(self, who: str, pause: timedelta) -> None:
        """A customer's message answers a question, reopens a resolved ticket, or on a closed
        one opens a new ticket linked to it; a staff reply stops the first-response clock."""
        before = row, entries, logs = self.snapshot()
        self.now += pause
        try:
            outcome = services.reply(
                self.session,
                self.ticket_id,
                self.actors[who],
                self.now,
                "Still jams on double-sided prints.",
            )
        except (NotFound, PermissionDenied, TransitionRejected) as refusal:
            expected = {OTHER: NotFound, OPS: PermissionDenied, SYSTEM: PermissionDenied}.get(
                who, TransitionRejected
            )
            assert type(refusal) is expected, refusal
            assert expected is not TransitionRejected or row["state"] == "closed"
            assert self.snapshot() == before
            return
        if who == OWNER and row["state"] == "closed":
            assert self.snapshot() == before
            assert (outcome.ticket.state, outcome.ticket.linked_ticket_id) == (
                "new",
                self.ticket_id,
            )
            return
        after, after_entries, after_logs = self.snapshot()
        assert after_entries == entries + 1
        if who == OWNER:
            moves = {"awaiting_customer": "in_progress", "resolved": "in_progress"}
            assert after["state"] == moves.get(row["state"], row["state"])
            assert after_logs == logs + (row["state"] in moves)
        else:
            assert (after["state"], after_logs) == (row["state"], logs)
            assert after["first_responded_at"] == (row["first_responded_at"] or self.now)
        self.state = after["state"]

    # ---- the log is the history --------------------------------------------------------------

    @invariant()
    def the_log_replays_to_the_current_state(self) -> None:
        ticket = self.session.execute(
            select(Ticket)
            .where(Ticket.id == self.ticket_id)
            .execution_options(populate_existing=True)
        ).scalar_one()
        rows = list(
            self.session.scalars(
                select(TransitionLog)
                .where(TransitionLog.ticket_id == self.ticket_id)
                .order_by(TransitionLog.id)
            )
        )
        state = None
        for row in rows:
            assert row.from_state == state, f"log row {row.id} starts from {row.from_state}"
            state = row.to_state
        assert state == ticket.state == self.state

        workflow = compiled_version(self.session, ticket.workflow_version_id)
        replayed = Replayed(ticket.requester_id, self.department_id)
        machine = workflow.machine_class(model=replayed)
        assert (rows[0].event, rows[0].to_state) == ("open", replayed.state)
        for row in rows[1:]:
            ctx = GuardContext(
                replayed,
                Actor(row.actor_id, row.actor_role),
                row.at,
                row.event,
                row.note,
                {**(row.data or {}), "reply": REPLAYED_REPLY},
            )
            machine.send(row.event, ctx=ctx)
            for name in workflow.definition.events[row.event].actions:
                actions.REGISTRY[name](replayed, ctx)
        assert replayed.state == ticket.state
        assert (
            replayed.assignee_id,
            replayed.team_id,
            replayed.department_id,
            replayed.resolved_at,
            replayed.confirmed_at,
            replayed.escalation_level,
        ) == (
            ticket.assignee_id,
            ticket.team_id,
            ticket.department_id,
            ticket.resolved_at,
            ticket.confirmed_at,
            ticket.escalation_level,
        )


def test_random_event_sequences_keep_the_lifecycle_promises(world):
    """One world for the test, a new ticket per example.

    The machine runs inside an ordinary test rather than as a `@given` test, so the
    function-scoped `world` fixture is built once for all examples and no health check
    needs suppressing; tickets never share state, so examples stay independent.
    """
    machine = type("TicketLifecycleOnTheWorld", (TicketLifecycle,), {"world": world})
    run_state_machine_as_test(
        machine, settings=settings(max_examples=40, stateful_step_count=25, deadline=None)
    )
