"""The SLA maths, case by case: weekends, holidays, split shifts, 24:00, clock changes, pauses.

Times without an offset are wall times in the calendar's zone, as a person reads them.
2026: Berlin changes clocks on Sun 29 March (02:00 -> 03:00) and Sun 25 October
(03:00 -> 02:00); New York on Sun 8 March (02:00 -> 03:00) and Sun 1 November (02:00 -> 01:00).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from workflow.calendar_format import parse_calendar
from workflow.calendars import ALWAYS_OPEN, Calendar
from workflow.sla import (
    TargetError,
    at_risk_at,
    deadline,
    elapsed,
    format_target,
    is_open,
    next_opening,
    open_intervals,
    parse_target,
    remaining,
)

WORKDAYS = {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
BERLIN = parse_calendar(
    {
        "timezone": "Europe/Berlin",
        "hours": {**WORKDAYS, "tue": ["09:00-12:00", "13:00-17:00"]},
        "holidays": ["2026-03-04"],
    }
)
BERLIN_DE = parse_calendar({"timezone": "Europe/Berlin", "hours": WORKDAYS, "country": "DE"})
BERLIN_BY = parse_calendar(
    {"timezone": "Europe/Berlin", "hours": WORKDAYS, "country": "DE", "subdivision": "BY"}
)
NEW_YORK = parse_calendar({"timezone": "America/New_York", "hours": WORKDAYS, "country": "US"})
NIGHTS = parse_calendar(
    {"timezone": "Europe/Berlin", "hours": {"fri": ["18:00-24:00"], "sat": ["00:00-02:00"]}}
)
BERLIN_24X7 = parse_calendar({"timezone": "Europe/Berlin", "hours": "24x7"})
NEW_YORK_24X7 = parse_calendar({"timezone": "America/New_York", "hours": "24x7"})


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def local(cal: Calendar, text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=cal.zone)


def h(hours: float) -> timedelta:
    return timedelta(hours=hours)


@pytest.mark.parametrize(
    ("case", "cal", "start", "target", "due"),
    [
        ("inside one day", BERLIN, "2026-03-02 10:00", "2h", "2026-03-02 12:00"),
        ("over a night", BERLIN, "2026-03-02 16:00", "2h", "2026-03-03 10:00"),
        ("over a weekend", BERLIN, "2026-03-06 15:00", "8h", "2026-03-09 15:00"),
        ("into a split shift", BERLIN, "2026-03-03 11:00", "2h", "2026-03-03 14:00"),
        ("ends at the break", BERLIN, "2026-03-03 09:00", "3h", "2026-03-03 12:00"),
        ("ends at closing", BERLIN, "2026-03-02 09:00", "8h", "2026-03-02 17:00"),
        ("starts in the break", BERLIN, "2026-03-03 12:30", "30m", "2026-03-03 13:30"),
        ("starts before opening", BERLIN, "2026-03-02 07:00", "1h", "2026-03-02 10:00"),
        ("starts on Saturday", BERLIN, "2026-03-07 11:00", "90m", "2026-03-09 10:30"),
        ("starts at closing", BERLIN, "2026-03-02 17:00", "1h", "2026-03-03 10:00"),
        ("holiday by date", BERLIN, "2026-03-03 16:00", "2h", "2026-03-05 10:00"),
        ("Good Friday, Easter Monday", BERLIN_DE, "2026-04-02 16:00", "2h", "2026-04-07 10:00"),
        ("a date is not a country", BERLIN, "2026-04-02 16:00", "2h", "2026-04-03 10:00"),
        ("Epiphany in Bavaria only", BERLIN_BY, "2026-01-05 16:00", "2h", "2026-01-07 10:00"),
        ("...not in all Germany", BERLIN_DE, "2026-01-05 16:00", "2h", "2026-01-06 10:00"),
        ("US holiday observed", NEW_YORK, "2026-07-02 16:00", "2h", "2026-07-06 10:00"),
        ("Christmas Day", BERLIN_DE, "2026-12-24 15:00", "8h", "2026-12-28 15:00"),
        ("night shift to 24:00", NIGHTS, "2026-03-06 23:00", "2h", "2026-03-07 01:00"),
        ("24:00 exactly", NIGHTS, "2026-03-06 18:00", "6h", "2026-03-07 00:00"),
        ("next week's nights", NIGHTS, "2026-03-07 01:00", "2h", "2026-03-13 19:00"),
        # Office hours do not move with the clocks; the deadline carries the new offset.
        ("Berlin spring weekend", BERLIN, "2026-03-27 15:00+01", "8h", "2026-03-30 15:00+02"),
        ("Berlin autumn weekend", BERLIN, "2026-10-23 15:00+02", "8h", "2026-10-26 15:00+01"),
        ("NY spring weekend", NEW_YORK, "2026-03-06 15:00-05", "8h", "2026-03-09 15:00-04"),
        ("NY autumn weekend", NEW_YORK, "2026-10-30 15:00-04", "8h", "2026-11-02 15:00-05"),
        # Around the clock, a day of the change has 23 or 25 real hours.
        ("Berlin 23-hour day", BERLIN_24X7, "2026-03-28 12:00+01", "24h", "2026-03-29 13:00+02"),
        ("Berlin 25-hour day", BERLIN_24X7, "2026-10-24 12:00+02", "24h", "2026-10-25 11:00+01"),
        ("Berlin skipped hour", BERLIN_24X7, "2026-03-29 01:30+01", "1h", "2026-03-29 03:30+02"),
        ("Berlin repeated hour", BERLIN_24X7, "2026-10-25 02:30+02", "1h", "2026-10-25 02:30+01"),
        ("NY 23-hour day", NEW_YORK_24X7, "2026-03-07 12:00-05", "24h", "2026-03-08 13:00-04"),
        ("NY 25-hour day", NEW_YORK_24X7, "2026-10-31 12:00-04", "24h", "2026-11-01 11:00-05"),
        ("NY repeated hour", NEW_YORK_24X7, "2026-11-01 01:30-04", "1h", "2026-11-01 01:30-05"),
        ("always open", ALWAYS_OPEN, "2026-03-07 11:00", "90m", "2026-03-07 12:30"),
    ],
)
def test_deadline(case, cal, start, target, due):
    """Times without an offset are wall times in the calendar's zone (none is ambiguous)."""
    result = deadline(cal, local(cal, start), parse_target(target))
    assert result == local(cal, due), case
    assert result.tzinfo is UTC
    assert elapsed(cal, local(cal, start), result) == parse_target(target)


