"""CPU time of the PostgreSQL backends serving one database, over a stretch of time in which
backends may come and go.

Reading the backends' pids once before and once after a round went wrong once connections
were no longer kept for the whole run: a backend that ended took its CPU time with it (the
round's figure could come out negative) and one that started in the round was not counted.
This samples every backend of the database (found by the database name PostgreSQL puts in
each backend's command line) every `every` seconds in a thread of its own: a backend seen
first during the round counts from zero, one that ends keeps what its last sample saw (so
at most `every` seconds of a leaving backend's time is lost, never more).
"""

from __future__ import annotations

import os
import threading

from bench.webapp import cpu_seconds


def backend_pids(database: str) -> list[int]:
    """Pids of the postgres processes whose command line names `database` (its backends:
    "postgres: 15/main: <user> <database> <client> <state>")."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdecimal():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                words = cmdline.read().replace(b"\0", b" ").decode(errors="replace").split()
        except OSError:
            continue
        if words and words[0] == "postgres:" and database in words[1:5]:
            found.append(int(entry))
    return found


class BackendCpu:
    """`with BackendCpu(db) as cpu: ...` then `cpu.seconds`: the backends' CPU seconds."""

    def __init__(self, database: str, every: float = 0.1):
        self.database = database
        self.every = every
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = False

    def _sample(self) -> None:
        for pid in backend_pids(self.database):
            now = cpu_seconds(pid)
            if now <= 0.0:  # gone between the listing and the read
                continue
            if pid not in self.first:
                self.first[pid] = now if not self._started else 0.0
            self.last[pid] = now

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def __enter__(self) -> BackendCpu:
        self._sample()
        self._started = True
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last)
