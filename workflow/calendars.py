"""Business calendars as values: a time zone, weekly opening hours, holidays.

A `Calendar` is immutable and hashable; `workflow.calendar_format` reads one from YAML (or
the same mapping inside an SLA plan) and writes it back. Every problem is a `CalendarError`
whose message is one sentence a person can act on. A calendar that is never open is refused
here, so the SLA maths (workflow/sla.py) can always find the next opening. What one local
date's opening hours are in real (UTC) instants, with holidays and clock changes applied, is
`Calendar.opening`; docs/sla.md explains the rules.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as holiday_data

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALWAYS = "24x7"
DAY_MINUTES = 24 * 60
_CACHED_DAYS = 4096  # per calendar; a timer run touches a few weeks at most

Range = tuple[int, int]
"""Minutes after local midnight: [start, end), 0 <= start < end <= 1440 (1440 is 24:00)."""
Interval = tuple[datetime, datetime]
"""A half-open interval of real time, both ends aware UTC datetimes."""


class CalendarError(ValueError):
    """A calendar that cannot be used; the message is one sentence saying what is wrong."""


@dataclass(frozen=True)
class Calendar:
    """When a help desk is open. `hours` holds seven tuples of ranges, Monday first.

    Immutable and hashable (usable as a cache key); equal calendars compare equal. Holiday
    dates are local dates in `zone`; `country` (with an optional `subdivision`) adds that
    country's public holidays from the `holidays` package, looked up once per year.
    """

    zone: ZoneInfo
    hours: tuple[tuple[Range, ...], ...]
    holidays: frozenset[date] = frozenset()
    country: str | None = None
    subdivision: str | None = None
    _days: dict[int, tuple[Interval, ...]] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False
    )

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise CalendarError("A calendar needs opening hours for exactly seven weekdays.")
        if not any(end > start for day in self.hours for start, end in day):
            raise CalendarError(
                "The calendar is never open: give at least one weekday an opening range."
            )

    @property
    def always_open(self) -> bool:
        return all(day == ((0, DAY_MINUTES),) for day in self.hours)

    def is_holiday(self, day: date) -> bool:
        if day in self.holidays:
            return True
        return self.country is not None and day in _country_holidays(
            self.country, self.subdivision, day.year
        )

    def opening(self, day: date) -> tuple[Interval, ...]:
        """The real instants (UTC) this calendar is open on one local date, in order.

        A range covers the real time between the first instants at which the local clock
        reads its start and its end (see `wall_to_utc`), so a range spanning a clock change
        is an hour shorter or longer. Cached per calendar and date.
        """
        key = day.toordinal()
        cached = self._days.get(key)
        if cached is not None:
            return cached
        ranges = () if self.is_holiday(day) else self.hours[day.weekday()]
        midnight = datetime(day.year, day.month, day.day)
        result = []
        for start, end in ranges:
            a = wall_to_utc(self.zone, midnight + timedelta(minutes=start))
            b = wall_to_utc(self.zone, midnight + timedelta(minutes=end))
            if b > a:  # a range wholly inside a skipped hour is empty that day
                result.append((a, b))
        if len(self._days) >= _CACHED_DAYS:
            self._days.clear()
        self._days[key] = value = tuple(result)
        return value


def wall_to_utc(zone: ZoneInfo, wall: datetime) -> datetime:
    """The first real instant (UTC) at which a clock in `zone` reads `wall` or later.

    A wall time that happens twice (the hour repeated when clocks go back) means its first
    occurrence; a wall time that never happens (the hour skipped when clocks go forward)
    means the instant of the jump, when the clock first reads a later time.
    """
    early = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    late = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if early <= late:  # an ordinary time (equal) or a repeated one (first occurrence)
        return early
    # Skipped: `late` (new offset) reads before `wall`, `early` (old offset) after it. The
    # jump happens at a whole second between them; find it by bisection over seconds.
    lo, hi = math.floor(late.timestamp()), math.ceil(early.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


@lru_cache(maxsize=512)
def _country_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """One country's public holidays of one year (building them costs milliseconds)."""
    return frozenset(holiday_data.country_holidays(country, subdiv=subdivision, years=year))


ALWAYS_OPEN = Calendar(zone=ZoneInfo("UTC"), hours=((((0, DAY_MINUTES),),) * 7))
"""Open around the clock, in UTC: for plans without a calendar."""
