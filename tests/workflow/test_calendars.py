"""Calendar documents: the shape from the issue is read as written; every mistake is one
sentence saying what is wrong; a calendar survives a trip through JSON."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from workflow.calendar_format import calendar_to_data, load_calendar_file, parse_calendar
from workflow.calendars import ALWAYS_OPEN, CalendarError

ISSUE_EXAMPLE = """\
timezone: Europe/Berlin
hours:               # or the single value 24x7
  mon: ["09:00-17:00"]
  tue: ["09:00-12:00", "13:00-17:00"]
  wed: ["09:00-17:00"]
  thu: ["09:00-17:00"]
  fri: ["09:00-17:00"]
  sat: []            # a weekday left out is closed too
  sun: []
holidays: ["2026-04-03", "2026-12-25"]   # optional
country: DE                              # optional, adds that country's public holidays
"""


def test_the_documented_shape_is_read_as_written():
    cal = parse_calendar(ISSUE_EXAMPLE)
    assert cal.zone == ZoneInfo("Europe/Berlin")
    assert cal.hours[0] == ((9 * 60, 17 * 60),)
    assert cal.hours[1] == ((9 * 60, 12 * 60), (13 * 60, 17 * 60))
    assert cal.hours[5] == cal.hours[6] == ()
    assert cal.holidays == {date(2026, 4, 3), date(2026, 12, 25)}
    assert cal.country == "DE"
    assert cal.is_holiday(date(2026, 4, 6))  # Easter Monday, from the country
    assert not cal.is_holiday(date(2026, 4, 7))


def test_a_weekday_left_out_or_empty_is_closed():
    cal = parse_calendar({"timezone": "UTC", "hours": {"mon": ["08:00-16:00"], "tue": None}})
    assert cal.hours[0] == ((480, 960),) and all(day == () for day in cal.hours[1:])


def test_24x7_and_24_00_as_an_end():
    assert parse_calendar({"timezone": "UTC", "hours": "24x7"}) == ALWAYS_OPEN
    late = parse_calendar({"timezone": "UTC", "hours": {"fri": ["18:00-24:00"]}})
    assert late.hours[4] == ((18 * 60, 24 * 60),)


def test_ranges_are_kept_in_order_and_may_touch():
    cal = parse_calendar({"timezone": "UTC", "hours": {"mon": ["13:00-17:00", "09:00-13:00"]}})
    assert cal.hours[0] == ((540, 780), (780, 1020))


def test_calendars_are_hashable_values():
    assert parse_calendar(ISSUE_EXAMPLE) == parse_calendar(ISSUE_EXAMPLE)
    assert len({parse_calendar(ISSUE_EXAMPLE), parse_calendar(ISSUE_EXAMPLE), ALWAYS_OPEN}) == 2


@pytest.mark.parametrize(
    "data",
    [
        ISSUE_EXAMPLE,
        {"timezone": "UTC", "hours": "24x7"},
        {"timezone": "America/New_York", "hours": "24x7", "holidays": ["2026-07-03"]},
        {"timezone": "Europe/Berlin", "hours": {"fri": ["18:00-24:00"], "sat": ["00:00-02:00"]}},
        {
            "timezone": "Europe/Berlin",
            "hours": {"mon": ["09:00-17:00"]},
            "country": "de",
            "subdivision": "by",
        },
    ],
)
def test_a_calendar_survives_json(data):
    cal = parse_calendar(data)
    stored = json.loads(json.dumps(calendar_to_data(cal)))
    assert parse_calendar(stored) == cal
    assert calendar_to_data(parse_calendar(stored)) == stored


def test_country_and_subdivision_are_normalised():
    cal = parse_calendar(
        {"timezone": "Europe/Berlin", "hours": "24x7", "country": "de", "subdivision": "by"}
    )
    assert (cal.country, cal.subdivision) == ("DE", "BY")
    assert cal.is_holiday(date(2026, 1, 6))  # Epiphany, in Bavaria only
    assert not parse_calendar(
        {"timezone": "Europe/Berlin", "hours": "24x7", "country": "DE"}
    ).is_holiday(date(2026, 1, 6))


def test_unquoted_yaml_dates_are_dates_too():
    cal = parse_calendar("timezone: UTC\nhours: 24x7\nholidays: [2026-12-25, '2026-12-26']\n")
    assert cal.holidays == {date(2026, 12, 25), date(2026, 12, 26)}


def _hours(**days: list[str]) -> dict:
    return {"timezone": "Europe/Berlin", "hours": days}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("timezone: [unclosed\n", "not valid YAML at line"),
        ("- a list\n", "must be a mapping"),
        ({"hours": "24x7"}, "needs a `timezone`"),
        ({"timezone": "Mars/Olympus", "hours": "24x7"}, "`Mars/Olympus` is not a known time zone"),
        ({"timezone": "../etc/passwd", "hours": "24x7"}, "is not a known time zone"),
        ({"timezone": "UTC"}, "needs `hours`"),
        ({"timezone": "UTC", "hours": "9to5"}, "needs `hours`"),
        (_hours(monday=["09:00-17:00"]), "unknown weekday `monday`"),
        (_hours(mon="09:00-17:00"), "must be a list of ranges"),
        (_hours(mon=["9-17"]), "`9-17` on mon is not written as HH:MM-HH:MM"),
        (_hours(mon=[900]), "is not written as HH:MM-HH:MM"),
        (_hours(mon=["09:00-25:00"]), "not on the clock"),
        (_hours(mon=["09:60-17:00"]), "not on the clock"),
        (_hours(mon=["24:00-24:00"]), "not on the clock"),
        (_hours(mon=["22:00-24:30"]), "not on the clock"),
        (_hours(mon=["17:00-09:00"]), "ends before it starts"),
        (_hours(mon=["22:00-02:00"]), "cannot cross midnight"),
        (_hours(mon=["09:00-09:00"]), "is empty"),
        (_hours(tue=["09:00-12:00", "11:00-17:00"]), "09:00-12:00 and 11:00-17:00 on tue overlap"),
        (_hours(tue=["09:00-17:00", "10:00-11:00"]), "overlap"),
        (_hours(), "never open"),
        (_hours(sat=[], sun=[]), "never open"),
        ({"timezone": "UTC", "hours": "24x7", "open": True}, "unknown key `open`"),
        ({"timezone": "UTC", "hours": "24x7", "holidays": "2026-12-25"}, "must be a list of dates"),
        ({"timezone": "UTC", "hours": "24x7", "holidays": ["2026-13-01"]}, "`2026-13-01`"),
        ({"timezone": "UTC", "hours": "24x7", "holidays": ["25.12.2026"]}, "YYYY-MM-DD"),
        ({"timezone": "UTC", "hours": "24x7", "country": "XX"}, "`XX` is not a country"),
        ({"timezone": "UTC", "hours": "24x7", "country": 49}, "`49` is not a country"),
        ({"timezone": "UTC", "hours": "24x7", "subdivision": "BY"}, "needs a `country`"),
        (
            {"timezone": "UTC", "hours": "24x7", "country": "DE", "subdivision": "ZZ"},
            "`ZZ` is not a subdivision of DE",
        ),
    ],
)
def test_each_mistake_is_one_sentence(data, message):
    with pytest.raises(CalendarError) as caught:
        parse_calendar(data)
    text = str(caught.value)
    assert message in text
    assert text[0].isupper() or text[0] == "`"
    assert text.endswith(".") and "\n" not in text


def test_load_calendar_file_names_the_file(tmp_path):
    good = tmp_path / "berlin.yaml"
    good.write_text(ISSUE_EXAMPLE, encoding="utf-8")
    assert load_calendar_file(good) == parse_calendar(ISSUE_EXAMPLE)
    bad = tmp_path / "bad.yaml"
    bad.write_text("timezone: Nowhere/Town\nhours: 24x7\n", encoding="utf-8")
    with pytest.raises(CalendarError, match=r"bad.yaml: `Nowhere/Town` is not a known"):
        load_calendar_file(bad)
    with pytest.raises(CalendarError, match=r"missing.yaml: the file cannot be read"):
        load_calendar_file(tmp_path / "missing.yaml")
