"""Publishing through the admin pages hands the re-clocked tickets' timers to RQ after the
commit: a version that pauses the resolution clock in a state removes the scheduled jobs of
the tickets in it, and rolling back (the clock runs again) schedules them anew."""

from __future__ import annotations

from datetime import timedelta

from redis import Redis
from sqlalchemy import select

from jobs import queues
from tests.web.test_admin_workflow_publish import BASE, fresh, new_draft
from tests.workflow.test_publishing import ticket_in
from tests.workflow.test_publishing_timers import PAUSES_IN_PROGRESS
from workflow import clocks, plan_terms
from workflow.followups import ScheduleTimer
from workflow.loading import compiled_version
from workflow.models import VersionStatus, WorkflowVersion


def test_publishing_a_pause_cancels_the_timers_and_rolling_back_schedules_them(
    browser, world, redis_url, clock
):
    # The publish and rollback routes read the app's clock, which starts where the tickets'
    # clocks did: the at-risk instant (due minus 24 h) stays ahead of it whatever the date.
    working = ticket_in(world, "in_progress")
    untouched = ticket_in(world, "new")
    redis = Redis.from_url(redis_url)
    try:
        queues.schedule(  # the jobs the tickets' transitions set
            [
                ScheduleTimer(t.id, "resolution", t.resolution_due_at, "at_risk")
                for t in (working, untouched)
            ],
            redis,
        )
        kept = queues.scheduled_at(redis, untouched.id, "resolution", "at_risk")
        assert kept is not None
        new_draft(world, PAUSES_IN_PROGRESS)
        browser.sign_in(world.admin.email)

        assert browser.post(f"{BASE}/versions/2/publish").status_code == 303

        paused = fresh(world, working)
        assert paused.resolution_paused_at is not None and paused.version == working.version + 1
        assert queues.scheduled_at(redis, working.id, "resolution", "at_risk") is None
        assert queues.scheduled_at(redis, untouched.id, "resolution", "at_risk") == kept

        clock.advance(hours=2)  # paused for two hours
        assert browser.post(f"{BASE}/versions/1/rollback").status_code == 303

        resumed = fresh(world, working)
        assert resumed.resolution_paused_at is None
        assert resumed.resolution_due_at == working.resolution_due_at + timedelta(hours=2)
        version = world.session.scalar(
            select(WorkflowVersion).where(WorkflowVersion.status == VersionStatus.PUBLISHED)
        )
        definition = compiled_version(world.session, version.id, version.checksum).definition
        terms = plan_terms.load(world.session, resumed.sla_plan_id)
        timeline = clocks.timeline(resumed, definition, terms, resumed.updated_at)
        first = next(t for t in timeline if t.clock == "resolution")
        assert first.step == "at_risk" and first.at < resumed.resolution_due_at
        assert queues.scheduled_at(redis, working.id, "resolution", "at_risk") == queues.run_at(
            first.at
        )
        assert resumed.resolution_due_at - first.at == timedelta(hours=24)  # 20% of 120 h
    finally:
        redis.close()
