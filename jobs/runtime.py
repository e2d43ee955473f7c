"""What a job needs from its process: database sessions and the workers' Redis client.

Read from the environment once per process (DATABASE_URL and REDIS_URL, as `config.Config`
reads them), never at import time. RQ's default worker forks a work horse per job: a
connection pool inherited across `fork()` would share sockets with the parent, so the
child drops what it inherited (without closing the parent's connections) and opens its own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache

from redis import Redis
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config import Config
from jobs.connection import for_workers
from workflow.db import make_engine


@cache
def config() -> Config:
    return Config.from_env()


@cache
def engine() -> Engine:
    return make_engine(config().DATABASE_URL, pool_pre_ping=True)


@cache
def _sessions() -> sessionmaker[Session]:
    return sessionmaker(engine(), expire_on_commit=False)


@contextmanager
def session() -> Iterator[Session]:
    """A session for one job (the services commit; this only closes it)."""
    with _sessions()() as s:
        yield s


def redis() -> Redis:
    url = config().REDIS_URL
    if not url:
        raise RuntimeError("REDIS_URL is not set; timers need Redis (see README).")
    return for_workers(url)


def now() -> datetime:
    """Jobs are where the clock is read; everything below them is passed `now`."""
    return datetime.now(UTC)


def _after_fork_in_child() -> None:
    if engine.cache_info().currsize:
        engine().dispose(close=False)


os.register_at_fork(after_in_child=_after_fork_in_child)


def reset() -> None:
    """Forget the settings read so far (tests point a process at another database)."""
    if engine.cache_info().currsize:
        engine().dispose()
    for cached in (config, engine, _sessions):
        cached.cache_clear()
