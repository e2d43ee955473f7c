"""The shapes of a validated lifecycle: immutable values the machines and engine read.

Constants here are the schema's limits and names (docs/workflows.md documents them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

CLOCKS = ("first_response", "next_response", "resolution")
SLA_BEHAVIOURS = ("run", "pause", "stop")
MAX_BYTES = 256 * 1024
MAX_STATES = 200
MAX_TRANSITIONS = 2000

TOP_KEYS = {"workflow", "label", "description", "states", "events"}
STATE_KEYS = {
    "label",
    "customer_label",
    "colour",
    "color",
    "initial",
    "final",
    "description",
    "sla",
}
EVENT_KEYS = {
    "label",
    "description",
    "by",
    "actions",
    "from",
    "to",
    "internal",
    "guards",
    "transitions",
}
TRANSITION_KEYS = {"from", "to", "internal", "guards"}
RESERVED_EVENTS = {
    "open",
    "upgrade_workflow",
    "staff_handover",
    "sla_step",
    "change_priority",
    "change_sla_plan",
    "sla_terms_changed",
}
"""Names the transition log uses for opening a ticket, for moving it to a new version, for
handing a deactivated agent's ticket over where no event of its workflow fits, for a step of
an SLA escalation policy (workflow/step_actions.py), for priority and plan changes
(workflow/ticket_settings.py) and for an admin's change of a plan's terms (workflow/reclock.py).
A workflow may not define events with these names, or its log would be ambiguous."""
NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class GuardRef:
    """A guard named by a definition, with its (validated) parameters."""

    rule: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class StateDef:
    id: str
    label: str
    colour: str
    initial: bool
    final: bool
    description: str
    sla: Mapping[str, str]
    customer_label: str = ""
    """How the Support Center names the state to the customer (defaults to `label`)."""


@dataclass(frozen=True)
class TransitionDef:
    event: str
    source: str
    target: str  # equal to source for an internal transition
    internal: bool
    guards: tuple[GuardRef, ...]


@dataclass(frozen=True)
class EventDef:
    id: str
    label: str
    description: str
    by: tuple[str, ...]
    actions: tuple[str, ...]
    transitions: tuple[TransitionDef, ...]


@dataclass(frozen=True)
class Definition:
    """A validated lifecycle. Immutable, so compiled machines can be cached per version."""

    key: str
    label: str
    description: str
    states: Mapping[str, StateDef]
    events: Mapping[str, EventDef]
    source: str = field(repr=False, compare=False, default="")

    @cached_property
    def initial(self) -> str:
        return next(s.id for s in self.states.values() if s.initial)

    @cached_property
    def _by_source(self) -> dict[tuple[str, str], list[TransitionDef]]:
        index: dict[tuple[str, str], list[TransitionDef]] = {}
        for event in self.events.values():
            for t in event.transitions:
                index.setdefault((t.source, t.event), []).append(t)
        return index

    def transitions(self, state: str, event: str) -> list[TransitionDef]:
        """The transitions `event` may take from `state`, in the order they are tried."""
        return self._by_source.get((state, event), [])

    def events_from(self, state: str) -> list[EventDef]:
        """The events defined for `state`, in document order."""
        return [e for e in self.events.values() if (state, e.id) in self._by_source]
