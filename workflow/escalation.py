"""Escalation policies as data: which steps an SLA plan takes, when, and what each does.

A policy is an ordered list of steps stored with the plan (JSON; YAML in docs/sla.md):

    - at: at_risk                 # at_risk | breach | breach+N (N business minutes after)
      actions: [{notify: assignee}]
    - at: breach
      clocks: [resolution]        # optional: only these clocks (default: every clock)
      actions:
        - raise_priority: 1       # levels up, never past the highest priority
        - reassign: Level 2 Support
        - notify: team            # assignee | team | manager (the department's)
        - note: The resolution target was missed.
        - event: escalate         # a workflow event fired as the system

Everything here is pure: `parse_policy` checks a document and says every problem in a
sentence; `Step.key` is the name a step has in job ids and in the `sla_steps` table;
`due_steps` says which of a clock's steps are due and not yet done. Applying the actions
is `workflow.step_actions`' work (run by `workflow.escalating`), inside the transaction that
records the step.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflow.definition_types import CLOCKS, NAME

AT_RISK, BREACH = "at_risk", "breach"
AT = re.compile(r"^(at_risk|breach)(?:\s*\+\s*(\d+))?$")
NOTIFY_WHO = ("assignee", "team", "manager")
ACTIONS = ("notify", "raise_priority", "reassign", "note", "event")
MAX_STEPS = 20
MAX_OFFSET_MINUTES = 60 * 24 * 30
MAX_NOTE = 2000


class PolicyError(ValueError):
    """A policy that cannot be used; `problems` holds one sentence per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(" ".join(self.problems))


@dataclass(frozen=True)
class Action:
    """One thing a step does. `kind` is one of ACTIONS; `value` its parameter: who to
    notify, how many levels to raise, the team's name, the note's text or the event."""

    kind: str
    value: Any

    def describe(self) -> str:
        return {
            "notify": f"notify the {self.value}",
            "raise_priority": f"raise the priority by {self.value}",
            "reassign": f"reassign to {self.value}",
            "note": "add an internal note",
            "event": f"fire `{self.value}`",
        }[self.kind]


@dataclass(frozen=True)
class Step:
    """A point on a clock (at risk, at breach, or `offset` minutes after it) and what to do.

    `clocks` empty means every clock. `key` names the step in job ids and records; it uses
    only letters, digits and `_` (RQ job ids allow nothing else): `breach+30` is `breach_30`.
    """

    at: str
    offset: int = 0
    clocks: frozenset[str] = frozenset()
    actions: tuple[Action, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.at}_{self.offset}" if self.offset else self.at

    @property
    def label(self) -> str:
        return f"{self.at}+{self.offset}" if self.offset else self.at

    def applies_to(self, clock: str) -> bool:
        return not self.clocks or clock in self.clocks

    @property
    def order(self) -> tuple[int, int]:
        """Steps of one clock happen in this order: at risk, breach, then by offset."""
        return (0 if self.at == AT_RISK else 1, self.offset)


@dataclass(frozen=True)
class Policy:
    steps: tuple[Step, ...] = ()

    def for_clock(self, clock: str, at_risk: bool) -> list[Step]:
        """The steps a running clock takes, in order. At risk (when the plan has a threshold)
        and breach are always there, with or without actions, so that every breach is
        recorded for the reports even if the policy does nothing about it."""
        steps = {s.key: s for s in self.steps if s.applies_to(clock)}
        steps.setdefault(BREACH, Step(BREACH))
        if at_risk:
            steps.setdefault(AT_RISK, Step(AT_RISK))
        else:
            steps.pop(AT_RISK, None)
        return sorted(steps.values(), key=lambda s: s.order)

    def step_keys(self) -> tuple[str, ...]:
        """Every step key a clock of this plan may have a timer for (to cancel them all)."""
        keys = {AT_RISK, BREACH, *(s.key for s in self.steps)}
        return tuple(sorted(keys))


EMPTY = Policy()


# ---- reading ---------------------------------------------------------------------------------


def parse_policy(data: Any) -> Policy:
    """Check a policy document (a list of steps, or None for no policy) and build it.

    Raises PolicyError listing every problem, each located by step number.
    """
    if data is None:
        return EMPTY
    if not isinstance(data, list):
        raise PolicyError(
            ["An escalation policy is a list of steps, each with `at` and `actions`."]
        )
    if len(data) > MAX_STEPS:
        raise PolicyError([f"An escalation policy has at most {MAX_STEPS} steps."])
    problems: list[str] = []
    steps: list[Step] = []
    seen: dict[tuple[str, frozenset[str]], int] = {}
    for number, raw in enumerate(data, start=1):
        step = _step(number, raw, problems)
        if step is None:
            continue
        clash = seen.get((step.key, step.clocks))
        if clash is not None:
            problems.append(
                f"Step {number} repeats `{step.label}` of step {clash}; "
                "put the actions of one point in time into one step."
            )
        seen[(step.key, step.clocks)] = number
        steps.append(step)
    if problems:
        raise PolicyError(problems)
    return Policy(tuple(sorted(steps, key=lambda s: s.order)))


