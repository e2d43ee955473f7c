"""SLA compliance: how many clocks met or breached their target, per plan and team, per
local day. Pure reads in one query; `now` and the time zone that defines "a day" are
passed in.

The rules (docs/sla.md's clocks, counted per run of a clock, "cycle"):

* A clock **counts** until it stops running: the first response at the first public reply,
  the resolution when the ticket is resolved (and stays resolved or is closed). Time while
  it is paused (waiting on the customer) does not count, so a clock's run ends at its pause
  when it was paused at the stop, else at the stop, else (still running) `now`.
* **Met**: the clock stopped, and its run ended at or before its due time. Counted on the
  local day of the stop (the first reply, the resolution).
* **Breached**: its run went past its due time (`due < end`), whether it has stopped since
  or not. Counted on the local day of the due time, once per ticket, clock and cycle: the
  `breach` row the timers record in `sla_steps` is the record, and a breach the timers
  have not recorded yet (a worker lagging, Redis down) is found from the ticket's columns,
  unless a row for the same due time exists.
* The **next-response** clock starts again at each customer message and its columns are
  cleared at each reply, so its runs are counted from the outcome the reply recorded
  (`sla_outcomes`, workflow/sla_outcomes.py: met when the reply came at or before the due
  second, else breached), plus a running one past due and breaches the timers recorded
  for runs not answered yet. A recorded outcome wins over the run's `breach` step (a reply
  at the due second while the breach job ran is met), so a run counts once.
* Recorded rows (`sla_steps` breaches, `sla_outcomes`) count for the plan and team they
  record, those of the time of the breach or the reply: a ticket that breached under team
  A and moved to team B still counts for A. What is read from the ticket's columns (met
  first responses and resolutions, breaches the timers have not recorded yet) counts for
  the ticket's current plan and team.
* Figures describe each clock as it stands now: a resolution met on Monday and reopened on
  Tuesday is no longer met (the clock runs again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, exists, func, literal, select, type_coerce, union_all
from sqlalchemy.orm import Session

from workflow.calendars import wall_to_utc
from workflow.definition_types import CLOCKS
from workflow.escalation import BREACH
from workflow.models import SlaOutcome, SlaPlan, SlaStep, Team, Ticket, UtcDateTime

MET, BREACHED = "met", "breached"
WITH_MET = CLOCKS
"""The clocks whose met runs are known: all three (see the module docstring)."""
WEEK_DAYS = 7
CHART_DAYS = 14


@dataclass
class Tally:
    met: int = 0
    breached: int = 0

    def add(self, other: Tally) -> None:
        self.met += other.met
        self.breached += other.breached

    @property
    def percent(self) -> float | None:
        """Share of met among the decided runs (None when none was decided)."""
        total = self.met + self.breached
        return None if total == 0 else 100.0 * self.met / total


def _tallies() -> dict[str, Tally]:
    return {clock: Tally() for clock in CLOCKS}


@dataclass
class Row:
    """One plan and team: a tally per clock for today and for the last 7 days."""

    plan: str | None
    team: str | None
    today: dict[str, Tally] = field(default_factory=_tallies)
    week: dict[str, Tally] = field(default_factory=_tallies)


def overall(tallies: dict[str, Tally]) -> Tally:
    """Every clock together: what the percentage met is of."""
    total = Tally()
    for clock in WITH_MET:
        total.add(tallies[clock])
    return total


@dataclass
class Compliance:
    now: datetime
    days: list[date]
    """The chart's local days, oldest first; the last is today."""
    rows: list[Row]
    """By plan, then team (no team last)."""
    breaches_per_day: list[dict[str, int]]
    """Per day of `days`: breaches per clock."""

    @property
    def today(self) -> dict[str, Tally]:
        return _sum(row.today for row in self.rows)

    @property
    def week(self) -> dict[str, Tally]:
        return _sum(row.week for row in self.rows)


