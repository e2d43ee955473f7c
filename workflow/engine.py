"""Decide whether an event may fire, with every reason it may not.

python-statemachine stops at the first failing validator; people need all the reasons at
once ("needs a note" *and* "only the assignee"), so the engine asks each guard itself.
The compiled machine then enforces the same guards when the event is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from workflow import rules
from workflow.definition import Definition, EventDef, TransitionDef
from workflow.machines import reasons_for


@dataclass(frozen=True)
class Decision:
    """The engine's answer for one event: may it fire, where to, and why not."""

    event: str
    label: str
    allowed: bool
    target: str | None = None
    reasons: tuple[str, ...] = ()
    needs: tuple[str, ...] = field(default=())
    """What the person must still send (a note, a reply, a target): shown on the form."""


def _dedupe(items: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def decide(definition: Definition, state: str, event_id: str, ctx: rules.GuardContext) -> Decision:
    """Try the event's transitions from `state` in order; the first whose guards pass wins."""
    event = definition.events.get(event_id)
    if event is None:
        return Decision(
            event_id, event_id, False, reasons=(f"This workflow has no event called '{event_id}'.",)
        )
    if ctx.event_label != event.label:
        ctx = replace(ctx, event_label=event.label)
    branches = definition.transitions(state, event_id)
    if not branches:
        here = definition.states[state].label if state in definition.states else state
        return Decision(
            event.id,
            event.label,
            False,
            reasons=(f"“{event.label}” is not possible while the ticket is {here.lower()}.",),
        )
    reasons: list[str] = []
    for t in branches:
        refused = reasons_for(t, event, ctx)
        if not refused:
            return Decision(event.id, event.label, True, t.target)
        reasons.extend(refused)
    return Decision(event.id, event.label, False, reasons=_dedupe(reasons))


def _split(t: TransitionDef, event: EventDef, ctx: rules.GuardContext) -> tuple[list, list]:
    """Blocking reasons and input needs of one transition, when nothing has been sent yet."""
    blocking, needs = [], []
    who = rules.role_refusal(event.by, ctx)
    if who:
        blocking.append(who)
    for guard in t.guards:
        reason = rules.evaluate(guard.rule, guard.kwargs, ctx)
        if reason:
            (needs if rules.REGISTRY[guard.rule].input else blocking).append(reason)
    return blocking, needs


def explain(definition: Definition, state: str, ctx: rules.GuardContext) -> list[Decision]:
    """For every event of the current state: allowed or not, and every reason it is not.

    Guards that only need input from the person (a note, a reply, a target) do not make an
    event unavailable; they are listed under `needs` so the form can ask for them. A branch
    whose guards all pass is the one `decide` takes, so it alone answers. Otherwise, when
    several branches remain open (what is sent decides between them, like a transfer to an
    agent or to a department), `needs` lists what every one of them needs, and `target` is
    None unless they all lead to the same state.
    """
    out = []
    for event in definition.events_from(state):
        ctx = replace(ctx, event_label=event.label)
        blocked: list[str] = []
        open_branches: list[tuple[str, list[str]]] = []
        for t in definition.transitions(state, event.id):
            blocking, needs = _split(t, event, ctx)
            if blocking:
                blocked.extend(blocking)
            elif not needs:
                open_branches = [(t.target, needs)]  # the branch `decide` would take now
                break
            else:
                open_branches.append((t.target, needs))
        if not open_branches:
            out.append(Decision(event.id, event.label, False, reasons=_dedupe(blocked)))
            continue
        targets = {target for target, _ in open_branches}
        common = [n for n in open_branches[0][1] if all(n in needs for _, needs in open_branches)]
        target = targets.pop() if len(targets) == 1 else None
        out.append(Decision(event.id, event.label, True, target, needs=_dedupe(common)))
    return out
