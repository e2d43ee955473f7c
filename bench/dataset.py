"""Rows for a realistic help desk: who works there, who asks, and tickets in every state.

Pure Python (a seeded `random.Random`, a fixed `now`), no database: `bench.generate` streams
these tuples into COPY. Ids are assigned here rather than by the sequences, so thread
entries and log rows can point at their ticket without a round trip; the generator moves
the sequences past them afterwards. Columns are consistent with what the services would
have written for the state the ticket is in (see `_ticket`).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.cast import PLAN_BY_PRIORITY, Cast, Plan

FIRST_NUMBER = 100001
"""services._next_number starts here on an empty database; the generator keeps to it."""

STATE_WEIGHTS = {
    "new": 14,
    "assigned": 14,
    "in_progress": 20,
    "awaiting_customer": 10,
    "resolved": 10,
    "closed": 32,
}
VERSIONS = {
    "new": 1,
    "assigned": 2,
    "in_progress": 3,
    "awaiting_customer": 4,
    "resolved": 4,
    "closed": 5,
}
"""Optimistic-lock version as if the usual path had been walked (open, claim, start, ...)."""
AGE_MINUTES = {
    "new": (5, 2 * 1440),
    "assigned": (30, 5 * 1440),
    "in_progress": (60, 14 * 1440),
    "awaiting_customer": (120, 20 * 1440),
    "resolved": (1440, 10 * 1440),
    "closed": (2 * 1440, 365 * 1440),
}
PRIORITY_WEIGHTS = (20, 50, 22, 8)  # Low, Normal, High, Emergency
SUBJECTS = (
    "The printer on floor {f} is jammed",
    "Cannot log in to the VPN since this morning",
    "Invoice {n} shows the wrong amount",
    "Laptop battery drains in an hour",
    "Please reset my password",
    "The meeting room {f}.{r} projector has no signal",
    "Refund for order {n} not received",
    "New starter needs an account on Monday",
    "Heating in room {f}.{r} does not work",
    "Mail to external addresses bounces",
    "Payslip for last month is missing",
    "Shared drive is read-only for our team",
)
MESSAGES = (
    "<p>Hello, since this morning it no longer works. I already restarted it twice.</p>",
    "<p>Could you please have a look? It is blocking the whole team.</p>",
    "<p>See the details below.</p><ul><li>Started yesterday</li><li>Happens every time</li></ul>",
)
REPLIES = (
    "<p>Thanks for reporting this. We are looking into it and will update you shortly.</p>",
    "<p>Could you tell us the exact error message and when it started?</p>",
)
NOTES = (
    "Probably the same issue as last week; checking the logs.",
    "Asked Level 2 whether the certificate expired.",
    "Customer is a VIP, keep them posted.",
)

TICKET_COLUMNS = (
    "id",
    "number",
    "subject",
    "requester_id",
    "department_id",
    "help_topic_id",
    "priority_id",
    "sla_plan_id",
    "assignee_id",
    "team_id",
    "state",
    "workflow_version_id",
    "version",
    "resolved_at",
    "confirmed_at",
    "first_responded_at",
    "first_response_due_at",
    "resolution_due_at",
    "resolution_paused_at",
    "next_due_at",
    "escalation_level",
    "escalated_at",
    "created_at",
    "updated_at",
    "closed_at",
)
ENTRY_COLUMNS = ("id", "ticket_id", "kind", "author_id", "body", "created_at")
LOG_COLUMNS = (
    "id",
    "ticket_id",
    "actor_id",
    "actor_role",
    "at",
    "event",
    "from_state",
    "to_state",
    "workflow_version_id",
    "note",
    "data",
)


@dataclass
class Thread:
    """What the thread and log rows of one ticket need to know about it."""

    ticket_id: int
    requester: int
    agent: int
    created: datetime
    replied: datetime
    noted: datetime


def tickets(
    n: int,
    cast: Cast,
    now: datetime,
    seed: int,
    version_id: int,
    plans: dict[str, Plan],
    threads: list[Thread],
) -> Iterator[tuple]:
    """Yield `n` ticket rows in TICKET_COLUMNS order; append each one's `Thread` facts."""
    rng = random.Random(seed)
    states = rng.choices(list(STATE_WEIGHTS), weights=list(STATE_WEIGHTS.values()), k=n)
    priorities = rng.choices((1, 2, 3, 4), weights=PRIORITY_WEIGHTS, k=n)
    for i in range(n):
        yield _ticket(rng, i, states[i], priorities[i], cast, now, version_id, plans, threads)


