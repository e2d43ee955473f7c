"""One ticket's due SLA steps, run from a job: a session of its own, the verb, then the
follow-ups handed to Redis after the commit.

Shared by the timer jobs (jobs/sla.py), which run one clock's step at its due second, and
the sweep (jobs/sweep.py), which runs whatever a lost job left behind.
"""

from __future__ import annotations

from datetime import datetime

from jobs import runtime
from jobs.dispatch import dispatch
from workflow import escalating
from workflow.escalating import StepsRun


def run(ticket_id: int, now: datetime, up_to: tuple[str, str] | None = None) -> StepsRun:
    """Run the due steps of one ticket (see `workflow.escalating.run_due`) and dispatch
    what they ask for once committed. A Redis outage loses no step: the steps are in the
    database, and only their mail and live update wait (mail is best effort)."""
    with runtime.session() as session:
        result = escalating.run_due(session, ticket_id, now, up_to)
    if result.follow_ups:
        dispatch(result.follow_ups, runtime.redis(), runtime.config().LIVE_CHANNEL)
    return result


def summary(result: StepsRun) -> str:
    """What a job returns (RQ keeps it as the job's result for a while)."""
    if not result.ran:
        return f"ticket {result.ticket_id}: nothing due"
    steps = ", ".join(f"{t.clock}/{t.step}" for t in result.ran)
    return f"ticket {result.ticket_id}: ran {steps}"
