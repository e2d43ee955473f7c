"""Properties of the SLA maths over random calendars, starts, targets and pauses.

Calendars are drawn in zones with clock changes (Berlin, New York, Lord Howe's half-hour
change, Chile's change at midnight) and without (UTC, Kolkata), with random split shifts,
24:00 ends, holidays and country holidays. Targets and pauses have microseconds, so
"exact" means exact: the maths is integer arithmetic on datetimes, never floats.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.calendar_format import calendar_to_data, parse_calendar
from workflow.calendars import WEEKDAYS, Calendar
from workflow.sla import at_risk_at, deadline, elapsed, is_open, open_intervals, remaining

ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "UTC",
    "Asia/Kolkata",
)
FROM, TO = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 12, 31, tzinfo=UTC)
TINY = timedelta(microseconds=1)

EXAMPLES = settings(deadline=None, max_examples=150)  # the first country lookup takes ~40 ms


@st.composite
def day_ranges(draw) -> list[str]:
    """0 to 3 disjoint ranges of one day as written in a calendar (minutes, up to 24:00)."""
    cuts = sorted(draw(st.sets(st.integers(0, 1440), max_size=6)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    return [f"{a // 60:02d}:{a % 60:02d}-{b // 60:02d}:{b % 60:02d}" for a, b in pairs]


@st.composite
def calendars(draw) -> Calendar:
    hours = draw(
        st.one_of(st.just("24x7"), st.fixed_dictionaries({d: day_ranges() for d in WEEKDAYS}))
    )
    if hours != "24x7" and _weekly_minutes(hours) < 240:  # keep 10-day targets within years
        hours["wed"] = ["08:00-12:00"]
    data = {"timezone": draw(st.sampled_from(ZONES)), "hours": hours}
    holidays = draw(st.lists(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=20))
    if holidays:
        data["holidays"] = [d.isoformat() for d in holidays]
    country = draw(st.sampled_from([None, "DE", "US", "CL"]))
    if country:
        data["country"] = country
    return parse_calendar(data)


def _weekly_minutes(hours: dict[str, list[str]]) -> int:
    total = 0
    for ranges in hours.values():
        for text in ranges:
            a, b = (int(x[:2]) * 60 + int(x[3:]) for x in text.split("-"))
            total += b - a
    return total


instants = st.datetimes(
    FROM.replace(tzinfo=None), TO.replace(tzinfo=None) - timedelta(days=60)
).map(lambda d: d.replace(tzinfo=UTC))
targets = st.timedeltas(TINY, timedelta(days=10))


@st.composite
def pauses(draw, start: datetime) -> list[tuple[datetime, datetime]]:
    spans = []
    for _ in range(draw(st.integers(0, 4))):
        a = start + draw(st.timedeltas(timedelta(days=-2), timedelta(days=20)))
        spans.append((a, a + draw(st.timedeltas(timedelta(0), timedelta(days=5)))))
    return spans


@EXAMPLES
@given(calendars(), instants, targets, st.data())
def test_elapsed_up_to_the_deadline_is_the_target_and_it_is_the_earliest(cal, start, target, data):
    spans = data.draw(pauses(start))
    due = deadline(cal, start, target, spans)
    assert elapsed(cal, start, due, spans) == target
    assert elapsed(cal, start, due - TINY, spans) < target
    assert due.tzinfo is UTC and due > start


@EXAMPLES
@given(calendars(), instants, targets, st.data())
def test_a_pause_never_makes_a_deadline_earlier(cal, start, target, data):
    spans = data.draw(pauses(start))
    extra = data.draw(pauses(start))
    assert deadline(cal, start, target, spans + extra) >= deadline(cal, start, target, spans)


@EXAMPLES
@given(calendars(), instants, targets, targets, st.data())
def test_a_longer_target_never_gives_an_earlier_deadline(cal, start, t1, t2, data):
    spans = data.draw(pauses(start))
    short, long = sorted((t1, t2))
    assert deadline(cal, start, short, spans) <= deadline(cal, start, long, spans)


@EXAMPLES
@given(calendars(), instants, targets, st.floats(0, 1))
def test_business_time_adds_up_over_any_split(cal, start, target, share):
    due = deadline(cal, start, target)
    now = start + (due - start) * share
    assert elapsed(cal, start, now) + remaining(cal, now, due) == target


@EXAMPLES
@given(calendars(), instants, targets, st.integers(1, 100), st.integers(0, 20000), st.data())
def test_at_risk_comes_at_its_threshold_and_never_after_the_deadline(
    cal, start, target, percent, minutes, data
):
    spans = data.draw(pauses(start))
    due = deadline(cal, start, target, spans)
    by_share = at_risk_at(cal, start, target, percent=percent, pauses=spans)
    assert by_share <= due
    assert elapsed(cal, start, by_share, spans) == -((-target * percent) // 100)
    by_minutes = at_risk_at(cal, start, target, minutes_before=minutes, pauses=spans)
    assert by_minutes <= due
    if timedelta(minutes=minutes) < target:
        assert elapsed(cal, by_minutes, due, spans) == timedelta(minutes=minutes)
    else:
        assert by_minutes == start


@EXAMPLES
@given(calendars(), instants, st.timedeltas(timedelta(0), timedelta(days=15)))
def test_open_intervals_are_ordered_disjoint_inside_the_range_and_sum_to_elapsed(cal, start, span):
    end = start + span
    got = list(open_intervals(cal, start, end))
    assert all(start <= a < b <= end for a, b in got)
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(got, got[1:], strict=False))
    assert sum((b - a for a, b in got), timedelta(0)) == elapsed(cal, start, end)


def _wall_clock_says_open(cal: Calendar, at: datetime) -> bool:
    local = at.astimezone(cal.zone)
    minute = local.hour * 60 + local.minute  # boundaries are whole minutes
    return not cal.is_holiday(local.date()) and any(
        a <= minute < b for a, b in cal.hours[local.weekday()]
    )


@EXAMPLES
@given(calendars(), instants)
def test_open_exactly_when_the_local_wall_clock_is_in_a_range(cal, at):
    """Away from clock changes, opening is what the wall clock and the holidays say."""
    zone: ZoneInfo = cal.zone
    if (at - timedelta(days=1)).astimezone(zone).utcoffset() != (at + timedelta(days=1)).astimezone(
        zone
    ).utcoffset():
        return
    assert is_open(cal, at) == _wall_clock_says_open(cal, at)


@EXAMPLES
@given(calendars())
def test_a_calendar_survives_json(cal):
    assert parse_calendar(json.loads(json.dumps(calendar_to_data(cal)))) == cal
