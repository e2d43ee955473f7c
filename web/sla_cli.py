"""`ticketflow sla ...`: SLA maths from the command line, without a database or the app.

Every mistake in the input ends the command with exit status 2 and one sentence on stderr
saying what is wrong, never a traceback; docs/sla.md shows examples.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import click

from workflow import sla
from workflow.calendar_format import load_calendar_file
from workflow.calendars import CalendarError, wall_to_utc

BAD_INPUT = 2


@click.group("sla")
def sla_group() -> None:
    """Business-time calculations for SLA targets (no database needed)."""


@sla_group.command("deadline")
@click.option(
    "--calendar",
    "calendar_path",
    required=True,
    type=click.Path(path_type=Path),
    help="A calendar file (YAML; see docs/sla.md).",
)
@click.option(
    "--start",
    required=True,
    help="When the clock starts, ISO 8601; without an offset it is read in the calendar's zone.",
)
@click.option(
    "--target", required=True, help="Business time to reach: whole minutes or hours, 90m or 8h."
)
@click.option(
    "--pause",
    "pauses",
    multiple=True,
    metavar="START/END",
    help="A pause of the clock, two ISO 8601 times joined by '/'; may be repeated.",
)
def deadline_command(calendar_path: Path, start: str, target: str, pauses: tuple[str, ...]) -> None:
    """Print when TARGET of business time has elapsed from START, in the calendar's zone."""
    try:
        cal = load_calendar_file(calendar_path)
    except CalendarError as exc:
        _fail(str(exc))
    try:
        due = sla.deadline(
            cal,
            _instant(start, cal.zone, "The start"),
            sla.parse_target(target),
            [_pause(text, cal.zone) for text in pauses],
        )
    except ValueError as exc:
        _fail(str(exc))
    except OverflowError:
        _fail("The deadline falls beyond the year 9999, which cannot be shown.")
    click.echo(_show(due, cal.zone))


def _instant(text: str, zone: ZoneInfo, what: str) -> datetime:
    """An ISO 8601 time; without an offset it is a wall time in `zone` (a skipped wall time
    means the moment of the jump, a repeated one its first occurrence, as for calendars)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{what} `{text}` is not an ISO 8601 time such as 2026-03-27T15:00 "
            "or 2026-03-27T15:00+01:00."
        ) from None
    if value.tzinfo is None:
        return wall_to_utc(zone, value)
    return value


def _pause(text: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    parts = text.split("/")
    if len(parts) != 2:
        raise ValueError(f"--pause `{text}` is not two ISO 8601 times joined by '/' (START/END).")
    a, b = _instant(parts[0], zone, "The pause start"), _instant(parts[1], zone, "The pause end")
    if b < a:
        raise ValueError(f"The pause `{text}` ends before it starts.")
    return a, b


def _show(instant: datetime, zone: ZoneInfo) -> str:
    """YYYY-MM-DDTHH:MM:SS±HH:MM; a deadline inside a second is shown at the next whole
    second, so the printed time is never before the target is reached."""
    if instant.microsecond:
        instant = instant.replace(microsecond=0) + timedelta(seconds=1)
    return instant.astimezone(zone).isoformat(timespec="seconds")


def _fail(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(BAD_INPUT)
