"""The named guards a workflow definition may reference, with their parameters and messages.

A definition never carries code: it names a rule from this registry and gives parameters,
which are checked against the rule's declared parameters when the definition is validated.
A rule is a pure function of the context; it returns None when the event may go ahead, or a
sentence telling the person why not. Rules never change anything (actions do the work).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

ROLES = ("requester", "agent", "admin", "ops", "system")
"""Who may fire an event. `requester` means the end user who opened this very ticket;
an actor's own role is one of ACTOR_ROLES."""
ACTOR_ROLES = ("end_user", "agent", "admin", "ops", "system")


class TicketView(Protocol):
    """What the rules read of a ticket (the ORM model satisfies it; tests may use plain objects)."""

    requester_id: int | None
    assignee_id: int | None
    team_id: int | None
    department_id: int | None
    resolved_at: datetime | None
    confirmed_at: datetime | None


@dataclass(frozen=True)
class Actor:
    """Who acts. Services receive it; they never read it from a global."""

    id: int | None
    role: str
    name: str = ""

    @classmethod
    def system(cls) -> Actor:
        return cls(id=None, role="system", name="Ticketflow")

    @property
    def is_staff(self) -> bool:
        return self.role in ("agent", "admin", "ops")


@dataclass(frozen=True)
class GuardContext:
    """Everything a guard may look at: the ticket, who acts, when, and what they sent."""

    ticket: TicketView
    actor: Actor
    now: datetime
    event_label: str
    note: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    """A declared guard parameter: its type, default and lower bound."""

    type: type
    default: Any
    minimum: int | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    check: Callable[..., str | None]
    params: Mapping[str, Param]
    summary: str
    input: bool = False
    """An input guard is satisfied by what the person sends (a note, a reply, a target);
    `explain` lists it as something the form needs rather than as a reason to refuse."""


REGISTRY: dict[str, Rule] = {}


def rule(
    summary: str, input: bool = False, **params: Param
) -> Callable[[Callable[..., str | None]], Callable]:
    """Register a guard under its function name with its declared parameters."""

    def register(fn: Callable[..., str | None]) -> Callable[..., str | None]:
        REGISTRY[fn.__name__] = Rule(fn.__name__, fn, params, summary, input)
        return fn

    return register


def _blank(text: str | None) -> bool:
    return text is None or not str(text).strip()


def _target(ctx: GuardContext, key: str) -> int | None:
    value = ctx.params.get(key)
    return int(value) if value not in (None, "") else None


# ---- who acts -------------------------------------------------------------------------------


def role_refusal(allowed: tuple[str, ...], ctx: GuardContext) -> str | None:
    """The implicit guard of every event: the `by` list of the definition."""
    actor, ticket = ctx.actor, ctx.ticket
    if actor.role in allowed:
        return None
    if actor.role == "end_user":
        if "requester" in allowed and actor.id is not None and actor.id == ticket.requester_id:
            return None
        if "requester" in allowed:
            return f"“{ctx.event_label}” is only for the person who opened this ticket."
    names = {
        "requester": "the customer",
        "agent": "agents",
        "admin": "admins",
        "ops": "operations staff",
        "system": "Ticketflow itself",
    }
    who = " or ".join(names[r] for r in allowed)
    return f"“{ctx.event_label}” is only for {who}."


@rule(
    "The acting agent is the assignee (admins may act for them unless allow_admin is false).",
    allow_admin=Param(bool, True),
)
def actor_is_assignee(ctx: GuardContext, allow_admin: bool = True) -> str | None:
    if allow_admin and ctx.actor.role == "admin":
        return None
    if ctx.ticket.assignee_id is not None and ctx.ticket.assignee_id == ctx.actor.id:
        return None
    return (
        f"“{ctx.event_label}” is only for the agent assigned to this ticket"
        f"{' (or an admin)' if allow_admin else ''}."
    )


@rule("The acting agent is not already the assignee.")
def not_already_assignee(ctx: GuardContext) -> str | None:
    if ctx.ticket.assignee_id is not None and ctx.ticket.assignee_id == ctx.actor.id:
        return "You are already assigned to this ticket."
    return None


# ---- what they send -------------------------------------------------------------------------


@rule(
    "A note of at least min_length characters comes with the event.",
    input=True,
    min_length=Param(int, 10, minimum=1),
)
def note_required(ctx: GuardContext, min_length: int = 10) -> str | None:
    if _blank(ctx.note):
        return (
            f"“{ctx.event_label}” needs a note (at least {min_length} characters) "
            "for the person who reads it next."
        )
    if len(ctx.note.strip()) < min_length:
        return (
            f"The note is too short: “{ctx.event_label}” needs at least "
            f"{min_length} characters, so the person who reads it next knows what to do."
        )
    return None


