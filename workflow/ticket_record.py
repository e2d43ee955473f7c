"""The write path of a ticket: plain values in, three statements out.

Moving a ticket is the hottest write in the product, and the ORM's unit of work costs
several times the database round trips for a one-row update (measured in bench/: about
3 ms of client CPU per transition). So the services load the ticket as a `TicketRecord`
(one prepared SELECT, joined with its workflow version's checksum), let the domain change
it, and write back only the changed columns with the optimistic version check in the
WHERE clause, then the new thread entries and log rows. Guards, actions and clocks read
and write the same attribute names on a record as on the ORM `Ticket`.

The statements run through `workflow.prepared`, on the driver connection of the session's
transaction: SQLAlchemy's per-statement execution machinery cost more client CPU than the
driver's work for these small statements (bench/: a fifth of the service's client CPU).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from workflow import plan_terms
from workflow.errors import NotFound, StaleTicket
from workflow.loading import compiled_version
from workflow.machines import Compiled
from workflow.models import ThreadEntry, Ticket, TransitionLog, WorkflowVersion
from workflow.prepared import Prepared
from workflow.rules import Actor

TICKETS = Ticket.__table__
COLUMNS: tuple[str, ...] = tuple(c.key for c in TICKETS.columns)
ENTRY_COLUMNS = tuple(c.key for c in ThreadEntry.__table__.columns if c.key != "id")

_LOAD = Prepared(
    plan_terms.join_plan(
        select(TICKETS, WorkflowVersion.checksum).join(
            WorkflowVersion, TICKETS.c.workflow_version_id == WorkflowVersion.id
        ),
        TICKETS.c.sla_plan_id,
    ).where(TICKETS.c.id == bindparam("ticket_id"))
)
"""Built once: a statement built per call costs more than the query itself. It brings the
ticket's SLA plan terms along (two primary-key joins), so the clocks an event recomputes
need no query of their own (workflow/plan_terms.py `prime`)."""
_PLAN_AT = len(COLUMNS) + 1


class TicketRecord:
    """A ticket's columns as plain attributes, remembering what was loaded."""

    __slots__ = (*COLUMNS, "_loaded")

    def __init__(self, values: Mapping[str, Any]):
        for key in COLUMNS:
            setattr(self, key, values[key])
        self._loaded = {key: values[key] for key in COLUMNS}

    @property
    def loaded_version(self) -> int:
        return self._loaded["version"]

    def loaded(self, key: str) -> Any:
        """A column's value as it was read, before this call changed anything."""
        return self._loaded[key]

    def changes(self) -> dict[str, Any]:
        """Columns whose value differs from what was loaded (the version is the lock's)."""
        return {
            key: value
            for key in COLUMNS
            if key != "version" and (value := getattr(self, key)) != self._loaded[key]
        }


class TicketChange:
    """Everything one service call writes for one ticket."""

    def __init__(self, record: TicketRecord):
        self.record = record
        self.entries: list[ThreadEntry] = []
        self.logs: list[dict[str, Any]] = []

    def save(self, session: Session) -> None:
        """UPDATE the changed columns where the version is still the one loaded (else
        StaleTicket: someone else wrote first), then INSERT the entries and log rows."""
        record = self.record
        changes = record.changes()
        count = _update_for(tuple(changes)).execute(
            session, {**changes, "_id": record.id, "_version": record.loaded_version}
        )
        if count != 1:
            raise StaleTicket(record.number, record.loaded_version, None)
        record.version = record.loaded_version + 1
        if self.entries:
            rows = [{k: getattr(e, k) for k in ENTRY_COLUMNS} for e in self.entries]
            for row in rows:
                row["ticket_id"] = record.id
            _INSERT_ENTRY.execute_many(session, rows)
        if self.logs:
            _INSERT_LOG.execute_many(session, self.logs)


def _insert(table: Table) -> Prepared:
    """INSERT of every column but the key; `inline()`: no RETURNING of the new id."""
    values = {c.key: bindparam(c.key) for c in table.columns if c.key != "id"}
    return Prepared(insert(table).values(values).inline())


_INSERT_ENTRY = _insert(ThreadEntry.__table__)
_INSERT_LOG = _insert(TransitionLog.__table__)
_updates: dict[tuple[str, ...], Prepared] = {}


def _update_for(columns: tuple[str, ...]) -> Prepared:
    """The UPDATE for one set of changed columns, built once per set (a service changes one
    of a handful of sets), with the optimistic version check in its WHERE clause."""
    statement = _updates.get(columns)
    if statement is None:
        statement = Prepared(
            update(TICKETS)
            .where(TICKETS.c.id == bindparam("_id"), TICKETS.c.version == bindparam("_version"))
            .values({**{c: bindparam(c) for c in columns}, "version": TICKETS.c.version + 1})
        )
        _updates[columns] = statement
    return statement


def load_record(
    session: Session, ticket_id: int, actor: Actor, expected_version: int | None = None
) -> tuple[TicketRecord, Compiled]:
    """The ticket and its workflow. An end user asking for someone else's ticket gets
    NotFound (never a hint that it exists); a stale `expected_version` raises StaleTicket."""
    row = _LOAD.first(session, {"ticket_id": ticket_id})
    if row is None:
        raise NotFound("There is no such ticket.")
    values = dict(zip((*COLUMNS, "checksum"), row[:_PLAN_AT], strict=True))
    if actor.role == "end_user" and values["requester_id"] != actor.id:
        raise NotFound("There is no such ticket.")
    if expected_version is not None and values["version"] != expected_version:
        raise StaleTicket(values["number"], expected_version, values["version"])
    record = TicketRecord(values)
    plan_terms.prime(session, row[_PLAN_AT:])
    return record, compiled_version(session, record.workflow_version_id, values["checksum"])
