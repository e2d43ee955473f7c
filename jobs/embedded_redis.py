"""An embedded Redis for a laptop with nothing installed: fakeredis's TCP server, in a
process of its own.

A separate process, not a thread, because every client must share one server: gunicorn
forks its workers, RQ's worker and scheduler fork too, and a fake Redis held in one
process's memory would be invisible to (or lost by) the others. Production sets REDIS_URL
and never starts this; the code talking to Redis is the same either way.

    python -m jobs.embedded_redis --port 6390
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

READY_TIMEOUT = 15.0


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


def main() -> None:
    from fakeredis import TcpFakeServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    server = TcpFakeServer(("127.0.0.1", args.port), server_type="redis")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
