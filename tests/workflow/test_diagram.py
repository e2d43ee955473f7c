"""The workflow diagram: drawn by Graphviz through python-statemachine's diagram model, with
guards on the edges and final states marked; never an error when `dot` is missing or fails."""

from __future__ import annotations

import base64
import os
import re
import stat
from pathlib import Path

import pytest

from workflow import diagram, publishing
from workflow.definition import parse

SUPPORT = (publishing.BUILTIN_DIR / "support.yaml").read_text(encoding="utf-8")


def node(svg: str, state: str) -> str:
    found = re.search(rf'<g id="node\d+" class="node">\n<title>{state}</title>(.*?)</g>', svg, re.S)
    assert found, state
    return found.group(1)


def test_the_support_workflow_is_drawn_with_guards_on_its_edges():
    drawn = diagram.render(parse(SUPPORT))
    assert drawn.note is None and drawn.svg is not None
    svg = drawn.svg
    assert "<svg" in svg
    for label in ("New", "Assigned", "In progress", "Awaiting customer", "Resolved", "Closed"):
        assert f">{label}</text>" in svg
    assert ">[not_already_assignee]</text>" in svg  # claim's guard, on its edge
    assert ">[note_required(min_length=3)]</text>" in svg  # a parameter that is not the default
    assert ">confirm</text>" in node(svg, "resolved")  # an internal event sits in its state
    assert node(svg, "closed").count("<path") == 2  # a final state has a double border
    assert node(svg, "new").count("<path") == 1
    assert 'stroke="#16a34a"' in node(svg, "resolved")  # the state's colour
    assert base64.b64decode(drawn.data_uri.split(",", 1)[1]).decode() == svg


def test_a_drawing_is_cached_by_the_documents_checksum():
    first = diagram.render(parse(SUPPORT))
    assert diagram.render(parse(SUPPORT)) is first
    other = diagram.render(parse(SUPPORT + "# a comment changes the text\n"))
    assert other is not first and other.checksum != first.checksum


def test_labels_cannot_inject_markup_into_the_picture():
    source = SUPPORT.replace("label: New\n", 'label: "<script>alert(1)</script> & co"\n', 1)
    svg = diagram.render(parse(source)).svg
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in svg


def fake_dot(tmp_path: Path, body: str) -> str:
    program = tmp_path / "dot"
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(program.stat().st_mode | stat.S_IEXEC)
    return str(tmp_path)


def test_without_dot_the_workflow_is_shown_as_mermaid_text_and_a_table(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no Graphviz here
    drawn = diagram.render(parse(SUPPORT + "# drawn without dot\n"))
    assert drawn.svg is None and drawn.data_uri is None
    assert drawn.note == "Graphviz (`dot`) is not installed here, so the diagram is shown as text."
    assert drawn.mermaid.startswith("stateDiagram-v2")
    assert "new --> assigned : claim [not_already_assignee]" in drawn.mermaid
    assert "closed --> [*]" in drawn.mermaid
    assert diagram.Row("Resolved", "confirm", "", "(stays)") in drawn.rows
    monkeypatch.setenv("PATH", os.defpath + ":/usr/bin")
    assert diagram.render(parse(SUPPORT + "# drawn without dot\n")).svg is not None  # not cached


def test_a_dot_that_fails_or_hangs_falls_back_to_text(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", fake_dot(tmp_path, "echo 'syntax error' >&2; exit 3"))
    drawn = diagram.render(parse(SUPPORT + "# dot fails\n"))
    assert drawn.svg is None
    assert drawn.note == (
        "Graphviz could not draw this workflow (exit status 3), so it is shown as text."
    )
    monkeypatch.setenv("PATH", fake_dot(tmp_path, "exec /bin/sleep 5"))
    monkeypatch.setattr(diagram, "DOT_TIMEOUT", 0.3)
    drawn = diagram.render(parse(SUPPORT + "# dot hangs\n"))
    assert drawn.note == (
        "Graphviz could not draw this workflow (it took too long), so it is shown as text."
    )


def test_a_workflow_too_large_to_draw_is_shown_as_a_table():
    events = "".join(
        f"  e{i}: {{by: [agent], from: [s{i % 40}], to: s{(i + 1) % 40}}}\n" for i in range(160)
    )
    states = "".join(f"  s{i}: {{}}\n" for i in range(1, 40))
    source = (
        "workflow: big\nstates:\n  s0: {initial: true}\n"
        f"{states}  done: {{final: true}}\nevents:\n{events}"
        "  finish: {by: [agent], from: [s0], to: done}\n"
    )
    drawn = diagram.render(parse(source))
    assert drawn.svg is None
    assert drawn.note == (
        "This workflow has 161 transitions, too many to draw legibly, so it is shown as a table."
    )
    assert len(drawn.rows) == 161


@pytest.mark.parametrize(
    ("guard", "label"),
    [
        ("note_required: {min_length: 10}", "note_required"),
        ("note_required: {min_length: 3}", "note_required(min_length=3)"),
        ("actor_is_assignee: {allow_admin: false}", "actor_is_assignee(allow_admin=false)"),
        ("note_required: {message: Say why.}", "note_required"),
    ],
)
def test_guard_labels_show_only_parameters_that_differ_from_the_defaults(guard, label):
    source = SUPPORT.replace("    guards: [actor_is_assignee]\n", f"    guards: [{{{guard}}}]\n", 1)
    definition = parse(source)
    (start,) = definition.events["start"].transitions
    assert diagram.guard_label(start.guards[0]) == label