def policy_to_data(policy: Policy) -> list[dict[str, Any]]:
    """The policy as JSON-safe data that `parse_policy` reads back to an equal policy."""
    out = []
    for step in policy.steps:
        item: dict[str, Any] = {"at": step.label}
        if step.clocks:
            item["clocks"] = sorted(step.clocks)
        item["actions"] = [{a.kind: a.value} for a in step.actions]
        out.append(item)
    return out


def _step(number: int, raw: Any, problems: list[str]) -> Step | None:
    where = f"Step {number}"
    if not isinstance(raw, Mapping):
        problems.append(f"{where} must be a mapping with `at` and `actions`.")
        return None
    unknown = sorted(str(k) for k in raw if k not in ("at", "clocks", "actions"))
    if unknown:
        problems.append(f"{where} has an unknown key `{unknown[0]}`; use at, clocks and actions.")
    at = raw.get("at")
    m = AT.match(at.strip()) if isinstance(at, str) else None
    if m is None:
        problems.append(
            f"{where}: `at` must be at_risk, breach or breach+N (N minutes after the breach), "
            f"not {at!r}."
        )
        return None
    kind, offset = m[1], int(m[2] or 0)
    if kind == AT_RISK and m[2] is not None:
        problems.append(f"{where}: only the breach takes an offset (breach+N), not at_risk.")
        return None
    if offset > MAX_OFFSET_MINUTES:
        problems.append(f"{where}: breach+{offset} is more than 30 days after the breach.")
        return None
    clocks = _clocks(where, raw.get("clocks"), problems)
    actions = raw.get("actions")
    if not isinstance(actions, list) or not actions:
        problems.append(f"{where} ({at.strip()}) needs a list of `actions`.")
        return None
    parsed = [
        _action(f"{where} ({at.strip()}), action {i}", a, problems)
        for i, a in enumerate(actions, 1)
    ]
    return Step(kind, offset, clocks, tuple(a for a in parsed if a is not None))


def _clocks(where: str, value: Any, problems: list[str]) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not value:
        problems.append(f"{where}: `clocks` must be a list such as [resolution].")
        return frozenset()
    bad = [str(c) for c in value if c not in CLOCKS]
    if bad:
        problems.append(f"{where}: `{bad[0]}` is not a clock; the clocks are {', '.join(CLOCKS)}.")
    return frozenset(c for c in value if c in CLOCKS)


def _action(where: str, raw: Any, problems: list[str]) -> Action | None:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        problems.append(f"{where} must be one `name: value` pair, such as `notify: assignee`.")
        return None
    ((kind, value),) = raw.items()
    if kind not in ACTIONS:
        problems.append(
            f"{where}: `{kind}` is not an action; the actions are {', '.join(ACTIONS)}."
        )
        return None
    if kind == "notify" and value not in NOTIFY_WHO:
        problems.append(
            f"{where}: `notify` reaches the assignee, the team or the manager, not {value!r}."
        )
        return None
    if kind == "raise_priority" and (
        isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3
    ):
        problems.append(
            f"{where}: `raise_priority` takes a number of levels from 1 to 3, not {value!r}."
        )
        return None
    if kind in ("reassign", "note") and (not isinstance(value, str) or not value.strip()):
        what = "the name of a team" if kind == "reassign" else "the text of the note"
        problems.append(f"{where}: `{kind}` needs {what}.")
        return None
    if kind == "note" and len(value) > MAX_NOTE:
        problems.append(f"{where}: the note is longer than {MAX_NOTE} characters.")
        return None
    if kind == "event" and (not isinstance(value, str) or not NAME.match(value)):
        problems.append(f"{where}: `event` needs the name of a workflow event, such as escalate.")
        return None
    return Action(kind, value.strip() if isinstance(value, str) else value)


# ---- timing ----------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Timer:
    """When one step of one run of a clock is due. `cycle` tells the runs of a clock apart
    (see SlaStep.cycle); `clock` is one of CLOCKS or `auto_close`."""

    at: datetime
    clock: str
    cycle: int
    step: str
    actions: tuple[Action, ...] = field(default=(), compare=False)

    @property
    def record_key(self) -> tuple[str, int, str]:
        return (self.clock, self.cycle, self.step)


def due_steps(
    timers: Iterable[Timer],
    now: datetime,
    done: set[tuple[str, int, str]],
    up_to: tuple[str, str] | None = None,
) -> list[Timer]:
    """The timers due at `now` and not yet done, in time order.

    `up_to=(clock, step)` limits them to that clock's steps up to and including `step` (what
    one timer job runs: its own step, and any earlier one of the same clock that was lost).
    """
    due = [t for t in timers if t.at <= now and t.record_key not in done]
    if up_to is not None:
        clock, step = up_to
        mine = [t for t in due if t.clock == clock]
        keys = [t.step for t in mine]
        if step not in keys:
            return []
        mine.sort()
        cut = next(i for i, t in enumerate(mine) if t.step == step)
        due = mine[: cut + 1]
    return sorted(due)


def next_pending(timers: Iterable[Timer], done: set[tuple[str, int, str]]) -> datetime | None:
    """The earliest timer not yet done: the ticket's `timer_due_at`."""
    pending = [t.at for t in timers if t.record_key not in done]
    return min(pending) if pending else None
