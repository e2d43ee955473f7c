"""Domain errors. Each carries sentences a person can read; the web layer maps them to statuses."""

from __future__ import annotations

from dataclasses import dataclass


class TicketflowError(Exception):
    """Base class of every error the domain raises on purpose."""


class TransitionRejected(TicketflowError):
    """An event was refused. `reasons` lists every reason, not just the first; nothing changed."""

    def __init__(self, event: str, reasons: list[str]):
        self.event = event
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons) or f"{event} is not allowed now.")


class StaleTicket(TicketflowError):
    """The ticket changed since the caller read it (optimistic version check failed)."""

    def __init__(self, ticket_number: int | None, expected: int | None, actual: int | None):
        self.ticket_number = ticket_number
        self.expected = expected
        self.actual = actual
        which = f"Ticket #{ticket_number}" if ticket_number is not None else "This ticket"
        super().__init__(  # people's words: the versions stay in the attributes, for logs
            f"{which} was changed by someone else after you opened it, so nothing was saved "
            "here. Reload and try again."
            if actual is not None
            else f"{which} was changed by someone else at the same moment, so nothing was "
            "saved here. Reload and try again."
        )


class InvalidInput(TicketflowError):
    """What the person sent cannot be used (blank subject, unknown agent...); nothing changed."""

    def __init__(self, messages: list[str] | str):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__(" ".join(self.messages))


class PermissionDenied(TicketflowError):
    """The actor may not do this at all (as opposed to a guard refusing an event)."""


class NotFound(TicketflowError):
    """The thing asked for does not exist (or the actor may not know that it does)."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a workflow definition, with where it is."""

    message: str
    line: int | None = None
    where: str | None = None

    def __str__(self) -> str:
        loc = f"line {self.line}" if self.line else "document"
        if self.where:
            loc += f", {self.where}"
        return f"{loc}: {self.message}"


class InvalidDefinition(TicketflowError):
    """A workflow definition failed validation; `problems` lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class PublishRefused(TicketflowError):
    """A workflow version cannot be published as asked (e.g. a removed state has no mapping)."""
