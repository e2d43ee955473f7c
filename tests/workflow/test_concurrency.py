"""Concurrent writers on one ticket: the version column decides, and nobody is overwritten.

Many agents press buttons on the same ticket at the same moment. What `apply_event`
guarantees, and what these tests pin down, is:

* A caller that passes the version it saw gets StaleTicket if anyone wrote first, whether it
  notices when it reads the ticket (load_record compares versions) or when it writes
  (the ORM's `version_id_col` makes the UPDATE match no row). It never gets
  TransitionRejected for a state it did not see: the version changes with every state.
* A caller that passes no version is still stopped at the write if someone else committed
  since it *read* the ticket. A caller that reads after the other commit acts on the new
  state, which is a second, logged transition and not an overwrite.
* Every success adds exactly one log row and exactly one to the version.

Each thread has its own session (own connection) on PostgreSQL, where row locks and
READ COMMITTED re-checks make this real; SQLite serialises writers and proves nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import World, make_user
from workflow import services
from workflow.db import make_engine
from workflow.errors import StaleTicket
from workflow.models import Role, Ticket, TransitionLog
from workflow.rules import Actor

pytestmark = pytest.mark.postgres

THREADS = 20
TIMEOUT = 60.0


def needs_postgres(engine: Engine) -> None:
    """The guarantees are PostgreSQL's: on anything else the test fails (in its body, so it
    reads as a failure, not a setup error), and never skips into a green run."""
    if engine.dialect.name != "postgresql":
        pytest.fail(
            "tests/workflow/test_concurrency.py needs PostgreSQL (row locks, READ "
            f"COMMITTED re-checks); TEST_DATABASE_URL points at {engine.dialect.name}. "
            "Run it against postgresql://... instead of skipping it.",
            pytrace=False,
        )


@pytest.fixture
def sessions(
    engine: Engine, session_factory: sessionmaker[Session]
) -> Iterator[Callable[[], Session]]:
    """Sessions from `session_factory`, bound to an engine whose pool holds every racer.

    The shared engine's pool (5 + 10 overflow) would park five of twenty threads waiting for
    a connection, so they would arrive after the race instead of in it."""
    wide = make_engine(
        engine.url.render_as_string(hide_password=False),
        pool_size=THREADS + 2,
        max_overflow=0,
        pool_timeout=TIMEOUT,
    )
    yield lambda: session_factory(bind=wide)
    wide.dispose()


@dataclass
class Result:
    """What one racer got: the ticket version it committed, or the error it raised."""

    actor: Actor
    version: int | None = None
    error: BaseException | None = None

    @property
    def won(self) -> bool:
        return self.version is not None


Call = Callable[[Session], services.Outcome]


def race(
    sessions: Callable[[], Session],
    calls: list[tuple[Actor, Call]],
    gate: Callable[[list[threading.Thread], list[int]], None] | None = None,
) -> list[Result]:
    """Run each call in its own thread and session, released together by a Barrier.

    `gate`, if given, runs on the main thread once all threads are started, with the
    threads and their server process ids, and returns when the race may be decided (see
    `held_row`)."""
    barrier = threading.Barrier(len(calls) + 1, timeout=TIMEOUT)
    results = [Result(actor) for actor, _ in calls]
    pids = [0] * len(calls)

    def run(i: int, call: Call) -> None:
        try:
            with sessions() as session:
                pids[i] = session.connection().connection.dbapi_connection.info.backend_pid
                barrier.wait()
                results[i].version = call(session).ticket.version
        except BaseException as exc:  # reported by the test, never lost in the thread
            results[i].error = exc

    threads = [
        threading.Thread(target=run, args=(i, call), name=f"racer-{i}")
        for i, (_, call) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    try:
        barrier.wait()  # every racer has its connection: go
        if gate is not None:
            gate(threads, pids)
    finally:
        for thread in threads:
            thread.join(TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a racer hung"
    return results


class held_row:  # noqa: N801 - used like a function: `gate=held_row(engine, ticket_id)`
    """Hold the ticket's row lock until every racer is blocked writing it, then let go.

    Plain SELECTs are not blocked, so every racer reads the ticket (version and state as
    they were) and only then queues behind the lock: this makes "everyone read the same
    version" certain instead of likely, with or without an expected version. The lock is
    taken before the racers are released (the engine's first connection is the locker)."""

    def __init__(self, engine: Engine, ticket_id: int):
        self.engine, self.ticket_id = engine, ticket_id
        self.locker = engine.connect()
        self.locker.execute(
            text("SELECT id FROM tickets WHERE id = :id FOR UPDATE"), {"id": ticket_id}
        )

    def __call__(self, threads: list[threading.Thread], pids: list[int]) -> None:
        try:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
                deadline = time.monotonic() + TIMEOUT
                waiting = 0
                while time.monotonic() < deadline and any(t.is_alive() for t in threads):
                    waiting = watcher.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids) "
                            "AND wait_event_type = 'Lock'"
                        ),
                        {"pids": pids},
                    )
                    if waiting == len(threads):
                        break
                    time.sleep(0.01)
        finally:
            self.locker.rollback()
            self.locker.close()
        assert waiting == len(threads), (
            f"only {waiting} of {len(threads)} racers reached the row lock"
        )


