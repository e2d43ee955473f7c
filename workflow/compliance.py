"""SLA compliance: how many clocks met or breached their target, per plan and team, per
local day. Pure reads in one query (workflow/compliance_query.py); `now` and the time zone
that defines "a day" are passed in. This module defines the figures and sums the query's
counted rows into them.

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

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from workflow.calendars import wall_to_utc
from workflow.compliance_query import BREACHED, MET, query
from workflow.definition_types import CLOCKS

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
        query(now, starts)
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
