"""Parse and validate a lifecycle document (YAML) into an immutable `Definition`.

Every problem is collected, not just the first, each with its line and the state or event
it concerns, so an admin can fix a document in one pass. The schema is documented in
docs/workflows.md; the built-in documents live in workflow/definitions/.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from workflow import actions, rules
from workflow.errors import InvalidDefinition, Problem
from workflow.yaml_locations import Path, YamlError, load_with_lines

CLOCKS = ("first_response", "next_response", "resolution")
SLA_BEHAVIOURS = ("run", "pause", "stop")
MAX_BYTES = 256 * 1024
MAX_STATES = 200
MAX_TRANSITIONS = 2000

TOP_KEYS = {"workflow", "label", "description", "states", "events"}
STATE_KEYS = {"label", "colour", "color", "initial", "final", "description", "sla"}
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
RESERVED_EVENTS = {"open", "upgrade_workflow"}
"""Names the transition log uses for opening a ticket and for moving it to a new version."""
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


def parse(text: str) -> Definition:
    """Parse and validate; raise InvalidDefinition listing every problem."""
    definition, problems = _parse(text)
    if problems or definition is None:
        raise InvalidDefinition(problems)
    return definition


def problems_in(text: str) -> list[Problem]:
    """Every problem in a document (an empty list means it is valid)."""
    return _parse(text)[1]


# ---- parsing --------------------------------------------------------------------------------


class _Reader:
    """Collects problems with their lines while walking the loaded document."""

    def __init__(self, lines: dict[Path, int]):
        self.lines = lines
        self.problems: list[Problem] = []

    def add(self, path: Path, where: str | None, message: str) -> None:
        line = None
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                break
        self.problems.append(Problem(message, line, where))

    def keys(self, value: Mapping, allowed: set[str], path: Path, where: str | None) -> None:
        for key in value:
            if key not in allowed:
                self.add(
                    path + (key,),
                    where,
                    f"unknown key '{key}' (allowed here: {', '.join(sorted(allowed))}).",
                )

    def names(self, value: Any, path: Path, where: str, what: str) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, str):
                self.add(path + (i,), where, f"{what} must be names, not {item!r}.")
            else:
                out.append(item)
        return out


def _parse(text: str) -> tuple[Definition | None, list[Problem]]:
    if len(text.encode("utf-8")) > MAX_BYTES:
        return None, [Problem(f"the document is larger than {MAX_BYTES // 1024} KiB.")]
    try:
        doc, lines = load_with_lines(text)
    except YamlError as exc:
        return None, [Problem(str(exc), exc.line)]
    r = _Reader(lines)
    if not isinstance(doc, dict):
        return None, [
            Problem("the document must be a mapping with `workflow`, `states` and `events`.", 1)
        ]
    r.keys(doc, TOP_KEYS, (), None)
    key = doc.get("workflow")
    if not isinstance(key, str) or not NAME.match(key):
        r.add(("workflow",), None, "`workflow` must be a lower-case name such as 'support'.")
        key = "workflow"
    states = _states(r, doc.get("states"))
    events = _events(r, doc.get("events"), states)
    if not r.problems:
        _check_graph(r, states, events)
    if r.problems:
        return None, r.problems
    return Definition(
        key,
        str(doc.get("label") or key.replace("_", " ").title()),
        str(doc.get("description") or ""),
        states,
        events,
        text,
    ), []


def _states(r: _Reader, raw: Any) -> dict[str, StateDef]:
    if not isinstance(raw, dict) or not raw:
        r.add(("states",), None, "`states` must map each state's name to its settings.")
        return {}
    if len(raw) > MAX_STATES:
        r.add(("states",), None, f"a workflow may have at most {MAX_STATES} states.")
    out: dict[str, StateDef] = {}
    for sid, spec in raw.items():
        path, where = ("states", sid), f"state '{sid}'"
        if not isinstance(sid, str) or not NAME.match(sid):
            r.add(path, where, "a state name must be lower-case letters, digits and _.")
            continue
        spec = spec if spec is not None else {}
        if not isinstance(spec, dict):
            r.add(path, where, "a state's settings must be a mapping.")
            continue
        r.keys(spec, STATE_KEYS, path, where)
        colour = spec.get("colour", spec.get("color", "#6b7280"))
        if not isinstance(colour, str) or not COLOUR.match(colour):
            r.add(path + ("colour",), where, f"colour must look like '#1a2b3c', not {colour!r}.")
        for flag in ("initial", "final"):
            if flag in spec and not isinstance(spec[flag], bool):
                r.add(path + (flag,), where, f"`{flag}` must be true or false.")
        out[sid] = StateDef(
            sid,
            str(spec.get("label") or sid.replace("_", " ").capitalize()),
            str(colour),
            spec.get("initial") is True,
            spec.get("final") is True,
            str(spec.get("description") or ""),
            _sla(r, spec.get("sla"), path, where),
        )
    initials = [s.id for s in out.values() if s.initial]
    if not initials:
        r.add(("states",), None, "no state is marked `initial: true`; exactly one must be.")
    elif len(initials) > 1:
        r.add(
            ("states", initials[1], "initial"),
            f"state '{initials[1]}'",
            f"several states are initial ({', '.join(initials)}); exactly one must be.",
        )
    if out and not any(s.final for s in out.values()):
        r.add(("states",), None, "no state is marked `final: true`; at least one must be.")
    return out


def _sla(r: _Reader, raw: Any, path: Path, where: str) -> dict[str, str]:
    sla = dict.fromkeys(CLOCKS, "run")
    if raw is None:
        return sla
    if not isinstance(raw, dict):
        r.add(path + ("sla",), where, "`sla` must map clocks to run, pause or stop.")
        return sla
    for clock, behaviour in raw.items():
        if clock not in CLOCKS:
            r.add(
                path + ("sla", clock),
                where,
                f"unknown SLA clock '{clock}' (clocks: {', '.join(CLOCKS)}).",
            )
        elif behaviour not in SLA_BEHAVIOURS:
            r.add(
                path + ("sla", clock),
                where,
                f"SLA behaviour {behaviour!r} for {clock} does "
                f"not exist (use {', '.join(SLA_BEHAVIOURS)}).",
            )
        else:
            sla[clock] = behaviour
    return sla


def _events(r: _Reader, raw: Any, states: Mapping[str, StateDef]) -> dict[str, EventDef]:
    if not isinstance(raw, dict) or not raw:
        r.add(("events",), None, "`events` must map each event's name to its settings.")
        return {}
    out: dict[str, EventDef] = {}
    count = 0
    for eid, spec in raw.items():
        path, where = ("events", eid), f"event '{eid}'"
        if not isinstance(eid, str) or not NAME.match(eid):
            r.add(path, where, "an event name must be lower-case letters, digits and _.")
            continue
        if eid in RESERVED_EVENTS:
            r.add(path, where, f"'{eid}' is reserved for the transition log; choose another name.")
            continue
        if not isinstance(spec, dict):
            r.add(path, where, "an event's settings must be a mapping.")
            continue
        r.keys(spec, EVENT_KEYS, path, where)
        label = str(spec.get("label") or eid.replace("_", " ").capitalize())
        by = r.names(spec.get("by"), path + ("by",), where, "`by`")
        if not by:
            r.add(path, where, f"`by` must list who may fire it ({', '.join(rules.ROLES)}).")
        for i, role in enumerate(by):
            if role not in rules.ROLES:
                r.add(
                    path + ("by", i),
                    where,
                    f"unknown role '{role}' (roles: {', '.join(rules.ROLES)}).",
                )
        acts = r.names(spec.get("actions"), path + ("actions",), where, "`actions`")
        for i, act in enumerate(acts):
            if act not in actions.REGISTRY:
                r.add(
                    path + ("actions", i),
                    where,
                    f"unknown action '{act}' (actions: {', '.join(sorted(actions.REGISTRY))}).",
                )
        transitions = _transitions(r, eid, spec, path, where, states)
        count += len(transitions)
        out[eid] = EventDef(
            eid,
            label,
            str(spec.get("description") or ""),
            tuple(by),
            tuple(acts),
            tuple(transitions),
        )
    if count > MAX_TRANSITIONS:
        r.add(
            ("events",),
            None,
            f"a workflow may have at most {MAX_TRANSITIONS} transitions (this one has {count}).",
        )
    return out


def _transitions(
    r: _Reader, eid: str, spec: dict, path: Path, where: str, states: Mapping[str, StateDef]
) -> list[TransitionDef]:
    if "transitions" in spec:
        if any(k in spec for k in ("from", "to", "internal", "guards")):
            r.add(path, where, "use either `transitions` or `from`/`to`/`guards`, not both.")
        blocks = spec["transitions"]
        if not isinstance(blocks, list) or not blocks:
            r.add(path + ("transitions",), where, "`transitions` must be a non-empty list.")
            return []
        items = [(b, path + ("transitions", i)) for i, b in enumerate(blocks)]
    else:
        items = [(spec, path)]
    out: list[TransitionDef] = []
    for block, bpath in items:
        if not isinstance(block, dict):
            r.add(bpath, where, "each transition must be a mapping with `from` and `to`.")
            continue
        if block is not spec:
            r.keys(block, TRANSITION_KEYS, bpath, where)
        sources = r.names(block.get("from"), bpath + ("from",), where, "`from`")
        internal = block.get("internal", False)
        target = block.get("to")
        target_ok = True
        if not isinstance(internal, bool):
            r.add(bpath + ("internal",), where, "`internal` must be true or false.")
            internal, target_ok = False, False
        if not sources:
            r.add(bpath, where, "`from` must list the states this event leaves.")
        if internal is True and target is not None:
            r.add(bpath + ("to",), where, "an internal transition stays put: drop `to`.")
            target_ok = False
        elif target_ok and internal is not True and not isinstance(target, str):
            r.add(
                bpath,
                where,
                "`to` must name the state this event leads to "
                "(or set `internal: true` to stay in the same state).",
            )
            target_ok = False
        elif target is not None and target not in states:
            r.add(bpath + ("to",), where, f"`to` names an unknown state '{target}'.")
            target_ok = False
        guards = _guards(r, block.get("guards"), bpath + ("guards",), where)
        for i, source in enumerate(sources):
            if source not in states:
                r.add(bpath + ("from", i), where, f"`from` names an unknown state '{source}'.")
                continue
            if not target_ok:
                continue
            out.append(
                TransitionDef(
                    eid, source, source if internal is True else target, internal is True, guards
                )
            )
    _check_branches(r, out, path, where)
    return out


def _guards(r: _Reader, raw: Any, path: Path, where: str) -> tuple[GuardRef, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        r.add(path, where, "`guards` must be a list of guard names (optionally with parameters).")
        return ()
    out = []
    for i, item in enumerate(raw):
        gpath = path + (i,)
        if isinstance(item, str):
            name, params = item, {}
        elif isinstance(item, dict) and len(item) == 1:
            name, params = next(iter(item.items()))
            params = params if params is not None else {}
            if not isinstance(params, dict):
                r.add(gpath, where, f"the parameters of guard '{name}' must be a mapping.")
                continue
        else:
            r.add(gpath, where, "a guard is a name, or a name mapped to its parameters.")
            continue
        if name not in rules.REGISTRY:
            r.add(
                gpath,
                where,
                f"unknown guard '{name}' (guards: {', '.join(sorted(rules.REGISTRY))}).",
            )
            continue
        bad = [rules.check_param(name, k, v) for k, v in params.items()]
        for message in filter(None, bad):
            r.add(gpath, where, message)
        if any(g.rule == name for g in out):
            r.add(gpath, where, f"guard '{name}' is listed twice.")
            continue
        if not any(bad):
            defaults = {k: p.default for k, p in rules.REGISTRY[name].params.items()}
            out.append(GuardRef(name, tuple(sorted({**defaults, **params}.items()))))
    return tuple(out)


def _check_branches(r: _Reader, transitions: list[TransitionDef], path: Path, where: str) -> None:
    """Two transitions of one event from one state must be told apart by their guards.

    Branches are tried in order, so a later branch is dead when an earlier one's guards are
    a subset of its own (whenever the later one could pass, the earlier one passes first).
    Guards are compared by rule and parameters; a custom `message` does not tell them apart.
    """
    seen: dict[str, list[TransitionDef]] = {}
    for t in transitions:
        seen.setdefault(t.source, []).append(t)

    def checks(t: TransitionDef) -> set[tuple]:
        return {(g.rule, tuple(p for p in g.params if p[0] != "message")) for g in t.guards}

    for source, branch in seen.items():
        for i, t in enumerate(branch):
            later = branch[i + 1 :]
            if any(checks(t) <= checks(o) for o in later):
                r.add(
                    path,
                    where,
                    f"two transitions from '{source}' that no guard tells apart; "
                    "give the earlier one a guard the later one does not have.",
                )
                break


def _check_graph(
    r: _Reader, states: Mapping[str, StateDef], events: Mapping[str, EventDef]
) -> None:
    edges: dict[str, set[str]] = {s: set() for s in states}
    for event in events.values():
        for t in event.transitions:
            if states[t.source].final:
                r.add(
                    ("events", event.id),
                    f"event '{event.id}'",
                    f"final state '{t.source}' cannot have outgoing events.",
                )
            edges[t.source].add(t.target)
    if r.problems:
        return
    initial = next(s.id for s in states.values() if s.initial)
    reached = _reach({initial}, edges)
    for sid in states:
        if sid not in reached:
            r.add(
                ("states", sid),
                f"state '{sid}'",
                f"unreachable: no sequence of events leads here from '{initial}'.",
            )
    reverse: dict[str, set[str]] = {s: set() for s in states}
    for source, targets in edges.items():
        for target in targets:
            reverse[target].add(source)
    finishing = _reach({s.id for s in states.values() if s.final}, reverse)
    for sid in states:
        if sid not in finishing:
            r.add(
                ("states", sid),
                f"state '{sid}'",
                "a ticket here could never be finished: no path leads to a final state.",
            )


def _reach(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
