"""A real SMTP server (aiosmtpd on a free port) and the mail queue the web hands messages to.

The web never sends mail inside a request: it enqueues `jobs.mail.send_message` on the
test's own Redis (each web test session starts its own embedded server unless REDIS_URL is
set). `Inbox.messages` first runs the queued mail jobs with a real RQ worker in burst mode,
as the mail worker would, then returns what the SMTP server received.
"""

from __future__ import annotations

from email import message_from_bytes

from aiosmtpd.controller import Controller
from redis import Redis
from rq import Queue, SimpleWorker

from jobs import queues, runtime
from jobs.embedded_redis import free_port


class Handler:
    def __init__(self) -> None:
        self.received: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        self.received.append(message_from_bytes(envelope.content))
        return "250 Message accepted"


class Inbox:
    """What the SMTP server received, once the queued mail jobs have run."""

    def __init__(self, redis_url: str, handler: Handler):
        self.redis_url = redis_url
        self.handler = handler

    def run_mail_jobs(self) -> None:
        connection = Redis.from_url(self.redis_url)
        SimpleWorker([Queue(queues.MAIL, connection=connection)], connection=connection).work(
            burst=True, with_scheduler=False
        )

    @property
    def messages(self) -> list:
        self.run_mail_jobs()
        return self.handler.received


def start_inbox(app, monkeypatch):
    """Point the app and the mail jobs (which read the environment, as workers do) at a
    fresh SMTP server; returns (inbox, controller)."""
    port = free_port()
    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(port))
    monkeypatch.delenv("MAIL_OUTBOX", raising=False)
    runtime.reset()
    Queue(queues.MAIL, connection=Redis.from_url(app.config["REDIS_URL"])).empty()
    return Inbox(app.config["REDIS_URL"], handler), controller
