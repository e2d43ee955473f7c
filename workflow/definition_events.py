"""Reading the `events` part of a lifecycle document: roles, actions, transitions, guards
and branches, collecting located problems."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow import actions, rules
from workflow.definition_reader import Reader
from workflow.definition_types import (
    EVENT_KEYS,
    MAX_TRANSITIONS,
    NAME,
    RESERVED_EVENTS,
    TRANSITION_KEYS,
    EventDef,
    GuardRef,
    StateDef,
    TransitionDef,
)
from workflow.yaml_locations import Path


def read_events(r: Reader, raw: Any, states: Mapping[str, StateDef]) -> dict[str, EventDef]:
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
        transitions = read_transitions(r, eid, spec, path, where, states)
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


def read_transitions(
    r: Reader, eid: str, spec: dict, path: Path, where: str, states: Mapping[str, StateDef]
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
        guards = read_guards(r, block.get("guards"), bpath + ("guards",), where)
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
    check_branches(r, out, path, where)
    return out


def read_guards(r: Reader, raw: Any, path: Path, where: str) -> tuple[GuardRef, ...]:
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


def check_branches(r: Reader, transitions: list[TransitionDef], path: Path, where: str) -> None:
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
