"""The two ways a transition is written: through the service layer, and by hand.

Both fire the same real event, `claim`, on tickets sitting in `new` or `assigned`, spread
across the whole table. A claim by a different agent is always allowed there and leaves the
SLA clocks alone, so the hand-written path can write exactly the columns the ORM writes
(state, assignee, updated_at, version) and the comparison is like for like. Tickets are
handed out round-robin from a shuffled pool, so one run never hammers the same rows.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from psycopg import sql
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bench.dataset import LOG_COLUMNS
from workflow import services
from workflow.errors import StaleTicket
from workflow.models import Role, Ticket, TransitionLog, User
from workflow.rules import Actor

EVENT = "claim"
CLAIMABLE = ("new", "assigned")


@dataclass
class Target:
    """What the benchmark knows of a ticket: enough to pass `expected_version` and to pick
    an agent who is not already its assignee."""

    id: int
    version: int
    assignee_id: int | None
    state: str
    workflow_version_id: int


class Pool:
    """Claimable tickets in a seeded random order, and the agents who claim them."""

    def __init__(self, targets: list[Target], agents: list[Actor]) -> None:
        if not targets or len(agents) < 2:
            raise SystemExit(
                "The database has no claimable tickets or too few agents; run the generator first."
            )
        self.targets, self.agents = targets, agents
        self._next_ticket = self._next_agent = 0

    @classmethod
    def load(cls, engine: Engine, seed: int) -> Pool:
        with Session(engine) as session:
            targets = [
                Target(*row)
                for row in session.execute(
                    select(
                        Ticket.id,
                        Ticket.version,
                        Ticket.assignee_id,
                        Ticket.state,
                        Ticket.workflow_version_id,
                    )
                    .where(Ticket.state.in_(CLAIMABLE))
                    .order_by(Ticket.id)
                )
            ]
            agents = [
                Actor(uid, Role.AGENT.value, name)
                for uid, name in session.execute(
                    select(User.id, User.name)
                    .where(User.role == Role.AGENT, User.is_active)
                    .order_by(User.id)
                )
            ]
        random.Random(seed).shuffle(targets)
        return cls(targets, agents)

    def take(self) -> tuple[Target, Actor]:
        """The next ticket and an agent other than its current assignee."""
        target = self.targets[self._next_ticket % len(self.targets)]
        self._next_ticket += 1
        actor = self.agents[self._next_agent % len(self.agents)]
        self._next_agent += 1
        if actor.id == target.assignee_id:
            actor = self.agents[self._next_agent % len(self.agents)]
            self._next_agent += 1
        return target, actor


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds (what tx/s is computed from) and this process's CPU seconds (the
    client-side cost, which other load on the machine disturbs far less)."""

    wall: float
    cpu: float

    def __add__(self, other: Timing) -> Timing:
        return Timing(self.wall + other.wall, self.cpu + other.cpu)


class _Stopwatch:
    def __enter__(self) -> _Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.timing = Timing(time.perf_counter() - self._wall, time.process_time() - self._cpu)


def _claimed(target: Target, actor: Actor, version: int) -> None:
    target.version, target.assignee_id, target.state = version, actor.id, "assigned"


def run_service(engine: Engine, pool: Pool, n: int) -> Timing:
    """`n` claims through services.apply_event, one session and transaction each (as a web
    request would), each passing the version it expects."""
    make_session = sessionmaker(engine, expire_on_commit=False)
    with _Stopwatch() as watch:
        for _ in range(n):
            target, actor = pool.take()
            with make_session() as session:
                outcome = services.apply_event(
                    session,
                    target.id,
                    EVENT,
                    actor,
                    datetime.now(UTC),
                    expected_version=target.version,
                )
            _claimed(target, actor, outcome.ticket.version)
    return watch.timing


def _raw_statements() -> tuple[sql.Composed, sql.Composed]:
    """The UPDATE (with the version check) and the log INSERT, built from the metadata."""
    t, log = Ticket.__table__, TransitionLog.__table__
    state, assignee, updated, version, pk = (
        sql.Identifier(t.c[name].name)
        for name in ("state", "assignee_id", "updated_at", "version", "id")
    )
    update = sql.SQL(
        "UPDATE {t} SET {state} = %s, {assignee} = %s, {updated} = %s, {version} = {version} + 1"
        " WHERE {pk} = %s AND {version} = %s"
    ).format(
        t=sql.Identifier(t.name),
        state=state,
        assignee=assignee,
        updated=updated,
        version=version,
        pk=pk,
    )
    columns = [c for c in LOG_COLUMNS if c != "id"]
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(log.name),
        sql.SQL(", ").join(sql.Identifier(log.c[c].name) for c in columns),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
    )
    return update, insert


def run_raw(engine: Engine, pool: Pool, n: int) -> Timing:
    """`n` claims written by hand: UPDATE ... WHERE id AND version, INSERT the log row,
    COMMIT, on psycopg under SQLAlchemy's pool. No load, guards or ORM: the ceiling."""
    raw = engine.raw_connection()
    try:
        conn = raw.driver_connection
        update, insert = (s.as_string(conn) for s in _raw_statements())
        with _Stopwatch() as watch, conn.cursor() as cur:
            for _ in range(n):
                target, actor = pool.take()
                now = datetime.now(UTC)
                cur.execute(update, ("assigned", actor.id, now, target.id, target.version))
                if cur.rowcount != 1:
                    conn.rollback()
                    raise StaleTicket(None, target.version, None)
                log_row = (
                    target.id,
                    actor.id,
                    actor.role,
                    now,
                    EVENT,
                    target.state,
                    "assigned",
                    target.workflow_version_id,
                    None,
                    None,
                )
                cur.execute(insert, log_row)
                conn.commit()
                _claimed(target, actor, target.version + 1)
        return watch.timing
    finally:
        raw.close()
