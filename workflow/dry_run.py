"""Try a lifecycle on a made-up ticket before it goes live; nothing is written.

A dry run takes a sample ticket (its state, who it is assigned to, whether it was resolved
and confirmed) and a sequence of steps (an event, who fires it, what they send) and answers,
step by step: allowed or refused with every reason (`engine.decide`, the same decision the
services make), the state it leads to (sent to the version's compiled machine), what the
event's actions change, and how each SLA clock behaves in the resulting state.

Pure: plain values in and out, `now` passed in, no session. The people are a fixed cast with
made-up ids, so guards such as "only the assignee" can be tried without real accounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Any

from workflow import actions, engine, machines
from workflow.definition import CLOCKS
from workflow.errors import InvalidInput, TransitionRejected
from workflow.machines import Compiled
from workflow.rules import Actor, GuardContext

CAST: dict[str, Actor] = {
    "requester": Actor(1, "end_user", "the customer who opened it"),
    "agent_a": Actor(2, "agent", "Agent A"),
    "agent_b": Actor(3, "agent", "Agent B"),
    "admin": Actor(4, "admin", "an admin"),
    "ops": Actor(5, "ops", "operations staff"),
    "system": Actor.system(),
}
"""Who can act in a dry run, by key."""
ASSIGNEES = ("nobody", "agent_a", "agent_b")
HOME_DEPARTMENT, OTHER_DEPARTMENT, TEAM = 1, 2, 1
HAND_TO: dict[str, dict[str, int]] = {
    "agent_a": {"assignee_id": 2},
    "agent_b": {"assignee_id": 3},
    "team": {"team_id": TEAM},
    "other_department": {"department_id": OTHER_DEPARTMENT},
}
"""Receivers a step may name (assign, transfer), by key."""
BEHAVIOUR = {"run": "runs", "pause": "paused", "stop": "stopped"}


@dataclass(frozen=True)
class Sample:
    """The ticket the dry run starts from."""

    state: str
    assignee: str = "nobody"
    resolved_days_ago: int | None = None
    """None: never resolved; otherwise the latest resolve was this many days before `now`."""
    confirmed: bool = False
    """The customer confirmed the latest resolution."""
    team: bool = False


@dataclass(frozen=True)
class Step:
    event: str
    actor: str
    note: str | None = None
    reply: str | None = None
    hand_to: str | None = None
    after_days: int = 0
    """Days that pass before this step (for guards that wait, such as a silence)."""


@dataclass(frozen=True)
class StepResult:
    number: int
    event: str
    label: str
    actor: str
    allowed: bool
    reasons: tuple[str, ...]
    from_state: str
    to_state: str
    clocks: dict[str, str]
    """Each SLA clock's behaviour in the state after the step: run, pause or stop."""
    clock_changes: tuple[str, ...] = ()
    effects: tuple[str, ...] = ()


@dataclass(frozen=True)
class DryRun:
    start: Sample
    start_clocks: dict[str, str]
    steps: tuple[StepResult, ...]
    final_state: str

    @property
    def passed(self) -> bool:
        """Every step was allowed."""
        return all(s.allowed for s in self.steps)


@dataclass
class _Ticket:
    """What guards and actions read and write, as plain attributes (a TicketView)."""

    state: str
    requester_id: int | None = 1
    assignee_id: int | None = None
    team_id: int | None = None
    department_id: int | None = HOME_DEPARTMENT
    resolved_at: datetime | None = None
    confirmed_at: datetime | None = None
    first_responded_at: datetime | None = None
    escalation_level: int = 0
    escalated_at: datetime | None = None


def check(compiled: Compiled, sample: Sample, steps: Sequence[Step]) -> None:
    """Refuse a sample or steps that name what does not exist (InvalidInput, every reason)."""
    definition = compiled.definition
    problems = []
    if sample.state not in definition.states:
        problems.append(f"The workflow has no state called '{sample.state}'.")
    if sample.assignee not in ASSIGNEES:
        problems.append(f"'{sample.assignee}' is not one of the sample assignees.")
    if sample.resolved_days_ago is not None and sample.resolved_days_ago < 0:
        problems.append("A resolution cannot lie in the future.")
    for i, step in enumerate(steps, 1):
        if step.actor not in CAST:
            problems.append(f"Step {i}: '{step.actor}' is not one of the people of a dry run.")
        if step.hand_to and step.hand_to not in HAND_TO:
            problems.append(f"Step {i}: '{step.hand_to}' is not a receiver a step can name.")
        if step.after_days < 0 or step.after_days > 3650:
            problems.append(f"Step {i}: the days that pass must be between 0 and 3650.")
    if not steps:
        problems.append("Add at least one step: an event and who fires it.")
    if problems:
        raise InvalidInput(problems)


