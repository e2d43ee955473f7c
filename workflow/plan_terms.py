"""An SLA plan as the clocks read it: targets, at-risk threshold, calendar and policy.

`Terms` is one immutable value built from a plan row and its calendar row. The calendar and
the policy are parsed once per distinct document (cached by their JSON), so a calendar's
cached days survive from one service call to the next. Loading is one query, made only
when a clock actually changes (a claim never loads a plan); `lazy` gives services that
laziness.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, Text, bindparam, cast, select
from sqlalchemy.orm import Session, object_session, scoped_session

from workflow.calendar_format import parse_calendar
from workflow.calendars import ALWAYS_OPEN, Calendar
from workflow.escalation import EMPTY, Policy, parse_policy
from workflow.models import SlaCalendar, SlaPlan
from workflow.prepared import Prepared

TARGET_COLUMNS = {
    "first_response": "first_response_minutes",
    "next_response": "next_response_minutes",
    "resolution": "resolution_minutes",
}


@dataclass(frozen=True)
class Terms:
    """What a plan promises. `targets` holds business time per clock (absent: no target)."""

    plan_id: int | None = None
    targets: dict[str, timedelta] = field(default_factory=dict)
    at_risk_percent: int | None = None
    at_risk_minutes: int | None = None
    calendar: Calendar = ALWAYS_OPEN
    policy: Policy = EMPTY

    @property
    def has_at_risk(self) -> bool:
        return self.at_risk_percent is not None or self.at_risk_minutes is not None

    def at_risk_left(self, clock: str) -> timedelta | None:
        """Business time left on the clock when it becomes at risk (None: no threshold)."""
        target = self.targets.get(clock)
        if target is None or not self.has_at_risk:
            return None
        if self.at_risk_percent is not None:
            part = -((-target * self.at_risk_percent) // 100)  # as workflow.sla rounds it
            return max(target - part, timedelta(0))
        return min(timedelta(minutes=self.at_risk_minutes or 0), target)


NONE = Terms()
"""No plan: no targets, so no clock runs."""

TermsSource = Callable[[], Terms]


def from_rows(plan: SlaPlan | None, calendar: SlaCalendar | dict[str, Any] | None) -> Terms:
    """Terms from a plan row and its calendar (a row or the calendar document itself)."""
    if plan is None:
        return NONE
    targets = {
        clock: timedelta(minutes=minutes)
        for clock, column in TARGET_COLUMNS.items()
        if (minutes := getattr(plan, column))
    }
    document = calendar.definition if isinstance(calendar, SlaCalendar) else calendar
    return Terms(
        plan_id=plan.id,
        targets=targets,
        at_risk_percent=plan.at_risk_percent,
        at_risk_minutes=plan.at_risk_minutes,
        calendar=_calendar(_canonical(document)) if document else ALWAYS_OPEN,
        policy=_policy(_canonical(plan.escalation_policy)),
    )


_PLANS = SlaPlan.__table__
PLAN_VALUES = (
    _PLANS.c.id.label("plan_row_id"),
    *(getattr(_PLANS.c, column).label(f"plan_{column}") for column in TARGET_COLUMNS.values()),
    _PLANS.c.at_risk_percent.label("plan_at_risk_percent"),
    _PLANS.c.at_risk_minutes.label("plan_at_risk_minutes"),
    cast(_PLANS.c.escalation_policy, Text).label("plan_policy_text"),
    cast(SlaCalendar.definition, Text).label("plan_calendar_text"),
)
"""A plan's terms as plain values, its documents as the text stored (a value tuple is the
key of `from_values`'s cache, so an unchanged plan is never parsed or built again). A
ticket's own load joins these (workflow/ticket_record.py) to spare the plan's query."""

_LOAD = Prepared(
    select(*PLAN_VALUES)
    .select_from(_PLANS)
    .outerjoin(SlaCalendar, SlaCalendar.id == _PLANS.c.calendar_id)
    .where(_PLANS.c.id == bindparam("plan_id"))
)
"""Built once, run on the driver connection (workflow/prepared.py)."""


def join_plan(statement: Select[Any], plan_id: Any) -> Select[Any]:
    """`statement` with the terms of plan `plan_id` (a column) added as PLAN_VALUES."""
    return (
        statement.add_columns(*PLAN_VALUES)
        .outerjoin(_PLANS, _PLANS.c.id == plan_id)
        .outerjoin(SlaCalendar, SlaCalendar.id == _PLANS.c.calendar_id)
    )


@lru_cache(maxsize=256)
def from_values(values: tuple[Any, ...]) -> Terms:
    """Terms from one row of PLAN_VALUES (None for the plan id: no plan). The same values
    give the same (immutable) Terms object: an admin's edit changes the values, hence the key."""
    plan_id, *minutes, percent, at_risk_minutes, policy, calendar = values
    if plan_id is None:
        return NONE
    plan = SlaPlan(
        id=plan_id,
        **dict(zip(TARGET_COLUMNS.values(), minutes, strict=True)),
        at_risk_percent=percent,
        at_risk_minutes=at_risk_minutes,
        escalation_policy=json.loads(policy) if policy else None,
    )
    return from_rows(plan, json.loads(calendar) if calendar else None)


