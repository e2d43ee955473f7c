"""The SLA breach queue: running clocks past their due time, and those at risk within the
next hour, grouped by team and plan, most urgent first. Pure reads; `now` is passed in.

Decisions, so the page and its CSV export can be read precisely:

* **At risk is computed from the plan**, the way the timers compute it (the plan's
  threshold as business time left, `Terms.at_risk_left`, and `workflow.sla.remaining` /
  `deadline` on the plan's calendar), not read from the `at_risk` rows of `sla_steps`.
  Those rows only exist once a step has run, so they cannot say what becomes at risk in
  the next hour, and they lag whenever the workers do; the database columns are the truth.
* **Running clocks only.** A clock paused while the ticket waits on the customer (or
  stopped) is nobody's work now, so it is not in this queue, even if it breached earlier
  (compliance, `workflow.compliance`, still counts that breach).
* **Breached** means the due instant has passed (`due < now`); **at risk within the
  hour** means the instant the clock becomes at risk is at most an hour away (or passed).
  A plan without a threshold is at risk at its due time, so "due within the hour" shows.
* **Urgency**: breached clocks first, the longest overdue on top; then the at-risk ones by
  the business time they have left (with a calendar, 40 business minutes left on Friday
  evening is more urgent than two hours left on a Monday morning). A ticket appears once,
  under its most urgent clock; its other late or at-risk clocks are listed with it.
* Cost: two queries (the plans with their calendars, then the candidate tickets through
  the partial index on `next_due_at`, bounded per plan by the latest due time that can be
  at risk within the hour); at most `cap` tickets, most overdue first (`truncated` says so).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from workflow import plan_terms, sla
from workflow.breach_values import BreachQueue, ClockState, Entry, Group
from workflow.definition_types import CLOCKS
from workflow.models import Priority, SlaCalendar, SlaPlan, Team, Ticket, User
from workflow.plan_terms import Terms

HORIZON = timedelta(hours=1)
CAP = 500
_ZERO = timedelta(0)


def breach_queue(
    session: Session, now: datetime, *, horizon: timedelta = HORIZON, cap: int = CAP
) -> BreachQueue:
    """The breach queue as of `now` (see the module docstring for every rule)."""
    plans = load_plans(session)
    limits = {pid: _latest_due(terms, now + horizon) for pid, (_, terms) in plans.items()}
    limits = {pid: limit for pid, limit in limits.items() if limit is not None}
    if not limits:
        return BreachQueue(now, horizon, (), (), False)
    rows = session.execute(_candidates(limits, cap + 1)).all()
    truncated = len(rows) > cap
    entries = []
    for row in rows[:cap]:
        name, terms = plans[row.sla_plan_id]
        states = sorted(
            (s for s in _clock_states(row, terms, now, horizon) if s is not None),
            key=ClockState.urgency,
        )
        if states:
            entries.append(_entry(row, name, states))
    entries.sort(key=Entry.urgency)
    return BreachQueue(now, horizon, tuple(entries), _group(entries), truncated)


def load_plans(session: Session) -> dict[int, tuple[str, Terms]]:
    """Every plan's name and terms (calendar and threshold), in one query."""
    rows = session.execute(
        select(SlaPlan, SlaCalendar.definition).outerjoin(
            SlaCalendar, SlaCalendar.id == SlaPlan.calendar_id
        )
    ).all()
    return {plan.id: (plan.name, plan_terms.from_rows(plan, calendar)) for plan, calendar in rows}


def _latest_due(terms: Terms, until: datetime) -> datetime | None:
    """The latest due time of any of the plan's clocks that is at risk by `until`: the
    instant the largest at-risk threshold (as business time) has elapsed after `until`."""
    if not terms.targets:
        return None
    left = max((terms.at_risk_left(c) or _ZERO for c in terms.targets), default=_ZERO)
    return sla.deadline(terms.calendar, until, left) if left > _ZERO else until


