"""SLA clocks of a ticket: business-calendar deadlines, pauses, and the timers they need.

Three clocks (workflow.definition_types.CLOCKS): first response (from opening to the first
public reply), next response (from a customer message to the next public reply, again at
each message) and resolution. A state's `sla` setting says whether each runs there; when it
does not (pause or stop), `<clock>_paused_at` holds since when, and when it runs again its
deadline is recomputed from the business time that was left (workflow/sla.py), so a pause
never costs the team time. The plan's `Terms` give targets, calendar, at-risk threshold and
escalation policy. A fourth timer, `silence`, fires a system event such as `auto_close`
once a resolved ticket has been silent for the guard's number of days.

`recompute` returns timer follow-ups only for clocks whose columns changed, and loads the
plan only then: a transition that leaves the clocks alone (a claim) costs nothing here. A
running clock gets one timer, for its first step; each step's job sets the next one's.
`timer_due_at` is the earliest step any running clock still has (the sweep's index);
after a step runs, workflow/escalating.py moves it past the steps already done. How a
stopped next-response run ended (met or breached) is recorded by the reply's service, in its
own transaction (workflow/sla_outcomes.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from workflow import plan_terms, sla
from workflow.calendars import Calendar
from workflow.definition_types import CLOCKS
from workflow.escalation import AT_RISK, Timer
from workflow.followups import CancelTimer, FollowUp, ScheduleTimer
from workflow.models import SlaPlan
from workflow.plan_terms import Terms, TermsSource

if TYPE_CHECKING:  # definition -> actions -> clocks: the definition reader imports actions
    from workflow.definition import Definition

SILENCE = "silence"
SILENCE_GUARD = "silent_since_resolve"
_ZERO = timedelta(0)
_WATCHED = {
    "first_response": (
        "first_response_due_at",
        "first_response_paused_at",
        "first_responded_at",
        "sla_started_at",
    ),
    "next_response": (
        "next_response_due_at",
        "next_response_paused_at",
        "next_response_started_at",
    ),
    "resolution": ("resolution_due_at", "resolution_paused_at", "sla_started_at"),
    SILENCE: ("state", "resolved_at"),
}
"""The columns whose change means a clock's timers must be set again."""

Ticket = Any  # the ORM Ticket or a TicketRecord: both have the columns as attributes


def start(
    ticket: Ticket, plan: SlaPlan | Terms | None, now: datetime, terms: Terms | None = None
) -> None:
    """Set the targets of a new ticket (or of a ticket whose plan changed) from `now`: the
    deadline is `target` business time after `now` (after the next opening, if closed)."""
    terms = terms or plan_terms.of_plan(plan)
    cal = terms.calendar
    ticket.sla_started_at = now
    for clock in CLOCKS:
        setattr(ticket, f"{clock}_paused_at", None)
    fr = terms.targets.get("first_response")
    if ticket.first_responded_at is None:
        ticket.first_response_due_at = sla.deadline(cal, now, fr) if fr else None
    resolution = terms.targets.get("resolution")
    ticket.resolution_due_at = sla.deadline(cal, now, resolution) if resolution else None
    if ticket.next_response_due_at is not None:  # a running next-response clock restarts
        customer_message(ticket, now, terms, restart=True)


def customer_message(
    ticket: Ticket, now: datetime, terms: Terms | TermsSource, restart: bool = False
) -> None:
    """A customer wrote: the next-response clock starts, unless it already runs for an
    earlier unanswered message or the first response (which covers it) is still owed."""
    if ticket.first_responded_at is None:
        return
    if ticket.next_response_due_at is not None and not restart:
        return
    terms = plan_terms.source_for(ticket, terms)()
    target = terms.targets.get("next_response")
    ticket.next_response_started_at = now if target else None
    ticket.next_response_due_at = sla.deadline(terms.calendar, now, target) if target else None
    ticket.next_response_paused_at = None


def public_reply(ticket: Ticket, now: datetime) -> None:
    """Staff answered the customer in public: the first one stops the first-response clock
    (its due time stays as the record of the target), any one stops the next-response clock."""
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
    ticket.next_response_started_at = None
    ticket.next_response_due_at = None
    ticket.next_response_paused_at = None


