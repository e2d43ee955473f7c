"""Validating lifecycle documents: every problem, with its line and the state or event it is in.

An admin edits a workflow as YAML and must be able to fix it in one pass, so each kind of
mistake is checked for its sentence, its line and its location. Pure: no database.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from workflow import actions, engine, machines, rules
from workflow.definition import MAX_BYTES, parse, problems_in
from workflow.errors import InvalidDefinition, Problem, TransitionRejected
from workflow.machines import STRICT, compile_source
from workflow.publishing import BUILTIN_DIR

SUPPORT = (BUILTIN_DIR / "support.yaml").read_text(encoding="utf-8")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

MINI = textwrap.dedent("""\
    workflow: mini
    label: Mini
    states:
      new:
        initial: true
        sla: {resolution: run}
      working:
        label: Working
      done:
        final: true
    events:
      start:
        by: [agent]
        from: [new]
        to: working
      finish:
        by: [agent, admin]
        from: [working]
        to: done
        guards:
          - actor_is_assignee
        actions: [record_resolution]
    """)


def edit(text: str, old: str, new: str) -> str:
    """Replace one exact, unique snippet, so an edit cannot silently miss."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line_of(text: str, snippet: str, nth: int = 1) -> int:
    """The 1-based line of the nth line containing `snippet`."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if snippet in line]
    assert len(hits) >= nth, f"{snippet!r} is not in the document {nth} time(s)"
    return hits[nth - 1]


def only_problem(text: str) -> Problem:
    problems = problems_in(text)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_minimal_document_used_below_is_valid():
    """Every test below breaks MINI in exactly one place; it must be valid to start with."""
    assert problems_in(MINI) == []


# ---- the built-in lifecycle -----------------------------------------------------------------


def test_the_builtin_support_workflow_is_valid_and_compiles():
    """The shipped lifecycle is reviewed like code; a typo in it must fail the build."""
    assert problems_in(SUPPORT) == []
    wf = compile_source(SUPPORT)
    assert wf.definition.key == "support"
    assert wf.definition.initial == "new"
    assert [s for s in wf.definition.states if wf.definition.states[s].final] == ["closed"]
    assert {s.id for s in wf.machine_class.states} == set(wf.definition.states)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("allow_event_without_transition", False),
        ("catch_errors_as_events", False),
        ("atomic_configuration_update", True),
        ("enable_self_transition_entries", False),
    ],
)
def test_compiled_machines_keep_the_strict_settings(setting, value):
    """Strict settings make an impossible event raise and a failing guard propagate,
    instead of being swallowed as a no-op."""
    assert STRICT[setting] is value
    assert getattr(compile_source(SUPPORT).machine_class, setting) is value


def test_a_document_is_compiled_once_and_then_shared():
    """Compiling per request would cost milliseconds each time; one text, one class."""
    first = compile_source(SUPPORT)
    again = compile_source("".join(list(SUPPORT)))  # equal text, a different str object
    assert again is first
    assert again.machine_class is first.machine_class
    other = compile_source(MINI)
    assert other is not first and other.checksum != first.checksum


def test_parse_raises_with_every_problem_located_in_its_message():
    """The exception's text is what the CLI prints: one located line per problem."""
    doc = edit(MINI, "by: [agent]\n", "by: [agent, boss]\n")
    doc = edit(doc, "actions: [record_resolution]", "actions: [send_fax]")
    with pytest.raises(InvalidDefinition) as caught:
        parse(doc)
    assert len(caught.value.problems) == 2
    assert str(caught.value).splitlines() == [
        f"line {line_of(doc, 'boss')}, event 'start': unknown role 'boss' "
        "(roles: requester, agent, admin, ops, system).",
        f"line {line_of(doc, 'send_fax')}, event 'finish': unknown action 'send_fax' "
        f"(actions: {', '.join(sorted(actions.REGISTRY))}).",
    ]


# ---- YAML itself ----------------------------------------------------------------------------


def test_a_yaml_syntax_error_is_reported_with_its_line():
    doc = edit(MINI, "    to: working\n", "    to: working: now\n")
    problem = only_problem(doc)
    assert problem.message == "the YAML does not parse: mapping values are not allowed here"
    assert problem.line == line_of(doc, "to: working: now")
    assert problem.where is None


