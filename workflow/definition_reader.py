"""Reading the `states` part of a lifecycle document, collecting located problems."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from workflow.definition_types import (
    CLOCKS,
    COLOUR,
    MAX_STATES,
    NAME,
    SLA_BEHAVIOURS,
    STATE_KEYS,
    StateDef,
)
from workflow.errors import Problem
from workflow.yaml_locations import Path


class Reader:
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


def read_states(r: Reader, raw: Any) -> dict[str, StateDef]:
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
            read_sla(r, spec.get("sla"), path, where),
            str(
                spec.get("customer_label")
                or spec.get("label")
                or sid.replace("_", " ").capitalize()
            ),
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


def read_sla(r: Reader, raw: Any, path: Path, where: str) -> dict[str, str]:
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
