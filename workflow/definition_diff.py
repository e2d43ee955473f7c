"""What changed between two versions of a lifecycle: states, events and guards added,
removed or changed.

Compared on the validated definitions, not the text, so reordering keys, reformatting or
editing comments is no change, while a guard's new parameter is. The admin reads this
before publishing, and the history keeps its summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workflow.definition import Definition, EventDef, GuardRef, StateDef, TransitionDef

STATE_FIELDS = ("label", "customer_label", "colour", "initial", "final", "description")
EVENT_FIELDS = ("label", "description")


@dataclass(frozen=True)
class GuardChange:
    """A guard added to, removed from or re-parametrised on one transition of an event."""

    event: str
    source: str
    target: str
    guard: str
    change: str  # "added", "removed" or "changed"
    detail: str = ""

    def __str__(self) -> str:
        where = f"'{self.event}' from '{self.source}' to '{self.target}'"
        if self.change == "changed":
            return f"guard {self.guard} on {where}: {self.detail}"
        preposition = "on" if self.change == "added" else "from"
        return f"guard {self.guard} {self.change} {preposition} {where}"


@dataclass(frozen=True)
class DefinitionDiff:
    states_added: tuple[str, ...] = ()
    states_removed: tuple[str, ...] = ()
    states_changed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    events_added: tuple[str, ...] = ()
    events_removed: tuple[str, ...] = ()
    events_changed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    guards: tuple[GuardChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (
            self.states_added
            or self.states_removed
            or self.states_changed
            or self.events_added
            or self.events_removed
            or self.events_changed
            or self.guards
        )

    def summary(self) -> str:
        """One line for the history: "1 state added (waiting_on_vendor); 2 events added"."""
        if self.empty:
            return "no change to states, events or guards"
        parts = []
        for names, noun, verb in (
            (self.states_added, "state", "added"),
            (self.states_removed, "state", "removed"),
            (tuple(self.states_changed), "state", "changed"),
            (self.events_added, "event", "added"),
            (self.events_removed, "event", "removed"),
            (tuple(self.events_changed), "event", "changed"),
        ):
            if names:
                plural = noun if len(names) == 1 else f"{noun}s"
                parts.append(f"{len(names)} {plural} {verb} ({', '.join(names)})")
        if self.guards:
            n = len(self.guards)
            parts.append(f"{n} guard change{'s' if n != 1 else ''}")
        return "; ".join(parts)

    def as_details(self) -> dict[str, object]:
        """A JSON-able form for the history's details."""
        return {
            "states_added": list(self.states_added),
            "states_removed": list(self.states_removed),
            "states_changed": {k: list(v) for k, v in self.states_changed.items()},
            "events_added": list(self.events_added),
            "events_removed": list(self.events_removed),
            "events_changed": {k: list(v) for k, v in self.events_changed.items()},
            "guards": [str(g) for g in self.guards],
        }


def diff(old: Definition, new: Definition) -> DefinitionDiff:
    """Everything that differs between `old` and `new`, in document order."""
    return DefinitionDiff(
        states_added=tuple(s for s in new.states if s not in old.states),
        states_removed=tuple(s for s in old.states if s not in new.states),
        states_changed={
            sid: changes
            for sid in new.states
            if sid in old.states and (changes := _state_changes(old.states[sid], new.states[sid]))
        },
        events_added=tuple(e for e in new.events if e not in old.events),
        events_removed=tuple(e for e in old.events if e not in new.events),
        events_changed={
            eid: changes
            for eid in new.events
            if eid in old.events and (changes := _event_changes(old.events[eid], new.events[eid]))
        },
        guards=tuple(
            change
            for eid in new.events
            if eid in old.events
            for change in _guard_changes(old.events[eid], new.events[eid])
        ),
    )


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return f"'{text[:60]}…'" if len(text) > 60 else f"'{text}'"


def _state_changes(old: StateDef, new: StateDef) -> tuple[str, ...]:
    out = [
        f"{name}: {_show(getattr(old, name))} → {_show(getattr(new, name))}"
        for name in STATE_FIELDS
        if getattr(old, name) != getattr(new, name)
    ]
    out += [
        f"{clock} clock: {old.sla.get(clock)} → {new.sla.get(clock)}"
        for clock in new.sla
        if old.sla.get(clock) != new.sla.get(clock)
    ]
    return tuple(out)


def _edge(t: TransitionDef) -> tuple[str, str, bool]:
    return (t.source, t.target, t.internal)


def _edge_text(edge: tuple[str, str, bool]) -> str:
    source, target, internal = edge
    return f"in '{source}' (stays)" if internal else f"'{source}' → '{target}'"


def _event_changes(old: EventDef, new: EventDef) -> tuple[str, ...]:
    out = [
        f"{name}: {_show(getattr(old, name))} → {_show(getattr(new, name))}"
        for name in EVENT_FIELDS
        if getattr(old, name) != getattr(new, name)
    ]
    if set(old.by) != set(new.by):
        out.append(f"who may fire it: {', '.join(old.by)} → {', '.join(new.by)}")
    if old.actions != new.actions:
        out.append(
            f"actions: {', '.join(old.actions) or 'none'} → {', '.join(new.actions) or 'none'}"
        )
    before = [_edge(t) for t in old.transitions]
    after = [_edge(t) for t in new.transitions]
    out += [f"transition added: {_edge_text(e)}" for e in after if e not in before]
    out += [f"transition removed: {_edge_text(e)}" for e in before if e not in after]
    return tuple(out)


def _params(guard: GuardRef) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in guard.params) or "no parameters"


def _numbered(transitions: tuple[TransitionDef, ...]) -> list[tuple[tuple, TransitionDef]]:
    """Each transition keyed by its edge and how many times that edge came before (two
    branches of one event may join the same two states, told apart by their guards)."""
    seen: dict[tuple[str, str, bool], int] = {}
    out = []
    for t in transitions:
        n = seen[_edge(t)] = seen.get(_edge(t), -1) + 1
        out.append(((_edge(t), n), t))
    return out


def _guard_changes(old: EventDef, new: EventDef) -> list[GuardChange]:
    """Guards compared per transition (source, target) present in both versions."""
    before = {key: {g.rule: g for g in t.guards} for key, t in _numbered(old.transitions)}
    out = []
    for key, t in _numbered(new.transitions):
        was = before.get(key)
        if was is None:
            continue  # a new transition: listed under the event's changes with its edge
        now = {g.rule: g for g in t.guards}
        for rule, guard in now.items():
            if rule not in was:
                out.append(GuardChange(new.id, t.source, t.target, rule, "added"))
            elif was[rule].params != guard.params:
                detail = f"{_params(was[rule])} → {_params(guard)}"
                out.append(GuardChange(new.id, t.source, t.target, rule, "changed", detail))
        out += [
            GuardChange(new.id, t.source, t.target, rule, "removed")
            for rule in was
            if rule not in now
        ]
    return out
