"""An embedded Redis for a laptop with nothing installed: fakeredis's TCP server, in a
process of its own.

A separate process, not a thread, because every client must share one server: gunicorn
forks its workers, RQ's worker and scheduler fork too, and a fake Redis held in one
process's memory would be invisible to (or lost by) the others. Production sets REDIS_URL
and never starts this; the code talking to Redis is the same either way.

One difference from Redis is mended here: fakeredis runs a blocking command (an RQ worker's
BLPOP on its queues) in the connection's thread and only notices a closed connection after
it returns, so a worker stopped while waiting left a ghost BLPOP that took the next job
pushed within its timeout (up to 30 s) and lost it writing to the dead socket. Redis cancels
a closed client's blocking command; `_unblock_when_gone` does the same (CLIENT UNBLOCK).

    python -m jobs.embedded_redis --port 6390
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import socketserver
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

READY_TIMEOUT = 15.0
GONE_POLL_S = 0.05
ORPHAN_CHECK_SECONDS = 1.0


@dataclass
class EmbeddedRedis:
    """A running embedded server; `stop()` ends it."""

    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(port: int | None = None) -> EmbeddedRedis:
    """Start the server on `port` (a free one by default) and wait until it answers PING."""
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-m", "jobs.embedded_redis", "--port", str(port)])
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The embedded Redis exited at start (code {process.returncode}).")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                conn.sendall(b"*1\r\n$4\r\nPING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return EmbeddedRedis(f"redis://127.0.0.1:{port}/0", process)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"The embedded Redis did not answer on port {port} in time.")


def _shut_down_when_orphaned(server: socketserver.BaseServer, parent: int) -> None:
    """End the server once the process that started it is gone (killed with SIGKILL, say,
    leaving no chance to stop it): a demo's Redis must not outlive the demo."""
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    server.shutdown()


def _peer_gone(connection: socket.socket) -> bool:
    """True once the client has closed its end (readable, yet nothing to read)."""
    try:
        readable, _, _ = select.select([connection], [], [], GONE_POLL_S)
        if not readable:
            return False
        if connection.recv(1, socket.MSG_PEEK) == b"":
            return True
    except BlockingIOError:  # the connection's thread read the data first
        return False
    except (OSError, ValueError):  # reset, or already closed by the handler
        return True
    time.sleep(GONE_POLL_S)  # data the handler has not read yet (it is busy): not gone
    return False


def serve(port: int) -> Any:
    """fakeredis's TCP server on `port`, whose connections cancel their own blocking command
    when the client goes away (see the module docstring)."""
    from fakeredis import FakeRedis, TcpFakeServer

    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    unblocker = FakeRedis(server=server.fake_server)
    base = server.RequestHandlerClass

    class Handler(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            super().setup()
            self.client_id = self.current_client.get_socket().client_getid()  # CLIENT ID

        def handle(self) -> None:
            done = threading.Event()
            watcher = threading.Thread(target=self._unblock_when_gone, args=(done,), daemon=True)
            watcher.start()
            try:
                super().handle()
            finally:
                done.set()
                watcher.join()

        def _unblock_when_gone(self, done: threading.Event) -> None:
            gone = False
            while not done.is_set():
                gone = gone or _peer_gone(self.connection)
                if gone:  # again each poll: the command may start blocking after the close
                    unblocker.client_unblock(self.client_id)
                    done.wait(GONE_POLL_S)

    server.RequestHandlerClass = Handler
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = serve(args.port)
    threading.Thread(
        target=_shut_down_when_orphaned, args=(server, os.getppid()), daemon=True
    ).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
