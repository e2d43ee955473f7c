"""What changed between two versions: states, events and guards added, removed or changed,
compared on the meaning of the documents rather than their text."""

from __future__ import annotations

import yaml

from workflow import publishing
from workflow.definition import parse
from workflow.definition_diff import GuardChange, diff

SUPPORT = (publishing.BUILTIN_DIR / "support.yaml").read_text(encoding="utf-8")
BEFORE = parse(SUPPORT)


def changed(change) -> object:
    doc = yaml.safe_load(SUPPORT)
    change(doc)
    return parse(yaml.safe_dump(doc, sort_keys=False))


def test_layout_comments_and_key_order_are_no_change():
    doc = yaml.safe_load(SUPPORT)
    doc["states"] = dict(reversed(doc["states"].items()))
    after = parse("# reordered\n" + yaml.safe_dump(doc, sort_keys=True, default_flow_style=False))
    result = diff(BEFORE, after)
    assert result.empty
    assert result.summary() == "no change to states, events or guards"


def test_a_new_state_with_its_events_in_and_out():
    def add(doc):
        doc["states"]["waiting_on_vendor"] = {"sla": {"resolution": "pause"}}
        doc["events"]["wait_for_vendor"] = {
            "by": ["agent"],
            "from": ["in_progress"],
            "to": "waiting_on_vendor",
        }  # noqa: E501
        doc["events"]["vendor_replied"] = {
            "by": ["agent"],
            "from": ["waiting_on_vendor"],
            "to": "in_progress",
        }  # noqa: E501
        doc["events"]["discard"]["from"].append("waiting_on_vendor")

    result = diff(BEFORE, changed(add))
    assert result.states_added == ("waiting_on_vendor",)
    assert result.events_added == ("wait_for_vendor", "vendor_replied")
    assert result.events_changed == {
        "discard": ("transition added: 'waiting_on_vendor' → 'closed'",)
    }
    assert result.summary() == (
        "1 state added (waiting_on_vendor); 2 events added (wait_for_vendor, vendor_replied); "
        "1 event changed (discard)"
    )


def test_removed_states_and_events():
    def drop(doc):
        del doc["events"]["escalate"]
        doc["events"]["discard"]["from"].remove("resolved")

    result = diff(BEFORE, changed(drop))
    assert result.events_removed == ("escalate",)
    assert result.events_changed == {"discard": ("transition removed: 'resolved' → 'closed'",)}
    assert diff(changed(drop), BEFORE).events_added == ("escalate",)


def test_changed_state_settings_and_sla_behaviour():
    def edit(doc):
        doc["states"]["resolved"]["label"] = "Solved"
        doc["states"]["resolved"]["sla"]["resolution"] = "stop"
        doc["states"]["closed"]["colour"] = "#000000"

    result = diff(BEFORE, changed(edit))
    assert result.states_changed == {
        "resolved": ("label: 'Resolved' → 'Solved'", "resolution clock: pause → stop"),
        "closed": ("colour: '#6b7280' → '#000000'",),
    }


def test_changed_roles_actions_and_internal_transitions():
    def edit(doc):
        doc["events"]["reopen"]["by"] = ["requester"]
        doc["events"]["claim"]["actions"] = []
        doc["events"]["confirm"]["from"] = ["resolved", "closed"][:1]

    result = diff(BEFORE, changed(edit))
    assert result.events_changed == {
        "claim": ("actions: assign_to_actor → none",),
        "reopen": ("who may fire it: requester, agent, admin → requester",),
    }


def test_guards_added_removed_and_reparametrised_per_transition():
    def edit(doc):
        doc["events"]["close"]["guards"] = ["confirmed_since_resolve", "actor_is_assignee"]
        doc["events"]["start"]["guards"] = []
        doc["events"]["discard"]["guards"] = [{"note_required": {"min_length": 20}}]

    result = diff(BEFORE, changed(edit))
    assert GuardChange("close", "resolved", "closed", "actor_is_assignee", "added") in result.guards
    assert GuardChange("start", "assigned", "in_progress", "actor_is_assignee", "removed") in (
        result.guards
    )
    reparam = [g for g in result.guards if g.event == "discard"]
    assert len(reparam) == 5  # one per state discard leaves
    assert str(reparam[0]) == (
        "guard note_required on 'discard' from 'new' to 'closed': min_length=3 → min_length=20"
    )
    assert str(result.guards[0]) == (
        "guard actor_is_assignee removed from 'start' from 'assigned' to 'in_progress'"
    )
    assert result.as_details()["guards"][0] == str(result.guards[0])


def test_branches_to_the_same_state_are_compared_in_order():
    def edit(doc):
        doc["events"]["transfer"]["transitions"][1]["guards"][0] = {
            "note_required": {"min_length": 5}
        }  # noqa: E501

    result = diff(BEFORE, changed(edit))
    assert {(g.source, g.target, g.change) for g in result.guards} == {
        (s, "new", "changed") for s in ("new", "assigned", "in_progress", "awaiting_customer")
    }
