"""`/ops/compliance`: met and breached SLA clocks for today and the last 7 days, per plan
and team, and a chart of breaches per day (workflow/compliance.py defines every figure)."""

from __future__ import annotations

from flask import render_template

from web import clock
from web.extensions import db
from web.ops.chart import breach_chart
from web.ops.common import ops_required, zone
from workflow import compliance as figures_of
from workflow.breach_values import CLOCK_LABELS


@ops_required
def page() -> str:
    """The compliance tables and the breaches chart (one query)."""
    figures = figures_of.compliance(db.session, clock.now(), zone())
    return render_template(
        "ops/compliance.html",
        figures=figures,
        chart=breach_chart(figures.days, figures.breaches_per_day),
        clocks=CLOCK_LABELS,
        with_met=figures_of.WITH_MET,
        overall=figures_of.overall,
    )
