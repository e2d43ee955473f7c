"""`ticketflow sla deadline` as an operator uses it: real calendar files, exit codes, one
sentence on stderr for every mistake, no database; and the examples in docs/sla.md run."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from web.cli import cli

DOCS = Path(__file__).parents[2] / "docs" / "sla.md"
NO_DATABASE = "postgresql://nobody@127.0.0.1:9/nowhere"  # nothing listens on port 9
BERLIN = """\
timezone: Europe/Berlin
hours:
  mon: ["09:00-17:00"]
  tue: ["09:00-12:00", "13:00-17:00"]
  wed: ["09:00-17:00"]
  thu: ["09:00-17:00"]
  fri: ["09:00-17:00"]
holidays: ["2026-04-03"]
country: DE
"""
OUTPUT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


def sla(*args: str):
    return CliRunner().invoke(cli, ["sla", "deadline", *args], env={"DATABASE_URL": NO_DATABASE})


@pytest.fixture
def berlin(tmp_path) -> str:
    path = tmp_path / "berlin.yaml"
    path.write_text(BERLIN, encoding="utf-8")
    return str(path)


def _calendar(tmp_path, text: str) -> str:
    path = tmp_path / "cal.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("args", "printed"),
    [
        (["--start", "2026-03-27T15:00", "--target", "8h"], "2026-03-30T15:00:00+02:00"),
        (["--start", "2026-03-27T15:00+01:00", "--target", "480m"], "2026-03-30T15:00:00+02:00"),
        (["--start", "2026-03-27T14:00Z", "--target", "8h"], "2026-03-30T15:00:00+02:00"),
        (["--start", "2026-04-02T16:00", "--target", "2h"], "2026-04-07T10:00:00+02:00"),
        (["--start", "2026-10-23T15:00", "--target", "8h"], "2026-10-26T15:00:00+01:00"),
        (
            [
                "--start",
                "2026-03-02T16:00",
                "--target",
                "2h",
                "--pause",
                "2026-03-02T16:30/2026-03-03T09:30",
            ],
            "2026-03-03T11:00:00+01:00",
        ),
        (
            [
                "--start",
                "2026-03-02T10:00",
                "--target",
                "1h",
                "--pause",
                "2026-03-02T10:30/2026-03-02T10:45",
                "--pause",
                "2026-03-02T08:00-01:00/2026-03-02T08:15-01:00",
            ],
            "2026-03-02T11:30:00+01:00",
        ),
        # A start inside a second: printed at the next whole second, never before the target.
        (["--start", "2026-03-02T10:00:00.250", "--target", "1m"], "2026-03-02T10:01:01+01:00"),
    ],
)
def test_prints_the_deadline_in_the_calendars_zone(berlin, args, printed):
    result = sla("--calendar", berlin, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == printed and OUTPUT.match(printed)
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        ("timezone: Mars/Olympus\nhours: 24x7\n", "`Mars/Olympus` is not a known time zone"),
        ("timezone: UTC\nhours:\n  monday: ['09:00-17:00']\n", "unknown weekday `monday`"),
        ("timezone: UTC\nhours:\n  tue: ['09:00-12:00', '11:00-17:00']\n", "overlap"),
        ("timezone: UTC\nhours:\n  fri: ['22:00-06:00']\n", "ends before it starts"),
        ("timezone: UTC\nhours:\n  sat: []\n  sun: []\n", "never open"),
        ("timezone: UTC\nhours: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_calendar_is_one_sentence_on_stderr(tmp_path, calendar, message):
    path = _calendar(tmp_path, calendar)
    result = sla("--calendar", path, "--start", "2026-03-02T10:00", "--target", "8h")
    _assert_refused(result, message)
    assert result.stderr.startswith(f"{path}: ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "-8h"], "The target `-8h` is negative"),
        (["--target", "0m"], "is zero"),
        (["--target", "1.5h"], "`1.5h` is not a target"),
        (["--target", "8 hours"], "is not a target"),
        (["--start", "next monday"], "The start `next monday` is not an ISO 8601 time"),
        (["--start", "2026-02-30T10:00"], "is not an ISO 8601 time"),
        (["--pause", "2026-03-02T12:00/2026-03-02T11:00"], "ends before it starts"),
        (["--pause", "2026-03-02T12:00"], "is not two ISO 8601 times joined by '/'"),
        (["--pause", "2026-03-02T12:00/soon"], "The pause end `soon` is not an ISO 8601 time"),
    ],
)
def test_bad_input_is_one_sentence_on_stderr(berlin, args, message):
    given = dict(zip(args[::2], args[1::2], strict=True))
    defaults = {"--start": "2026-03-02T10:00", "--target": "8h"}
    flat = [x for k, v in {**defaults, **given}.items() for x in (k, v)]
    _assert_refused(sla("--calendar", berlin, *flat), message)


def test_an_unreadable_calendar_is_one_sentence(tmp_path):
    _assert_refused(
        sla(
            "--calendar",
            str(tmp_path / "missing.yaml"),
            "--start",
            "2026-03-02T10:00",
            "--target",
            "8h",
        ),
        "missing.yaml: the file cannot be read (No such file or directory).",
    )
    _assert_refused(
        sla("--calendar", str(tmp_path), "--start", "2026-03-02T10:00", "--target", "8h"),
        "the file cannot be read (Is a directory).",
    )


def _assert_refused(result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_installed_command_runs_without_a_database(berlin):
    """The real entry point in a fresh process, with a database URL nothing answers at."""
    command = [sys.executable, "-c", "from web.cli import main; main()", "sla", "deadline"]
    env = {**os.environ, "DATABASE_URL": NO_DATABASE}
    ok = subprocess.run(
        [*command, "--calendar", berlin, "--start", "2026-03-27T15:00", "--target", "8h"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "2026-03-30T15:00:00+02:00\n", "")
    bad = subprocess.run(
        [*command, "--calendar", berlin, "--start", "2026-03-27T15:00", "--target", "-8h"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr == "The target `-8h` is negative; a target must be longer than zero.\n"


def _doc_blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"```(\w+)\n(.*?)```", text, flags=re.DOTALL)


def test_the_examples_in_docs_sla_md_run(tmp_path, monkeypatch):
    blocks = _doc_blocks(DOCS.read_text(encoding="utf-8"))
    for kind, body in blocks:
        first = body.splitlines()[0]
        if kind == "yaml" and first.startswith("# ") and first.endswith(".yaml"):
            (tmp_path / first[2:]).write_text(body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    examples = 0
    for kind, body in blocks:
        if kind != "console":
            continue
        for command, expected in re.findall(r"^\$ (.*)\n((?:(?!\$ ).*\n)*)", body, re.MULTILINE):
            words = shlex.split(command)
            assert words[:3] == ["ticketflow", "sla", "deadline"], command
            result = sla(*words[3:])
            assert result.output == expected, command
            examples += 1
    assert examples >= 7
