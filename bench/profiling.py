"""Where the time of a service transition goes: cProfile over a few hundred calls.

Two views: pstats' top entries by cumulative time (which calls are expensive, including
what they call), and own time grouped by where the code lives (workflow/, SQLAlchemy,
python-statemachine, psycopg, waiting for the server). Time spent in C built-ins is
charged to the package that called them, in proportion to the calls, so "SQLAlchemy" means
SQLAlchemy's Python and what it asked of the interpreter. cProfile slows pure-Python code
more than I/O, so read the shares as a ranking, not as exact fractions.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine

from bench import paths

TOP = 15
Func = tuple[str, int, str]
"""A pstats key: (file name, line, function name); built-ins have the file name `~`."""

AREAS = (
    ("/workflow/", "workflow/ (Ticketflow's own code)"),
    ("/statemachine/", "python-statemachine"),
    ("/sqlalchemy/", "SQLAlchemy (ORM + Core)"),
    ("/psycopg", "psycopg (driver, Python side)"),
)
OTHER = "other Python (stdlib, nh3, ...)"
WAIT = "waiting for PostgreSQL (network + server + commit flush)"
WAIT_FUNCS = (("psycopg/connection.py", "wait"), ("psycopg/waiting.py", ""))
"""psycopg blocks on the socket inside C (wait_c), which cProfile does not see: the own
time of the Python frame around it is the time spent waiting for the server."""


def area_of(
    func: Func, areas: Sequence[tuple[str, str]] = AREAS, wait: str = WAIT, other: str = OTHER
) -> str | None:
    """The area a function's code lives in: `wait` for psycopg's wait frames, the label of
    the first `areas` marker in its file name, None for a C built-in, else `other`."""
    filename, _line, name = func
    if any(filename.endswith(f) and name.startswith(n) for f, n in WAIT_FUNCS):
        return wait
    for marker, label in areas:
        if marker in filename:
            return label
    return None if filename == "~" else other


def own_time_by_area(
    stats: pstats.Stats,
    areas: Sequence[tuple[str, str]] = AREAS,
    wait: str = WAIT,
    other: str = OTHER,
) -> dict[str, float]:
    """Own time per area (`area_of`); a built-in's time is split over its callers' areas by
    call count (bench/cpu_areas.py uses this with the web worker's areas)."""
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    totals: dict[str, float] = defaultdict(float)
    for func, (_cc, _nc, tottime, _ct, callers) in raw.items():
        area = area_of(func, areas, wait, other)
        if area is not None:
            totals[area] += tottime
            continue
        calls = sum(c[1] for c in callers.values()) or 1
        for caller, caller_stats in callers.items():
            totals[area_of(caller, areas, wait, other) or other] += (
                tottime * caller_stats[1] / calls
            )
        if not callers:
            totals[other] += tottime
    return dict(totals)


def _in_workflow(func: Func) -> bool:
    return "/workflow/" in func[0]


def _label(func: Func) -> str:
    filename, line, name = func
    for marker in ("/workflow/", "/site-packages/"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return f"{filename}:{line}({name})" if line else name


def _handoffs(stats: pstats.Stats) -> list[tuple[float, Func, Func]]:
    """Cumulative time of each library call made directly from workflow/ code: which step
    of the service hands how much work to SQLAlchemy, python-statemachine or psycopg."""
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    rows = []
    for func, (*_own, callers) in raw.items():
        if _in_workflow(func):
            continue
        for caller, (_cc, _nc, _tt, cumtime) in callers.items():
            if _in_workflow(caller):
                rows.append((cumtime, caller, func))
    return sorted(rows, reverse=True)


def profile_service(engine: Engine, pool: paths.Pool, calls: int) -> None:
    """Profile `calls` service transitions and print the views, per call in milliseconds."""
    paths.run_service(engine, pool, 20)  # whatever the benchmark left cold, warm it again
    profiler = cProfile.Profile()
    profiler.enable()
    timing = paths.run_service(engine, pool, calls)
    profiler.disable()
    ms = 1000 / calls
    print(
        f"\n== profile: {calls} service transitions, {timing.wall * ms:.2f} ms each under cProfile"
    )
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(TOP)
    lines = out.getvalue().splitlines()
    print("\n".join(line for line in lines if line.strip() and "function calls" not in line))
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    print("\nworkflow/ functions by cumulative time (ms per transition):")
    ours = sorted((v[3], f) for f, v in raw.items() if _in_workflow(f))
    for cumtime, func in reversed(ours[-10:]):
        print(f"  {cumtime * ms:7.3f} ms  {_label(func)}")
    print("\nlibrary calls made from workflow/ code (cumulative ms per transition):")
    for cumtime, caller, func in _handoffs(stats)[:10]:
        print(f"  {cumtime * ms:7.3f} ms  {_label(caller)} -> {_label(func)}")
    areas = own_time_by_area(stats)
    total = sum(areas.values()) or 1.0
    print(f"\nown time by area (ms per transition, share of {total * ms:.2f} ms):")
    for label, secs in sorted(areas.items(), key=lambda kv: -kv[1]):
        print(f"  {secs * ms:7.3f} ms  {secs / total:6.1%}  {label}")