def recompute(
    ticket: Ticket,
    definition: Definition,
    now: datetime,
    terms: Terms | TermsSource | None = None,
) -> list[FollowUp]:
    """Pause or resume each clock as the ticket's state says, then, if any clock changed,
    refresh `next_due_at` (the nearest running deadline, which the queues sort by) and
    `timer_due_at`, and return the timer follow-ups of the clocks that changed."""
    source = plan_terms.source_for(ticket, terms)
    behaviour = definition.states[ticket.state].sla
    for clock in CLOCKS:
        if not active(ticket, clock):
            continue
        paused_at = getattr(ticket, f"{clock}_paused_at")
        runs = behaviour.get(clock, "run") == "run"
        if runs and paused_at is not None:
            _resume(ticket, clock, source().calendar, paused_at, now)
        elif not runs and paused_at is None:
            setattr(ticket, f"{clock}_paused_at", now)
    changed = _changed(ticket, definition)
    if not changed:
        return []
    current = source()
    timeline = _timeline(ticket, definition, current, now, first=True)
    running = [getattr(ticket, f"{c}_due_at") for c in CLOCKS if _running(ticket, c)]
    ticket.next_due_at = min(running) if running else None
    ticket.timer_due_at = min((t.at for t in timeline), default=None)
    return _follow_ups(ticket, definition, current, timeline, changed)


def timers(
    ticket: Ticket,
    definition: Definition,
    terms: Terms | TermsSource | None = None,
    now: datetime | None = None,
    cancel_idle: bool = True,
) -> list[FollowUp]:
    """Every timer follow-up of the ticket as it stands (after `recompute`): schedule the
    first step of each running clock, and cancel the steps of the others unless
    `cancel_idle` is false (a new ticket has no timers to cancel)."""
    current = plan_terms.source_for(ticket, terms)()
    now = now or ticket.updated_at
    timeline = _timeline(ticket, definition, current, now, first=True)
    if not cancel_idle:
        return _follow_ups(ticket, definition, current, timeline, {t.clock for t in timeline})
    return _follow_ups(ticket, definition, current, timeline, set(_WATCHED))


def timeline(ticket: Ticket, definition: Definition, terms: Terms, now: datetime) -> list[Timer]:
    """Every step of every running clock, with its due instant, in time order: what the
    timer jobs and the sweep check against the steps already done."""
    return _timeline(ticket, definition, terms, now)


# ---- the clocks ------------------------------------------------------------------------------


def cycle(ticket: Ticket, clock: str) -> int:
    """Which run of a clock this is (see SlaStep.cycle): when it started, in Unix seconds.
    The next-response clock starts at each customer message, the silence at each resolve,
    the others when the plan's clocks start (at opening, and again when the plan changes)."""
    started = {
        "next_response": ticket.next_response_started_at,
        SILENCE: ticket.resolved_at,
    }.get(clock, ticket.sla_started_at)
    return int(started.timestamp()) if started is not None else 0


def active(ticket: Ticket, clock: str) -> bool:
    """The clock has a deadline it has not met yet (running or paused)."""
    if getattr(ticket, f"{clock}_due_at") is None:
        return False
    if clock == "first_response":
        return ticket.first_responded_at is None
    return ticket.closed_at is None


def _running(ticket: Ticket, clock: str) -> bool:
    return active(ticket, clock) and getattr(ticket, f"{clock}_paused_at") is None


def _resume(ticket: Ticket, clock: str, cal: Calendar, paused_at: datetime, now: datetime) -> None:
    """Run again with the business time that was left when it paused. A clock paused after
    its deadline stays breached at that deadline (a pause does not undo a breach)."""
    due = getattr(ticket, f"{clock}_due_at")
    left = sla.elapsed(cal, paused_at, due)
    if left > _ZERO:
        setattr(ticket, f"{clock}_due_at", sla.deadline(cal, now, left))
    setattr(ticket, f"{clock}_paused_at", None)