def _ticket(
    rng: random.Random,
    i: int,
    state: str,
    priority: int,
    cast: Cast,
    now: datetime,
    version_id: int,
    plans: dict[str, Plan],
    threads: list[Thread],
) -> tuple:
    """One ticket as the services would have left it in `state`.

    Every ticket has a customer message, a public reply and an internal note, so the first
    response is always recorded. Assigned states have an agent (and often a team); resolved
    and closed have resolved_at; a resolved ticket's resolution clock is paused; closed has
    closed_at. next_due_at is the running resolution deadline while work is pending.
    """
    tid = i + 1
    topic_id, dept = cast.topics[rng.randrange(len(cast.topics))]
    plan = plans[PLAN_BY_PRIORITY[priority]]
    low, high = AGE_MINUTES[state]
    age = timedelta(minutes=rng.uniform(low, high))
    created = now - age
    replied = created + age * rng.uniform(0.02, 0.15)
    noted = replied + age * rng.uniform(0.01, 0.1)
    agent = rng.choice(cast.agents[dept])
    assignee = team = resolved = confirmed = paused = closed = next_due = escalated = None
    updated = noted
    if state != "new":
        assignee = agent
        team = rng.choice(cast.team_ids[dept]) if rng.random() < 0.6 else None
    first_due = created + timedelta(minutes=plan.first_response)
    resolution_due = created + timedelta(minutes=plan.resolution)
    if state == "awaiting_customer":
        paused = updated = created + age * rng.uniform(0.3, 0.9)
    elif state in ("resolved", "closed"):
        resolved = updated = created + age * rng.uniform(0.4, 0.7)
        if state == "resolved":
            paused = resolved
            if rng.random() < 0.3:
                confirmed = updated = resolved + (now - resolved) * rng.uniform(0.1, 0.9)
        else:
            if rng.random() < 0.9:
                confirmed = resolved + age * rng.uniform(0.05, 0.2)
            closed = updated = created + age * rng.uniform(0.92, 0.99)
    else:
        next_due = resolution_due
    escalation = 0
    if next_due is not None and next_due < now:
        escalation, escalated = 1, min(now, next_due + timedelta(minutes=15))
    threads.append(Thread(tid, rng.choice(cast.customers), agent, created, replied, noted))
    subject = rng.choice(SUBJECTS).format(
        f=rng.randint(1, 9), r=rng.randint(1, 30), n=rng.randint(10000, 99999)
    )
    return (
        tid,
        FIRST_NUMBER + i,
        subject,
        threads[-1].requester,
        dept,
        topic_id,
        priority,
        plan.id,
        assignee,
        team,
        state,
        version_id,
        VERSIONS[state],
        resolved,
        confirmed,
        replied,
        first_due,
        resolution_due,
        paused,
        next_due,
        escalation,
        escalated,
        created,
        updated,
        closed,
    )


def thread_entries(threads: list[Thread], seed: int) -> Iterator[tuple]:
    """Three entries per ticket: the customer's message, a public reply and an internal note."""
    rng = random.Random(seed + 1)
    for t in threads:
        base = 3 * (t.ticket_id - 1)
        yield (
            base + 1,
            t.ticket_id,
            "customer_message",
            t.requester,
            rng.choice(MESSAGES),
            t.created,
        )
        yield (base + 2, t.ticket_id, "public_reply", t.agent, rng.choice(REPLIES), t.replied)
        yield (base + 3, t.ticket_id, "internal_note", t.agent, rng.choice(NOTES), t.noted)


def open_log(threads: list[Thread], version_id: int) -> Iterator[tuple]:
    """The `open` row services.open_ticket writes for each ticket (by its requester)."""
    for t in threads:
        yield (
            t.ticket_id,
            t.ticket_id,
            t.requester,
            "end_user",
            t.created,
            "open",
            None,
            "new",
            version_id,
            None,
            None,
        )