@pytest.mark.parametrize(
    ("zone", "day", "ranges", "hours"),
    [
        # A range spanning the change is an hour shorter or longer.
        ("Europe/Berlin", "2026-03-29", ["00:00-06:00"], 5),
        ("Europe/Berlin", "2026-10-25", ["00:00-06:00"], 7),
        ("America/New_York", "2026-03-08", ["00:00-06:00"], 5),
        ("America/New_York", "2026-11-01", ["00:00-06:00"], 7),
        # A boundary in the skipped hour is the moment of the jump (03:00 CEST, 03:00 EDT).
        ("Europe/Berlin", "2026-03-29", ["02:30-03:30"], 0.5),
        ("Europe/Berlin", "2026-03-29", ["01:00-02:30"], 1),
        ("Europe/Berlin", "2026-03-29", ["02:10-02:50"], 0),
        ("America/New_York", "2026-03-08", ["01:30-02:30"], 0.5),
        # A boundary in the repeated hour is its first occurrence.
        ("Europe/Berlin", "2026-10-25", ["02:30-03:30"], 2),
        ("Europe/Berlin", "2026-10-25", ["01:00-02:30"], 1.5),
        ("America/New_York", "2026-11-01", ["01:30-02:30"], 2),
        ("America/New_York", "2026-11-01", ["00:30-01:30"], 1),
    ],
)
def test_opening_ranges_on_days_the_clocks_change(zone, day, ranges, hours):
    cal = parse_calendar({"timezone": zone, "hours": {"sun": ranges}})
    start = datetime.fromisoformat(f"{day}T00:00").replace(tzinfo=UTC) - h(24)
    assert elapsed(cal, start, start + h(72)) == h(hours)


def test_a_range_in_the_skipped_hour_is_closed_that_day_and_open_the_next_week():
    cal = parse_calendar({"timezone": "Europe/Berlin", "hours": {"sun": ["02:10-02:50"]}})
    assert deadline(cal, t("2026-03-29T00:00+01:00"), h(0.5)) == t("2026-04-05T02:40+02:00")


def march(text: str) -> datetime:
    """'02 10:30' is 2 March 2026, 10:30 in Berlin."""
    return datetime.fromisoformat(f"2026-03-{text}").replace(tzinfo=BERLIN.zone)