def claim(actor: Actor, ticket_id: int, world: World, expected: int | None) -> Call:
    return lambda s: services.apply_event(
        s, ticket_id, "claim", actor, world.now, expected_version=expected
    )


def agents(world: World, n: int) -> list[Actor]:
    """`n` fresh agents, committed so every racer's session sees them."""
    users = [
        make_user(world.session, f"racer{i}@example.com", f"Racer {i}", Role.AGENT, world.now)
        for i in range(n)
    ]
    world.session.commit()
    return [world.actor(u) for u in users]


def log_rows(session: Session, ticket_id: int, event: str) -> list[TransitionLog]:
    return list(
        session.scalars(
            select(TransitionLog)
            .where(TransitionLog.ticket_id == ticket_id, TransitionLog.event == event)
            .order_by(TransitionLog.id)
        )
    )


def fresh(session: Session, ticket_id: int) -> Ticket:
    session.expire_all()
    return session.get(Ticket, ticket_id)


def is_write_time_stale(exc: BaseException | None) -> bool:
    """Lost at the UPDATE (version_id_col matched no row), not at the read-time check."""
    return isinstance(exc, StaleTicket) and exc.expected is not None and exc.actual is None


# ---- twenty agents claim one ticket ---------------------------------------------------------


def test_of_twenty_simultaneous_claims_on_the_version_seen_exactly_one_wins(
    world, sessions, engine
):
    """All twenty saw version 1. One claim commits; the nineteen others raise StaleTicket,
    some at the read-time check (they read version 2), the rest at the write (they read
    version 1 but the UPDATE ... WHERE version = 1 matched nothing). None is TransitionRejected:
    nobody can see the new state without also seeing the new version."""
    needs_postgres(engine)
    ticket = world.open()
    racers = agents(world, THREADS)
    before = len(log_rows(world.session, ticket.id, "claim"))

    results = race(sessions, [(a, claim(a, ticket.id, world, expected=1)) for a in racers])

    winners = [r for r in results if r.won]
    assert len(winners) == 1, [r.error for r in results]
    losers = [r for r in results if not r.won]
    assert len(losers) == THREADS - 1
    assert all(type(r.error) is StaleTicket for r in losers), [r.error for r in losers]
    for r in losers:
        assert is_write_time_stale(r.error) or (r.error.expected, r.error.actual) == (1, 2)
    winner = winners[0]
    assert winner.version == 2
    after = fresh(world.session, ticket.id)
    assert (after.version, after.state, after.assignee_id) == (2, "assigned", winner.actor.id)
    rows = log_rows(world.session, ticket.id, "claim")
    assert len(rows) == before + 1 == 1
    assert (rows[0].actor_id, rows[0].from_state, rows[0].to_state) == (
        winner.actor.id,
        "new",
        "assigned",
    )


def test_without_an_expected_version_the_version_column_still_lets_one_claim_win(
    world, sessions, engine
):
    """No version passed (a script, a job, a form that forgot it). All twenty read the ticket
    while it is new; exactly one UPDATE matches version 1, the other nineteen match nothing
    and raise StaleTicket. No claim replaces another without a trace."""
    needs_postgres(engine)
    ticket = world.open()
    racers = agents(world, THREADS)

    results = race(
        sessions,
        [(a, claim(a, ticket.id, world, expected=None)) for a in racers],
        gate=held_row(engine, ticket.id),
    )

    winners = [r for r in results if r.won]
    assert len(winners) == 1, [r.error for r in results]
    losers = [r.error for r in results if not r.won]
    assert len(losers) == THREADS - 1 and all(map(is_write_time_stale, losers)), losers
    after = fresh(world.session, ticket.id)
    assert (after.version, after.assignee_id) == (2, winners[0].actor.id)
    assert [(r.actor_id, r.from_state) for r in log_rows(world.session, ticket.id, "claim")] == [
        (winners[0].actor.id, "new")
    ]


def test_without_an_expected_version_every_claim_that_wins_is_logged_in_order(
    world, sessions, engine
):
    """Left to chance, a racer may read the ticket after another claim committed and claim
    it from `assigned` (allowed: an agent may take a ticket over). That is a second
    transition, not an overwrite: each winner has its own version and its own log row, and
    the assignee is the last logged claimer."""
    needs_postgres(engine)
    ticket = world.open()
    racers = agents(world, THREADS)

    results = race(sessions, [(a, claim(a, ticket.id, world, expected=None)) for a in racers])

    winners = sorted((r for r in results if r.won), key=lambda r: r.version)
    assert winners, [r.error for r in results]
    assert all(type(r.error) is StaleTicket for r in results if not r.won)
    assert [r.version for r in winners] == list(range(2, 2 + len(winners)))
    rows = log_rows(world.session, ticket.id, "claim")
    assert [r.actor_id for r in rows] == [w.actor.id for w in winners]
    assert [r.from_state for r in rows] == ["new"] + ["assigned"] * (len(rows) - 1)
    after = fresh(world.session, ticket.id)
    assert after.version == 1 + len(winners)
    assert after.assignee_id == rows[-1].actor_id


