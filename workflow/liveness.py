"""A pooled PostgreSQL connection is checked for life on checkout without a round trip.

SQLAlchemy's `pool_pre_ping` sends `SELECT 1` to the server on every checkout: on the
hottest path (a transition over HTTP) that is one more round trip per request, about a
tenth of the request's database time. When PostgreSQL ends a session (a restart, a
failover, `pg_terminate_backend`, an idle timeout) the server sends its reason and closes
the socket, so a connection that is gone usually says so already: libpq's
`PQconsumeInput` reads what is waiting on the socket without blocking (a `recv`, no
message sent) and marks the connection bad when it finds the end of the stream. This is
SQLAlchemy's documented "custom pessimistic" handling: a `checkout` listener raising
`DisconnectionError` makes the pool drop that connection and hand out a new one.

What it cannot see (a peer that vanished without closing, a session ended between the
check and the first statement) is left to SQLAlchemy's optimistic handling: the statement
fails, the error is recognised as a disconnect, the pool is invalidated, and the request
answers the error page once; the next request gets a fresh connection.
"""

from __future__ import annotations

from typing import Any

from psycopg import OperationalError
from psycopg.pq import ConnStatus, TransactionStatus
from sqlalchemy import Engine, event, exc

_OK, _IDLE = ConnStatus.OK, TransactionStatus.IDLE


def check_on_checkout(engine: Engine) -> Engine:
    """Install the check on a psycopg engine (other drivers are left as they are)."""
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "checkout", _still_connected)
    return engine


def _still_connected(dbapi_connection: Any, _record: object, _proxy: object) -> None:
    """Raise DisconnectionError when the server has ended this idle connection."""
    pgconn = dbapi_connection.pgconn
    try:
        # Non-blocking reads of what has already arrived. A session the server ended has
        # its reason (an error message) then the end of the stream waiting: the first
        # read takes the message, the second meets the end (libpq stops after a read that
        # returned data). On a live connection both find nothing (about a microsecond).
        pgconn.consume_input()
        pgconn.consume_input()
    except OperationalError as error:
        raise exc.DisconnectionError(f"The server closed the connection: {error}") from error
    if pgconn.status != _OK or pgconn.transaction_status != _IDLE:
        raise exc.DisconnectionError("The connection is no longer usable.")
