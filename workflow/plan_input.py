"""What an admin types into the calendar and SLA plan forms, checked and turned into data.

Pure: no database. Calendars are checked by `workflow.calendars.parse_calendar` and targets
by `workflow.sla.parse_target`, and escalation steps by `workflow.escalation.parse_policy`,
so the forms say exactly what `ticketflow sla deadline` and the timers would say. Each
problem is tied to the field it is about (`InvalidFields.fields`), so a page can show the
sentence next to that field. The stored calendar is `calendar_to_data`'s output: the shape
of a calendar file, whether it came from the fields or from pasted YAML.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import yaml

from workflow import sla
from workflow.calendars import (
    ALWAYS,
    WEEKDAYS,
    Calendar,
    CalendarError,
    calendar_to_data,
    parse_calendar,
)
from workflow.errors import InvalidInput
from workflow.escalation import PolicyError, parse_policy, policy_to_data

MAX_YAML = 64 * 1024
MAX_AT_RISK_MINUTES = 8760 * 60
SPLIT = re.compile(r"[,;\s]+")
"""Holidays may be separated by commas, semicolons, spaces or new lines."""
RANGES = re.compile(r"[,;\n]+")


class InvalidFields(InvalidInput):
    """Problems tied to the fields they are about: `fields` maps a field's name to its
    sentences (a name the page has no field for is shown above the form). Nothing changed."""

    def __init__(self, fields: Mapping[str, list[str]]):
        self.fields = {name: list(found) for name, found in fields.items() if found}
        super().__init__([m for found in self.fields.values() for m in found])


# ---- calendars -------------------------------------------------------------------------------


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


# ---- SLA plans -------------------------------------------------------------------------------

TARGETS = ("first_response", "next_response", "resolution")
TARGET_NAMES = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


@dataclass(frozen=True)
class PlanFields:
    """An SLA plan as the form holds it. Targets are text (`90m`, `8h`, blank for none);
    the at-risk threshold is a percentage or minutes before due (text, one of them);
    `policy` is the escalation policy document the step rows make."""

    name: str = ""
    first_response: str = ""
    next_response: str = ""
    resolution: str = ""
    at_risk_percent: str = ""
    at_risk_minutes: str = ""
    calendar_id: int | None = None
    policy: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PlanValues:
    """A checked plan, as the `sla_plans` columns store it."""

    name: str
    minutes: dict[str, int | None]
    """Target column (`first_response_minutes`, ...) -> business minutes, or None."""
    at_risk_percent: int | None
    at_risk_minutes: int | None
    calendar_id: int | None
    escalation_policy: list[dict[str, Any]]


def plan_values(fields: PlanFields) -> tuple[PlanValues, dict[str, list[str]]]:
    """The plan the fields describe and the problems found, per field (empty: none).

    The caller adds what needs the database (a name taken, an unknown calendar or team)
    before refusing, so the person sees every problem at once."""
    problems: dict[str, list[str]] = {}
    minutes: dict[str, int | None] = {}
    for clock in TARGETS:
        text = getattr(fields, clock).strip()
        minutes[f"{clock}_minutes"] = None
        if not text:
            continue
        try:
            minutes[f"{clock}_minutes"] = sla.parse_target(text) // timedelta(minutes=1)
        except sla.TargetError as exc:
            problems[clock] = [str(exc)]
    if not any(getattr(fields, clock).strip() for clock in TARGETS):
        problems["targets"] = [
            "Give the plan at least one target (first response, next response or resolution)."
        ]
    percent = _whole(fields.at_risk_percent, 1, 100)
    if percent is False:
        problems["at_risk_percent"] = [
            "The at-risk percentage is a whole number from 1 to 100, such as 80."
        ]
    before = _whole(fields.at_risk_minutes, 1, MAX_AT_RISK_MINUTES)
    if before is False:
        problems["at_risk_minutes"] = [
            "The minutes before the due time are a whole number from 1 to "
            f"{MAX_AT_RISK_MINUTES}, such as 60."
        ]
    if fields.at_risk_percent.strip() and fields.at_risk_minutes.strip():
        problems.setdefault("at_risk_minutes", []).append(
            "Give the at-risk threshold as a percentage of the target or as minutes before "
            "the due time, not both."
        )
    policy = list(fields.policy)
    try:
        policy = policy_to_data(parse_policy(policy))
    except PolicyError as exc:
        problems["escalation"] = exc.problems
    values = PlanValues(
        name=" ".join(fields.name.split()),
        minutes=minutes,
        at_risk_percent=percent or None,
        at_risk_minutes=before or None,
        calendar_id=fields.calendar_id,
        escalation_policy=policy,
    )
    return values, problems


def _whole(text: str, low: int, high: int) -> int | None | bool:
    """A whole number in [low, high]; None when blank; False when it is not one."""
    text = (text or "").strip()
    if not text:
        return None
    if not (text.isdecimal()) or not low <= int(text) <= high:
        return False
    return int(text)


def minutes_text(minutes: int | None) -> str:
    """A stored target back as the form shows it (`480` -> `8h`; None -> blank)."""
    return sla.format_target(timedelta(minutes=minutes)) if minutes else ""
