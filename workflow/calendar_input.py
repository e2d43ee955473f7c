"""What an admin types into the business calendar form (fields or pasted YAML), checked and
turned into the stored calendar document, and the form's live preview of what it means.

Pure: no database. Each part is checked by `workflow.calendar_format.parse_calendar`, so the
form says exactly what `ticketflow sla deadline` would say, and each problem is tied to the
field it is about (`InvalidFields`). The stored calendar is `calendar_to_data`'s output: the
shape of a calendar file, whether it came from the fields or from pasted YAML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import yaml

from workflow import sla
from workflow.calendar_format import calendar_to_data, parse_calendar
from workflow.calendars import ALWAYS, WEEKDAYS, Calendar, CalendarError
from workflow.plan_input import InvalidFields

MAX_YAML = 64 * 1024
SPLIT = re.compile(r"[,;\s]+")
"""Holidays may be separated by commas, semicolons, spaces or new lines."""
RANGES = re.compile(r"[,;\n]+")


@dataclass(frozen=True)
class CalendarFields:
    """A calendar as the form's fields hold it: text, as typed."""

    timezone: str = ""
    always_open: bool = False
    hours: Mapping[str, str] = field(default_factory=dict)
    """Weekday (mon ... sun) -> ranges such as `09:00-12:00, 13:00-17:00`; blank: closed."""
    holidays: str = ""
    country: str = ""
    subdivision: str = ""


def calendar_from_fields(fields: CalendarFields) -> dict[str, Any]:
    """The calendar document the fields describe; InvalidFields with each field's sentence.

    Each part is checked on its own by `parse_calendar` (so its message lands next to its
    field), then the whole (which can only fail for a calendar that is never open)."""
    problems: dict[str, list[str]] = {}

    def check(name: str, document: dict[str, Any]) -> None:
        try:
            parse_calendar(document)
        except CalendarError as exc:
            problems.setdefault(name, []).append(str(exc))

    document: dict[str, Any] = {"timezone": fields.timezone.strip()}
    check("timezone", {**document, "hours": ALWAYS})
    if fields.always_open:
        document["hours"] = ALWAYS
    else:
        hours = {day: ranges_of(fields.hours.get(day, "")) for day in WEEKDAYS}
        for day, ranges in hours.items():
            if ranges:
                check(day, {"timezone": "UTC", "hours": {day: ranges}})
        document["hours"] = hours
    holidays = [d for d in SPLIT.split(fields.holidays.strip()) if d]
    if holidays:
        document["holidays"] = holidays
        check("holidays", {"timezone": "UTC", "hours": ALWAYS, "holidays": holidays})
    country, subdivision = fields.country.strip(), fields.subdivision.strip()
    if country:
        document["country"] = country
        check("country", {"timezone": "UTC", "hours": ALWAYS, "country": country})
    if subdivision:
        document["subdivision"] = subdivision
        if "country" not in problems:
            check("subdivision", {"timezone": "UTC", "hours": ALWAYS, **_place(document)})
    if problems:
        raise InvalidFields(problems)
    try:
        return calendar_to_data(parse_calendar(document))
    except CalendarError as exc:  # the parts were fine: the calendar is never open
        raise InvalidFields({"hours": [str(exc)]}) from None


def calendar_from_yaml(text: str) -> dict[str, Any]:
    """The calendar document of pasted YAML (the calendar file format, docs/sla.md)."""
    if not (text or "").strip():
        raise InvalidFields({"yaml": ["Paste a calendar in YAML, or fill in the fields instead."]})
    if len(text.encode("utf-8")) > MAX_YAML:
        raise InvalidFields({"yaml": [f"Keep the calendar under {MAX_YAML // 1024} KiB."]})
    try:
        return calendar_to_data(parse_calendar(text))
    except CalendarError as exc:
        raise InvalidFields({"yaml": [str(exc)]}) from None


