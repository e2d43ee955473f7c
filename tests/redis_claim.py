"""One Redis database of its own for each test run, shared by tests/jobs and tests/web.

Why: RQ's queue names and the app's keys are fixed, so two test runs on one Redis database
(two terminals, or CI next to a developer) would take each other's jobs and flush each
other's keys. A run claims one of the databases 8-15 with SET NX of a key in database 0,
holding this run's token; the claim expires after a few hours in case the run is killed,
and a claim whose process on this host has died is taken over at once.

One claim per server per run: tests/jobs and tests/web each hold the run's database through
`run_database`, which counts its holders, so a run with both claims ONE database (the last
holder flushes it and frees the claim). Every database taken: `AllClaimed`, which the
fixtures turn into `pytest.exit` with the claim keys to free; never a wait.

Pub/sub channels are not per database: give live updates a channel of the run's own too.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
from redis import Redis

CLAIMABLE = range(8, 16)
CLAIM = "ticketflow:test-redis-db:{}"
TTL_S = 4 * 3600
HOST = socket.gethostname()

# SET the claim to our token only if it still holds `old` (a dead run's), in one step.
_TAKE_OVER = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3])
end
return false
"""
# DEL the claim only if it still holds our token.
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class AllClaimed(RuntimeError):
    """Every claimable database is held by another run."""


def with_db(url: str, db: int) -> str:
    """`url` pointing at database `db` (whatever database, if any, it named before)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def server_of(url: str) -> str:
    """The server part of a Redis URL: two URLs naming one server give the same string."""
    return with_db(url, 0)


def _dead_here(holder: str) -> bool:
    """Whether a claim's holder ("host:pid:nonce") was a process on this host now gone."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != HOST or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class Claim:
    """One claimed database: its URL, its number, and the token that proves it is ours."""

    url: str
    db: int
    token: str
    admin: Redis

    def release(self) -> None:
        """Empty the database and free the claim (only if it is still ours)."""
        with Redis.from_url(self.url) as client:
            client.flushdb()
        self.admin.eval(_RELEASE, 1, CLAIM.format(self.db), self.token)
        self.admin.close()


def claim(base: str, databases: Iterable[int] = CLAIMABLE) -> Claim:
    """Claim a free database on the server of `base`; AllClaimed when none is free.
    A server that cannot be reached fails the run loudly (nothing is skipped)."""
    admin = Redis.from_url(server_of(base), socket_connect_timeout=2, decode_responses=True)
    try:
        admin.ping()
    except Exception as exc:  # pragma: no cover - the message is the point
        pytest.exit(f"Redis at {base} cannot be reached ({exc}); start it.", returncode=3)
    token = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    holders = {}
    for db in databases:
        key = CLAIM.format(db)
        if admin.set(key, token, nx=True, ex=TTL_S):
            return Claim(with_db(base, db), db, token, admin)
        holder = admin.get(key) or ""
        if _dead_here(holder) and admin.eval(_TAKE_OVER, 1, key, holder, token, TTL_S):
            return Claim(with_db(base, db), db, token, admin)
        holders[key] = holder
    admin.close()
    listed = ", ".join(f"{k} ({v})" for k, v in holders.items())
    raise AllClaimed(
        f"Every Redis database {min(databases, default='-')}-{max(databases, default='-')} "
        f"on {server_of(base)} is claimed by another test run: {listed}. Wait for those runs, "
        "or delete the keys of runs that are gone (redis-cli -n 0 DEL <key>)."
    )


_held: dict[str, list] = {}  # server -> [claim, holders]


@contextmanager
def run_database(base: str) -> Iterator[str]:
    """The URL of this run's own database on the server of `base`, claimed by the first
    holder and released by the last; a full range ends the run with pytest.exit."""
    server = server_of(base)
    if server not in _held:
        try:
            _held[server] = [claim(base), 0]
        except AllClaimed as exc:
            pytest.exit(str(exc), returncode=3)
    entry = _held[server]
    entry[1] += 1
    try:
        yield entry[0].url
    finally:
        entry[1] -= 1
        if entry[1] == 0:
            del _held[server]
            entry[0].release()