def _timeline(
    ticket: Ticket, definition: Definition, terms: Terms, now: datetime, first: bool = False
) -> list[Timer]:
    """Each running clock's steps in time order; with `first`, only each clock's first
    step (all a transition needs: steps come in order, at risk before breach before
    breach+N, so the later ones' calendar walks are left to the jobs)."""
    cal = terms.calendar
    out: list[Timer] = []
    for clock in CLOCKS:
        if not _running(ticket, clock):
            continue
        due = getattr(ticket, f"{clock}_due_at")
        run = cycle(ticket, clock)
        left_at_risk = terms.at_risk_left(clock)
        steps = terms.policy.for_clock(clock, left_at_risk is not None)
        for step in steps[:1] if first else steps:
            if step.at == AT_RISK:
                at = _at_risk(cal, now, due, left_at_risk or _ZERO)
            elif step.offset:
                at = sla.deadline(cal, due, timedelta(minutes=step.offset))
            else:
                at = due
            out.append(Timer(at, clock, run, step.key, step.actions))
    silence = _silence(definition).get(ticket.state)
    if silence is not None and ticket.resolved_at is not None and ticket.closed_at is None:
        event, days = silence
        at = ticket.resolved_at + timedelta(days=days)
        out.append(Timer(at, SILENCE, cycle(ticket, SILENCE), event))
    return sorted(out)


def _at_risk(cal: Calendar, now: datetime, due: datetime, left_at_risk: timedelta) -> datetime:
    """The instant only `left_at_risk` business time remains before `due` (`now` if that
    has passed already): counted forward from `now` with the time that remains."""
    left = sla.remaining(cal, now, due)
    if left <= left_at_risk:
        return min(now, due)
    return sla.deadline(cal, now, left - left_at_risk)


def _follow_ups(
    ticket: Ticket,
    definition: Definition,
    terms: Terms,
    timeline: list[Timer],
    changed: set[str],
) -> list[FollowUp]:
    """Per changed clock: its first step's timer (each step's job sets the next one's, see
    workflow.escalating), or, for a clock that no longer runs, cancel all its steps."""
    out: list[FollowUp] = []
    for clock in sorted(changed):
        mine = [t for t in timeline if t.clock == clock]
        if mine:
            out.append(ScheduleTimer(ticket.id, clock, mine[0].at, mine[0].step))
        elif clock == SILENCE:
            events = tuple(sorted({e for e, _ in _silence(definition).values()}))
            if events:
                out.append(CancelTimer(ticket.id, clock, events))
        else:
            out.append(CancelTimer(ticket.id, clock, terms.policy.step_keys()))
    return out


def _changed(ticket: Ticket, definition: Definition) -> set[str]:
    """The clocks (and the silence timer) whose columns this call changed; all of them for
    a ticket that is not a loaded record (a new one). A new state matters to the silence
    timer only where it may start or end one: a state that has one, or a ticket that was
    resolved before (it may be leaving one), so a claim changes nothing here."""
    changes = getattr(ticket, "changes", None)
    if changes is None:
        return set(_WATCHED)
    keys = changes().keys()
    changed = {clock for clock, columns in _WATCHED.items() if any(c in keys for c in columns)}
    if (
        SILENCE in changed
        and "resolved_at" not in keys
        and ticket.resolved_at is None
        and ticket.state not in _silence(definition)
    ):
        changed.discard(SILENCE)
    return changed


_silences: dict[int, tuple[Definition, dict[str, tuple[str, int]]]] = {}


def _silence(definition: Definition) -> dict[str, tuple[str, int]]:
    """State -> (event, days) for system events guarded by `silent_since_resolve`: the
    lifecycle's own `auto_close`, at the silence its guard asks for. Cached per definition."""
    cached = _silences.get(id(definition))
    if cached is not None and cached[0] is definition:
        return cached[1]
    found: dict[str, tuple[str, int]] = {}
    for event in definition.events.values():
        if "system" not in event.by:
            continue
        for t in event.transitions:
            for guard in t.guards:
                if guard.rule == SILENCE_GUARD:
                    found.setdefault(t.source, (event.id, int(guard.kwargs.get("days", 7))))
    _silences[id(definition)] = (definition, found)
    return found
