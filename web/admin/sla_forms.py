"""The forms of the calendar and SLA plan pages, and their translation to domain input.

Fields hold text as typed; `workflow.plan_input` checks it and says what is wrong, and
`show_problems` puts each sentence next to its field. Escalation steps are edited as rows
(when, clock, action, parameter): rows with the same point in time and clocks become one
step of the policy document, in the order the rows are listed, and the parser's "Step N,
action M" sentences are put back next to the row they came from.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    SelectField,
    StringField,
    TextAreaField,
)

from web.admin.people_forms import optional_id, options
from workflow.calendar_input import CalendarFields
from workflow.calendars import WEEKDAYS
from workflow.escalation import AT
from workflow.plan_input import InvalidFields, PlanFields

BLANK_ROWS = 3
MAX_ROWS = 60
DAY_NAMES = dict(
    zip(
        WEEKDAYS,
        ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        strict=True,
    )
)
CLOCK_NAMES = {
    "first_response": "First response",
    "next_response": "Next response",
    "resolution": "Resolution",
}
WHEN = options([("at_risk", "At risk"), ("breach", "At the breach")])
ACTIONS = options(
    [
        ("", "— (no action: the row is left out)"),
        ("notify:assignee", "Notify the assignee"),
        ("notify:team", "Notify the team"),
        ("notify:manager", "Notify the department manager"),
        ("raise_priority", "Raise the priority by (levels, 1 to 3)"),
        ("reassign", "Reassign to the team (its name)"),
        ("note", "Add an internal note (its text)"),
        ("event", "Fire the workflow event (its name)"),
    ]
)
WHERE = re.compile(r"^Step (\d+)(?: \([^)]*\))?(?:, action (\d+))?")


# ---- calendars -------------------------------------------------------------------------------


class CalendarForm(FlaskForm):
    name = StringField("Name")
    timezone = StringField("Time zone (IANA name, such as Europe/Berlin)")
    always_open = BooleanField("Open around the clock (24x7); the weekly hours are ignored")
    mon = StringField("Monday")
    tue = StringField("Tuesday")
    wed = StringField("Wednesday")
    thu = StringField("Thursday")
    fri = StringField("Friday")
    sat = StringField("Saturday")
    sun = StringField("Sunday")
    holidays = TextAreaField("Holidays (dates as YYYY-MM-DD, separated by commas or lines)")
    country = StringField("Country (ISO code such as DE or US: adds its public holidays)")
    subdivision = StringField("Subdivision (optional, such as BY for Bavaria)")
    yaml = TextAreaField("The calendar as YAML (the calendar file format)")
    example_target = StringField("Example target", default="8h")


def calendar_fields(form: CalendarForm) -> CalendarFields:
    return CalendarFields(
        timezone=form.timezone.data or "",
        always_open=bool(form.always_open.data),
        hours={day: form[day].data or "" for day in WEEKDAYS},
        holidays=form.holidays.data or "",
        country=form.country.data or "",
        subdivision=form.subdivision.data or "",
    )


def calendar_data(fields: CalendarFields, name: str, yaml_text: str) -> dict[str, Any]:
    """A CalendarForm's `data` for a stored calendar."""
    return {
        "name": name,
        "timezone": fields.timezone,
        "always_open": fields.always_open,
        **{day: fields.hours.get(day, "") for day in WEEKDAYS},
        "holidays": fields.holidays,
        "country": fields.country,
        "subdivision": fields.subdivision,
        "yaml": yaml_text,
    }


# ---- SLA plans -------------------------------------------------------------------------------


class StepRow(Form):
    """One action of an escalation step (no CSRF token of its own: it is part of a form)."""

    at = SelectField("When", choices=WHEN, validate_choice=False)
    after = StringField("Minutes after the breach")
    clocks = SelectField("Clock", validate_choice=False)
    action = SelectField("Action", choices=ACTIONS, validate_choice=False)
    value = StringField("Parameter")


class PlanForm(FlaskForm):
    name = StringField("Name")
    first_response = StringField("First response")
    next_response = StringField("Next response (after each customer message)")
    resolution = StringField("Resolution")
    at_risk_percent = StringField("Percent of the target used")
    at_risk_minutes = StringField("Business minutes before the due time")
    calendar_id = SelectField("Business calendar", coerce=optional_id, validate_choice=False)
    steps = FieldList(FormField(StepRow), max_entries=MAX_ROWS)


