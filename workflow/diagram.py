"""A picture of a lifecycle: SVG through python-statemachine's diagram support and Graphviz.

The diagram is drawn from the validated definition into the library's diagram model
(`statemachine.contrib.diagram.model`), so guards appear on the edges by their registry names
and parameters (the compiled class only knows them as opaque callables), internal events sit
inside their state, and final states have a double border. The library's DOT renderer lays it
out and Graphviz's `dot` draws the SVG (run here with a timeout, which the library's
`run_graphviz` does not have).

Never an error: without `dot` on the PATH, or if `dot` fails, the result carries the Mermaid
text and a plain table of transitions instead, with a sentence saying why. Results are cached
by the document's checksum, so redrawing an unchanged draft costs nothing.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import threading
from collections import OrderedDict
from dataclasses import dataclass

import pydot
from statemachine.contrib.diagram.model import (
    ActionType,
    DiagramAction,
    DiagramGraph,
    DiagramState,
    DiagramTransition,
    StateType,
)
from statemachine.contrib.diagram.renderers.dot import DotRenderer, DotRendererConfig
from statemachine.contrib.diagram.renderers.mermaid import MermaidRenderer

from workflow import rules
from workflow.definition import Definition, GuardRef
from workflow.machines import checksum

CACHE_SIZE = 64
MAX_DRAWN_EDGES = 150
"""Beyond this many edges a drawing is unreadable and `dot` takes many seconds (about 17 s for
2,000), so large workflows are shown as a table instead."""
DOT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Row:
    """One line of the plain table: from, event, guards, to."""

    source: str
    event: str
    guards: str
    target: str


@dataclass(frozen=True)
class Diagram:
    checksum: str
    svg: str | None
    """The SVG document, or None when Graphviz could not draw it (see `note`)."""
    mermaid: str
    rows: tuple[Row, ...]
    note: str | None = None

    @property
    def data_uri(self) -> str | None:
        """The SVG as a data: URI for an <img>, which can never run a script in the page."""
        if self.svg is None:
            return None
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode()


def guard_label(guard: GuardRef) -> str:
    """`note_required(min_length=3)`: the parameters that differ from the rule's defaults."""
    spec = rules.REGISTRY.get(guard.rule)
    shown = [
        f"{k}={str(v).lower() if isinstance(v, bool) else v}"
        for k, v in guard.params
        if k != "message" and (spec is None or k not in spec.params or spec.params[k].default != v)
    ]
    return f"{guard.rule}({', '.join(shown)})" if shown else guard.rule


def graph_of(definition: Definition) -> DiagramGraph:
    """The definition in the library's diagram model."""
    internal: dict[str, list[DiagramAction]] = {s: [] for s in definition.states}
    transitions = []
    for event in definition.events.values():
        for t in event.transitions:
            guards = [guard_label(g) for g in t.guards]
            if t.internal:
                body = event.id + (f" [{', '.join(guards)}]" if guards else "")
                internal[t.source].append(DiagramAction(type=ActionType.INTERNAL, body=body))
                continue
            transitions.append(
                DiagramTransition(
                    source=t.source, targets=[t.target], event=event.id, guards=guards
                )
            )
    states = [
        DiagramState(
            id=s.id,
            name=s.label,
            type=StateType.FINAL if s.final else StateType.REGULAR,
            actions=internal[s.id],
            is_initial=s.initial,
        )
        for s in definition.states.values()
    ]
    return DiagramGraph(name=definition.label, states=states, transitions=transitions)


def rows_of(definition: Definition) -> tuple[Row, ...]:
    out = []
    for event in definition.events.values():
        for t in event.transitions:
            out.append(
                Row(
                    definition.states[t.source].label,
                    event.id,
                    ", ".join(guard_label(g) for g in t.guards),
                    "(stays)" if t.internal else definition.states[t.target].label,
                )
            )
    return tuple(out)


def _svg(definition: Definition, graph: DiagramGraph) -> tuple[str | None, str | None]:
    """(svg, None) or (None, why not)."""
    program = shutil.which("dot")
    if program is None:
        return None, "Graphviz (`dot`) is not installed here, so the diagram is shown as text."
    if len(graph.transitions) > MAX_DRAWN_EDGES:
        return None, (
            f"This workflow has {len(graph.transitions)} transitions, too many to draw "
            "legibly, so it is shown as a table."
        )
    dot = DotRenderer(DotRendererConfig(graph_rankdir="TB")).render(graph)
    _colour(dot, {s.id: s.colour for s in definition.states.values()})
    try:
        done = subprocess.run(
            [program, "-Tsvg"],
            input=dot.to_string().encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        why = "it took too long" if isinstance(exc, subprocess.TimeoutExpired) else str(exc)
        return None, f"Graphviz could not draw this workflow ({why}), so it is shown as text."
    if done.returncode != 0:
        return None, (
            f"Graphviz could not draw this workflow (exit status {done.returncode}), "
            "so it is shown as text."
        )
    return done.stdout.decode("utf-8", errors="replace"), None


def _colour(graph: pydot.Graph, colours: dict[str, str]) -> None:
    """Draw each state's border in its colour (the renderer nests states in clusters)."""
    for node in graph.get_nodes():
        colour = colours.get(node.get_name().strip('"'))
        if colour is not None:
            node.set("color", colour)
    for subgraph in graph.get_subgraphs():
        _colour(subgraph, colours)


_cache: OrderedDict[str, Diagram] = OrderedDict()
_lock = threading.Lock()


def render(definition: Definition) -> Diagram:
    """The diagram of a validated definition (cached by its document's checksum)."""
    key = checksum(definition.source)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    graph = graph_of(definition)
    svg, note = _svg(definition, graph)
    diagram = Diagram(key, svg, MermaidRenderer().render(graph), rows_of(definition), note)
    if svg is not None:  # a missing `dot` may be installed later: do not remember the fallback
        with _lock:
            _cache[key] = diagram
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return diagram
