"""The demo's `ticketflow run` (no REDIS_URL): what a person sees when the port is taken, a
closed terminal stops it with its embedded Redis, and the spawned worker is stopped however
it ends."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from jobs import embedded_redis, worker_process
from tests.serving import start_server, wait_healthy
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


def test_a_hang_up_stops_the_demo_and_its_embedded_redis(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade = CliRunner().invoke(cli, ["db", "upgrade"], env={"DATABASE_URL": url})
    assert upgrade.exit_code == 0, upgrade.output
    log = tmp_path / "server.log"
    with log.open("w") as out:  # a file, not a pipe: a child left behind cannot hang the test
        server, address = start_server(
            url, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        assert wait_healthy(address) is not None
        server.send_signal(signal.SIGHUP)  # the terminal closed
        server.wait(timeout=30)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)  # the server and everything it started
            server.wait()
    output = log.read_text()
    assert "the demo's terminal closed; stopping" in output
    redis_port = re.search(r"embedded Redis at redis://127.0.0.1:(\d+)/", output)
    assert redis_port is not None
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(redis_port.group(1)))) != 0


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


def test_the_embedded_redis_ends_when_the_process_that_started_it_is_killed():
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; from jobs import embedded_redis; "
            "print(embedded_redis.start().url, flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert parent.stdout is not None
    port = int(parent.stdout.readline().strip().rsplit(":", 1)[1].split("/")[0])
    parent.stdout.close()
    try:
        parent.kill()  # SIGKILL: no chance to stop its children
        parent.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) != 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail(f"The embedded Redis on port {port} outlived its parent.")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(parent.pid, signal.SIGKILL)