def test_an_unclosed_bracket_is_a_syntax_error_not_a_crash():
    doc = edit(MINI, "from: [working]", "from: [working")
    problem = only_problem(doc)
    assert problem.message.startswith("the YAML does not parse: ")
    assert problem.line is not None and problem.line >= line_of(doc, "from: [working")


def test_a_state_defined_twice_is_refused_not_silently_collapsed():
    """PyYAML keeps the last of two equal keys; a second `new:` would quietly replace the first."""
    doc = edit(MINI, "  done:\n", "  new:\n    label: Again\n  done:\n")
    problem = only_problem(doc)
    assert problem == Problem("the key 'new' appears twice", line_of(doc, "  new:", nth=2))


def test_a_setting_repeated_inside_an_event_is_refused():
    doc = edit(MINI, "    to: done\n", "    to: done\n    to: working\n")
    assert only_problem(doc) == Problem(
        "the key 'to' appears twice", line_of(doc, "to: working", nth=2)
    )


def test_a_document_that_is_not_a_mapping_is_refused():
    assert only_problem("- just\n- a list\n") == Problem(
        "the document must be a mapping with `workflow`, `states` and `events`.", 1
    )
    assert only_problem("") == Problem(
        "the document must be a mapping with `workflow`, `states` and `events`.", 1
    )


# ---- unknown keys ---------------------------------------------------------------------------


def test_an_unknown_top_level_key_is_refused():
    doc = edit(MINI, "label: Mini\n", "label: Mini\nowner: ops\n")
    assert only_problem(doc) == Problem(
        "unknown key 'owner' (allowed here: description, events, label, states, workflow).",
        line_of(doc, "owner: ops"),
        None,
    )


def test_an_unknown_state_key_is_refused():
    """A misspelt `colour_hex` would otherwise be ignored and the admin left wondering."""
    doc = edit(MINI, "    label: Working\n", "    label: Working\n    colour_hex: '#ffffff'\n")
    assert only_problem(doc) == Problem(
        "unknown key 'colour_hex' (allowed here: color, colour, customer_label, description, "
        "final, initial, label, sla).",
        line_of(doc, "colour_hex"),
        "state 'working'",
    )


def test_an_unknown_event_key_is_refused():
    doc = edit(MINI, "    to: working\n", "    to: working\n    target: done\n")
    assert only_problem(doc) == Problem(
        "unknown key 'target' (allowed here: actions, by, description, from, guards, internal, "
        "label, to, transitions).",
        line_of(doc, "target: done"),
        "event 'start'",
    )


def test_an_unknown_key_in_a_transition_block_is_refused():
    doc = edit(
        MINI,
        "    from: [new]\n    to: working\n",
        "    transitions:\n      - from: new\n        to: working\n        when: later\n",
    )
    assert only_problem(doc) == Problem(
        "unknown key 'when' (allowed here: from, guards, internal, to).",
        line_of(doc, "when: later"),
        "event 'start'",
    )


# ---- guards ---------------------------------------------------------------------------------


def test_an_unknown_guard_is_refused_and_the_known_ones_listed():
    doc = edit(MINI, "      - actor_is_assignee\n", "      - actor_is_assignee\n      - is_vip\n")
    assert only_problem(doc) == Problem(
        f"unknown guard 'is_vip' (guards: {', '.join(sorted(rules.REGISTRY))}).",
        line_of(doc, "- is_vip"),
        "event 'finish'",
    )


@pytest.mark.parametrize(
    ("guard", "message"),
    [
        (
            "note_required: {length: 5}",
            "guard 'note_required' has no parameter 'length' (its parameters: min_length).",
        ),
        (
            "not_already_assignee: {strict: true}",
            "guard 'not_already_assignee' has no parameter 'strict' (its parameters: none).",
        ),
        (
            "note_required: {min_length: ten}",
            "parameter 'min_length' of guard 'note_required' must be a whole number, not 'ten'.",
        ),
        (
            "note_required: {min_length: 2.5}",
            "parameter 'min_length' of guard 'note_required' must be a whole number, not 2.5.",
        ),
        (
            "note_required: {min_length: true}",
            "parameter 'min_length' of guard 'note_required' must be a whole number, not True.",
        ),
        (
            "actor_is_assignee: {allow_admin: 'no'}",
            "parameter 'allow_admin' of guard 'actor_is_assignee' must be true or false, not 'no'.",
        ),
        (
            "note_required: {min_length: 0}",
            "parameter 'min_length' of guard 'note_required' must be at least 1.",
        ),
        (
            "silent_since_resolve: {days: -1}",
            "parameter 'days' of guard 'silent_since_resolve' must be at least 0.",
        ),
        ("note_required: {message: ''}", "`message` must be a non-empty sentence."),
        ("note_required: [10]", "the parameters of guard 'note_required' must be a mapping."),
    ],
)
def test_bad_guard_parameters_are_refused(guard, message):
    """Parameters are checked against the rule's declaration: name, type and lower bound."""
    doc = edit(MINI, "      - actor_is_assignee\n", f"      - {guard}\n")
    assert only_problem(doc) == Problem(message, line_of(doc, guard), "event 'finish'")