def fields_of(document: Mapping[str, Any]) -> CalendarFields:
    """The form's fields for a stored calendar document (the inverse of the above)."""
    hours = document.get("hours")
    always = hours == ALWAYS
    return CalendarFields(
        timezone=str(document.get("timezone", "")),
        always_open=always,
        hours={} if always else {d: ", ".join((hours or {}).get(d, [])) for d in WEEKDAYS},
        holidays=", ".join(document.get("holidays", [])),
        country=str(document.get("country", "")),
        subdivision=str(document.get("subdivision", "")),
    )


def yaml_of(document: Mapping[str, Any]) -> str:
    """A stored calendar as calendar-file YAML (ranges and dates quoted, lists inline)."""
    lines = [f"timezone: {document['timezone']}"]
    hours = document.get("hours")
    if hours == ALWAYS:
        lines.append(f"hours: {ALWAYS}")
    else:
        lines.append("hours:")
        lines += [f"  {day}: {_inline((hours or {}).get(day, []))}" for day in WEEKDAYS]
    if document.get("holidays"):
        lines.append(f"holidays: {_inline(document['holidays'])}")
    for key in ("country", "subdivision"):
        if document.get(key):
            lines.append(f"{key}: {document[key]}")
    return "\n".join(lines) + "\n"


def ranges_of(text: str) -> list[str]:
    """`09:00-12:00, 13:00-17:00` (commas, semicolons or lines between) as a list."""
    return [part.strip() for part in RANGES.split(text or "") if part.strip()]


def describe_hours(document: Mapping[str, Any]) -> str:
    """The weekly hours in a few words: `24x7`, or `mon-fri 09:00-17:00; sat-sun closed`
    (neighbouring days with the same hours written once)."""
    hours = document.get("hours")
    if hours == ALWAYS:
        return "24x7"
    runs: list[tuple[str, str, str]] = []
    for day in WEEKDAYS:
        text = ", ".join((hours or {}).get(day) or []) or "closed"
        if runs and runs[-1][2] == text:
            runs[-1] = (runs[-1][0], day, text)
        else:
            runs.append((day, day, text))
    return "; ".join(f"{a}-{b} {text}" if a != b else f"{a} {text}" for a, b, text in runs)


def _inline(items: list[str]) -> str:
    return yaml.safe_dump(list(items), default_flow_style=True, default_style='"').strip()


def _place(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: document[k] for k in ("country", "subdivision") if k in document}


# ---- the preview -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What a calendar means from `now` on, in its own zone: open now or when it opens next,
    and when a target of `target` started now is due."""

    zone: str
    now: datetime
    open_now: bool
    next_opening: datetime
    target: str
    due: datetime

    @property
    def article(self) -> str:
        """`a` or `an` before the target as it is read aloud: "an 8h target", "a 90m target"."""
        return indefinite_article(int(self.target.rstrip("hm")))


def indefinite_article(number: int) -> str:
    """The article before a whole number, chosen by how it is said, not how it is written:
    `an` when it is said starting with a vowel, i.e. eight (8, 80-89, 800-899, 8,000, ...),
    eleven (11, 11,000) or eighteen (18, 18,000); `a` otherwise ("a 1h", "a 100h")."""
    lead = abs(number)
    while lead >= 1000:  # said by its leading group: 18,500 is "eighteen thousand ..."
        lead //= 1000
    if lead >= 100:
        lead //= 100  # "eight hundred ...", "one hundred ..."
    return "an" if lead in (8, 11, 18) or 80 <= lead <= 89 else "a"


def preview(document: Mapping[str, Any], now: datetime, target: str = "8h") -> Preview:
    """The preview of a valid calendar document; `target` is checked like a plan's
    (InvalidFields on `example_target` when it is not a target)."""
    cal: Calendar = parse_calendar(document)
    try:
        amount = sla.parse_target(target)
    except sla.TargetError as exc:
        raise InvalidFields({"example_target": [str(exc)]}) from None
    return Preview(
        zone=cal.zone.key,
        now=now.astimezone(cal.zone),
        open_now=sla.is_open(cal, now),
        next_opening=sla.next_opening(cal, now).astimezone(cal.zone),
        target=sla.format_target(amount),
        due=sla.deadline(cal, now, amount).astimezone(cal.zone),
    )
