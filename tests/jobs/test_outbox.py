"""The mail outbox: a notice is a row committed with the change, so a Redis outage at the
commit delays the mail until the sweep instead of losing it; each row is mailed once however
often its job runs or is enqueued; a mail tells of the move it was written for, not a later
one. A real SMTP server (aiosmtpd), real Redis and RQ, the test database."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import pytest
from rq import Queue
from sqlalchemy import event, select

from jobs import queues, sweep
from jobs.connection import for_requests
from jobs.dispatch import dispatch
from jobs.mail import send_notification
from tests.jobs import test_mail
from tests.jobs.test_group_mail import NOTE, run_mail_queue
from tests.jobs.test_mail import body, notices
from workflow import outbox, prepared, services
from workflow.errors import TransitionRejected
from workflow.models import Notification, OutboxMail, Team

inbox = test_mail.inbox  # the real SMTP server fixture of the mail tests


def claimed(world, at):
    ticket = world.open(now=at)
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), at)
    return ticket


def transfer(world, ticket, at, note=NOTE, by=None, **target):
    return services.apply_event(
        world.session, ticket.id, "transfer", world.actor(by or world.agent), at, note, **target
    )


def rows(world, **where) -> list[OutboxMail]:
    world.session.expire_all()
    query = select(OutboxMail).filter_by(**where).order_by(OutboxMail.id)
    return list(world.session.scalars(query))


def unreachable_redis() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    url = f"redis://127.0.0.1:{probe.getsockname()[1]}/0"
    probe.close()
    return url


def test_a_transfer_committed_while_redis_is_down_is_mailed_once_the_sweep_runs(
    world, inbox, redis
):
    at = datetime.now(UTC) - timedelta(minutes=5)  # older than the sweep's grace
    ticket = claimed(world, at)
    moved = transfer(world, ticket, at, team_id=world.level2.id)
    [notice] = notices(moved.follow_ups)

    assert dispatch(moved.follow_ups, for_requests(unreachable_redis())) is False
    run_mail_queue(redis)
    assert inbox.messages == []  # nothing reached Redis
    [row] = rows(world, id=notice.outbox_id)
    assert row.sent_at is None and row.group_id == world.level2.id and row.log_id is not None

    assert "enqueued 2 lost mail(s)" in sweep.sweep()  # the transfer's and the receipt's
    assert "lost mail" not in sweep.sweep()  # their jobs are queued: nothing added
    run_mail_queue(redis)

    [mail] = [m for m in inbox.messages if m["To"] == world.colleague.email]
    assert "handed to your team Level 2 Support by Alice Agent" in body(mail)
    assert NOTE in body(mail)
    assert rows(world, id=notice.outbox_id)[0].sent_at is not None
    [person] = rows(world, parent_id=notice.outbox_id)
    assert (person.recipient_id, person.sent_at is not None) == (world.colleague.id, True)
    assert rows(world, sent_at=None) == []
    assert "lost mail" not in sweep.sweep()


def test_the_sweep_leaves_a_row_younger_than_its_grace_to_its_job(world, job_env, redis):
    now = datetime.now(UTC)
    world.open(now=now - sweep.MAIL_GRACE + timedelta(seconds=30))
    world.open(now=now - sweep.MAIL_GRACE - timedelta(seconds=30))
    world.open(now=now - sweep.MAIL_MAX_AGE - timedelta(minutes=1))  # given up on
    assert sweep.resend_lost_mail(world.session, redis, now) == 1
    [job] = Queue(queues.MAIL, connection=redis).get_jobs()
    assert job.args == (rows(world, kind="ticket_opened")[1].id,)


def test_a_mail_job_run_twice_sends_one_mail(world, inbox):
    ticket = claimed(world, world.now)
    moved = transfer(world, ticket, world.now, assignee_id=world.colleague.id)
    [notice] = notices(moved.follow_ups)
    assert send_notification(notice.outbox_id).startswith("mailed assigned")
    assert send_notification(notice.outbox_id) == "already sent"
    assert [m["To"] for m in inbox.messages] == [world.colleague.email]
    [row] = rows(world, id=notice.outbox_id)
    assert row.attempts == 1 and row.last_error is None


def test_a_mail_job_enqueued_by_the_release_before_the_outbox_still_reaches_its_reader(
    world, inbox
):
    ticket = claimed(world, world.now)
    transfer(world, ticket, world.now, assignee_id=world.colleague.id)
    # what such a job carries: the kind, the ticket and the recipient, no outbox row
    assert send_notification("assigned", ticket.id, world.colleague.id).startswith(
        "mailed assigned"
    )
    [mail] = [m for m in inbox.messages if m["To"] == world.colleague.email]
    assert f"#{ticket.number} is now yours" in mail["Subject"] and NOTE in body(mail)
    legacy = rows(world, ticket_id=ticket.id, recipient_id=world.colleague.id)[-1]
    assert legacy.sent_at is not None and legacy.log_id is None  # recorded, then sent


def test_a_row_enqueued_twice_sends_one_mail(world, inbox, redis):
    ticket = claimed(world, world.now)
    moved = transfer(world, ticket, world.now, team_id=world.level2.id)
    queues.schedule(moved.follow_ups, redis)
    queues.schedule(moved.follow_ups, redis)  # a retried dispatch, or the sweep racing it
    [job_id] = {j.id for j in Queue(queues.MAIL, connection=redis).get_jobs()}
    assert job_id == queues.mail_id(notices(moved.follow_ups)[0].outbox_id)
    run_mail_queue(redis)
    queues.schedule(moved.follow_ups, redis)  # and once more after it was sent
    run_mail_queue(redis)
    assert [m["To"] for m in inbox.messages] == [world.colleague.email]
    assert len(world.session.scalars(select(Notification)).all()) == 1


def test_a_refused_transition_writes_no_outbox_row(world):
    ticket = claimed(world, world.now)
    before = len(rows(world))
    with pytest.raises(TransitionRejected):
        transfer(world, ticket, world.now, note="", team_id=world.level2.id)  # needs a note
    assert len(rows(world)) == before


def test_a_ticket_moved_a_to_b_quickly_tells_each_group_of_its_own_move(world, inbox, redis):
    network = Team(name="Network", department_id=world.department.id)
    network.members.append(world.admin)
    world.session.add(network)
    world.session.commit()
    ticket = claimed(world, world.now)
    to_a = transfer(world, ticket, world.now + timedelta(seconds=1), team_id=world.level2.id)
    to_b = transfer(
        world,
        ticket,
        world.now + timedelta(seconds=3),
        note="Wrong team: it is the network.",
        by=world.colleague,
        team_id=network.id,
    )
    queues.schedule([*to_a.follow_ups, *to_b.follow_ups], redis)  # both jobs run after B
    run_mail_queue(redis)

    by_recipient = {m["To"]: body(m) for m in inbox.messages}
    assert set(by_recipient) == {world.colleague.email, world.admin.email}
    assert "your team Level 2 Support by Alice Agent" in by_recipient[world.colleague.email]
    assert NOTE in by_recipient[world.colleague.email]
    assert f"your team Network by {world.colleague.name}" in by_recipient[world.admin.email]
    assert "Wrong team: it is the network." in by_recipient[world.admin.email]
    assert NOTE not in by_recipient[world.admin.email]


def test_a_mail_quotes_the_reply_it_was_written_for_not_a_later_one(world, inbox):
    ticket = world.open(now=world.now)
    agent = world.actor(world.agent)
    first = services.reply(world.session, ticket.id, agent, world.now, "Try restarting it.")
    services.reply(world.session, ticket.id, agent, world.now, "Or call us on 5555.")
    send_notification(notices(first.follow_ups)[0].outbox_id)
    [mail] = inbox.messages
    assert "Try restarting it." in body(mail) and "5555" not in body(mail)


def test_a_team_notice_for_a_ticket_someone_took_since_tells_nobody_and_is_done(world, inbox):
    ticket = claimed(world, world.now)
    moved = transfer(world, ticket, world.now, team_id=world.level2.id)
    later = world.now + timedelta(minutes=1)
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.colleague), later)
    [notice] = notices(moved.follow_ups)
    assert send_notification(notice.outbox_id) == "nobody to tell"
    assert rows(world, id=notice.outbox_id)[0].sent_at is not None
    assert inbox.messages == []


def test_a_transfer_costs_one_insert_per_notice_and_nothing_else(world, monkeypatch):
    """Statements of a transfer with the outbox, against the same transfer without it."""
    engine = world.session.get_bind()

    def count(ticket, at) -> tuple[int, int]:
        counted = [0]

        def cursor(*_args):
            counted[0] += 1

        run = prepared.Prepared._run

        def prepared_run(self, *args, **kw):
            counted[0] += 1
            return run(self, *args, **kw)

        monkeypatch.setattr(prepared.Prepared, "_run", prepared_run)
        event.listen(engine, "before_cursor_execute", cursor)
        try:
            moved = transfer(world, ticket, at, team_id=world.level2.id)
        finally:
            event.remove(engine, "before_cursor_execute", cursor)
            monkeypatch.setattr(prepared.Prepared, "_run", run)
        return counted[0], len(notices(moved.follow_ups))

    warm = claimed(world, world.now)  # warm the caches (workflow, plan) both runs share
    transfer(world, warm, world.now, team_id=world.level2.id)
    with_outbox, told = count(claimed(world, world.now), world.now)
    record = outbox.record
    monkeypatch.setattr(outbox, "record", lambda _s, follow_ups, *_a, **_k: list(follow_ups))
    without, _ = count(claimed(world, world.now), world.now)
    monkeypatch.setattr(outbox, "record", record)
    print(f"statements per transfer: {without} without the outbox, {with_outbox} with it")
    assert told == 1 and with_outbox == without + told


@pytest.mark.postgres
def test_a_second_run_while_the_first_is_sending_skips_the_row_without_waiting(world, inbox):
    ticket = claimed(world, world.now)
    moved = transfer(world, ticket, world.now, assignee_id=world.colleague.id)
    [notice] = notices(moved.follow_ups)
    with world.session.bind.connect() as first:  # the first run holds the row while it sends
        first.execute(
            select(OutboxMail.id).where(OutboxMail.id == notice.outbox_id).with_for_update()
        )
        assert send_notification(notice.outbox_id) == "being sent by another job"
        first.rollback()  # the first run died before its commit: the next run sends
    assert send_notification(notice.outbox_id).startswith("mailed assigned")
    assert [m["To"] for m in inbox.messages] == [world.colleague.email]
