"""Mail about tickets goes out through an RQ job over SMTP (a real server: aiosmtpd), to the
right people, with nothing internal in it; a failing server makes the job fail (RQ retries)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from rq import Queue
from sqlalchemy import select

from jobs import queues, runtime
from jobs.embedded_redis import free_port
from jobs.mail import MailNotSent, send_notification
from tests.jobs.conftest import steps, use_plan
from workflow import escalating, services
from workflow.followups import Notify
from workflow.models import OutboxMail

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class Inbox:
    def __init__(self) -> None:
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        self.messages.append(message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox(monkeypatch, job_env):
    port = free_port()
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(port))
    runtime.reset()
    yield box
    controller.stop()


def body(message) -> str:
    return message.get_payload(decode=True).decode()


def notices(follow_ups) -> list[Notify]:
    return [f for f in follow_ups if isinstance(f, Notify)]


def receipt_of(world, ticket) -> int:
    """The outbox row of the receipt the ticket's opening wrote."""
    return world.session.scalar(
        select(OutboxMail.id).where(
            OutboxMail.ticket_id == ticket.id, OutboxMail.kind == "ticket_opened"
        )
    )


def test_an_escalation_mails_the_people_it_notifies(world, inbox, redis):
    use_plan(world, "SEV A")
    ticket = world.open(now=START)
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), START)
    run = escalating.run_due(world.session, ticket.id, START + timedelta(minutes=30))
    queues.schedule(run.follow_ups, redis)  # what the job's dispatch does
    jobs = Queue(queues.MAIL, connection=redis).get_jobs()
    assert {j.id for j in jobs} == {queues.mail_id(n.outbox_id) for n in notices(run.follow_ups)}
    assert {n.recipient_id for n in notices(run.follow_ups)} == {world.agent.id, world.colleague.id}
    for job in jobs:
        send_notification(*job.args)
    by_recipient = {m["To"]: m for m in inbox.messages}
    mail = by_recipient[world.colleague.email]  # Level 2, after the reassignment
    assert mail["Subject"] == f"[Ticketflow] #{ticket.number} overdue: first response"
    assert "The first-response target was missed: it was due 2026-11-23 09:30 UTC." in body(mail)
    assert by_recipient[world.agent.email]["Subject"].endswith("at risk: first response")
    assert len(steps(world.session, ticket.id)) == 2


def test_the_customer_hears_of_a_public_reply_and_never_of_an_internal_note(world, inbox):
    ticket = world.open(now=START)
    s, agent = world.session, world.actor(world.agent)
    services.add_note(s, ticket.id, agent, START, "Internal: the customer is on the old VPN.")
    outcome = services.reply(s, ticket.id, agent, START, "<p>Please update to <b>5.2</b>.</p>")
    [notice] = notices(outcome.follow_ups)
    assert (notice.kind, notice.recipient_id) == ("public_reply", world.customer.id)
    send_notification(notice.outbox_id)
    [mail] = inbox.messages
    assert mail["To"] == world.customer.email
    assert "Please update to 5.2." in body(mail) and "Internal" not in body(mail)


def test_a_resolution_request_and_an_assignment_are_mailed(world, inbox):
    ticket = world.open(now=START)
    s, agent = world.session, world.actor(world.agent)
    assigned = services.apply_event(
        s, ticket.id, "assign", world.actor(world.admin), START, assignee_id=world.agent.id
    )
    assert [(n.kind, n.recipient_id) for n in notices(assigned.follow_ups)] == [
        ("assigned", world.agent.id)
    ]
    services.apply_event(s, ticket.id, "start", agent, START)
    resolved = services.apply_event(s, ticket.id, "resolve", agent, START, reply="New toner.")
    [notice] = notices(resolved.follow_ups)
    assert (notice.kind, notice.recipient_id) == ("resolution_request", world.customer.id)
    send_notification(notice.outbox_id)
    assert inbox.messages[-1]["Subject"].startswith(f"[Ticketflow] #{ticket.number}: is it solved?")


def test_nobody_hears_of_their_own_action(world):
    ticket = world.open(now=START)
    claimed = services.apply_event(
        world.session, ticket.id, "claim", world.actor(world.agent), START
    )
    assert notices(claimed.follow_ups) == []


def test_a_mail_server_that_is_down_fails_the_job_so_rq_retries_it(world, job_env, monkeypatch):
    ticket = world.open(now=START)
    monkeypatch.setenv("MAIL_SERVER", "127.0.0.1")
    monkeypatch.setenv("MAIL_PORT", str(free_port()))  # nothing listens there
    runtime.reset()
    with pytest.raises(MailNotSent):
        send_notification(receipt_of(world, ticket))
    assert queues.MAIL_RETRY.max >= 3
    world.session.expire_all()
    row = world.session.get(OutboxMail, receipt_of(world, ticket))
    assert row.sent_at is None and row.attempts == 1 and "ConnectionRefusedError" in row.last_error


def test_without_a_server_mail_goes_to_the_outbox(world, job_env, monkeypatch, tmp_path: Path):
    ticket = world.open(now=START)
    monkeypatch.setenv("MAIL_OUTBOX", str(tmp_path))
    runtime.reset()
    send_notification(receipt_of(world, ticket))
    [eml] = tmp_path.glob("*.eml")
    mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert mail["Subject"] == (
        f"[Ticketflow] We received your request #{ticket.number}: {ticket.subject}"
    )


def test_a_mail_links_to_the_ticket_where_its_reader_opens_it(world, inbox, monkeypatch):
    """With PUBLIC_URL set, the customer's mail links to the Support Center's page of the
    ticket and the agent's to the staff page (tests/web/test_mail_links.py checks both paths
    against the app's routes)."""
    monkeypatch.setenv("PUBLIC_URL", "https://help.example.test/")
    runtime.reset()
    ticket = world.open(now=START)
    s = world.session
    assigned = services.apply_event(
        s, ticket.id, "assign", world.actor(world.admin), START, assignee_id=world.agent.id
    )
    replied = services.reply(s, ticket.id, world.actor(world.agent), START, "On it.")
    for outcome in (assigned, replied):
        [notice] = notices(outcome.follow_ups)
        send_notification(notice.outbox_id)
    by_recipient = {m["To"]: body(m).replace("\r\n", "\n") for m in inbox.messages}
    number = ticket.number
    assert by_recipient[world.agent.email].endswith(
        f"\nOpen the ticket: https://help.example.test/staff/tickets/{number}\n"
    )
    assert by_recipient[world.customer.email].endswith(
        f"\nOpen the ticket: https://help.example.test/tickets/{number}\n"
    )


def test_without_a_public_address_a_mail_names_the_ticket_without_a_link(world, inbox):
    ticket = world.open(now=START)
    outcome = services.reply(world.session, ticket.id, world.actor(world.agent), START, "Hi.")
    [notice] = notices(outcome.follow_ups)
    send_notification(notice.outbox_id)
    [mail] = inbox.messages
    assert f"#{ticket.number}" in mail["Subject"] and "Open the ticket" not in body(mail)
