"""The transition write path runs on the driver connection (workflow/prepared.py): what it
reads and writes must be exactly what SQLAlchemy reads and writes, and a driver error must
look like SQLAlchemy's and leave the session usable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, exc, select, text

from workflow import services, ticket_record
from workflow.models import Ticket, TransitionLog
from workflow.prepared import Prepared


def _log_row(ticket_id: int, at: datetime, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "ticket_id": ticket_id,
        "actor_id": None,
        "actor_role": "system",
        "at": at,
        "event": "test",
        "from_state": None,
        "to_state": "new",
        "workflow_version_id": None,
        "note": None,
        "data": None,
    }
    row.update(kw)
    return row


def test_a_loaded_record_holds_what_the_orm_reads(world):
    s, now = world.session, world.now
    ticket = world.open()
    services.apply_event(
        s, ticket.id, "claim", world.actor(world.agent), now + timedelta(minutes=5)
    )
    record, _wf = ticket_record.load_record(s, ticket.id, world.actor(world.agent))
    s.expire_all()
    orm = s.get(Ticket, ticket.id)
    for column in ticket_record.COLUMNS:
        assert getattr(record, column) == getattr(orm, column), column
    stamps = [getattr(record, c) for c in ticket_record.COLUMNS if c.endswith("_at")]
    assert record.updated_at == now + timedelta(minutes=5)
    assert all(v.tzinfo is not None and v.utcoffset() == timedelta(0) for v in stamps if v)


def test_a_transfer_logs_its_targets_as_json_at_the_time_it_was_made(world):
    s, now = world.session, world.now
    ticket = world.open()
    agent = world.actor(world.agent)
    services.apply_event(s, ticket.id, "claim", agent, now)
    services.apply_event(
        s,
        ticket.id,
        "transfer",
        agent,
        now + timedelta(hours=1),
        note="Needs someone who knows the billing system.",
        assignee_id=world.colleague.id,
    )
    log = s.scalars(
        select(TransitionLog).where(
            TransitionLog.ticket_id == ticket.id, TransitionLog.event == "transfer"
        )
    ).one()
    assert log.data == {"assignee_id": world.colleague.id}
    assert log.at == now + timedelta(hours=1)
    assert log.note == "Needs someone who knows the billing system."


def test_a_driver_error_is_sqlalchemys_and_the_session_carries_on(world):
    s, now = world.session, world.now
    ticket = world.open()
    with pytest.raises(exc.IntegrityError):
        ticket_record._INSERT_LOG.execute_many(s, [_log_row(ticket.id + 1000, now)])
    s.rollback()
    record, _wf = ticket_record.load_record(s, ticket.id, world.actor(world.agent))
    assert record.number == ticket.number


def test_a_naive_time_is_refused_as_the_orm_refuses_it(world):
    s = world.session
    ticket = world.open()
    with pytest.raises(ValueError, match="aware datetimes"):
        ticket_record._INSERT_LOG.execute_many(s, [_log_row(ticket.id, datetime(2026, 1, 1))])
    s.rollback()


def test_a_statement_without_all_its_values_is_not_sent(world):
    statement = Prepared(select(Ticket.id).where(Ticket.id == bindparam("ticket_id")))
    with pytest.raises(exc.ArgumentError, match="ticket_id"):
        statement.first(world.session, {})


def test_an_update_reports_the_rows_it_matched(world):
    s, now = world.session, world.now
    ticket = world.open()
    bump = ticket_record._update_for(("updated_at",))
    later = now + timedelta(days=1)
    assert bump.execute(s, {"updated_at": later, "_id": ticket.id, "_version": 99}) == 0
    assert bump.execute(s, {"updated_at": later, "_id": ticket.id, "_version": 1}) == 1
    s.commit()
    assert s.scalar(select(Ticket.version).where(Ticket.id == ticket.id)) == 2


@pytest.mark.postgres
def test_a_lost_connection_is_invalidated_and_never_handed_out_again(world, engine):
    s = world.session
    ticket = world.open()
    backend = s.scalar(text("SELECT pg_backend_pid()"))
    with engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
    with pytest.raises(exc.OperationalError) as lost:
        ticket_record.load_record(s, ticket.id, world.actor(world.agent))
    assert lost.value.connection_invalidated
    s.rollback()
    assert s.scalar(text("SELECT pg_backend_pid()")) != backend
    record, _wf = ticket_record.load_record(s, ticket.id, world.actor(world.agent))
    assert record.state == "new" and record.updated_at.tzinfo is not None
    assert record.created_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_prepared_union_returns_every_row_converted_as_the_orm_reads_them(world):
    """`Prepared.all` on a UNION ALL (the ticket page's side read): every row, in order, with
    aware UTC datetimes as SQLAlchemy converts them."""
    s, now = world.session, world.now
    first, second = world.open(), world.open()
    both = Prepared(
        select(Ticket.number, Ticket.created_at)
        .where(Ticket.id == bindparam("a"))
        .union_all(select(Ticket.number, Ticket.created_at).where(Ticket.id == bindparam("b")))
    )
    rows = both.all(s, {"a": second.id, "b": first.id})
    s.rollback()
    assert [number for number, _at in rows] == [second.number, first.number]
    assert all(at.utcoffset() == timedelta(0) and at == now for _number, at in rows)
    assert both.all(s, {"a": -1, "b": -2}) == []
    s.rollback()