def test_guard_parameters_at_their_limits_are_accepted_with_defaults_filled_in():
    doc = edit(
        MINI,
        "      - actor_is_assignee\n",
        "      - actor_is_assignee: {allow_admin: false}\n"
        "      - note_required: {min_length: 1, message: Say what you did.}\n",
    )
    guards = parse(doc).events["finish"].transitions[0].guards
    assert [(g.rule, g.kwargs) for g in guards] == [
        ("actor_is_assignee", {"allow_admin": False}),
        ("note_required", {"min_length": 1, "message": "Say what you did."}),
    ]


# ---- states named by events -----------------------------------------------------------------


def test_an_event_leaving_an_unknown_state_is_refused():
    doc = edit(MINI, "    from: [new]\n", "    from:\n      - new\n      - triage\n")
    assert only_problem(doc) == Problem(
        "`from` names an unknown state 'triage'.", line_of(doc, "- triage"), "event 'start'"
    )


def test_an_event_leading_to_an_unknown_state_is_refused():
    doc = edit(MINI, "    to: working\n", "    to: wroking\n")
    assert only_problem(doc) == Problem(
        "`to` names an unknown state 'wroking'.", line_of(doc, "to: wroking"), "event 'start'"
    )


def test_an_event_without_a_target_must_say_it_is_internal():
    doc = edit(MINI, "    to: working\n", "")
    assert only_problem(doc) == Problem(
        "`to` must name the state this event leads to (or set `internal: true` to stay in the "
        "same state).",
        line_of(doc, "  start:"),
        "event 'start'",
    )


# ---- initial and final states ---------------------------------------------------------------


def test_a_workflow_without_an_initial_state_is_refused():
    doc = edit(MINI, "    initial: true\n", "")
    assert only_problem(doc) == Problem(
        "no state is marked `initial: true`; exactly one must be.", line_of(doc, "states:")
    )


def test_a_workflow_with_several_initial_states_is_refused():
    doc = edit(MINI, "    label: Working\n", "    label: Working\n    initial: true\n")
    assert only_problem(doc) == Problem(
        "several states are initial (new, working); exactly one must be.",
        line_of(doc, "initial: true", nth=2),
        "state 'working'",
    )


def test_a_workflow_without_a_final_state_is_refused():
    doc = edit(MINI, "    final: true\n", "")
    assert only_problem(doc) == Problem(
        "no state is marked `final: true`; at least one must be.", line_of(doc, "states:")
    )


def test_a_final_state_cannot_have_outgoing_events():
    """A closed ticket stays closed: a reply opens a new ticket instead of reviving it."""
    doc = MINI + "  revive:\n    by: [agent]\n    from: [done]\n    to: working\n"
    assert only_problem(doc) == Problem(
        "final state 'done' cannot have outgoing events.",
        line_of(doc, "  revive:"),
        "event 'revive'",
    )


# ---- the shape of the graph -----------------------------------------------------------------


def test_a_state_no_event_leads_to_is_refused_as_unreachable():
    doc = edit(MINI, "  done:\n", "  limbo:\n    label: Limbo\n  done:\n")
    doc += "  leave_limbo:\n    by: [agent]\n    from: [limbo]\n    to: done\n"
    assert only_problem(doc) == Problem(
        "unreachable: no sequence of events leads here from 'new'.",
        line_of(doc, "  limbo:"),
        "state 'limbo'",
    )


def test_a_state_with_no_way_to_a_final_state_is_refused():
    """A ticket that can enter `parked` but never leave it could never be closed."""
    doc = edit(MINI, "  done:\n", "  parked:\n    label: Parked\n  done:\n")
    doc += "  park:\n    by: [agent]\n    from: [working]\n    to: parked\n"
    assert only_problem(doc) == Problem(
        "a ticket here could never be finished: no path leads to a final state.",
        line_of(doc, "  parked:"),
        "state 'parked'",
    )


