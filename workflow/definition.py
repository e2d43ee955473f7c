"""Parse and validate a lifecycle document (YAML) into an immutable `Definition`.

Every problem is collected, not just the first, each with its line and the state or event
it concerns, so an admin can fix a document in one pass. The schema is documented in
docs/workflows.md; the built-in documents live in workflow/definitions/. The reading is
split by part of the document: definition_reader (states), definition_events (events),
definition_graph (whole-graph checks); the value types live in definition_types.
"""

from __future__ import annotations

from workflow.definition_events import read_events
from workflow.definition_graph import check_graph
from workflow.definition_reader import Reader, read_states
from workflow.definition_types import (
    CLOCKS,
    MAX_BYTES,
    MAX_STATES,
    MAX_TRANSITIONS,
    NAME,
    RESERVED_EVENTS,
    SLA_BEHAVIOURS,
    TOP_KEYS,
    Definition,
    EventDef,
    GuardRef,
    StateDef,
    TransitionDef,
)
from workflow.errors import InvalidDefinition, Problem
from workflow.yaml_locations import YamlError, load_with_lines

__all__ = [
    "CLOCKS",
    "MAX_BYTES",
    "MAX_STATES",
    "MAX_TRANSITIONS",
    "RESERVED_EVENTS",
    "SLA_BEHAVIOURS",
    "Definition",
    "EventDef",
    "GuardRef",
    "StateDef",
    "TransitionDef",
    "parse",
    "problems_in",
]


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


def _parse(text: str) -> tuple[Definition | None, list[Problem]]:
    if len(text.encode("utf-8")) > MAX_BYTES:
        return None, [Problem(f"the document is larger than {MAX_BYTES // 1024} KiB.")]
    try:
        doc, lines = load_with_lines(text)
    except YamlError as exc:
        return None, [Problem(str(exc), exc.line)]
    r = Reader(lines)
    if not isinstance(doc, dict):
        return None, [
            Problem("the document must be a mapping with `workflow`, `states` and `events`.", 1)
        ]
    r.keys(doc, TOP_KEYS, (), None)
    key = doc.get("workflow")
    if not isinstance(key, str) or not NAME.match(key):
        r.add(("workflow",), None, "`workflow` must be a lower-case name such as 'support'.")
        key = "workflow"
    states = read_states(r, doc.get("states"))
    events = read_events(r, doc.get("events"), states)
    if not r.problems:
        check_graph(r, states, events)
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
