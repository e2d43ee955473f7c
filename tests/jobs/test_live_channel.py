"""A job's live updates go out on the deployment's LIVE_CHANNEL, like the web's: a worker
shared by nobody else's pages still tells its own dashboards that a step moved a ticket."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from jobs import escalation, runtime
from workflow.models import SlaPlan

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_an_escalation_step_is_announced_on_the_configured_channel(
    world, job_env, redis, monkeypatch
):
    channel = f"ticketflow-test:{uuid.uuid4().hex}:live"
    monkeypatch.setenv("LIVE_CHANNEL", channel)
    runtime.reset()
    plan = world.session.scalar(select(SlaPlan).where(SlaPlan.name == "SEV A"))
    world.topic.sla_plan_id = plan.id
    world.session.commit()
    ticket = world.open(now=START)
    listening = redis.pubsub(ignore_subscribe_messages=True)
    listening.subscribe(channel, "ticketflow:live")  # and the default one, which must stay silent
    time.sleep(0.1)
    result = escalation.run(ticket.id, START + timedelta(hours=3))
    assert result.ran
    got = []  # the job published before returning: whatever comes, comes within a second
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        message = listening.get_message(timeout=0.2)
        if message is not None:
            got.append(message)
    listening.close()
    assert [m["channel"].decode() for m in got] == [channel]
    assert json.loads(got[0]["data"])["ticket_id"] == ticket.id
