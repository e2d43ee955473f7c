"""Engine and session factory from a URL, for jobs, the CLI and benchmarks (no Flask)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def sqlalchemy_url(url: str) -> str:
    """`postgresql://` URLs (as people write them) use psycopg 3, the driver we ship."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, **kw: object) -> Engine:
    """An engine with the settings Ticketflow relies on for each backend."""
    return configure_engine(create_engine(sqlalchemy_url(url), **kw))


def configure_engine(engine: Engine) -> Engine:
    """Per-backend connection settings, for our engines and Flask-SQLAlchemy's alike."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    """Foreign keys on, WAL for concurrent readers, and wait instead of failing when busy."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def session_factory(url: str, **kw: object) -> sessionmaker[Session]:
    return sessionmaker(make_engine(url, **kw), expire_on_commit=False)
