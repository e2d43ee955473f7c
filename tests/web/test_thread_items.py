"""The thread in words: the services' own log events get labels instead of identifiers and
no "In progress → In progress"; an SLA step shows its thread entry once, not its log row too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace as Row

from web.staff.thread_items import items

AT = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
DEFINITION = Row(
    states={
        "new": Row(id="new", label="New"),
        "in_progress": Row(id="in_progress", label="In progress"),
    },
    events={"start": Row(label="Start work"), "transfer": Row(label="Transfer")},
)


def log(event, from_state, to_state, minutes=0, note=None, actor_id=1):
    return Row(
        id=minutes + 1, at=AT + timedelta(minutes=minutes), event=event,
        from_state=from_state, to_state=to_state, note=note, actor_id=actor_id,
    )  # fmt: skip


def line(item) -> str:
    """The thread line as the template writes it."""
    states = f": {item['from']} → {item['to']}" if item["from"] else ""
    states = states or (f": {item['to']}" if item["to"] else "")
    return f"{item['who']} · {item['event']}{states}"


def test_the_services_own_events_read_as_words_without_a_state_that_did_not_move():
    thread = items(
        [],
        [
            log("open", None, "new", 0, actor_id=2),
            log("start", "new", "in_progress", 1),
            log("change_priority", "in_progress", "in_progress", 2, "From High to Normal."),
            log("transfer", "in_progress", "in_progress", 3, "Over to you."),
        ],
        {1: "Isabella", 2: "Karen"},
        DEFINITION,
    )  # fmt: skip
    assert [line(i) for i in thread] == [
        "Karen · Opened: New",
        "Isabella · Start work: New → In progress",
        "Isabella · Priority changed",  # was "change_priority: In progress → In progress"
        "Isabella · Transfer: In progress → In progress",  # a workflow event keeps its states
    ]
    assert thread[2]["note"] == "From High to Normal."


def test_an_sla_step_is_told_once_by_its_thread_entry():
    said = "The resolution clock is at risk: due 2026-11-27 10:00 UTC. Notified Isabella."
    entry = Row(id=7, created_at=AT, kind="system_event", author_id=None, body=said)
    step = log("sla_step", "in_progress", "in_progress", 0, said, actor_id=None)
    thread = items([entry], [step], {}, DEFINITION)
    assert [(i["kind"], i["who"], i["body"], i["event"]) for i in thread] == [
        ("system_event", "Ticketflow", said, None)
    ]
    # a step that wrote no entry (none of the older ones lacked it, but a log is a log) stays
    [alone] = items([], [step], {}, DEFINITION)
    assert line(alone) == "Ticketflow · SLA step" and alone["note"] == said
