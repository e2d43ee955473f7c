"""Shared fixtures: a real database (PostgreSQL by default, SQLite for the smoke run).

TEST_DATABASE_URL picks the server. It defaults to the machine's PostgreSQL; when that
cannot be reached the tests fail loudly rather than skip: a missing service must never
look like a green run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from jobs import embedded_redis
from tests.factories import World, build_world
from tests.redis_claim import run_database
from workflow.db import make_engine
from workflow.models import Base

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday morning


def database_url() -> str:
    """TEST_DATABASE_URL, or a database of this test run's own on the local PostgreSQL, so
    parallel runs on one machine never truncate each other's rows."""
    return os.environ.get("TEST_DATABASE_URL", f"{DEFAULT_SERVER}/ticketflow_test_{os.getpid()}")


def _admin_engine(url: str) -> Engine:
    return create_engine(
        make_url(url).set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )


def _drop_postgres_database(url: str) -> None:
    admin = _admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def _ensure_postgres_database(url: str) -> None:
    parsed = make_url(url)
    admin = _admin_engine(url)
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    except Exception as exc:  # pragma: no cover - the message is the point
        pytest.exit(
            f"PostgreSQL at {parsed.render_as_string(hide_password=True)} cannot be "
            f"reached ({exc.__class__.__name__}: {exc}). Start it, or set "
            "TEST_DATABASE_URL=sqlite:///... for the SQLite smoke run.",
            returncode=3,
        )
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    url = database_url()
    if url.startswith("postgresql"):
        _ensure_postgres_database(url)
    eng = make_engine(url)
    Base.metadata.drop_all(eng)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()
    if url.startswith("postgresql") and "TEST_DATABASE_URL" not in os.environ:
        _drop_postgres_database(url)


@pytest.fixture
def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _truncate(eng: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            conn.execute(
                text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
                )
            )
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    _truncate(engine)
    yield sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def world(session: Session) -> World:
    """Reference data, the built-in support workflow, people and a help topic."""
    return build_world(session, NOW)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture(scope="session")
def redis_url():
    """A Redis database of this run's own: with REDIS_URL (CI: the machine's Redis), the run's
    claimed database 8-15 on that server (tests/redis_claim.py, shared with tests/jobs), never
    REDIS_URL's own database; without it, the embedded server `make demo` uses."""
    if os.environ.get("REDIS_URL"):
        with run_database(os.environ["REDIS_URL"]) as url:
            yield url
        return
    server = embedded_redis.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def live_channel():
    """This run's LIVE_CHANNEL: pub/sub channels span every database of a server, so a run
    on a shared Redis must not hear (or send) another run's or a deployment's live updates."""
    return f"ticketflow-test:{os.getpid()}:{uuid.uuid4().hex[:8]}:live"
