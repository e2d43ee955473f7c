"""Deployments sharing one Redis server keep their live updates apart: each publishes and
listens on its own `LIVE_CHANNEL` (and keeps its viewers under it), so a change in one never
refreshes the other's pages. Real Redis, real routes, two apps side by side."""

from __future__ import annotations

import queue
import threading
import time
import uuid

import pytest

from config import Config, ConfigError
from tests.web.conftest import app_config
from tests.web.helpers import HX, signed_in
from web import create_app
from web.extensions import db
from web.live.hub import Status, hub_for
from workflow.models import Ticket

WAIT_S = 10.0
QUIET_S = 2.0


@pytest.fixture
def apps(engine, app, world, redis_url):
    """Two deployments on the same database and Redis, with different channels (`app` set
    the passwords and is a third, on the run's channel)."""
    world.agent.departments.append(world.department)
    world.colleague.departments.append(world.department)
    world.session.commit()
    made = []
    for name in ("north", "south"):
        channel = f"ticketflow-test:{name}:{uuid.uuid4().hex}"
        made.append(create_app(app_config(engine, redis_url, channel)))
    yield made
    for each in made:
        with each.app_context():
            db.engine.dispose()
        hub_for(redis_url, each.config["LIVE_CHANNEL"]).close()


class Stream:
    """A dashboard's event stream, read on a thread into a queue of chunks."""

    def __init__(self, app, browser):
        self.hub = hub_for(app.config["REDIS_URL"], app.config["LIVE_CHANNEL"])
        self.answer = browser.client.get("/staff/live/stream", buffered=False)
        assert self.answer.status_code == 200
        self.chunks: queue.Queue[str] = queue.Queue()
        self.stop = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for chunk in self.answer.response:
            if self.stop.is_set():
                break
            self.chunks.put(chunk.decode() if isinstance(chunk, bytes) else chunk)
        self.answer.close()  # on the thread that runs the generator

    def wait_for(self, wanted, seconds=WAIT_S):
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                chunk = self.chunks.get(timeout=left)
            except queue.Empty:
                break
            if wanted in chunk:
                return chunk
        return None

    def close(self):
        self.stop.set()
        self.hub.broadcast(Status(up=self.hub.up))  # wakes the stream to notice
        self.reader.join(timeout=WAIT_S)


def note(browser, world, ticket, body):
    """A colleague's internal note through the deployment's own route; the new version."""
    world.session.expire_all()
    version = world.session.get(Ticket, ticket.id).version
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/compose",
        {"mode": "note", "body": body, "version": version},
        headers=HX,
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return version + 1


def test_two_deployments_on_one_redis_never_see_each_others_updates(apps, world):
    north, south = apps
    ticket = world.open()
    streams = {app: Stream(app, signed_in(app, world.agent.email)) for app in (north, south)}
    try:
        for stream in streams.values():
            assert stream.wait_for("event: status\ndata: up"), "the subscription never came up"
        in_north = note(signed_in(north, world.colleague.email), world, ticket, "North note.")
        assert streams[north].wait_for(f"event: changed\ndata: {in_north}")
        assert streams[south].wait_for("event: changed", QUIET_S) is None

        in_south = note(signed_in(south, world.colleague.email), world, ticket, "South note.")
        assert streams[south].wait_for(f"event: changed\ndata: {in_south}")
        assert streams[north].wait_for("event: changed", QUIET_S) is None
    finally:
        for stream in streams.values():
            stream.close()


def test_viewers_are_counted_per_deployment(apps, world, redis_url):
    north, south = apps
    ticket = world.open()
    here = f"/staff/tickets/{ticket.number}/presence"
    alice, bob = signed_in(north, world.agent.email), signed_in(south, world.colleague.email)
    for person in (alice, bob):
        person.get(f"/staff/tickets/{ticket.number}")
        assert person.post(here, headers=HX).status_code == 200
    assert "Also viewing" not in alice.post(here, headers=HX).get_data(as_text=True)
    carol = signed_in(north, world.colleague.email)  # the same deployment as Alice
    assert "Also viewing: Alice Agent" in carol.post(here, headers=HX).get_data(as_text=True)


def test_the_channel_comes_from_the_environment_and_must_be_a_name():
    assert Config.from_env({}).LIVE_CHANNEL == "ticketflow:live"
    assert Config.from_env({"LIVE_CHANNEL": "acme:live"}).flask_settings()["LIVE_CHANNEL"] == (
        "acme:live"
    )
    with pytest.raises(ConfigError, match="LIVE_CHANNEL must be a Redis channel name"):
        Config.from_env({"LIVE_CHANNEL": "acme live"})
