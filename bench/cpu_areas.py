"""Where a web worker's time goes, from cProfile stats: own time grouped by where the code
lives (templates, Flask, SQLAlchemy, psycopg, workflow/, gevent's hub, ...), the functions
with the most own time, and the application's own functions by cumulative time.

A C function's time (cProfile lists built-ins under "~") is charged to the areas of its
callers, in proportion to the calls. Under gevent the hub's time is waiting (sockets,
PostgreSQL, Redis, idle between requests) rather than work. cProfile slows pure-Python code
more than waiting, so read the shares as a ranking, not as exact fractions.
"""

from __future__ import annotations

import pstats
from pathlib import Path
from typing import Any

from bench.profiling import Func, own_time_by_area

ROOT = str(Path(__file__).resolve().parents[1]) + "/"
OURS = tuple(ROOT + package for package in ("web/", "workflow/", "jobs/"))
OTHER = "other Python (stdlib, ...)"
AREAS = (
    ("/web/templates/", "Jinja templates (compiled template code)"),
    ("/jinja2/", "Jinja2 runtime"),
    ("/markupsafe/", "markupsafe (escaping)"),
    ("/sqlalchemy/", "SQLAlchemy (ORM + Core)"),
    ("/psycopg", "psycopg (driver, Python side)"),
    ("/gevent/", "gevent (hub: waiting for sockets, PostgreSQL, Redis)"),
    ("/werkzeug/", "Werkzeug"),
    ("/flask_wtf/", "Flask-WTF / WTForms"),
    ("/wtforms/", "Flask-WTF / WTForms"),
    ("/flask_limiter/", "Flask-Limiter / limits"),
    ("/limits/", "Flask-Limiter / limits"),
    ("/flask", "Flask and its other extensions"),
    ("/gunicorn/", "gunicorn"),
    ("/redis/", "redis-py"),
    ("/rq/", "RQ"),
    ("/statemachine/", "python-statemachine"),
    ("/nh3", "nh3 (sanitising)"),
    ("/workflow/", "workflow/ (Ticketflow's domain)"),
    ("/jobs/", "jobs/ (Ticketflow)"),
    ("/web/", "web/ (Ticketflow's routes)"),
)
WAIT = "waiting for PostgreSQL (psycopg's wait)"


def by_area(stats: pstats.Stats) -> dict[str, float]:
    """Own time per area; a built-in's own time is split over its callers' areas."""
    return own_time_by_area(stats, AREAS, WAIT, OTHER)


def label(func: Func) -> str:
    filename, line, name = func
    for marker in ("/site-packages/", ROOT):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    return f"{filename}:{line}({name})" if line else name


def report(stats: pstats.Stats, per: int, unit: str, top: int = 12) -> None:
    """Print the three views, in ms per `unit` (the stats cover `per` of them)."""
    ms = 1000 / per
    areas = by_area(stats)
    total = sum(areas.values()) or 1.0
    print(f"\n   own time by area (ms per {unit}, share of {total * ms:.2f} ms):")
    for name, secs in sorted(areas.items(), key=lambda kv: -kv[1]):
        if secs * ms >= 0.01:
            print(f"     {secs * ms:7.2f} ms  {secs / total:6.1%}  {name}")
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    print(f"\n   functions with the most own time (ms per {unit}):")
    for func, values in sorted(raw.items(), key=lambda kv: -kv[1][2])[:top]:
        print(f"     {values[2] * ms:7.3f} ms  {label(func)}")
    print(f"\n   Ticketflow's own functions by cumulative time (ms per {unit}):")
    ours = [
        (values[3], func)
        for func, values in raw.items()
        if func[0].startswith(OURS) and "/templates/" not in func[0]
    ]
    for cumtime, func in sorted(ours, reverse=True)[:top]:
        print(f"     {cumtime * ms:7.3f} ms  {label(func)}")
