"""Whole-graph checks of a lifecycle: reachability, a way out to a final state, and no
events out of a final state."""

from __future__ import annotations

from collections.abc import Mapping

from workflow.definition_reader import Reader
from workflow.definition_types import EventDef, StateDef


def check_graph(r: Reader, states: Mapping[str, StateDef], events: Mapping[str, EventDef]) -> None:
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
    reached = reach({initial}, edges)
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
    finishing = reach({s.id for s in states.values() if s.final}, reverse)
    for sid in states:
        if sid not in finishing:
            r.add(
                ("states", sid),
                f"state '{sid}'",
                "a ticket here could never be finished: no path leads to a final state.",
            )


def reach(start: set[str], edges: Mapping[str, set[str]]) -> set[str]:
    seen, todo = set(start), list(start)
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
