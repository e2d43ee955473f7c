"""bench.pages' figures: one page's timings, a size's table and plans, and the summary
against the targets (p95 under 50 ms at every size, the largest size within 1.5x of the
smallest, resident memory under 150 MB; printed PASS or MISS, never failing the run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median

from flask import Flask

from bench import pagedata, sqlplans
from bench.webapp import percentile
from web.extensions import db

P95_TARGET_MS = 50.0
SCALING_TARGET = 1.5
MEMORY_TARGET_MB = 150.0


@dataclass
class Timing:
    """One page's samples (ms) by round, and what its SQL costs without the app."""

    page: pagedata.Page
    rounds: list[list[float]] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    statements: list[sqlplans.Statement] = field(default_factory=list)
    sql_ms: float = 0.0
    main_ms: float = 0.0

    @property
    def samples(self) -> list[float]:
        return [s for r in self.rounds for s in r]

    def p(self, q: float) -> float:
        return percentile(self.samples, q)

    @property
    def p95(self) -> float:
        """The median of the rounds' p95: the headline figure. A burst of other load on the
        machine spoils the round it falls in, not the figure (as in bench.transitions)."""
        return median(percentile(r, 95) for r in self.rounds)


def print_timings(timings: list[Timing]) -> None:
    print(
        f"   {'page':<40} {'SQL':>4} {'p50 ms':>7} {'p95 ms':>7} {'rounds p95':>14}"
        f" {'CPU ms':>7} {'raw SQL ms':>11} {'main SELECT':>12} {'p50/raw':>8}"
    )
    for t in timings:
        per_round = [percentile(r, 95) for r in t.rounds]
        print(
            f"   {t.page.name:<40} {len(t.statements):>4} {t.p(50):>7.1f} {t.p95:>7.1f}"
            f" {min(per_round):>6.1f}..{max(per_round):<6.1f} {percentile(t.cpu, 50):>7.1f}"
            f" {t.sql_ms:>11.1f}"
            f" {t.main_ms:>12.2f} {t.p(50) / t.sql_ms:>8.1f}"
        )


def print_plans(app: Flask, timings: list[Timing], over_ms: float) -> None:
    """Each page's slowest statement, and the plan of every statement over `over_ms`."""
    with app.app_context():
        engine = db.engine
    print(f"\n   slowest statement per page (EXPLAIN ANALYZE; plans shown over {over_ms} ms):")
    for t in timings:
        slow = sqlplans.slow_plans(engine, t.statements, over_ms)
        for i, (ms, statement, plan) in enumerate(slow):
            if i == 0:
                print(f"   {t.page.name:<40} {ms:6.2f} ms  {' '.join(statement.sql.split())[:70]}")
            if ms > over_ms:
                print(f"      {ms:.2f} ms: {' '.join(statement.sql.split())[:300]} ...")
                print("\n".join(f"        {line}" for line in plan))


@dataclass
class SizeResult:
    size: int
    timings: list[Timing]
    process_peak_mb: float
    worker_peak_mb: float | None


def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def summary(results: list[SizeResult]) -> None:
    first, last = results[0], results[-1]
    print(
        f"\n== p95 ms per page, median of the rounds (target < {P95_TARGET_MS:.0f} ms at each size)"
    )
    print(
        f"   {'page':<40}"
        + "".join(f" {r.size:>10,}" for r in results)
        + "   largest/smallest: p95  (p50, CPU)"
    )
    ratios = []
    for i, t in enumerate(first.timings):
        row = [r.timings[i].p95 for r in results]
        ratios.append((row[-1] / row[0], t.page.name))
        cells = "".join(f" {v:>10.1f}" for v in row)
        a, b = t, last.timings[i]
        steadier = f"({b.p(50) / a.p(50):.2f}, {median(b.cpu) / median(a.cpu):.2f})"
        print(f"   {t.page.name:<40}{cells}   {ratios[-1][0]:>21.2f}  {steadier}")
    p95, name, size = max((t.p95, t.page.name, r.size) for r in results for t in r.timings)
    ok = mark(p95 < P95_TARGET_MS)
    print(f"\n   worst p95: {p95:.1f} ms ({name.strip()} at {size:,})  {ok}")
    if last is not first:
        for what, figure in (("p50", lambda t: t.p(50)), ("CPU ms", lambda t: median(t.cpu))):
            each = [figure(b) / figure(a) for a, b in zip(first.timings, last.timings, strict=True)]
            print(
                f"   {what} per page, {last.size:,} / {first.size:,}: median {median(each):.2f},"
                f" worst {max(each):.2f} (less disturbed by other load than p95)"
            )
        top = max(ratios)
        print(
            f"   scaling {last.size:,} vs {first.size:,}: median page ratio "
            f"{median(r for r, _ in ratios):.2f}, worst {top[0]:.2f} ({top[1].strip()})"
            f"  (target <= {SCALING_TARGET})  {mark(top[0] <= SCALING_TARGET)}"
        )
    peak = max(r.process_peak_mb for r in results)
    workers = [r.worker_peak_mb for r in results if r.worker_peak_mb is not None]
    worker = f", gunicorn worker peak {max(workers):.0f} MB" if workers else ""
    top_mb = max([peak, *workers])
    print(
        f"   memory: in-process peak {peak:.0f} MB{worker}  (target < {MEMORY_TARGET_MB:.0f})"
        f"  {mark(top_mb < MEMORY_TARGET_MB)}"
    )
