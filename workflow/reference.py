"""Reference data every installation has: the four priorities and the shipped SLA plans.

Loaded by `ticketflow db upgrade` (with the built-in workflows) and idempotent: rows that
exist are left as the admins edited them. The one exception is the SLA fields this version
added (at-risk threshold, escalation policy): a built-in plan that has neither gets them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflow.escalation import parse_policy
from workflow.models import Priority, SlaPlan

PRIORITIES = (
    (1, "Low", "#6b7280"),
    (2, "Normal", "#2563eb"),
    (3, "High", "#d97706"),
    (4, "Emergency", "#dc2626"),
)

AT_RISK_PERCENT = 80
"""A clock is at risk once 80% of its target has elapsed."""

# (name, first response, next response, resolution) in business minutes. The shipped plans
# run around the clock (no calendar); an admin attaches a business calendar where wanted.
SLA_PLANS = (
    ("SEV A", 30, 60, 4 * 60),
    ("SEV B", 2 * 60, 4 * 60, 24 * 60),
    ("SEV C", 8 * 60, 8 * 60, 5 * 24 * 60),
)

L2 = "Level 2 Support"
POLICIES: dict[str, list[dict[str, Any]]] = {
    "SEV A": [
        {"at": "at_risk", "actions": [{"notify": "assignee"}]},
        {
            "at": "breach",
            "actions": [
                {"raise_priority": 1},
                {"reassign": L2},
                {"notify": "team"},
                {"event": "escalate"},
            ],
        },
        {"at": "breach+30", "actions": [{"notify": "manager"}]},
    ],
    "SEV B": [
        {"at": "at_risk", "actions": [{"notify": "assignee"}]},
        {"at": "breach", "actions": [{"notify": "assignee"}, {"event": "escalate"}]},
        {"at": "breach+60", "actions": [{"raise_priority": 1}, {"notify": "manager"}]},
    ],
    "SEV C": [
        {"at": "at_risk", "actions": [{"notify": "assignee"}]},
        {
            "at": "breach",
            "actions": [
                {"notify": "assignee"},
                {"note": "The SLA target was missed; please update the customer."},
                {"event": "escalate"},
            ],
        },
    ],
}
for _policy in POLICIES.values():  # a broken shipped policy fails at import, not at a breach
    parse_policy(_policy)


def ensure_reference_data(session: Session) -> list[str]:
    """Create missing priorities and SLA plans; return what was created. Does not commit."""
    created = []
    have = set(session.scalars(select(Priority.id)))
    for pid, name, colour in PRIORITIES:
        if pid not in have:
            session.add(Priority(id=pid, name=name, colour=colour))
            created.append(f"priority {name}")
    plans = {p.name: p for p in session.scalars(select(SlaPlan))}
    for name, first, following, resolution in SLA_PLANS:
        plan = plans.get(name)
        if plan is None:
            session.add(
                SlaPlan(
                    name=name,
                    first_response_minutes=first,
                    next_response_minutes=following,
                    resolution_minutes=resolution,
                    at_risk_percent=AT_RISK_PERCENT,
                    escalation_policy=POLICIES[name],
                )
            )
            created.append(f"SLA plan {name}")
        elif (
            plan.at_risk_percent is None
            and plan.at_risk_minutes is None
            and plan.escalation_policy is None
        ):
            plan.at_risk_percent = AT_RISK_PERCENT
            plan.escalation_policy = POLICIES[name]
            created.append(f"at-risk threshold and escalation policy of SLA plan {name}")
    session.flush()
    return created