@pytest.mark.parametrize(
    ("case", "start", "target", "pauses", "due"),
    [
        ("inside hours", "02 10:00", "2h", "02 10:30/02 11:00", "02 12:30"),
        ("across the night", "02 16:00", "2h", "02 16:30/03 09:30", "03 11:00"),
        ("on the weekend only", "06 15:00", "8h", "07 08:00/08 20:00", "09 15:00"),
        ("across the weekend", "06 15:00", "8h", "06 16:00/09 10:00", "09 17:00"),
        ("across the lunch break", "03 11:00", "2h", "03 11:30/03 13:30", "03 15:00"),
        ("before the start", "02 10:00", "1h", "01 10:00/02 10:30", "02 11:30"),
        (
            "overlapping, unordered",
            "02 10:00",
            "2h",
            "02 11:00/02 11:30  02 10:30/02 11:15",
            "02 13:00",
        ),
        ("touching", "02 10:00", "2h", "02 10:30/02 11:00  02 11:00/02 11:30", "02 13:00"),
        ("empty", "02 10:00", "1h", "02 10:20/02 10:20", "02 11:00"),
        ("after the due time", "02 10:00", "1h", "02 12:00/02 13:00", "02 11:00"),
        ("over the due time", "02 16:00", "30m", "02 16:15/05 09:00", "05 09:15"),
        ("from the start on", "02 10:00", "30m", "02 10:00/02 16:00", "02 16:30"),
    ],
)
def test_deadline_with_pauses(case, start, target, pauses, due):
    spans = [(march(a), march(b)) for a, b in (p.split("/") for p in pauses.split("  "))]
    result = deadline(BERLIN, march(start), parse_target(target), spans)
    assert result == march(due), case
    assert elapsed(BERLIN, march(start), result, spans) == parse_target(target)


def test_a_pause_over_a_clock_change_takes_the_real_time_it_lasted():
    paused = [(local(BERLIN_24X7, "2026-03-29 00:00"), local(BERLIN_24X7, "2026-03-29 06:00"))]
    due = deadline(BERLIN_24X7, local(BERLIN_24X7, "2026-03-28 12:00"), h(24), paused)
    assert due == t("2026-03-29T18:00+02:00")  # 23 real hours that day, 5 of them paused


def test_elapsed_counts_only_open_hours_outside_pauses():
    fri, mon = t("2026-03-06T15:00+01:00"), t("2026-03-09T15:00+01:00")
    assert elapsed(BERLIN, fri, mon) == h(8)
    assert elapsed(BERLIN, fri, mon, [(t("2026-03-06T16:30+01:00"), fri + h(24))]) == h(7.5)
    assert elapsed(BERLIN, mon, fri) == timedelta(0)
    assert elapsed(BERLIN, t("2026-03-03T11:30+01:00"), t("2026-03-03T13:30+01:00")) == h(1)


def test_remaining_is_business_time_until_due_and_zero_after():
    due = t("2026-03-09T10:00+01:00")
    assert remaining(BERLIN, t("2026-03-06T16:00+01:00"), due) == h(2)
    assert remaining(BERLIN, t("2026-03-09T09:45+01:00"), due) == timedelta(minutes=15)
    assert remaining(BERLIN, t("2026-03-09T11:00+01:00"), due) == timedelta(0)


def test_at_risk_by_percentage_and_by_minutes_before():
    fri = t("2026-03-06T15:00+01:00")
    assert at_risk_at(BERLIN, fri, h(8), percent=80) == t("2026-03-09T13:24+01:00")
    assert at_risk_at(BERLIN, fri, h(8), percent=100) == deadline(BERLIN, fri, h(8))
    assert at_risk_at(BERLIN, fri, h(8), minutes_before=60) == t("2026-03-09T14:00+01:00")
    # Business minutes: an hour before a Monday 10:00 deadline is Friday 16:00.
    assert at_risk_at(BERLIN, fri, h(3), minutes_before=60) == t("2026-03-06T17:00+01:00")
    assert at_risk_at(BERLIN, fri, h(1), minutes_before=60) == fri
    paused = [(t("2026-03-09T09:00+01:00"), t("2026-03-09T10:00+01:00"))]
    assert at_risk_at(BERLIN, fri, h(8), percent=80, pauses=paused) == t("2026-03-09T14:24+01:00")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"percent": 80, "minutes_before": 5},
        {"percent": 0},
        {"percent": 101},
        {"minutes_before": -1},
    ],
)
def test_at_risk_needs_exactly_one_sensible_threshold(kwargs):
    with pytest.raises(ValueError):
        at_risk_at(BERLIN, t("2026-03-06T15:00+01:00"), h(8), **kwargs)


def test_open_intervals_are_clipped_merged_and_utc():
    got = list(open_intervals(NIGHTS, t("2026-03-06T20:00+01:00"), t("2026-03-07T01:30+01:00")))
    assert got == [(t("2026-03-06T19:00+00:00"), t("2026-03-07T00:30+00:00"))]
    tuesday = list(open_intervals(BERLIN, t("2026-03-03T00:00+01:00"), t("2026-03-04T00:00+01:00")))
    assert tuesday == [
        (t("2026-03-03T08:00+00:00"), t("2026-03-03T11:00+00:00")),
        (t("2026-03-03T12:00+00:00"), t("2026-03-03T16:00+00:00")),
    ]


