"""Dry runs: a sample ticket and a sequence of events, decided step by step by the same rules
as real tickets (engine.decide, then the compiled machine), on plain values only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from workflow import dry_run, machines, publishing
from workflow.dry_run import Sample, Step
from workflow.errors import InvalidInput

SUPPORT = (publishing.BUILTIN_DIR / "support.yaml").read_text(encoding="utf-8")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WITH_VENDOR = SUPPORT.replace(
    "  closed:\n",
    "  waiting_on_vendor:\n"
    "    label: Waiting on vendor\n"
    "    sla: {first_response: run, next_response: pause, resolution: pause}\n"
    "  closed:\n",
).replace(
    "  auto_close:\n",
    "  wait_for_vendor:\n    by: [agent, admin]\n    from: [in_progress]\n"
    "    to: waiting_on_vendor\n    guards: [actor_is_assignee]\n"
    "  vendor_replied:\n    by: [agent, admin]\n    from: [waiting_on_vendor]\n"
    "    to: in_progress\n"
    "  auto_close:\n",
)


@pytest.fixture(scope="module")
def support():
    return machines.compile_source(SUPPORT)


def test_a_step_by_step_run_says_what_passes_and_why_not(support):
    result = dry_run.run(
        support,
        Sample("new"),
        [
            Step("claim", "agent_a"),
            Step("start", "agent_b"),
            Step("start", "agent_a"),
            Step("resolve", "agent_a", reply="Replaced the toner."),
            Step("close", "agent_a"),
            Step("confirm", "requester"),
            Step("close", "agent_a"),
        ],
        NOW,
    )
    assert [(s.allowed, s.to_state) for s in result.steps] == [
        (True, "assigned"),
        (False, "assigned"),
        (True, "in_progress"),
        (True, "resolved"),
        (False, "resolved"),
        (True, "resolved"),
        (True, "closed"),
    ]
    assert not result.passed and result.final_state == "closed"
    assert result.steps[1].reasons == (
        "“Start work” is only for the agent assigned to this ticket (or an admin).",
    )
    assert result.steps[0].effects == ("Assignee: nobody → Agent A.",)
    assert result.steps[3].clocks == {
        "first_response": "stop",
        "next_response": "pause",
        "resolution": "pause",
    }
    assert "resolution clock: runs → paused" in result.steps[3].clock_changes
    assert result.steps[5].effects == ("The customer's confirmation is recorded.",)


def test_every_reason_is_given_at_once(support):
    (step,) = dry_run.run(support, Sample("in_progress"), [Step("discard", "agent_a")], NOW).steps
    assert step.reasons == (
        "“Discard” is only for admins.",
        "“Discard” needs a note (at least 3 characters) for the person who reads it next.",
    )
    (step,) = dry_run.run(
        support, Sample("assigned", assignee="agent_a"), [Step("transfer", "agent_a")], NOW
    ).steps
    assert not step.allowed
    assert any("needs a note" in r for r in step.reasons)
    assert "Choose the agent, team or department that receives the ticket." in step.reasons


def test_a_transfer_with_a_note_and_a_receiver_goes_where_the_branch_leads(support):
    result = dry_run.run(
        support,
        Sample("in_progress", assignee="agent_a"),
        [
            Step("transfer", "agent_a", note="Over to you, the lamp is gone.", hand_to="team"),
            Step("transfer", "agent_b", note="Wrong desk, sorry about that.",
                 hand_to="other_department"),
        ],
        NOW,
    )  # fmt: skip
    assert [s.to_state for s in result.steps] == ["assigned", "new"]
    assert result.steps[0].effects == ("Assignee: Agent A → nobody.", "The team now owns it.")
    assert result.passed


def test_time_passes_between_steps_for_guards_that_wait(support):
    sample = Sample("resolved", assignee="agent_a", resolved_days_ago=2)
    early = dry_run.run(support, sample, [Step("auto_close", "system")], NOW)
    assert not early.passed
    late = dry_run.run(support, sample, [Step("auto_close", "system", after_days=5)], NOW)
    assert late.passed and late.final_state == "closed"
    confirmed = dry_run.run(
        support,
        Sample("resolved", resolved_days_ago=1, confirmed=True),
        [Step("close", "admin")],
        NOW,
    )
    assert confirmed.passed


def test_the_vendor_state_pauses_the_resolution_clock():
    compiled = machines.compile_source(WITH_VENDOR)
    result = dry_run.run(
        compiled,
        Sample("in_progress", assignee="agent_a"),
        [Step("wait_for_vendor", "agent_a"), Step("vendor_replied", "agent_a")],
        NOW,
    )
    assert result.passed and result.final_state == "in_progress"
    assert result.steps[0].clocks["resolution"] == "pause"
    assert result.steps[0].clock_changes == (
        "next response clock: runs → paused",
        "resolution clock: runs → paused",
    )
    assert result.steps[1].clocks["resolution"] == "run"


def test_an_unknown_event_is_a_refused_step_not_an_error(support):
    (step,) = dry_run.run(support, Sample("new"), [Step("teleport", "admin")], NOW).steps
    assert step.reasons == ("This workflow has no event called 'teleport'.",)


def test_what_does_not_exist_is_refused_with_every_reason(support):
    with pytest.raises(InvalidInput) as refused:
        dry_run.run(
            support,
            Sample("limbo", assignee="merlin"),
            [Step("claim", "wizard", hand_to="moon", after_days=-1)],
            NOW,
        )
    assert refused.value.messages == [
        "The workflow has no state called 'limbo'.",
        "'merlin' is not one of the sample assignees.",
        "Step 1: 'wizard' is not one of the people of a dry run.",
        "Step 1: 'moon' is not a receiver a step can name.",
        "Step 1: the days that pass must be between 0 and 3650.",
    ]
    with pytest.raises(InvalidInput, match="at least one step"):
        dry_run.run(support, Sample("new"), [], NOW)


def test_the_sample_is_never_changed(support):
    sample = Sample("new")
    dry_run.run(support, sample, [Step("claim", "agent_a")], NOW)
    assert sample == Sample("new")
