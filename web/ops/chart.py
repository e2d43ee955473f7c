"""A bar chart of breaches per day as plain geometry for an inline SVG (no JavaScript, no
chart library): one bar per day, stacked by clock, each part with a tooltip."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from workflow.breach_values import CLOCK_LABELS
from workflow.definition_types import CLOCKS

COLOURS = {"first_response": "#2563eb", "next_response": "#d97706", "resolution": "#dc2626"}
WIDTH, HEIGHT = 700, 200
LEFT, TOP, BOTTOM = 36, 12, 28


@dataclass(frozen=True)
class Segment:
    clock: str
    label: str
    colour: str
    y: float
    height: float
    count: int


@dataclass(frozen=True)
class Bar:
    day: date
    x: float
    width: float
    total: int
    segments: tuple[Segment, ...]

    @property
    def centre(self) -> float:
        return self.x + self.width / 2


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    baseline: float
    peak: int
    bars: tuple[Bar, ...]
    legend: tuple[tuple[str, str], ...]

    @property
    def total(self) -> int:
        return sum(bar.total for bar in self.bars)


def breach_chart(days: Sequence[date], per_day: Sequence[dict[str, int]]) -> Chart:
    """Bars for `days` (oldest first) from their breaches per clock."""
    baseline = HEIGHT - BOTTOM
    plot_height = baseline - TOP
    peak = max((sum(counts.values()) for counts in per_day), default=0)
    scale = plot_height / max(peak, 1)
    slot = (WIDTH - LEFT) / max(len(days), 1)
    bars = []
    for i, (day, counts) in enumerate(zip(days, per_day, strict=True)):
        y = baseline
        segments = []
        for clock in CLOCKS:
            count = counts.get(clock, 0)
            if not count:
                continue
            height = count * scale
            y -= height
            segments.append(Segment(clock, CLOCK_LABELS[clock], COLOURS[clock], y, height, count))
        bars.append(
            Bar(
                day,
                LEFT + i * slot + slot * 0.15,
                slot * 0.7,
                sum(counts.values()),
                tuple(segments),
            )
        )
    legend = tuple((CLOCK_LABELS[c], COLOURS[c]) for c in CLOCKS)
    return Chart(WIDTH, HEIGHT, LEFT, TOP, baseline, peak, tuple(bars), legend)
