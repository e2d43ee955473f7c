"""The status line an event leaves on the agent's page: what happened to the ticket, in one
sentence, instead of "Done.".

Why: a bare "Done." after Claim hid that the ticket had just been taken from a colleague, and
after Transfer or Resolve it said nothing of where the ticket went. The sentence is built from
what the service wrote (the record remembers what it loaded) and the names the answer already
holds (web/staff/answer_lists.py), so it costs no statement.
"""

from __future__ import annotations

from workflow import services
from workflow.rules import Actor

Lists = dict[str, list[tuple[int, str]]]


def sentence(applied: services.Applied, event: str, actor: Actor, lists: Lists) -> str:
    """ "Claim: #100002 is now yours (it was Winston Clarke's).", "Transfer: #100002 is now
    with team Level 2.", "Resolve: #100002 is now Resolved.", else "<Label>: done."."""
    assert applied.change is not None and applied.workflow is not None
    record = applied.change.record
    definition = applied.workflow.definition
    known = definition.events.get(event)
    label = known.label if known else event
    ticket = f"#{record.number}"
    agents = dict(lists.get("agents", []))
    was, now = record.loaded("assignee_id"), record.assignee_id
    if now is not None and now != was:
        where = "yours" if now == actor.id else f"with {agents.get(now, 'another agent')}"
        taken = f" (it was {agents[was]}'s)" if was in agents and was != actor.id else ""
        return f"{label}: {ticket} is now {where}{taken}."
    team, department = record.team_id, record.department_id
    if now is None and team is not None and team != record.loaded("team_id"):
        name = dict(lists.get("teams", [])).get(team, "another team")
        return f"{label}: {ticket} is now with the team {name}."
    if now is None and department != record.loaded("department_id"):
        name = dict(lists.get("departments", [])).get(department, "another department")
        return f"{label}: {ticket} is now with the department {name}."
    if record.state != record.loaded("state"):
        return f"{label}: {ticket} is now {definition.states[record.state].label}."
    return f"{label}: done."
