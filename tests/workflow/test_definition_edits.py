"""The structured form's edits: each writes the same schema an admin would type, and an edit
that cannot be made says why and changes nothing."""

from __future__ import annotations

import pytest
import yaml

from workflow import definition_edits as edits
from workflow import publishing
from workflow.definition import parse, problems_in
from workflow.errors import InvalidInput

SUPPORT = (publishing.BUILTIN_DIR / "support.yaml").read_text(encoding="utf-8")


def test_a_state_and_its_events_make_a_valid_workflow():
    text = edits.add_state(SUPPORT, "waiting_on_vendor", "Waiting on vendor", "#a855f7",
                           {"resolution": "pause"})  # fmt: skip
    assert [p.message for p in problems_in(text)] == [
        "unreachable: no sequence of events leads here from 'new'.",
        "a ticket here could never be finished: no path leads to a final state.",
    ]
    text = edits.add_event(text, "wait_for_vendor", ["agent", "admin"], ["in_progress"],
                           "waiting_on_vendor", "Wait for vendor")  # fmt: skip
    text = edits.add_event(text, "vendor_replied", ["agent"], ["waiting_on_vendor"], "in_progress")
    definition = parse(text)
    state = definition.states["waiting_on_vendor"]
    assert (state.label, state.colour) == ("Waiting on vendor", "#a855f7")
    assert dict(state.sla) == {
        "first_response": "run",
        "next_response": "run",
        "resolution": "pause",
    }
    assert definition.events["wait_for_vendor"].label == "Wait for vendor"
    assert "sla: {first_response: run, next_response: run, resolution: pause}" in text
    assert "by: [agent, admin]" in text  # short lists in flow style, as people write them


def test_an_internal_event_stays_put():
    text = edits.add_event(SUPPORT, "note_vendor", ["agent"], ["in_progress"], None)
    (t,) = parse(text).events["note_vendor"].transitions
    assert t.internal and t.target == "in_progress"


def test_attaching_a_guard_replaces_its_earlier_parameters_on_every_branch():
    text = edits.attach_guard(
        SUPPORT, "transfer", "note_required", "min_length=25, message=Say why."
    )
    for t in parse(text).events["transfer"].transitions:
        guard = next(g for g in t.guards if g.rule == "note_required")
        assert guard.kwargs == {"min_length": 25, "message": "Say why."}
    text = edits.attach_guard(text, "start", "actor_is_assignee", "allow_admin=no")
    (t,) = parse(text).events["start"].transitions
    assert [g.kwargs for g in t.guards] == [{"allow_admin": False}]


def test_setting_a_clock_keeps_the_others():
    text = edits.set_sla(SUPPORT, "resolved", "resolution", "stop")
    assert dict(parse(text).states["resolved"].sla) == {
        "first_response": "stop",
        "next_response": "pause",
        "resolution": "stop",
    }
    assert yaml.safe_load(text)["workflow"] == "support"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda: edits.add_state(SUPPORT, "new"), "There is already a state called 'new'."),
        (lambda: edits.add_state(SUPPORT, "Waiting On"), "The state name must be lower-case"),
        (lambda: edits.add_state(SUPPORT, "x", colour="red"), "A colour looks like '#1a2b3c'"),
        (
            lambda: edits.add_state(SUPPORT, "x", sla={"resolution": "hold"}),
            "can run, pause or stop",
        ),  # noqa: E501
        (lambda: edits.add_event(SUPPORT, "open", ["agent"], ["new"], "closed"), "reserved"),
        (lambda: edits.add_event(SUPPORT, "go", [], ["nowhere"], "closed"), "Say who may fire"),
        (
            lambda: edits.add_event(SUPPORT, "go", ["agent"], ["nowhere"], "closed"),
            "no state called 'nowhere'",
        ),  # noqa: E501
        (lambda: edits.attach_guard(SUPPORT, "fly", "note_required"), "no event called 'fly'"),
        (lambda: edits.attach_guard(SUPPORT, "close", "is_vip"), "no guard called 'is_vip'"),
        (
            lambda: edits.attach_guard(SUPPORT, "close", "note_required", "min_len=3"),
            "has no parameter 'min_len'",
        ),  # noqa: E501
        (lambda: edits.attach_guard(SUPPORT, "close", "note_required", "10"), "name=value"),
        (lambda: edits.set_sla(SUPPORT, "limbo", "resolution", "run"), "no state called 'limbo'"),
        (lambda: edits.set_sla(SUPPORT, "new", "resolve", "run"), "no SLA clock called 'resolve'"),
        (lambda: edits.set_sla("states: [", "new", "resolution", "run"), "Fix the YAML"),
    ],
)
def test_an_edit_that_cannot_be_made_says_why(edit, message):
    with pytest.raises(InvalidInput) as refused:
        edit()
    assert message in " ".join(refused.value.messages)