def test_a_loop_with_no_exit_is_refused_for_each_of_its_states():
    doc = edit(MINI, "  done:\n", "  ping:\n    label: Ping\n  pong:\n    label: Pong\n  done:\n")
    doc += (
        "  to_ping:\n    by: [agent]\n    from: [working, pong]\n    to: ping\n"
        "  to_pong:\n    by: [agent]\n    from: [ping]\n    to: pong\n"
    )
    message = "a ticket here could never be finished: no path leads to a final state."
    assert problems_in(doc) == [
        Problem(message, line_of(doc, "  ping:"), "state 'ping'"),
        Problem(message, line_of(doc, "  pong:"), "state 'pong'"),
    ]


# ---- branches: one event, one state, several targets ----------------------------------------

TRIAGE = textwrap.dedent("""\
    workflow: triage
    states:
      new: {initial: true}
      mine: {}
      queued: {}
      done: {final: true}
    events:
      route:
        by: [agent, admin]
        transitions:
          - from: new
            to: mine
            guards: [actor_is_assignee]
          - from: new
            to: queued
      finish:
        by: [agent, admin]
        from: [mine, queued]
        to: done
    """)


def test_two_transitions_no_guard_tells_apart_are_refused():
    """Without a guard on the first branch the second could never be taken."""
    doc = edit(TRIAGE, "        guards: [actor_is_assignee]\n", "")
    assert only_problem(doc) == Problem(
        "two transitions from 'new' that no guard tells apart; give the earlier one a guard "
        "the later one does not have.",
        line_of(doc, "  route:"),
        "event 'route'",
    )


def test_two_transitions_with_the_same_guards_are_refused():
    doc = edit(
        TRIAGE, "        to: queued\n", "        to: queued\n        guards: [actor_is_assignee]\n"
    )
    assert only_problem(doc).message.startswith("two transitions from 'new' that no guard")


def test_an_unguarded_branch_with_another_branch_after_it_is_refused():
    doc = edit(
        TRIAGE,
        "      - from: new\n        to: queued\n",
        "      - from: new\n        to: queued\n      - from: [new, mine]\n        to: done\n",
    )
    assert only_problem(doc).message.startswith("two transitions from 'new' that no guard")


def _route(actor: rules.Actor, assignee_id: int | None = 1) -> str:
    wf = compile_source(TRIAGE)
    ticket = SimpleNamespace(
        state="new",
        assignee_id=assignee_id,
        requester_id=99,
        team_id=None,
        department_id=None,
        resolved_at=None,
        confirmed_at=None,
    )
    ctx = rules.GuardContext(ticket, actor, NOW, "Route")
    decided = engine.decide(wf.definition, "new", "route", ctx)
    wf.machine_class(model=ticket).send("route", ctx=ctx)
    assert decided.target == ticket.state, "the engine and the machine must agree"
    return ticket.state


def test_branches_told_apart_by_guards_are_accepted():
    definition = parse(TRIAGE)
    assert [t.target for t in definition.transitions("new", "route")] == ["mine", "queued"]


def test_the_machine_takes_the_first_branch_whose_guards_pass():
    """The assignee routes to `mine`; anyone else falls through to `queued`; an admin passes
    `actor_is_assignee` (allow_admin) so the first branch wins even though both would pass."""
    assert _route(rules.Actor(1, "agent")) == "mine"
    assert _route(rules.Actor(2, "agent")) == "queued"
    assert _route(rules.Actor(3, "admin")) == "mine"
    assert _route(rules.Actor(2, "agent"), assignee_id=None) == "queued"


def test_a_single_guarded_transition_refuses_with_the_guards_reasons():
    """Outside the engine the compiled machine enforces the same guards on its own."""
    wf = compile_source(MINI)
    ticket = SimpleNamespace(
        state="working",
        assignee_id=1,
        requester_id=99,
        team_id=None,
        department_id=None,
        resolved_at=None,
        confirmed_at=None,
    )
    ctx = rules.GuardContext(ticket, rules.Actor(2, "agent"), NOW, "Finish")
    with pytest.raises(TransitionRejected) as caught:
        wf.machine_class(model=ticket).send("finish", ctx=ctx)
    assert caught.value.event == "finish"
    assert caught.value.reasons == [rules.actor_is_assignee(ctx)]
    assert "assigned" in caught.value.reasons[0]
    assert ticket.state == "working"


