"""Transitions per second through the service layer, against the hand-written SQL ceiling.

    python -m bench.transitions [--sizes 10000,100000] [--transitions 3000] [--profile]

For each size the database is regenerated (`bench.generate`), then both paths fire the
same number of `claim` events on tickets spread across the table (see `bench.paths`):

* service: services.apply_event, one session and one transaction per call, with
  expected_version (load, guards, machine, actions, log row, SLA recompute, version bump);
* raw: the same UPDATE (version check in WHERE) + log INSERT + COMMIT by hand on psycopg.

Both are warmed up first, then run in alternating rounds so drift on the machine hits both
alike; the figures are medians over the rounds. Targets are reported, not asserted (timings
depend on the machine): the service should reach 40% of raw, and its rate at the largest
size should stay within 10% of the smallest. The exit status is 0 unless something crashed.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from statistics import median

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bench import paths, profiling
from bench.generate import DEFAULT_SEED, DEFAULT_URL, ensure_database, generate
from workflow.db import make_engine
from workflow.models import TransitionLog

RATIO_TARGET = 0.40
SCALING_TARGET = 0.90


@dataclass(frozen=True)
class Round:
    """One service batch and one raw batch of the same size, run back to back."""

    n: int
    service: paths.Timing
    raw: paths.Timing

    @property
    def ratio(self) -> float:
        return self.raw.wall / self.service.wall


@dataclass
class Result:
    """Rates are medians over the rounds: a burst of other load on the machine then spoils
    one round, not the figure. The ratio is the median of the per-round ratios, each taken
    from two batches that ran seconds apart."""

    size: int
    generate_seconds: float
    rounds: list[Round]

    @property
    def service_rate(self) -> float:
        return median(r.n / r.service.wall for r in self.rounds)

    @property
    def raw_rate(self) -> float:
        return median(r.n / r.raw.wall for r in self.rounds)

    @property
    def ratio(self) -> float:
        return median(r.ratio for r in self.rounds)

    @property
    def ratio_range(self) -> tuple[float, float]:
        """The lowest and highest per-round ratio: how much the machine moved meanwhile."""
        return min(r.ratio for r in self.rounds), max(r.ratio for r in self.rounds)

    def cpu_ms(self, path: str) -> float:
        """Client CPU per transition, in ms, over all rounds."""
        n = sum(r.n for r in self.rounds)
        return sum(getattr(r, path).cpu for r in self.rounds) / n * 1000


def mark(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def _chunks(total: int, rounds: int) -> list[int]:
    """Split `total` into `rounds` near-equal parts (the last ones take the remainder)."""
    base, extra = divmod(total, rounds)
    return [base + (1 if i >= rounds - extra else 0) for i in range(rounds)]


def _claims_logged(engine: Engine) -> int:
    with Session(engine) as session:
        query = select(func.count()).select_from(TransitionLog)
        return session.scalar(query.where(TransitionLog.event == paths.EVENT)) or 0


def measure(
    engine: Engine, size: int, transitions: int, warmup: int, rounds: int, seed: int
) -> tuple[Result, paths.Pool]:
    """Regenerate `size` tickets, warm both paths up, then time them in alternating rounds
    (service first in odd rounds, raw first in even ones)."""
    print(f"\n== {size:,} tickets: generating ...", flush=True)
    generated = generate(engine, size, seed=seed)
    print(f"   generated in {generated:.2f} s ({size / generated:,.0f} tickets/s)")
    pool = paths.Pool.load(engine, seed)
    print(
        f"   {len(pool.targets):,} claimable tickets, {len(pool.agents)} agents; "
        f"warm-up {warmup} + {transitions:,} transitions per path in {rounds} rounds"
    )
    paths.run_service(engine, pool, warmup)
    paths.run_raw(engine, pool, warmup)
    done = []
    for i, chunk in enumerate(_chunks(transitions, rounds)):
        if i % 2 == 0:
            service = paths.run_service(engine, pool, chunk)
            raw = paths.run_raw(engine, pool, chunk)
        else:
            raw = paths.run_raw(engine, pool, chunk)
            service = paths.run_service(engine, pool, chunk)
        done.append(Round(chunk, service, raw))
        print(
            f"   round {i + 1}: service {chunk / service.wall:,.0f} tx/s, "
            f"raw {chunk / raw.wall:,.0f} tx/s, ratio {done[-1].ratio:.2f}",
            flush=True,
        )
    logged, expected = _claims_logged(engine), 2 * (warmup + transitions)
    if logged != expected:
        raise RuntimeError(f"expected {expected} claim log rows, found {logged}")
    return Result(size, generated, done), pool


def report(results: list[Result]) -> None:
    """The table, and the scaling ratio between the largest and the smallest size."""
    print(
        f"\n{'tickets':>10} {'service tx/s':>13} {'raw tx/s':>9} {'service/raw':>12}"
        f" {'(>= ' + format(RATIO_TARGET, '.2f') + ')':>9} {'rounds':>11}"
        f"   client CPU ms/tx: service  raw"
    )
    for r in results:
        low, high = r.ratio_range
        print(
            f"{r.size:>10,} {r.service_rate:>13,.0f} {r.raw_rate:>9,.0f} {r.ratio:>12.2f}"
            f" {mark(r.ratio >= RATIO_TARGET):>9} {f'{low:.2f}-{high:.2f}':>11}"
            f"   {r.cpu_ms('service'):>25.2f} {r.cpu_ms('raw'):>4.2f}"
        )
    smallest, largest = min(results, key=lambda r: r.size), max(results, key=lambda r: r.size)
    if smallest is largest:
        print("\nscaling: n/a (a single size was measured)")
        return
    scaling = largest.service_rate / smallest.service_rate
    print(
        f"\nscaling: service at {largest.size:,} / at {smallest.size:,} = {scaling:.2f}"
        f"  (target >= {SCALING_TARGET:.2f})  {mark(scaling >= SCALING_TARGET)}"
    )


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError("sizes must be positive whole numbers")
    return sizes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.transitions",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[10_000, 100_000],
        help="ticket counts, comma-separated (default 10000,100000)",
    )
    parser.add_argument(
        "--transitions",
        type=int,
        default=3000,
        help="measured transitions per path and size (default 3000)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=200,
        help="unmeasured transitions per path first (default 200)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=10,
        help="alternating rounds the transitions are split into (default 10)",
    )
    parser.add_argument("--url", default=DEFAULT_URL, help="the (dedicated!) database")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--profile", action="store_true", help="also profile the service path at the largest size"
    )
    parser.add_argument(
        "--profile-calls", type=int, default=500, help="service calls under cProfile (default 500)"
    )
    args = parser.parse_args(argv)
    if args.transitions < 1 or args.warmup < 0 or not 1 <= args.rounds <= args.transitions:
        parser.error("need --transitions >= 1, --warmup >= 0 and 1 <= --rounds <= transitions")
    ensure_database(args.url)
    engine = make_engine(args.url)
    try:
        results, pool = [], None
        for size in sorted(args.sizes):
            result, pool = measure(
                engine, size, args.transitions, args.warmup, args.rounds, args.seed
            )
            results.append(result)
        report(results)
        if args.profile and pool is not None:
            profiling.profile_service(engine, pool, args.profile_calls)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main()
