"""The SLA breach queue's values, and how each reads on the page and in the CSV export: a
running clock that is late or at risk (`ClockState`: `late by 2h 05m`, `at risk in 20 min`),
a ticket's entry under its most urgent clock, the groups by team and plan, and the queue.

`workflow.breaches` decides what goes in; this module only holds and words it, so the ops
pages can name the clocks (`CLOCK_LABELS`) without the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

CLOCK_LABELS = {
    "first_response": "First response",
    "next_response": "Next response",
    "resolution": "Resolution",
}


def humanise(delta: timedelta) -> str:
    """A duration as people say it: `14 min`, `2h 05m`, `3d 4h` (rounded down to the
    minute, so a deadline is never shown further away than it is)."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


@dataclass(frozen=True)
class ClockState:
    """One running clock that is breached or at risk within the horizon."""

    clock: str
    due_at: datetime
    at_risk_at: datetime
    """When it is (or was, at the latest: `now`) at risk by the plan's threshold."""
    business_left: timedelta
    """Business time left until due on the plan's calendar (zero once due)."""
    now: datetime

    @property
    def breached(self) -> bool:
        return self.due_at < self.now

    @property
    def label(self) -> str:
        return CLOCK_LABELS.get(self.clock, self.clock)

    @property
    def minutes_past_due(self) -> int:
        """Whole minutes since the due time; negative while it is still ahead."""
        return int((self.now - self.due_at).total_seconds() // 60)

    @property
    def status(self) -> str:
        """`late by 2h 05m` or `due in 14 min`."""
        if self.breached:
            return f"late by {humanise(self.now - self.due_at)}"
        return f"due in {humanise(self.due_at - self.now)}"

    @property
    def risk(self) -> str:
        """`at risk now`, or `at risk in 20 min`; empty once breached, and when the plan
        has no threshold (at risk only at the due time, which `status` says already)."""
        if self.breached or self.at_risk_at >= self.due_at > self.now:
            return ""
        if self.at_risk_at <= self.now:
            return "at risk now"
        return f"at risk in {humanise(self.at_risk_at - self.now)}"

    @property
    def business_note(self) -> str:
        """With a business calendar, the business time left when it differs from the
        wall-clock time left (nights and weekends in between), e.g. `40 min of business
        time left`; empty otherwise."""
        if self.breached or abs(self.due_at - self.now - self.business_left) < timedelta(minutes=1):
            return ""
        return f"{humanise(self.business_left)} of business time left"

    def urgency(self) -> tuple:
        if self.breached:
            return (0, self.due_at)
        return (1, self.business_left, self.due_at)


@dataclass(frozen=True)
class Entry:
    """A ticket in the queue, under its most urgent clock (`clock`); `others` are its
    further breached or at-risk clocks."""

    ticket_id: int
    number: int | None
    subject: str
    state: str
    priority: str
    assignee: str | None
    team_id: int | None
    team: str | None
    plan_id: int
    plan: str
    clock: ClockState
    others: tuple[ClockState, ...] = ()

    def urgency(self) -> tuple:
        return (*self.clock.urgency(), self.number or 0)


@dataclass(frozen=True)
class Group:
    """The entries of one team and plan, most urgent first."""

    team: str | None
    plan: str
    entries: tuple[Entry, ...]

    @property
    def breached(self) -> int:
        return sum(1 for e in self.entries if e.clock.breached)

    @property
    def at_risk(self) -> int:
        return len(self.entries) - self.breached


@dataclass(frozen=True)
class BreachQueue:
    now: datetime
    horizon: timedelta
    entries: tuple[Entry, ...]
    """Every entry, most urgent first (what the CSV export lists)."""
    groups: tuple[Group, ...]
    """By team and plan; a group's place is that of its most urgent entry."""
    truncated: bool
    """True when more candidate tickets existed than `cap`: the most overdue are shown."""

    @property
    def breached(self) -> int:
        return sum(g.breached for g in self.groups)

    @property
    def at_risk(self) -> int:
        return sum(g.at_risk for g in self.groups)
