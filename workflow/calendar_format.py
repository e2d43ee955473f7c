"""The calendar format: a YAML text or mapping (a calendar file, or the calendar stored with
an SLA plan) read into a `workflow.calendars.Calendar`, and a calendar written back as that
mapping. Every problem is a `CalendarError` with one sentence a person can act on; the
format itself is documented in docs/sla.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data
import yaml

from workflow.calendars import ALWAYS, DAY_MINUTES, WEEKDAYS, Calendar, CalendarError, Range

KEYS = ("timezone", "hours", "holidays", "country", "subdivision")
RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def load_calendar_file(path: str | Path) -> Calendar:
    """Read a calendar file; every error message starts with the file's name."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise CalendarError(f"{path}: the file cannot be read ({reason}).") from exc
    try:
        return parse_calendar(text)
    except CalendarError as exc:
        raise CalendarError(f"{path}: {exc}") from exc


def parse_calendar(data: Mapping[str, Any] | str) -> Calendar:
    """Validate a calendar mapping (or its YAML text) and build the `Calendar`."""
    if isinstance(data, str):
        try:
            data = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise CalendarError(f"The calendar is not valid YAML{where}.") from exc
    if not isinstance(data, Mapping):
        raise CalendarError("A calendar must be a mapping with `timezone` and `hours`.")
    unknown = sorted(str(k) for k in data if k not in KEYS)
    if unknown:
        raise CalendarError(
            f"The calendar has an unknown key `{unknown[0]}`; "
            f"the keys are {', '.join(KEYS[:-1])} and {KEYS[-1]}."
        )
    country, subdivision = _country(data.get("country"), data.get("subdivision"))
    return Calendar(
        zone=_zone(data.get("timezone")),
        hours=_hours(data.get("hours")),
        holidays=_holiday_dates(data.get("holidays")),
        country=country,
        subdivision=subdivision,
    )


def calendar_to_data(cal: Calendar) -> dict[str, Any]:
    """The calendar as plain JSON-safe data that `parse_calendar` reads back to an equal one."""
    data: dict[str, Any] = {"timezone": cal.zone.key}
    if cal.always_open:
        data["hours"] = ALWAYS
    else:
        data["hours"] = {
            name: [f"{_hhmm(a)}-{_hhmm(b)}" for a, b in day]
            for name, day in zip(WEEKDAYS, cal.hours, strict=True)
        }
    if cal.holidays:
        data["holidays"] = [d.isoformat() for d in sorted(cal.holidays)]
    if cal.country:
        data["country"] = cal.country
    if cal.subdivision:
        data["subdivision"] = cal.subdivision
    return data


def _zone(name: object) -> ZoneInfo:
    if not isinstance(name, str) or not name.strip():
        raise CalendarError(
            "The calendar needs a `timezone`, an IANA time zone name such as Europe/Berlin."
        )
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise CalendarError(
            f"`{name}` is not a known time zone; use an IANA name such as Europe/Berlin."
        ) from exc


def _hours(value: object) -> tuple[tuple[Range, ...], ...]:
    if value == ALWAYS:
        return (((0, DAY_MINUTES),),) * 7
    if not isinstance(value, Mapping):
        raise CalendarError(
            "The calendar needs `hours`: 24x7, or a mapping of weekdays (mon to sun) to ranges."
        )
    for key in value:
        if key not in WEEKDAYS:
            raise CalendarError(
                f"`hours` names an unknown weekday `{key}`; "
                "use mon, tue, wed, thu, fri, sat or sun."
            )
    days = tuple(_day(name, value.get(name)) for name in WEEKDAYS)
    if not any(days):
        raise CalendarError(
            "The calendar is never open: give at least one weekday an opening range."
        )
    return days


def _day(name: str, value: object) -> tuple[Range, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list):
        raise CalendarError(
            f'The hours for {name} must be a list of ranges such as ["09:00-17:00"].'
        )
    ranges = sorted(_range(name, text) for text in value)
    for (a1, b1), (a2, b2) in zip(ranges, ranges[1:], strict=False):
        if a2 < b1:
            raise CalendarError(
                f"The ranges {_hhmm(a1)}-{_hhmm(b1)} and {_hhmm(a2)}-{_hhmm(b2)} on {name} overlap."
            )
    return tuple(ranges)


def _range(day: str, text: object) -> Range:
    m = RANGE.match(text) if isinstance(text, str) else None
    if m is None:
        raise CalendarError(f"The range `{text}` on {day} is not written as HH:MM-HH:MM.")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > DAY_MINUTES:
        raise CalendarError(
            f"The range `{text.strip()}` on {day} has a time that is not on the clock "
            "(00:00 to 23:59, and 24:00 as an end)."
        )
    if end < start:
        raise CalendarError(
            f"The range `{text.strip()}` on {day} ends before it starts; a range cannot "
            "cross midnight, so split it at 24:00 and 00:00 of the next day."
        )
    if end == start:
        raise CalendarError(f"The range `{text.strip()}` on {day} is empty.")
    return start, end


def _holiday_dates(value: object) -> frozenset[date]:
    if value is None:
        return frozenset()
    if isinstance(value, str) or not isinstance(value, list):
        raise CalendarError('`holidays` must be a list of dates such as ["2026-12-25"].')
    return frozenset(_holiday(item) for item in value)


def _holiday(item: object) -> date:
    if isinstance(item, date) and not isinstance(item, datetime):
        return item  # YAML reads an unquoted 2026-12-25 as a date already
    if isinstance(item, str) and ISO_DATE.match(item):
        try:
            return date.fromisoformat(item)
        except ValueError:
            pass
    raise CalendarError(f"`holidays` lists `{item}`, which is not a date written as YYYY-MM-DD.")


def _country(country: object, subdivision: object) -> tuple[str | None, str | None]:
    if country is None:
        if subdivision is not None:
            raise CalendarError("A `subdivision` needs a `country` to belong to.")
        return None, None
    supported = holiday_data.list_supported_countries()
    code = country.strip().upper() if isinstance(country, str) else ""
    if code not in supported:
        raise CalendarError(
            f"`{country}` is not a country whose public holidays are known; "
            "use a two-letter ISO 3166 code such as DE or US."
        )
    if subdivision is None:
        return code, None
    subdivisions = {str(s).upper(): str(s) for s in supported[code]}
    sub = subdivisions.get(str(subdivision).strip().upper())
    if sub is None:
        raise CalendarError(
            f"`{subdivision}` is not a subdivision of {code} whose holidays are known; "
            f"the known ones are {', '.join(map(str, supported[code])) or 'none'}."
        )
    return code, sub


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