def _sum(parts: Any) -> dict[str, Tally]:
    total = _tallies()
    for tallies in parts:
        for clock, tally in tallies.items():
            total[clock].add(tally)
    return total


def day_starts(now: datetime, zone: ZoneInfo, days: int) -> list[datetime]:
    """The UTC instants at which the last `days` local days (today last) began, plus the
    start of tomorrow: days are 23 or 25 hours long across a clock change."""
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    return [
        wall_to_utc(zone, datetime.combine(first + timedelta(days=i), time()))
        for i in range(days + 1)
    ]


def compliance(
    session: Session, now: datetime, zone: ZoneInfo, chart_days: int = CHART_DAYS
) -> Compliance:
    """Met and breached clocks for today and the last 7 local days (today included), per
    plan and team, and breaches per day over the last `chart_days` days. One query."""
    chart_days = max(chart_days, WEEK_DAYS)
    starts = day_starts(now, zone, chart_days)
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=chart_days - 1 - i) for i in range(chart_days)]
    rows: dict[tuple[int | None, int | None], Row] = {}
    per_day = [dict.fromkeys(CLOCKS, 0) for _ in days]
    for plan_id, plan, team_id, team, clock, outcome, day, count in session.execute(
        _query(now, starts)
    ):
        if day < 0:
            continue
        row = rows.setdefault((plan_id, team_id), Row(plan, team))
        tallies = [row.today] if day == chart_days - 1 else []
        if day >= chart_days - WEEK_DAYS:
            tallies.append(row.week)
        for tally in tallies:
            if outcome == MET:
                tally[clock].met += count
            else:
                tally[clock].breached += count
        if outcome == BREACHED:
            per_day[day][clock] += count
    ordered = sorted(
        rows.values(), key=lambda r: (r.plan is None, r.plan or "", r.team is None, r.team or "")
    )
    return Compliance(now, days, ordered, per_day)


# ---- the query -------------------------------------------------------------------------------


def _query(now: datetime, starts: Sequence[datetime]) -> Any:
    """Outcomes per plan, team, clock, outcome and day (index into `starts`; -1 before)."""
    since = starts[0]
    at_now = literal(now, UtcDateTime())
    outcomes = union_all(
        _recorded_breaches(since),
        *_next_response_recorded(since),
        *_first_response(since, at_now),
        *_resolution(since, at_now),
        _next_response_running(since, now),
    ).subquery("outcomes")
    day = case(
        *((outcomes.c.at >= start, i) for i, start in reversed(list(enumerate(starts[:-1])))),
        else_=-1,
    ).label("day")
    counted = (
        select(
            outcomes.c.plan_id,
            outcomes.c.team_id,
            outcomes.c.clock,
            outcomes.c.outcome,
            day,
            func.count().label("n"),
        )
        .group_by(outcomes.c.plan_id, outcomes.c.team_id, outcomes.c.clock, outcomes.c.outcome, day)
        .subquery("counted")
    )
    return (  # names joined to the few counted rows, not to every outcome
        select(
            counted.c.plan_id,
            SlaPlan.name,
            counted.c.team_id,
            Team.name,
            counted.c.clock,
            counted.c.outcome,
            counted.c.day,
            counted.c.n,
        )
        .outerjoin(SlaPlan, SlaPlan.id == counted.c.plan_id)
        .outerjoin(Team, Team.id == counted.c.team_id)
    )


def _outcome(clock: Any, outcome: str, at: Any) -> list[Any]:
    return [
        Ticket.sla_plan_id.label("plan_id"),
        Ticket.team_id.label("team_id"),
        type_coerce(clock, String(20)).label("clock"),
        literal(outcome, String(10)).label("outcome"),
        type_coerce(at, UtcDateTime()).label("at"),
    ]


def _unrecorded(clock: str, due: Any) -> Any:
    """No `breach` row records this clock's breach of this due time yet."""
    return ~exists().where(
        SlaStep.ticket_id == Ticket.id,
        SlaStep.clock == clock,
        SlaStep.step == BREACH,
        SlaStep.due_at == due,
    )