def _candidates(limits: Mapping[int, datetime], cap: int) -> Any:
    """Open tickets whose nearest running deadline may be breached or at risk in time.
    `next_due_at` is the nearest running deadline, so a ticket with any such clock has it
    at or before its plan's limit; the range on the partial index does the finding."""
    per_plan = [
        and_(Ticket.sla_plan_id == pid, Ticket.next_due_at <= limit)
        for pid, limit in sorted(limits.items())
    ]
    return (
        select(
            Ticket.id,
            Ticket.number,
            Ticket.subject,
            Ticket.state,
            Ticket.sla_plan_id,
            Ticket.team_id,
            Ticket.closed_at,
            Ticket.first_responded_at,
            *(getattr(Ticket, f"{c}_due_at") for c in CLOCKS),
            *(getattr(Ticket, f"{c}_paused_at") for c in CLOCKS),
            Priority.name.label("priority_name"),
            Team.name.label("team_name"),
            User.name.label("assignee_name"),
        )
        .join(Priority, Priority.id == Ticket.priority_id)
        .outerjoin(Team, Team.id == Ticket.team_id)
        .outerjoin(User, User.id == Ticket.assignee_id)
        .where(
            Ticket.closed_at.is_(None),
            Ticket.next_due_at <= max(limits.values()),
            or_(*per_plan),
        )
        .order_by(Ticket.next_due_at, Ticket.id)
        .limit(cap)
    )


def _running(row: Any, clock: str) -> bool:
    """The clock runs: it has a deadline, is not paused, and has not stopped (the first
    response stops at the first public reply, every clock at closing). The same rule as
    `workflow.clocks`, read from the columns the queue selected."""
    if getattr(row, f"{clock}_due_at") is None or getattr(row, f"{clock}_paused_at"):
        return False
    if clock == "first_response":
        return row.first_responded_at is None
    return row.closed_at is None


def _clock_states(
    row: Any, terms: Terms, now: datetime, horizon: timedelta
) -> Iterable[ClockState | None]:
    for clock in CLOCKS:
        if not _running(row, clock):
            continue
        due = getattr(row, f"{clock}_due_at")
        if due < now:
            yield ClockState(clock, due, now, _ZERO, now)
            continue
        yield _at_risk_state(clock, due, terms, now, horizon)


def _at_risk_state(
    clock: str, due: datetime, terms: Terms, now: datetime, horizon: timedelta
) -> ClockState | None:
    """The clock if it is at risk by `now + horizon`: the instant only the threshold's
    business time is left (as `workflow.clocks` schedules the at-risk step)."""
    cal = terms.calendar
    left = sla.remaining(cal, now, due)
    threshold = terms.at_risk_left(clock) or _ZERO
    if left <= threshold:
        at_risk = now
    else:
        at_risk = sla.deadline(cal, now, left - threshold) if threshold > _ZERO else due
    if at_risk > now + horizon:
        return None
    return ClockState(clock, due, at_risk, left, now)


def _entry(row: Any, plan: str, states: list[ClockState]) -> Entry:
    return Entry(
        ticket_id=row.id,
        number=row.number,
        subject=row.subject,
        state=row.state,
        priority=row.priority_name,
        assignee=row.assignee_name,
        team_id=row.team_id,
        team=row.team_name,
        plan_id=row.sla_plan_id,
        plan=plan,
        clock=states[0],
        others=tuple(states[1:]),
    )


def _group(entries: list[Entry]) -> tuple[Group, ...]:
    """Groups in the order of their most urgent entry (`entries` is sorted already)."""
    grouped: dict[tuple[int | None, int], list[Entry]] = {}
    names: dict[tuple[int | None, int], tuple[str | None, str]] = {}
    for entry in entries:
        key = (entry.team_id, entry.plan_id)
        grouped.setdefault(key, []).append(entry)
        names[key] = (entry.team, entry.plan)
    return tuple(Group(*names[key], tuple(items)) for key, items in grouped.items())
