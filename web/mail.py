"""Mail from a request (reset and invitation links): handed to an RQ job, never sent inline.

The request only enqueues `jobs.mail.send_message` on the mail queue (callers do so after
their commit), so its answer never waits on, or fails with, the mail server: a server that
is down makes the job fail and RQ retry it (jobs/queues.py MAIL_RETRY). Composing and SMTP
live in `jobs.mail`, shared with the workers, which read the same MAIL_* settings from the
environment. Without REDIS_URL (a bare development app) the message is delivered inline,
as before; without MAIL_SERVER it is written to the log and the outbox folder.
"""

from __future__ import annotations

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue

from jobs import queues
from jobs.connection import for_requests
from jobs.mail import MailNotSent, MailSettings, compose, deliver

__all__ = ["SEND_MESSAGE", "MailNotSent", "send_mail"]

SEND_MESSAGE = "jobs.mail.send_message"


def send_mail(to: str, subject: str, body: str) -> str | None:
    """Queue a plain-text message for the mail worker; returns the job's id (None when it
    was delivered inline for lack of Redis). Raises MailNotSent only when it could not even
    be queued (Redis unreachable), so the caller can say the mail did not go."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        settings = MailSettings.from_config(current_app.config)
        deliver(settings, compose(settings, to, subject, body))
        return None
    try:
        job = Queue(queues.MAIL, connection=for_requests(url)).enqueue(
            SEND_MESSAGE,
            to,
            subject,
            body,
            job_timeout=queues.MAIL_TIMEOUT,
            retry=queues.MAIL_RETRY,
            result_ttl=queues.RESULT_TTL,
            failure_ttl=queues.FAILURE_TTL,
        )
    except RedisError as exc:
        raise MailNotSent(f"The mail queue cannot be reached ({exc}).") from exc
    return job.id