def test_reaching_a_final_state_does_not_break_the_next_event_on_the_same_thread():
    """`machines.send` reuses idle machine instances per version. The library terminates a
    machine that reaches a final state, so a pooled instance that closed one ticket must not
    be reused: otherwise the next event on that thread, for any ticket of the version, would
    raise TransitionNotAllowed."""
    wf = compile_source(SUPPORT)
    ticket = SimpleNamespace(
        state="new",
        assignee_id=None,
        requester_id=99,
        team_id=None,
        department_id=None,
        resolved_at=None,
        confirmed_at=None,
    )
    admin = rules.Actor(1, "admin")
    discard = rules.GuardContext(ticket, admin, NOW, "Discard", note="Spam, sent twice.")
    assert machines.send(wf, "new", "discard", discard) == "closed"
    claim = rules.GuardContext(ticket, admin, NOW, "Claim")
    assert machines.send(wf, "new", "claim", claim) == "assigned"


def test_a_machine_instance_in_use_is_never_handed_to_a_second_sender():
    """Under gevent many requests share one thread; a machine instance one request is
    driving must not be handed to another (a shared instance answered "Can't Resolve when
    in Resolved" for a ticket stored as assigned in the HTTP benchmark)."""
    wf = compile_source(SUPPORT)
    ticket = SimpleNamespace(
        state="new", assignee_id=None, requester_id=99, team_id=None, department_id=None,
        resolved_at=None, confirmed_at=None,
    )  # fmt: skip
    admin = rules.Actor(1, "admin")
    assert machines.send(wf, "new", "claim", rules.GuardContext(ticket, admin, NOW, "Claim")) == (
        "assigned"
    )
    in_use = machines._idle[wf.checksum].pop()  # another request is in the middle of a send
    in_use[1].state = "resolved"
    assert machines.send(wf, "new", "claim", rules.GuardContext(ticket, admin, NOW, "Claim")) == (
        "assigned"
    )
    assert in_use[1].state == "resolved"  # the busy instance was left alone
    assert all(entry is not in_use for entry in machines._idle[wf.checksum])


def test_a_later_branch_shadowed_by_an_earlier_one_with_fewer_guards_is_refused():
    """If the earlier branch's guards are a subset of the later one's, whenever the later
    branch could pass the earlier one passes first: the later branch would be dead."""
    doc = edit(
        TRIAGE,
        "        to: queued\n",
        "        to: queued\n        guards: [actor_is_assignee, not_already_assignee]\n",
    )
    assert only_problem(doc) == Problem(
        "two transitions from 'new' that no guard tells apart; give the earlier one a guard "
        "the later one does not have.",
        line_of(doc, "  route:"),
        "event 'route'",
    )


def test_a_custom_message_does_not_tell_two_branches_apart():
    """Same rule, same parameters, different wording: the same check, so still ambiguous."""
    doc = edit(
        TRIAGE,
        "        to: queued\n",
        "        to: queued\n        guards:\n"
        "          - actor_is_assignee: {message: Only the owner routes it.}\n",
    )
    assert only_problem(doc).message.startswith("two transitions from 'new' that no guard")


def test_a_later_branch_with_a_guard_the_earlier_one_lacks_is_still_accepted():
    """Disjoint guards tell branches apart in both directions."""
    doc = edit(
        TRIAGE,
        "        to: queued\n",
        "        to: queued\n        guards: [not_already_assignee]\n",
    )
    assert problems_in(doc) == []


# ---- SLA behaviour, roles, actions ----------------------------------------------------------


def test_an_sla_behaviour_that_does_not_exist_is_refused():
    doc = edit(MINI, "sla: {resolution: run}", "sla: {resolution: sometimes}")
    assert only_problem(doc) == Problem(
        "SLA behaviour 'sometimes' for resolution does not exist (use run, pause, stop).",
        line_of(doc, "sometimes"),
        "state 'new'",
    )


def test_an_unknown_sla_clock_is_refused():
    doc = edit(
        MINI,
        "    sla: {resolution: run}\n",
        "    sla:\n      resolution: run\n      reply_time: pause\n",
    )
    assert only_problem(doc) == Problem(
        "unknown SLA clock 'reply_time' (clocks: first_response, next_response, resolution).",
        line_of(doc, "reply_time"),
        "state 'new'",
    )