def test_is_open_and_next_opening():
    assert is_open(BERLIN, t("2026-03-02T09:00+01:00"))
    assert not is_open(BERLIN, t("2026-03-02T17:00+01:00"))
    assert next_opening(BERLIN, t("2026-03-03T12:15+01:00")) == t("2026-03-03T13:00+01:00")
    assert next_opening(BERLIN, t("2026-03-03T10:15+01:00")) == t("2026-03-03T10:15+01:00")


@pytest.mark.parametrize(
    "call",
    [
        lambda: deadline(BERLIN, datetime(2026, 3, 2, 10), h(1)),
        lambda: elapsed(BERLIN, datetime(2026, 3, 2, 10), t("2026-03-03T10:00+01:00")),
        lambda: elapsed(BERLIN, t("2026-03-02T10:00+01:00"), datetime(2026, 3, 3, 10)),
        lambda: remaining(BERLIN, datetime(2026, 3, 2, 10), t("2026-03-03T10:00+01:00")),
        lambda: at_risk_at(BERLIN, datetime(2026, 3, 2, 10), h(1), percent=50),
        lambda: deadline(
            BERLIN,
            t("2026-03-02T10:00+01:00"),
            h(1),
            [(datetime(2026, 3, 2), datetime(2026, 3, 3))],
        ),
    ],
)
def test_naive_datetimes_are_refused(call):
    with pytest.raises(ValueError, match="aware datetime"):
        call()


def test_a_pause_that_ends_before_it_starts_is_refused():
    a = t("2026-03-02T10:00+01:00")
    with pytest.raises(ValueError, match="cannot end"):
        deadline(BERLIN, a, h(1), [(a + h(1), a)])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("90m", timedelta(minutes=90)),
        ("8h", h(8)),
        ("1m", timedelta(minutes=1)),
        (" 24h ", h(24)),
        ("8760h", h(8760)),
    ],
)
def test_parse_target_reads_minutes_and_hours(text, value):
    assert parse_target(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0m", "is zero"),
        ("-8h", "is negative"),
        ("8", "not a target"),
        ("1.5h", "not a target"),
        ("8 h", "not a target"),
        ("8H", "not a target"),
        ("2d", "not a target"),
        ("", "not a target"),
        ("8761h", "longer than a year"),
    ],
)
def test_parse_target_refuses_with_a_sentence(text, message):
    with pytest.raises(TargetError, match=message):
        parse_target(text)


def test_format_target_writes_the_shortest_form():
    assert [format_target(parse_target(x)) for x in ("480m", "90m", "8h", "60m")] == [
        "8h",
        "90m",
        "8h",
        "1h",
    ]
    with pytest.raises(TargetError):
        format_target(timedelta(seconds=30))


def test_a_deadline_beyond_twenty_years_is_refused_not_searched_forever():
    sliver = parse_calendar({"timezone": "UTC", "hours": {"mon": ["00:00-00:01"]}})
    began = time.perf_counter()
    with pytest.raises(TargetError, match="not reached within 20 years"):
        deadline(sliver, t("2026-03-02T00:00+00:00"), h(8760))
    assert time.perf_counter() - began < 5


def test_many_holidays_in_a_row_are_walked_day_by_day():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    days = [(start + timedelta(days=n)).date().isoformat() for n in range(3 * 365)]
    cal = parse_calendar({"timezone": "UTC", "hours": "24x7", "holidays": days})
    assert deadline(cal, start, h(1)) == datetime(2028, 12, 31, 1, tzinfo=UTC)


def test_deadline_is_well_under_a_millisecond():
    """Timers compute deadlines on every transition: 8h over a weekend, country holidays."""
    cal = parse_calendar({"timezone": "Europe/Berlin", "hours": WORKDAYS, "country": "DE"})
    starts = [t("2026-12-24T15:00+01:00") + timedelta(days=7 * n) for n in range(50)]
    deadline(cal, starts[0], h(8))  # builds the year's holidays once
    began = time.perf_counter()
    for start in starts * 20:
        deadline(cal, start, h(8))
    per_call = (time.perf_counter() - began) / 1000
    assert per_call < 0.0005, f"{per_call * 1e6:.0f} µs per deadline"


def test_a_calendar_built_by_hand_must_open_sometime():
    from zoneinfo import ZoneInfo

    from workflow.calendars import CalendarError

    with pytest.raises(CalendarError, match="never open"):
        Calendar(zone=ZoneInfo("UTC"), hours=((),) * 7)