def run(compiled: Compiled, sample: Sample, steps: Sequence[Step], now: datetime) -> DryRun:
    """Play `steps` on `sample`; a refused step leaves the ticket as it was and play goes on."""
    check(compiled, sample, steps)
    definition = compiled.definition
    ticket = _Ticket(
        sample.state,
        assignee_id=CAST[sample.assignee].id if sample.assignee != "nobody" else None,
        team_id=TEAM if sample.team else None,
    )
    if sample.resolved_days_ago is not None:
        ticket.resolved_at = now - timedelta(days=sample.resolved_days_ago)
        ticket.confirmed_at = ticket.resolved_at if sample.confirmed else None
    results = []
    for number, step in enumerate(steps, 1):
        now = now + timedelta(days=step.after_days)
        results.append(_play(compiled, ticket, number, step, now))
    return DryRun(sample, dict(definition.states[sample.state].sla), tuple(results), ticket.state)


def _play(
    compiled: Compiled, ticket: _Ticket, number: int, step: Step, now: datetime
) -> StepResult:
    definition = compiled.definition
    actor = CAST[step.actor]
    params: dict[str, Any] = dict(HAND_TO.get(step.hand_to or "", {}))
    if step.reply:
        params["reply"] = step.reply
    ctx = GuardContext(ticket, actor, now, step.event, step.note or None, params)
    decision = engine.decide(definition, ticket.state, step.event, ctx)
    before = ticket.state
    stay = definition.states[before].sla
    refused = StepResult(
        number, step.event, decision.label, actor.name, False, decision.reasons, before, before,
        dict(stay),
    )  # fmt: skip
    if not decision.allowed:
        return refused
    try:
        after = machines.send(
            compiled, before, step.event, replace(ctx, event_label=decision.label)
        )
    except TransitionRejected as exc:  # the machine enforces the same guards; kept for honesty
        return replace(refused, reasons=tuple(exc.reasons))
    effects = _act(definition.events[step.event].actions, ticket, ctx)
    ticket.state = after
    sla = definition.states[after].sla
    changes = tuple(
        f"{clock.replace('_', ' ')} clock: {BEHAVIOUR[stay[clock]]} → {BEHAVIOUR[sla[clock]]}"
        for clock in CLOCKS
        if stay[clock] != sla[clock]
    )
    return StepResult(
        number, step.event, decision.label, actor.name, True, (), before, after, dict(sla),
        changes, effects,
    )  # fmt: skip


NAMES = {None: "nobody", **{a.id: a.name for a in CAST.values() if a.id is not None}}


def _act(names: Sequence[str], ticket: _Ticket, ctx: GuardContext) -> tuple[str, ...]:
    """Run the event's actions on the plain ticket; say what they changed."""
    seen = {f.name: getattr(ticket, f.name) for f in fields(ticket)}
    skipped = []
    for name in names:
        try:
            actions.REGISTRY[name](ticket, ctx)  # type: ignore[arg-type]
        except (AttributeError, TypeError, KeyError):
            skipped.append(f"The action '{name}' cannot be tried in a dry run; it was skipped.")
    out = []
    for key, old in seen.items():
        new = getattr(ticket, key)
        if new == old or key == "state":
            continue
        if key == "assignee_id":
            out.append(f"Assignee: {NAMES.get(old, old)} → {NAMES.get(new, new)}.")
        elif key == "team_id":
            out.append("The team now owns it." if new else "No team owns it any more.")
        elif key == "department_id":
            out.append("It moves to another department.")
        elif key == "resolved_at":
            out.append("The resolution is recorded (an earlier confirmation no longer counts).")
        elif key == "confirmed_at" and new is not None:
            out.append("The customer's confirmation is recorded.")
        elif key == "first_responded_at":
            out.append("The first public reply stops the first-response clock.")
        elif key == "escalation_level":
            out.append(f"Escalation level {new}.")
    return tuple(out + skipped)