def test_an_unknown_role_in_by_is_refused():
    doc = edit(MINI, "    by: [agent, admin]\n", "    by:\n      - agent\n      - manager\n")
    assert only_problem(doc) == Problem(
        "unknown role 'manager' (roles: requester, agent, admin, ops, system).",
        line_of(doc, "- manager"),
        "event 'finish'",
    )


def test_an_event_nobody_may_fire_is_refused():
    doc = edit(MINI, "    by: [agent]\n", "")
    assert only_problem(doc) == Problem(
        "`by` must list who may fire it (requester, agent, admin, ops, system).",
        line_of(doc, "  start:"),
        "event 'start'",
    )


def test_an_unknown_action_is_refused():
    doc = edit(MINI, "actions: [record_resolution]", "actions: [record_resolution, send_sms]")
    assert only_problem(doc) == Problem(
        f"unknown action 'send_sms' (actions: {', '.join(sorted(actions.REGISTRY))}).",
        line_of(doc, "send_sms"),
        "event 'finish'",
    )


# ---- size limits ----------------------------------------------------------------------------


def _padded(size: int, filler: str = "x") -> str:
    """MINI followed by a comment that brings it to exactly `size` bytes of UTF-8."""
    room = size - len(MINI.encode()) - len("# \n")
    width = len(filler.encode())
    assert room % width == 0
    doc = MINI + "# " + filler * (room // width) + "\n"
    assert len(doc.encode()) == size
    return doc


def test_a_document_of_exactly_256_kib_is_accepted():
    assert problems_in(_padded(MAX_BYTES)) == []


def test_a_document_over_256_kib_is_refused_before_it_is_parsed():
    """The limit is checked on the raw text, so an oversized upload costs no YAML parsing."""
    assert only_problem(_padded(MAX_BYTES + 1)) == Problem(
        "the document is larger than 256 KiB.", None, None
    )


def test_the_size_limit_counts_bytes_not_characters():
    doc = _padded(MAX_BYTES + 2, filler="é")  # two bytes each: fewer characters than bytes
    assert len(doc) <= MAX_BYTES
    assert only_problem(doc).message == "the document is larger than 256 KiB."


def _chain(n_states: int) -> str:
    """s0 (initial) -> s1 -> ... -> s{n-1} (final), one event per step."""
    states = "".join(
        f"  s{i}: {{{'initial: true' if i == 0 else ''}"
        f"{'final: true' if i == n_states - 1 else ''}}}\n"
        for i in range(n_states)
    )
    events = "".join(
        f"  e{i}: {{by: [agent], from: [s{i}], to: s{i + 1}}}\n" for i in range(n_states - 1)
    )
    return f"workflow: chain\nstates:\n{states}events:\n{events}"


def test_a_workflow_of_200_states_is_accepted():
    assert problems_in(_chain(200)) == []


def test_a_workflow_of_more_than_200_states_is_refused():
    doc = _chain(201)
    assert only_problem(doc) == Problem(
        "a workflow may have at most 200 states.", line_of(doc, "states:"), None
    )


def _fan(n_transitions: int) -> str:
    """Two states and `n` events each leading from one to the other."""
    events = "".join(
        f"  e{i}: {{by: [agent], from: [new], to: done}}\n" for i in range(n_transitions)
    )
    return (
        "workflow: fan\nstates:\n  new: {initial: true}\n  done: {final: true}\n"
        f"events:\n{events}"
    )


def test_a_workflow_of_2000_transitions_is_accepted():
    assert problems_in(_fan(2000)) == []


def test_a_workflow_of_more_than_2000_transitions_is_refused():
    doc = _fan(2001)
    assert only_problem(doc) == Problem(
        "a workflow may have at most 2000 transitions (this one has 2001).",
        line_of(doc, "events:"),
        None,
    )


def test_transitions_are_counted_per_source_state():
    """`from: [a, b]` is two transitions: the limit bounds the machine, not the text."""
    states = "".join(f"  s{i}: {{}}\n" for i in range(100))
    sources = ", ".join(f"s{i}" for i in range(100))
    events = "".join(
        f"  e{i}: {{by: [agent], from: [new, {sources}], to: done}}\n" for i in range(20)
    )
    doc = (
        "workflow: wide\nstates:\n  new: {initial: true}\n"
        + states
        + "  done: {final: true}\n"
        + "events:\n  spread:\n    by: [agent]\n    from: [new]\n    to: s0\n"
        + "".join(f"  hop{i}: {{by: [agent], from: [s{i}], to: s{i + 1}}}\n" for i in range(99))
        + events
    )
    assert [p.message for p in problems_in(doc)] == [
        "a workflow may have at most 2000 transitions (this one has 2120)."
    ]


# ---- several problems at once ---------------------------------------------------------------


def test_a_document_with_several_problems_reports_all_of_them_in_one_pass():
    """Fixing a workflow one error per save would take an admin many round trips."""
    doc = MINI
    doc = edit(doc, "label: Mini\n", "label: Mini\nversion: 2\n")
    doc = edit(doc, "sla: {resolution: run}", "sla: {resolution: always}")
    doc = edit(doc, "    label: Working\n", "    label: Working\n    colour: red\n")
    doc = edit(doc, "    by: [agent]\n", "    by: [agent, boss]\n")
    doc = edit(doc, "    from: [new]\n", "    from: [new, triage]\n")
    doc = edit(
        doc,
        "      - actor_is_assignee\n",
        "      - actor_is_assignee\n      - is_vip\n      - note_required: {min_length: 0}\n",
    )
    doc = edit(doc, "actions: [record_resolution]", "actions: [send_sms]")
    assert problems_in(doc) == [
        Problem(
            "unknown key 'version' (allowed here: description, events, label, states, workflow).",
            line_of(doc, "version: 2"),
            None,
        ),
        Problem(
            "SLA behaviour 'always' for resolution does not exist (use run, pause, stop).",
            line_of(doc, "always"),
            "state 'new'",
        ),
        Problem(
            "colour must look like '#1a2b3c', not 'red'.",
            line_of(doc, "colour: red"),
            "state 'working'",
        ),
        Problem(
            "unknown role 'boss' (roles: requester, agent, admin, ops, system).",
            line_of(doc, "boss"),
            "event 'start'",
        ),
        Problem("`from` names an unknown state 'triage'.", line_of(doc, "triage"), "event 'start'"),
        Problem(
            f"unknown action 'send_sms' (actions: {', '.join(sorted(actions.REGISTRY))}).",
            line_of(doc, "send_sms"),
            "event 'finish'",
        ),
        Problem(
            f"unknown guard 'is_vip' (guards: {', '.join(sorted(rules.REGISTRY))}).",
            line_of(doc, "- is_vip"),
            "event 'finish'",
        ),
        Problem(
            "parameter 'min_length' of guard 'note_required' must be at least 1.",
            line_of(doc, "min_length: 0"),
            "event 'finish'",
        ),
    ]


def test_several_graph_problems_are_reported_together():
    doc = edit(MINI, "  done:\n", "  limbo: {}\n  parked: {}\n  done:\n")
    doc += "  park:\n    by: [agent]\n    from: [working]\n    to: parked\n"
    assert problems_in(doc) == [
        Problem(
            "unreachable: no sequence of events leads here from 'new'.",
            line_of(doc, "  limbo:"),
            "state 'limbo'",
        ),
        Problem(
            "a ticket here could never be finished: no path leads to a final state.",
            line_of(doc, "  limbo:"),
            "state 'limbo'",
        ),
        Problem(
            "a ticket here could never be finished: no path leads to a final state.",
            line_of(doc, "  parked:"),
            "state 'parked'",
        ),
    ]


def test_an_event_with_an_unknown_target_still_has_its_sources_and_guards_checked():
    """The module promises every problem in one pass; a bad `to` hides the rest of its block."""
    doc = edit(
        MINI,
        "    from: [new]\n    to: working\n",
        "    from: [new, triage]\n    to: wroking\n    guards: [is_vip]\n",
    )
    assert sorted(p.message.split(" '")[0] for p in problems_in(doc)) == [
        "`from` names an unknown state",
        "`to` names an unknown state",
        "unknown guard",
    ]


# ---- a definition is data, never code -------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["__import__", "os.system", "eval", "exec", "__class__", "rules.REGISTRY", "check_param"],
)
def test_a_guard_named_after_python_code_is_just_an_unknown_guard(name):
    """Guards are looked up by name in the registry of rules, never resolved as Python."""
    doc = edit(MINI, "      - actor_is_assignee\n", f"      - '{name}': {{command: id}}\n")
    assert only_problem(doc) == Problem(
        f"unknown guard '{name}' (guards: {', '.join(sorted(rules.REGISTRY))}).",
        line_of(doc, name),
        "event 'finish'",
    )