def _recorded_breaches(since: datetime) -> Any:
    """Every clock's breaches the timers recorded, for the plan and team of their time,
    except a next-response run whose end is recorded (`_next_response_recorded` counts it).
    `done_at >= since` only lets the index on done_at find them: a step is done at or
    after its due time."""
    ended = exists().where(
        SlaOutcome.ticket_id == SlaStep.ticket_id,
        SlaOutcome.clock == SlaStep.clock,
        SlaOutcome.cycle == SlaStep.cycle,
    )
    return select(
        SlaStep.plan_id.label("plan_id"),
        SlaStep.team_id.label("team_id"),
        type_coerce(SlaStep.clock, String(20)).label("clock"),
        literal(BREACHED, String(10)).label("outcome"),
        type_coerce(SlaStep.due_at, UtcDateTime()).label("at"),
    ).where(
        SlaStep.step == BREACH,
        SlaStep.done_at >= since,
        SlaStep.due_at >= since,
        ~and_(SlaStep.clock == "next_response", ended),
    )


def _next_response_recorded(since: datetime) -> list[Any]:
    """Next-response runs a reply ended: met on the day of the reply, breached on the day
    of the due time (found through the index on `ended_at`: a breach ends after its due)."""

    def counted(outcome: str, at: Any) -> Any:
        return select(
            SlaOutcome.plan_id.label("plan_id"),
            SlaOutcome.team_id.label("team_id"),
            type_coerce(SlaOutcome.clock, String(20)).label("clock"),
            literal(outcome, String(10)).label("outcome"),
            type_coerce(at, UtcDateTime()).label("at"),
        ).where(SlaOutcome.outcome == outcome, SlaOutcome.ended_at >= since, at >= since)

    return [counted(MET, SlaOutcome.ended_at), counted(BREACHED, SlaOutcome.due_at)]


def _first_response(since: datetime, now: Any) -> list[Any]:
    due = Ticket.first_response_due_at
    replied = Ticket.first_responded_at
    end = func.coalesce(Ticket.first_response_paused_at, replied, now)
    clock = literal("first_response", String(20))
    met = select(*_outcome(clock, MET, replied)).where(
        replied >= since, due.is_not(None), end <= due
    )
    breached = select(*_outcome(clock, BREACHED, due)).where(
        due >= since, due < end, _unrecorded("first_response", due)
    )
    return [met, breached]


def _resolution(since: datetime, now: Any) -> list[Any]:
    """Resolved and not reopened since: paused, and paused no later than the resolution
    (paused by it, or while waiting on the customer before it)."""
    due = Ticket.resolution_due_at
    paused = Ticket.resolution_paused_at
    resolved = and_(
        Ticket.resolved_at.is_not(None), paused.is_not(None), paused <= Ticket.resolved_at
    )
    end = func.coalesce(paused, Ticket.closed_at, now)
    clock = literal("resolution", String(20))
    met = select(*_outcome(clock, MET, Ticket.resolved_at)).where(
        Ticket.resolved_at >= since, resolved, due.is_not(None), paused <= due
    )
    breached = select(*_outcome(clock, BREACHED, due)).where(
        due >= since, due < end, _unrecorded("resolution", due)
    )
    return [met, breached]


def _next_response_running(since: datetime, now: datetime) -> Any:
    """A next-response clock running past its due time whose breach is not recorded yet
    (found through the index on `next_due_at`, the nearest running deadline)."""
    due = Ticket.next_response_due_at
    clock = literal("next_response", String(20))
    return select(*_outcome(clock, BREACHED, due)).where(
        Ticket.closed_at.is_(None),
        Ticket.next_due_at < now,
        due >= since,
        due < now,
        Ticket.next_response_paused_at.is_(None),
        _unrecorded("next_response", due),
    )
