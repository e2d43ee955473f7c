"""The demo's `ticketflow run` (no REDIS_URL): what a person sees when the port is taken, and
the spawned worker is stopped however it ends."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest
from click.testing import CliRunner

from jobs import embedded_redis, worker_process
from web.cli import cli


@pytest.fixture
def busy_port():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_port_in_use_is_said_in_one_sentence_before_anything_starts(
    busy_port, monkeypatch, tmp_path
):
    monkeypatch.delenv("REDIS_URL", raising=False)
    started = []
    monkeypatch.setattr(embedded_redis, "start", lambda *a, **k: started.append("redis"))
    monkeypatch.setattr(worker_process, "spawn", lambda *a, **k: started.append("worker"))
    result = CliRunner().invoke(
        cli,
        ["run", "--port", str(busy_port)],
        env={"DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"},
    )
    assert result.exit_code == 1
    assert f"Port {busy_port} on 127.0.0.1 is already in use" in result.output
    assert "DEMO_PORT=8080" in result.output
    assert started == []


def test_stopping_a_worker_that_ignores_sigterm_kills_it():
    stubborn = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert stubborn.stdout is not None
    assert stubborn.stdout.readline().strip() == "ready"
    worker_process.stop(stubborn, timeout=0.5)
    stubborn.stdout.close()
    assert stubborn.returncode is not None


def test_stopping_a_worker_that_already_ended_is_harmless():
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    worker_process.stop(done)
    assert done.returncode == 0