def test_an_action_named_after_python_code_is_just_an_unknown_action():
    doc = edit(MINI, "actions: [record_resolution]", "actions: [__import__]")
    assert only_problem(doc).message.startswith("unknown action '__import__' (actions: ")


def test_a_python_tag_on_a_value_is_refused_by_the_safe_loader_with_its_line():
    doc = edit(MINI, "label: Mini\n", "label: !!python/object/apply:os.getcwd ''\n")
    assert only_problem(doc) == Problem(
        "the YAML does not parse: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.getcwd'",
        line_of(doc, "!!python"),
    )


@pytest.mark.parametrize(
    "tagged",
    [
        "label: !!python/object/apply:os.system 'touch {marker}'\n",
        "label: !!python/object/apply:os.system ['touch {marker}']\n",
        "label: !!python/object/apply:os.system {{args: ['touch {marker}']}}\n",
        "label: !!python/object/new:subprocess.call [['touch', '{marker}']]\n",
    ],
)
def test_python_tags_in_a_document_are_never_executed(tagged, tmp_path):
    """Whatever the validator answers, loading (and, if accepted, compiling) the text must
    not run the tagged call."""
    marker = tmp_path / "pwned"
    doc = edit(MINI, "label: Mini\n", tagged.format(marker=marker))
    if not problems_in(doc):
        compile_source(doc)
    assert not marker.exists()