@rule(
    "A public reply to the customer comes with the event.",
    input=True,
    min_length=Param(int, 1, minimum=1),
)
def public_reply_required(ctx: GuardContext, min_length: int = 1) -> str | None:
    reply = ctx.params.get("reply")
    if _blank(reply):
        return (
            f"“{ctx.event_label}” needs a public reply to the customer "
            "(tell them what was done and ask whether anything else is needed)."
        )
    if len(str(reply).strip()) < min_length:
        return (
            f"The reply is too short: “{ctx.event_label}” needs at least {min_length} characters."
        )
    return None


@rule("An agent or a team to assign to is given.", input=True)
def assignment_target_given(ctx: GuardContext) -> str | None:
    if _target(ctx, "assignee_id") is None and _target(ctx, "team_id") is None:
        return "Choose an agent or a team to assign the ticket to."
    return None


@rule("The assignment changes who owns the ticket.", input=True)
def assignment_target_differs(ctx: GuardContext) -> str | None:
    agent, team = _target(ctx, "assignee_id"), _target(ctx, "team_id")
    if agent is None and team is None:
        return None  # assignment_target_given says what is missing
    same_agent = agent is None or agent == ctx.ticket.assignee_id
    same_team = team is None or team == ctx.ticket.team_id
    if same_agent and same_team:
        return "The ticket is already assigned there; choose a different agent or team."
    return None


@rule(
    "A transfer names a receiving agent, team or department different from the current one.",
    input=True,
)
def transfer_target_differs(ctx: GuardContext) -> str | None:
    agent, team = _target(ctx, "assignee_id"), _target(ctx, "team_id")
    department = _target(ctx, "department_id")
    if agent is None and team is None and department is None:
        return "Choose the agent, team or department that receives the ticket."
    if agent is not None and agent == ctx.actor.id and ctx.actor.id == ctx.ticket.assignee_id:
        return "You cannot transfer a ticket to yourself."
    same_agent = agent is None or agent == ctx.ticket.assignee_id
    same_team = team is None or team == ctx.ticket.team_id
    same_dept = department is None or department == ctx.ticket.department_id
    if same_agent and same_team and same_dept:
        return "The ticket already sits with that agent or team; choose a different one."
    return None


@rule("The receiver is an agent or a team (not only a department).", input=True)
def receiver_named(ctx: GuardContext) -> str | None:
    agent, team = _target(ctx, "assignee_id"), _target(ctx, "team_id")
    if agent is None and team is None and _target(ctx, "department_id") is not None:
        return "Name the agent or team who receives the ticket."
    return None


# ---- the ticket's history -------------------------------------------------------------------


@rule("The customer confirmed the resolution after the latest resolve.")
def confirmed_since_resolve(ctx: GuardContext) -> str | None:
    resolved, confirmed = ctx.ticket.resolved_at, ctx.ticket.confirmed_at
    if resolved is None:
        return "The ticket has not been resolved yet."
    if confirmed is None:  # record_resolution clears it, so set means "since the resolve"
        return (
            "The customer has not confirmed that the issue is resolved yet; "
            "a ticket is closed only after their confirmation."
        )
    return None


@rule("At least `days` days have passed since the latest resolve.", days=Param(int, 7, minimum=0))
def silent_since_resolve(ctx: GuardContext, days: int = 7) -> str | None:
    resolved = ctx.ticket.resolved_at
    if resolved is None:
        return "The ticket has not been resolved yet."
    if ctx.now - resolved < timedelta(days=days):
        span = "a day" if days == 1 else f"{days} days"
        return f"Only {span} after the latest resolve, without an answer, can this happen."
    return None


def check_param(rule_name: str, name: str, value: Any) -> str | None:
    """Validate one parameter of a guard reference; returns a sentence when it is wrong."""
    spec = REGISTRY[rule_name].params.get(name)
    if name == "message":
        return (
            None
            if isinstance(value, str) and value.strip()
            else ("`message` must be a non-empty sentence.")
        )
    if spec is None:
        known = ", ".join(sorted(REGISTRY[rule_name].params)) or "none"
        return f"guard '{rule_name}' has no parameter '{name}' (its parameters: {known})."
    if spec.type is int and (isinstance(value, bool) or not isinstance(value, int)):
        return f"parameter '{name}' of guard '{rule_name}' must be a whole number, not {value!r}."
    if spec.type is bool and not isinstance(value, bool):
        return f"parameter '{name}' of guard '{rule_name}' must be true or false, not {value!r}."
    if spec.minimum is not None and value < spec.minimum:
        return f"parameter '{name}' of guard '{rule_name}' must be at least {spec.minimum}."
    return None


def evaluate(rule_name: str, params: Mapping[str, Any], ctx: GuardContext) -> str | None:
    """Run one guard with its parameters; a definition's `message` replaces the default text."""
    spec = REGISTRY[rule_name]
    kwargs = {k: v for k, v in params.items() if k != "message"}
    reason = spec.check(ctx, **kwargs)
    if reason is not None and params.get("message"):
        return str(params["message"])
    return reason
