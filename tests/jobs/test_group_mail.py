"""Staff hear about a ticket left to their team or department with nobody assigned: an
in-app notice and a mail (through the RQ mail queue and a real SMTP server), with the
transfer note; never the person who moved it; once, however often the job runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rq import Queue, SimpleWorker
from sqlalchemy import select

from jobs import queues
from jobs.mail import send_notification
from tests.jobs import test_mail
from tests.jobs.test_mail import body, notices
from workflow import services
from workflow.followups import Notify
from workflow.group_notices import DEPARTMENT_TRANSFER, TEAM_TRANSFER
from workflow.models import Notification

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
inbox = test_mail.inbox  # the real SMTP server fixture of the mail tests
NOTE = "Card reader firmware issue, needs Level 2 tools."


def run_mail_queue(redis) -> None:
    mail = Queue(queues.MAIL, connection=redis)
    SimpleWorker([mail], connection=redis).work(burst=True, with_scheduler=False)


def notices_of(world, user):
    world.session.expire_all()
    return world.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()


def claimed(world):
    ticket = world.open(now=START)
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), START)
    return ticket


def transfer(world, ticket, at=START, **target):
    return services.apply_event(
        world.session,
        ticket.id,
        "transfer",
        world.actor(world.agent),
        at + timedelta(minutes=5),
        note=NOTE,
        **target,
    )


def test_a_transfer_to_a_team_with_nobody_assigned_tells_its_members_with_the_note(
    world, inbox, redis
):
    world.level2.members.append(world.agent)  # the mover is a member too: not told
    world.session.commit()
    ticket = claimed(world)
    moved = transfer(world, ticket, team_id=world.level2.id)
    [notice] = notices(moved.follow_ups)
    assert notice == Notify(TEAM_TRANSFER, ticket.id, None, world.level2.id, notice.outbox_id)

    queues.schedule(moved.follow_ups, redis)  # what the route's after-commit dispatch does
    run_mail_queue(redis)

    [mail] = inbox.messages
    assert mail["To"] == world.colleague.email
    assert " ".join(mail["Subject"].split()) == (  # unfolded
        f"[Ticketflow] #{ticket.number} was handed to your team: {ticket.subject}"
    )
    text = body(mail)
    assert "handed to your team Level 2 Support by Alice Agent" in text
    assert NOTE in text
    [notice] = notices_of(world, world.colleague)
    assert notice.kind == TEAM_TRANSFER and NOTE in notice.body
    assert notices_of(world, world.agent) == []


def test_the_group_notice_job_run_twice_tells_each_member_once(world, inbox, redis):
    ticket = claimed(world)
    moved = transfer(world, ticket, team_id=world.level2.id)
    queues.schedule(moved.follow_ups, redis)
    mail = Queue(queues.MAIL, connection=redis)
    [job] = mail.get_jobs()
    run_mail_queue(redis)
    mail.enqueue_job(job)  # RQ runs the same job again (a lost worker, a retry)
    run_mail_queue(redis)

    assert [m["To"] for m in inbox.messages] == [world.colleague.email]
    assert len(notices_of(world, world.colleague)) == 1


def test_a_transfer_to_a_department_intake_queue_tells_its_manager(world, inbox):
    world.other_department.manager_id = world.admin.id
    world.session.commit()
    ticket = claimed(world)
    moved = transfer(world, ticket, department_id=world.other_department.id)
    [notice] = notices(moved.follow_ups)
    assert notice == Notify(
        DEPARTMENT_TRANSFER, ticket.id, None, world.other_department.id, notice.outbox_id
    )

    send_notification(notice.outbox_id)

    [mail] = inbox.messages
    assert mail["To"] == world.admin.email
    assert "handed to the department Billing by Alice Agent" in body(mail)
    assert NOTE in body(mail)
    [in_app] = notices_of(world, world.admin)
    assert in_app.kind == DEPARTMENT_TRANSFER


def test_a_department_without_a_manager_tells_nobody(world, inbox):
    ticket = claimed(world)
    moved = transfer(world, ticket, department_id=world.other_department.id)
    [notice] = notices(moved.follow_ups)
    assert send_notification(notice.outbox_id) == "nobody to tell"
    assert inbox.messages == []


def test_a_transfer_to_a_named_agent_tells_only_that_agent_with_the_note(world, inbox):
    ticket = claimed(world)
    moved = transfer(world, ticket, team_id=world.level2.id, assignee_id=world.colleague.id)
    [notice] = notices(moved.follow_ups)
    assert (notice.kind, notice.recipient_id) == ("assigned", world.colleague.id)
    send_notification(notice.outbox_id)
    [mail] = inbox.messages
    assert mail["To"] == world.colleague.email and NOTE in body(mail)


def test_a_team_notice_for_a_ticket_someone_took_meanwhile_tells_nobody(world, inbox):
    ticket = claimed(world)
    moved = transfer(world, ticket, team_id=world.level2.id)
    services.apply_event(
        world.session,
        ticket.id,
        "claim",
        world.actor(world.colleague),
        START + timedelta(minutes=6),
    )
    [notice] = notices(moved.follow_ups)
    assert send_notification(notice.outbox_id) == "nobody to tell"
    assert inbox.messages == []