@pytest.mark.parametrize(
    "tagged",
    [
        "  new: !!python/object:os.system\n",
        "  new: !!python/object/apply:os.system\n",
        "  new: !!python/object/new:subprocess.Popen\n",
    ],
)
def test_a_python_tag_on_a_mapping_is_refused_not_silently_ignored(tagged):
    """Mappings and lists are built by `_build`, not PyYAML's constructor, so it checks their
    tags itself: `!!python/object:os.system` on a mapping is refused, not ignored."""
    doc = edit(MINI, "  new:\n", tagged)
    problem = only_problem(doc)
    assert "tag" in problem.message
    assert problem.line == line_of(doc, "!!")


@pytest.mark.parametrize(
    "doc",
    [
        "workflow: mini\nstates: &loop\n  new: [*loop]\n",
        "workflow: mini\nstates: " + "[" * 3000 + "]" * 3000 + "\n",
    ],
    ids=["recursive-alias", "nested-3000-deep"],
)
def test_a_pathological_document_is_a_problem_not_a_crash(doc):
    """A 6 KB upload must answer with a located problem, not a 500 from a RecursionError."""
    with pytest.raises(InvalidDefinition):
        parse(doc)


ALIAS_BOMB = """
from workflow.definition import problems_in
lines = ["workflow: mini", "l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
for i in range(1, 8):
    lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
doc = "\\n".join(lines) + "\\n"
assert len(doc) < 600, len(doc)
problems_in(doc)
"""


def test_an_alias_bomb_under_the_size_limit_is_answered_promptly():
    """Seven levels of ten aliases (under 600 bytes) would expand to 10**8 values; the value
    budget refuses it at once. Run in a child process so a regression cannot hang the run."""
    try:
        subprocess.run(
            [sys.executable, "-c", ALIAS_BOMB], check=True, timeout=10, capture_output=True
        )
    except subprocess.TimeoutExpired:
        pytest.fail("validating a 600-byte document with nested aliases took over 10 s")


def test_every_name_the_log_uses_outside_workflow_events_is_reserved():
    """A workflow event named like a log row the services write would make the log
    ambiguous; each such name is reserved where definitions are checked."""
    from workflow import escalating, handover, publishing, reclock, ticket_settings
    from workflow.definition_types import RESERVED_EVENTS

    used = {
        handover.HANDOVER_EVENT,
        escalating.STEP_EVENT,
        publishing.UPGRADE_EVENT,
        ticket_settings.CHANGE_PRIORITY,
        ticket_settings.CHANGE_SLA_PLAN,
        reclock.EVENT,
    }
    assert used <= RESERVED_EVENTS