# ---- two agents, two different events -------------------------------------------------------


def _claimed(world: World) -> Ticket:
    ticket = world.open()
    return services.apply_event(
        world.session, ticket.id, "claim", world.actor(world.agent), world.now
    ).ticket


def _start_and_transfer(
    world: World, ticket: Ticket, expected: int | None
) -> list[tuple[Actor, Call]]:
    agent, colleague = world.actor(world.agent), world.actor(world.colleague)
    later = world.now + timedelta(minutes=5)
    return [
        (
            agent,
            lambda s: services.apply_event(
                s, ticket.id, "start", agent, later, expected_version=expected
            ),
        ),
        (
            colleague,
            lambda s: services.apply_event(
                s,
                ticket.id,
                "transfer",
                colleague,
                later,
                expected_version=expected,
                note="Needs the Level 2 printer specialists.",
                team_id=world.level2.id,
            ),
        ),
    ]


@pytest.mark.parametrize("round_", range(10))
def test_a_start_and_a_transfer_at_once_never_both_succeed_on_one_version(
    world, sessions, engine, round_
):
    """The assignee starts work while a colleague transfers the ticket, both from the page
    they loaded at the same version: one of them wins, the other is told to reload."""
    needs_postgres(engine)
    ticket = _claimed(world)
    seen = ticket.version

    results = race(sessions, _start_and_transfer(world, ticket, expected=seen))

    winners = [r for r in results if r.won]
    assert len(winners) == 1, [r.error for r in results]
    [loser] = [r for r in results if not r.won]
    assert type(loser.error) is StaleTicket
    after = fresh(world.session, ticket.id)
    assert after.version == seen + 1
    won_start = winners[0].actor.id == world.agent.id
    assert after.state == ("in_progress" if won_start else "assigned")
    assert after.team_id == (None if won_start else world.level2.id)
    assert len(log_rows(world.session, ticket.id, "start")) == int(won_start)
    assert len(log_rows(world.session, ticket.id, "transfer")) == int(not won_start)


def test_a_start_and_a_transfer_read_together_without_versions_still_exclude_each_other(
    world, sessions, engine
):
    """Both read the ticket as `assigned` to the agent before either writes; the first UPDATE
    wins and the other fails at the write instead of applying its event to a state it never
    saw (a transfer silently undoing a start, or the reverse)."""
    needs_postgres(engine)
    ticket = _claimed(world)
    seen = ticket.version

    results = race(
        sessions,
        _start_and_transfer(world, ticket, expected=None),
        gate=held_row(engine, ticket.id),
    )

    assert sum(r.won for r in results) == 1, [r.error for r in results]
    [loser] = [r for r in results if not r.won]
    assert is_write_time_stale(loser.error)
    assert fresh(world.session, ticket.id).version == seen + 1
    assert (
        len(log_rows(world.session, ticket.id, "start"))
        + len(log_rows(world.session, ticket.id, "transfer"))
        == 1
    )


def test_a_failed_race_leaves_no_partial_rows(world, sessions, engine):
    """The losers' transactions roll back whole: no thread entry, no log row, no bump."""
    needs_postgres(engine)
    ticket = _claimed(world)
    racers = agents(world, 4)
    entries = world.session.scalar(text("SELECT count(*) FROM thread_entries"))
    race(
        sessions,
        [
            (
                a,
                lambda s, a=a: services.apply_event(
                    s,
                    ticket.id,
                    "request_info",
                    a,
                    world.now,
                    reply="Which floor is the printer on?",
                ),
            )
            for a in racers
        ],
        gate=held_row(engine, ticket.id),
    )
    after = fresh(world.session, ticket.id)
    assert after.version == 3 and after.state == "awaiting_customer"
    assert world.session.scalar(text("SELECT count(*) FROM thread_entries")) == entries + 1
    assert (
        world.session.scalar(
            select(func.count())
            .select_from(TransitionLog)
            .where(TransitionLog.ticket_id == ticket.id, TransitionLog.event == "request_info")
        )
        == 1
    )


def test_a_writer_that_loses_the_race_is_told_which_ticket_changed(world, sessions, engine):
    """Losing at the write still names the ticket (and the version the loser saw), so the
    person reads "Ticket #100001 was changed by someone else", never "#None"."""
    needs_postgres(engine)
    ticket = world.open()
    racers = agents(world, 2)
    results = race(
        sessions,
        [(a, claim(a, ticket.id, world, expected=None)) for a in racers],
        gate=held_row(engine, ticket.id),
    )
    [loser] = [r.error for r in results if r.error is not None]
    assert isinstance(loser, StaleTicket)
    assert "#None" not in str(loser)
    assert loser.ticket_number == ticket.number
