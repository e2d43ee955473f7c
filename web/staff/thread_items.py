"""The ticket thread as the agent's page shows it: messages, notes and system lines merged
in time order, each worded for a person.

The transition log also holds events no workflow definition declares: the services' own
moves (opening, a priority or SLA plan change, a staff hand-over, a workflow upgrade, an SLA
step, re-clocking after new SLA terms). Their names are identifiers, not words, and most
leave the state as it was, so each gets a label here and no "In progress → In progress".
An SLA step writes a system thread entry that says what it did and a log row with the same
text (the log is the audit trail); the thread shows the entry once, not both.
"""

from __future__ import annotations

from typing import Any

from workflow import escalating, handover, opening, publishing, reclock, ticket_settings

INTERNAL_EVENTS = {
    opening.OPEN_EVENT: "Opened",
    ticket_settings.CHANGE_PRIORITY: "Priority changed",
    ticket_settings.CHANGE_SLA_PLAN: "SLA plan changed",
    handover.HANDOVER_EVENT: "Handed over (staff change)",
    publishing.UPGRADE_EVENT: "Moved to the new workflow version",
    reclock.EVENT: "SLA terms changed",
    escalating.STEP_EVENT: "SLA step",
}


def items(
    entries: list[Any], logs: list[Any], names: dict[int, str], definition: Any
) -> list[dict[str, Any]]:
    """Thread entries and transition log rows as the thread shows them, merged in time order
    (at the same moment an entry comes before a log row, then by id, or by the order they
    were written in when they have no id yet)."""
    found = [
        {
            "at": e.created_at,
            "kind": getattr(e.kind, "value", e.kind),
            "who": names.get(e.author_id, "Ticketflow"),
            "body": e.body,
            "event": None,
            "order": (e.created_at, 0, e.id if e.id is not None else i),
        }
        for i, e in enumerate(entries)
    ]
    told = {item["at"] for item in found if item["kind"] == "system_event"}
    labels = {s.id: s.label for s in definition.states.values()}
    for i, row in enumerate(logs):
        if row.event == escalating.STEP_EVENT and row.at in told:
            continue  # its thread entry says the same
        declared = definition.events.get(row.event)
        internal = declared is None and row.event in INTERNAL_EVENTS
        states = row.from_state != row.to_state or not internal  # worth naming
        found.append(
            {
                "at": row.at,
                "kind": "system_event",
                "who": names.get(row.actor_id, "Ticketflow"),
                "body": None,
                "note": row.note,
                "event": declared.label if declared else INTERNAL_EVENTS.get(row.event, row.event),
                "from": labels.get(row.from_state, row.from_state) if states else None,
                "to": labels.get(row.to_state, row.to_state) if states else None,
                "order": (row.at, 1, getattr(row, "id", None) or i),
            }
        )
    return sorted(found, key=lambda item: item["order"])
