"""Where one transition's CPU goes in the web process, phase by phase, for
bench.http_transitions.

cProfile (`--profile`) names the functions, but it slows pure-Python code several times
more than C and waiting, so its shares rank rather than measure. This split measures: each
phase of the POST is wrapped while the in-process POSTs of bench.http_statements run, and
charged the process CPU time (`time.process_time`) spent inside it; what no phase covers is
the request's frame (Flask, Werkzeug, the session cookie, routing, the form, and the test
client that stands in for gunicorn here). The phases do not nest, so they add up.

The phases are named by where the route calls them, so renaming one of these functions
breaks this benchmark loudly (AttributeError) rather than silently dropping a phase.
"""

from __future__ import annotations

import importlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

PHASES: tuple[tuple[str, str, str], ...] = (
    ("flask_login.login_manager", "LoginManager._load_user", "the signed-in person (1 statement)"),
    ("flask_wtf.csrf", "CSRFProtect.protect", "the CSRF check"),
    ("web.staff.ticket_page", "_in_sight", "may they see it? + the answer's names (1 statement)"),
    ("workflow.services", "apply_event", "the service: load, decide, write, commit"),
    ("web.staff.ticket_page", "after_commit", "follow-ups to Redis (1 pipelined round trip)"),
    ("web.staff.ticket_view", "changed", "the answer: what is allowed now, rendered"),
)
"""(module, attribute path, what it is), in the order a request meets them."""
FRAME = "the request's frame (Flask, Werkzeug, session, form; test client)"


def _owner(module: str, path: str) -> tuple[Any, str]:
    owner: Any = importlib.import_module(module)
    *parents, name = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    return owner, name


def _timed(fn: Callable[..., Any], label: str, spent: Counter[str]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started

    return timed


@contextmanager
def timing() -> Iterator[Counter[str]]:
    """Charge each phase's CPU seconds to its label while the block runs (FRAME: the rest,
    the block's own total minus the phases)."""
    spent: Counter[str] = Counter()
    originals = []
    for module, path, label in PHASES:
        owner, name = _owner(module, path)
        original = getattr(owner, name)
        originals.append((owner, name, original))
        setattr(owner, name, _timed(original, label, spent))
    started = time.process_time()
    try:
        yield spent
    finally:
        total = time.process_time() - started
        spent[FRAME] = total - sum(spent.values())
        for owner, name, original in originals:
            setattr(owner, name, original)


def report(spent: Counter[str], requests: int) -> None:
    """Print the phases in ms per request, largest first, with their shares."""
    total = sum(spent.values()) or 1.0
    ms = 1000 / requests
    print(
        f"   web process CPU per request, phase by phase ({requests} POSTs in-process, "
        f"bench.http_phases): {total * ms:.2f} ms"
    )
    for label, seconds in spent.most_common():
        print(f"     {seconds * ms:6.2f} ms {seconds / total:6.1%}  {label}")