def clock_choices(rows: Iterable[Mapping[str, Any]]) -> list[Any]:
    """Every clock, each one alone, and any combination a stored step names."""
    pairs = [("", "Every clock"), *CLOCK_NAMES.items()]
    for row in rows:
        value = row.get("clocks") or ""
        if "," in value and value not in dict(pairs):
            pairs.append((value, " and ".join(CLOCK_NAMES.get(c, c) for c in value.split(","))))
    return options(pairs)


def rows_of(policy: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """A stored policy document as rows, one per action, in order."""
    rows = []
    for step in policy or []:
        m = AT.match(str(step.get("at", "")).strip())
        at, after = (m[1], m[2] or "") if m else ("breach", "")
        clocks = ",".join(step.get("clocks") or [])
        for action in step.get("actions") or []:
            ((kind, value),) = action.items()
            choice = f"notify:{value}" if kind == "notify" else kind
            shown = "" if kind == "notify" else str(value)
            rows.append(
                {"at": at, "after": after, "clocks": clocks, "action": choice, "value": shown}
            )
    return rows


def plan_data(fields: PlanFields) -> dict[str, Any]:
    """A PlanForm's `data` for a stored plan, with blank rows to add steps."""
    rows = rows_of(fields.policy)
    blank = {"at": "breach", "after": "", "clocks": "", "action": "", "value": ""}
    return {
        "name": fields.name,
        "first_response": fields.first_response,
        "next_response": fields.next_response,
        "resolution": fields.resolution,
        "at_risk_percent": fields.at_risk_percent,
        "at_risk_minutes": fields.at_risk_minutes,
        "calendar_id": fields.calendar_id,
        "steps": rows + [dict(blank) for _ in range(BLANK_ROWS)],
    }


def plan_fields(form: PlanForm) -> tuple[PlanFields, dict[tuple[int, int], int]]:
    """The plan the form describes, and where each step's action came from:
    (step number, action number), both from 1 -> the row's index."""
    steps: list[dict[str, Any]] = []
    index: dict[tuple[str, tuple[str, ...]], int] = {}
    rows: dict[tuple[int, int], int] = {}
    for number, entry in enumerate(form.steps.entries):
        row = entry.form
        if not row.action.data:
            continue
        after = (row.after.data or "").strip()
        at = f"{row.at.data}+{after}" if after else (row.at.data or "")
        clocks = tuple(c for c in (row.clocks.data or "").split(",") if c)
        key = (at, clocks)
        if key not in index:
            index[key] = len(steps)
            steps.append({"at": at, **({"clocks": list(clocks)} if clocks else {}), "actions": []})
        actions = steps[index[key]]["actions"]
        actions.append(_action(row.action.data, row.value.data or ""))
        rows[(index[key] + 1, len(actions))] = number
    fields = PlanFields(
        name=form.name.data or "",
        first_response=form.first_response.data or "",
        next_response=form.next_response.data or "",
        resolution=form.resolution.data or "",
        at_risk_percent=form.at_risk_percent.data or "",
        at_risk_minutes=form.at_risk_minutes.data or "",
        calendar_id=form.calendar_id.data,
        policy=steps,
    )
    return fields, rows


def _action(choice: str, value: str) -> dict[str, Any]:
    kind, _, who = choice.partition(":")
    if kind == "notify":
        return {"notify": who}
    value = value.strip()
    if kind == "raise_priority":
        return {kind: int(value) if value.isdecimal() else (value or 1)}
    return {kind: value}


# ---- problems next to their fields -----------------------------------------------------------


def show_problems(
    form: FlaskForm, error: InvalidFields, rows: Mapping[tuple[int, int], int] | None = None
) -> dict[str, list[str]]:
    """Put each sentence on its field (escalation sentences on their row's action field);
    returns the ones that belong to no field, by name (`hours`, `targets`, `escalation`)."""
    rest: dict[str, list[str]] = {}
    for name, messages in error.fields.items():
        field = form._fields.get(name)
        if name == "escalation" and rows is not None:
            rest["escalation"] = [m for m in messages if not _on_row(form, m, rows)]
        elif isinstance(field, Field) and not isinstance(field, FieldList):
            field.errors = [*field.errors, *messages]
        else:
            rest[name] = messages
    return {name: found for name, found in rest.items() if found}


def _on_row(form: FlaskForm, message: str, rows: Mapping[tuple[int, int], int]) -> bool:
    m = WHERE.match(message)
    if m is None:
        return False
    step, action = int(m[1]), int(m[2] or 1)
    row = rows.get((step, action))
    if row is None:
        return False
    field = form.steps.entries[row].form.action
    field.errors = [*field.errors, message]
    return True
