"""Escalation policies as data: what `parse_policy` accepts, and every sentence it refuses
with; which steps a clock takes and which are due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workflow.escalation import (
    EMPTY,
    Action,
    PolicyError,
    Step,
    Timer,
    due_steps,
    next_pending,
    parse_policy,
    policy_to_data,
)
from workflow.reference import POLICIES

T = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_the_shipped_policies_read_back_to_themselves():
    for document in POLICIES.values():
        policy = parse_policy(document)
        assert parse_policy(policy_to_data(policy)) == policy


def test_steps_are_ordered_at_risk_breach_then_by_offset():
    policy = parse_policy(
        [
            {"at": "breach+60", "actions": [{"notify": "manager"}]},
            {"at": "breach", "actions": [{"event": "escalate"}]},
            {"at": "at_risk", "actions": [{"notify": "assignee"}]},
            {"at": "breach + 15", "actions": [{"raise_priority": 2}]},
        ]
    )
    assert [s.key for s in policy.steps] == ["at_risk", "breach", "breach_15", "breach_60"]
    assert policy.steps[2] == Step("breach", 15, frozenset(), (Action("raise_priority", 2),))
    assert policy.steps[3].label == "breach+60"


def test_a_clock_always_has_a_breach_and_at_risk_only_with_a_threshold():
    assert [s.key for s in EMPTY.for_clock("resolution", at_risk=False)] == ["breach"]
    assert [s.key for s in EMPTY.for_clock("resolution", at_risk=True)] == ["at_risk", "breach"]
    policy = parse_policy(
        [{"at": "breach+30", "clocks": ["resolution"], "actions": [{"notify": "team"}]}]
    )
    assert [s.key for s in policy.for_clock("first_response", True)] == ["at_risk", "breach"]
    assert [s.key for s in policy.for_clock("resolution", True)] == [
        "at_risk",
        "breach",
        "breach_30",
    ]


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"at": "breach"}, "An escalation policy is a list of steps"),
        (["breach"], "Step 1 must be a mapping with `at` and `actions`."),
        ([{"at": "soon", "actions": [{"note": "x"}]}], "`at` must be at_risk, breach or breach+N"),
        ([{"at": "at_risk+5", "actions": [{"note": "x"}]}], "only the breach takes an offset"),
        ([{"at": "breach+50000", "actions": [{"note": "x"}]}], "more than 30 days after"),
        ([{"at": "breach"}], "Step 1 (breach) needs a list of `actions`."),
        ([{"at": "breach", "actions": [{"page": "cto"}]}], "`page` is not an action"),
        ([{"at": "breach", "actions": [{"notify": "ceo"}]}], "not 'ceo'"),
        ([{"at": "breach", "actions": [{"raise_priority": 9}]}], "from 1 to 3, not 9"),
        ([{"at": "breach", "actions": [{"raise_priority": True}]}], "from 1 to 3, not True"),
        ([{"at": "breach", "actions": [{"reassign": " "}]}], "`reassign` needs the name of a team"),
        ([{"at": "breach", "actions": [{"event": "Escalate!"}]}], "the name of a workflow event"),
        ([{"at": "breach", "actions": [{"note": "a", "event": "b"}]}], "one `name: value` pair"),
        ([{"at": "breach", "clocks": ["uptime"], "actions": [{"note": "x"}]}], "not a clock"),
        ([{"at": "breach", "when": 1, "actions": [{"note": "x"}]}], "unknown key `when`"),
        (
            [
                {"at": "breach", "actions": [{"note": "x"}]},
                {"at": "breach", "actions": [{"note": "y"}]},
            ],
            "Step 2 repeats `breach` of step 1",
        ),
    ],
)
def test_a_bad_policy_is_refused_with_a_sentence(document, problem):
    with pytest.raises(PolicyError) as caught:
        parse_policy(document)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_every_problem_is_listed_at_once():
    with pytest.raises(PolicyError) as caught:
        parse_policy(
            [
                {"at": "later", "actions": []},
                {"at": "breach", "actions": [{"notify": "nobody"}, {"raise_priority": 0}]},
            ]
        )
    assert len(caught.value.problems) == 3


def timer(minutes: int, step: str, clock: str = "resolution") -> Timer:
    return Timer(T + timedelta(minutes=minutes), clock, 0, step)


def test_due_steps_are_those_passed_and_not_done_in_time_order():
    timers = [timer(60, "breach"), timer(48, "at_risk"), timer(90, "breach_30")]
    assert due_steps(timers, T + timedelta(minutes=61), set()) == [timers[1], timers[0]]
    done = {("resolution", 0, "at_risk")}
    assert due_steps(timers, T + timedelta(minutes=61), done) == [timers[0]]
    assert next_pending(timers, done | {("resolution", 0, "breach")}) == timers[2].at


def test_a_timer_job_runs_its_step_and_earlier_lost_ones_of_its_clock_only():
    timers = [
        timer(48, "at_risk"),
        timer(60, "breach"),
        timer(50, "breach", clock="first_response"),
    ]
    at = T + timedelta(minutes=70)
    assert due_steps(timers, at, set(), up_to=("resolution", "at_risk")) == [timers[0]]
    assert due_steps(timers, at, set(), up_to=("resolution", "breach")) == timers[:2]
    assert due_steps(timers, at, set(), up_to=("resolution", "breach_30")) == []
