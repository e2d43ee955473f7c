"""What an admin types into the SLA plan form, checked and turned into data (the calendar
form's fields: `workflow.calendar_input`), and `InvalidFields`, the refusal both forms give.

Pure: no database. Targets are checked by `workflow.sla.parse_target` and escalation steps
by `workflow.escalation.parse_policy`, so the form says exactly what `ticketflow sla
deadline` and the timers would say. Each problem is tied to the field it is about
(`InvalidFields.fields`), so a page can show the sentence next to that field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from workflow import sla
from workflow.errors import InvalidInput
from workflow.escalation import PolicyError, parse_policy, policy_to_data

MAX_AT_RISK_MINUTES = 8760 * 60


class InvalidFields(InvalidInput):
    """Problems tied to the fields they are about: `fields` maps a field's name to its
    sentences (a name the page has no field for is shown above the form). Nothing changed."""

    def __init__(self, fields: Mapping[str, list[str]]):
        self.fields = {name: list(found) for name, found in fields.items() if found}
        super().__init__([m for found in self.fields.values() for m in found])


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
