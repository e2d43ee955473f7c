"""Pure SLA maths: business time, deadlines, remaining time and at-risk instants.

Everything here is a function of its arguments: the calendar (workflow/calendars.py), the
instants and the pauses it is given. Nothing reads a clock; callers pass `now`. Inputs must
be aware datetimes (a naive one is a ValueError, never silently taken as UTC or local time);
results are aware UTC datetimes.

Business time is real elapsed time inside the calendar's opening ranges, outside holidays
and outside pauses. The maths walks the calendar one local day at a time (each day's opening
is cached on the calendar), never minute by minute, and is exact to the microsecond:
`elapsed(cal, start, deadline(cal, start, t)) == t` for every target t > 0, and the deadline
is the earliest instant at which the target is reached. docs/sla.md explains the semantics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta

from workflow.calendars import Calendar, Interval

TARGET = re.compile(r"(\d+)([mh])")
MAX_TARGET = timedelta(hours=8760)
HORIZON = timedelta(days=366 * 20)
"""A deadline further than this from its start is refused rather than searched for."""

Pauses = Sequence[tuple[datetime, datetime]]


class TargetError(ValueError):
    """A target that cannot be used; the message is one sentence saying what is wrong."""


def parse_target(text: str) -> timedelta:
    """A target written as whole minutes or hours (`90m`, `8h`), longer than zero."""
    raw = text.strip() if isinstance(text, str) else ""
    if raw.startswith("-"):
        raise TargetError(f"The target `{text}` is negative; a target must be longer than zero.")
    m = TARGET.fullmatch(raw)
    if m is None:
        raise TargetError(
            f"`{text}` is not a target; write whole minutes or hours such as 90m or 8h."
        )
    amount = int(m[1])
    if amount == 0:
        raise TargetError(f"The target `{text}` is zero; a target must be longer than zero.")
    if amount > MAX_TARGET // (timedelta(minutes=1) if m[2] == "m" else timedelta(hours=1)):
        raise TargetError(f"The target `{text}` is longer than a year (8760h), the most allowed.")
    return timedelta(minutes=amount) if m[2] == "m" else timedelta(hours=amount)


def format_target(td: timedelta) -> str:
    """The shortest written form of a target: `8h` rather than `480m`, `90m` for 1.5 hours."""
    if td <= timedelta(0) or td % timedelta(minutes=1):
        raise TargetError(f"A target is a positive number of whole minutes, not {td}.")
    minutes = td // timedelta(minutes=1)
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


# ---- business time ---------------------------------------------------------------------------


def open_intervals(cal: Calendar, start: datetime, end: datetime) -> Iterator[Interval]:
    """The calendar's opening inside [start, end), in order, as aware UTC intervals.

    Touching intervals (Monday 24:00 and Tuesday 00:00) come out as one.
    """
    start, end = _utc(start, "start"), _utc(end, "end")
    pending: Interval | None = None
    for a, b in _opening_from(cal, start):
        if a >= end:
            break
        b = min(b, end)
        if pending is not None and pending[1] == a:
            pending = (pending[0], b)
            continue
        if pending is not None:
            yield pending
        pending = (a, b)
    if pending is not None:
        yield pending


def elapsed(cal: Calendar, start: datetime, end: datetime, pauses: Pauses = ()) -> timedelta:
    """Business time in [start, end) outside the pauses; zero when end is not after start."""
    start, end = _utc(start, "start"), _utc(end, "end")
    total = timedelta(0)
    if end <= start:
        return total
    for a, b in _minus(_opening_from(cal, start), _normalise(pauses, start)):
        if a >= end:
            break
        total += min(b, end) - a
    return total


def deadline(cal: Calendar, start: datetime, target: timedelta, pauses: Pauses = ()) -> datetime:
    """The earliest instant at which `target` business time has elapsed since `start`.

    A start outside business hours counts from the next opening; the pauses (closed
    intervals, in any order, possibly overlapping) add no business time.
    """
    start = _utc(start, "start")
    if target <= timedelta(0):
        raise TargetError("A target must be longer than zero.")
    need, limit = target, start + HORIZON
    for a, b in _minus(_opening_from(cal, start), _normalise(pauses, start)):
        if a > limit:
            break
        if b - a >= need:
            return a + need
        need -= b - a
    raise TargetError(
        f"A target of {_show(target)} is not reached within 20 years of "
        f"{start.isoformat()} with this calendar."
    )


def remaining(cal: Calendar, now: datetime, due: datetime) -> timedelta:
    """Business time left from `now` until `due` (zero once due); future pauses are unknown."""
    return elapsed(cal, now, due)


def at_risk_at(
    cal: Calendar,
    start: datetime,
    target: timedelta,
    *,
    percent: int | None = None,
    minutes_before: int | None = None,
    pauses: Pauses = (),
) -> datetime:
    """When a clock becomes at risk: once `percent` of the target has elapsed, or when only
    `minutes_before` business minutes remain before the deadline (give exactly one).

    A threshold at or beyond the whole target means at risk from the start: `start` itself.
    """
    start = _utc(start, "start")
    if (percent is None) == (minutes_before is None):
        raise ValueError("Give the at-risk threshold as either a percentage or minutes before.")
    if percent is not None:
        if not 1 <= percent <= 100:
            raise ValueError(f"An at-risk percentage must be from 1 to 100, not {percent}.")
        part = -((-target * percent) // 100)  # rounded up to the microsecond
    else:
        assert minutes_before is not None
        if minutes_before < 0:
            raise ValueError(f"Minutes before the due time cannot be negative ({minutes_before}).")
        part = target - timedelta(minutes=minutes_before)
    if part <= timedelta(0):
        return start
    return deadline(cal, start, part, pauses)


def is_open(cal: Calendar, at: datetime) -> bool:
    """Whether the calendar is open at the instant `at`."""
    at = _utc(at, "at")
    return next(_opening_from(cal, at))[0] == at


def next_opening(cal: Calendar, at: datetime) -> datetime:
    """The earliest instant at or after `at` when the calendar is open."""
    return next(_opening_from(cal, _utc(at, "at")))[0]


# ---- helpers ---------------------------------------------------------------------------------


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"`{name}` must be a datetime, not {type(value).__name__}.")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"`{name}` must be an aware datetime (with a time zone), not naive.")
    return value.astimezone(UTC)


def _opening_from(cal: Calendar, start: datetime) -> Iterator[Interval]:
    """Every opening interval from `start` on (the first one clipped to it), day by day."""
    day = start.astimezone(cal.zone).date()
    while True:
        for a, b in cal.opening(day):
            if b > start:
                yield (a if a > start else start), b
        if day == date.max:
            return
        day += timedelta(days=1)


def _normalise(pauses: Pauses, start: datetime) -> list[Interval]:
    """Pauses as sorted, merged UTC intervals that end after `start`."""
    spans = []
    for pause in pauses:
        a, b = _utc(pause[0], "pause start"), _utc(pause[1], "pause end")
        if b < a:
            raise ValueError(
                f"A pause cannot end ({b.isoformat()}) before it starts ({a.isoformat()})."
            )
        if b > start and b > a:
            spans.append((max(a, start), b))
    spans.sort()
    merged: list[Interval] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _minus(intervals: Iterable[Interval], pauses: list[Interval]) -> Iterator[Interval]:
    """The parts of sorted `intervals` outside the sorted, merged `pauses`."""
    first = 0
    for a, b in intervals:
        while first < len(pauses) and pauses[first][1] <= a:
            first += 1
        i = first
        while a < b:
            if i >= len(pauses) or pauses[i][0] >= b:
                yield a, b
                break
            pa, pb = pauses[i]
            if pa > a:
                yield a, pa
            a = max(a, pb)
            i += 1


def _show(td: timedelta) -> str:
    try:
        return format_target(td)
    except TargetError:
        return str(td)