def load(session: Session, plan_id: int | None) -> Terms:
    """The terms of plan `plan_id` (NONE for no plan), with one query."""
    if plan_id is None:
        return NONE
    row = _LOAD.first(session, {"plan_id": plan_id})
    return NONE if row is None else from_values(row)


def prime(session: Session, values: tuple[Any, ...]) -> None:
    """Hand `lazy` the terms a ticket's own load already read (PLAN_VALUES), for this
    transaction: the clocks then need no query of their own."""
    if values[0] is not None:
        _transaction_cache(session)[values[0]] = from_values(values)


def _transaction_cache(session: Session) -> dict[int | None, Terms]:
    """Terms already known in the current transaction of `session`, by plan id."""
    # the web's session is scoped (Flask-SQLAlchemy), which does not pass get_transaction on
    current = session.registry() if isinstance(session, scoped_session) else session
    transaction = current.get_transaction()
    cached = session.info.get(_CACHE)
    if cached is None or cached[0] is not transaction:
        cached = (transaction, {})
        session.info[_CACHE] = cached
    return cached[1]


def lazy(session: Session, plan_id: int | None) -> TermsSource:
    """A source that loads the terms on first use, once per transaction of `session` (a
    customer's answer asks twice: the next-response clock starts, the event recomputes),
    unless the ticket's load primed them."""

    def source() -> Terms:
        known = _transaction_cache(session)
        terms = known.get(plan_id)
        if terms is None:
            terms = known[plan_id] = load(session, plan_id)
        return terms

    return source


_CACHE = "ticketflow.plan_terms"


def fixed(terms: Terms) -> TermsSource:
    return lambda: terms


def _canonical(document: Any) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


@lru_cache(maxsize=256)
def _calendar(document: str) -> Calendar:
    return parse_calendar(json.loads(document))


@lru_cache(maxsize=256)
def _policy(document: str) -> Policy:
    return parse_policy(json.loads(document))


def source_for(ticket: Any, terms: Terms | TermsSource | None) -> TermsSource:
    """Where a ticket's clocks get their terms: given, or loaded lazily through the session
    an ORM ticket belongs to. A loaded record (workflow.ticket_record) has no session, so
    its callers must pass them; a ticket without a plan needs none."""
    if isinstance(terms, Terms):
        return fixed(terms)
    if terms is not None:
        return terms
    session = object_session(ticket) if hasattr(ticket, "_sa_instance_state") else None
    if session is None:
        if ticket.sla_plan_id is None:
            return fixed(NONE)
        raise TypeError("Pass the plan's terms (workflow.plan_terms) to compute its clocks.")
    return lazy(session, ticket.sla_plan_id)


def of_plan(plan: SlaPlan | Terms | None) -> Terms:
    """Terms from a plan row bound to a session (its calendar is read through it)."""
    if plan is None or isinstance(plan, Terms):
        return plan or NONE
    session = object_session(plan)
    calendar = session.get(SlaCalendar, plan.calendar_id) if session and plan.calendar_id else None
    return from_rows(plan, calendar)
