"""Staff accounts and deactivation with a handover of open tickets, as domain verbs on a real
database: admins only, everything validated before anything changes, every move logged."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from workflow import handover, services, staffing
from workflow.errors import InvalidInput, PermissionDenied, StaleTicket
from workflow.handover import QUEUE, Destination
from workflow.models import AdminChange, OutboxMail, Role, Team, Ticket, TransitionLog, User
from workflow.staffing import StaffDetails


def fresh(world, model, row_id):
    world.session.expire_all()
    return world.session.get(model, row_id)


def owned_by_agent(world, n=1, state="assigned"):
    """`n` tickets claimed by Alice, moved on to `state`."""
    agent = world.actor(world.agent)
    tickets = []
    for i in range(n):
        ticket = world.open(subject=f"Ticket {i}")
        services.apply_event(world.session, ticket.id, "claim", agent, world.now)
        if state in ("in_progress", "resolved"):
            services.apply_event(world.session, ticket.id, "start", agent, world.now)
        if state == "resolved":
            services.apply_event(
                world.session, ticket.id, "resolve", agent, world.now, reply="Fixed it."
            )
        tickets.append(fresh(world, Ticket, ticket.id))
    return tickets


def seen(tickets):
    return {t.id: t.version for t in tickets}


def logs(world, ticket):
    return world.session.scalars(
        select(TransitionLog).where(TransitionLog.ticket_id == ticket.id).order_by(TransitionLog.id)
    ).all()


def history(world, kind):
    return world.session.scalars(select(AdminChange).where(AdminChange.kind == kind)).all()


# ---- accounts ------------------------------------------------------------------------------


def test_a_new_staff_member_gets_their_role_memberships_and_a_history_row(world):
    admin = world.actor(world.admin)
    details = StaffDetails("Dora Desk", "agent", (world.department.id,), (world.level2.id,))
    user = staffing.create_staff(world.session, admin, world.now, " Dora@Example.COM ", details)
    user = fresh(world, User, user.id)
    assert user.email == "dora@example.com" and user.role == Role.AGENT
    assert [d.name for d in user.departments] == ["Support"]
    assert [t.name for t in user.teams] == ["Level 2 Support"]
    assert user.password_hash is None  # invited: no sign-in until they choose a password
    [row] = history(world, "staff.create")
    assert row.actor_id == world.admin.id and row.subject == "dora@example.com"


def test_an_email_is_unique_whatever_its_case_and_nothing_is_saved(world):
    admin = world.actor(world.admin)
    before = world.session.scalar(select(func.count()).select_from(User))
    with pytest.raises(InvalidInput) as refused:
        staffing.create_staff(
            world.session, admin, world.now, "ALICE@example.com", StaffDetails("Alice 2", "agent")
        )
    assert refused.value.messages == ["Someone already has the email address alice@example.com."]
    assert world.session.scalar(select(func.count()).select_from(User)) == before


def test_every_problem_is_named_at_once(world):
    with pytest.raises(InvalidInput) as refused:
        staffing.create_staff(
            world.session,
            world.actor(world.admin),
            world.now,
            "not an email",
            StaffDetails(" ", "ops", (), (world.level2.id,)),
        )
    assert refused.value.messages == [
        "Enter an email address such as name@example.com.",
        "Enter the person's name.",
        "Operations staff do not work tickets, so they cannot be members of a team; "
        "clear the teams or choose another role.",
    ]


def test_only_admins_manage_staff(world):
    with pytest.raises(PermissionDenied):
        staffing.create_staff(
            world.session,
            world.actor(world.agent),
            world.now,
            "x@example.com",
            StaffDetails("X", "agent"),
        )


def test_a_role_and_memberships_change_and_the_history_says_what_changed(world):
    staffing.update_staff(
        world.session,
        world.actor(world.admin),
        world.now,
        world.agent.id,
        StaffDetails("Alice Agent", "admin", (world.other_department.id,), (world.level2.id,)),
    )
    alice = fresh(world, User, world.agent.id)
    assert alice.role == Role.ADMIN and [d.name for d in alice.departments] == ["Billing"]
    [row] = history(world, "staff.update")
    assert row.details["role"] == {"from": "agent", "to": "admin"}
    assert set(row.details) == {"role", "departments", "teams"}


def test_an_admin_cannot_take_the_admin_role_from_themselves(world):
    with pytest.raises(InvalidInput, match="cannot take the admin role from yourself"):
        staffing.update_staff(
            world.session,
            world.actor(world.admin),
            world.now,
            world.admin.id,
            StaffDetails("Ada Admin", "agent"),
        )
    assert fresh(world, User, world.admin.id).role == Role.ADMIN


def test_someone_owning_open_tickets_cannot_become_ops(world):
    owned_by_agent(world, 2)
    with pytest.raises(InvalidInput, match="owns 2 open tickets"):
        staffing.update_staff(
            world.session,
            world.actor(world.admin),
            world.now,
            world.agent.id,
            StaffDetails("Alice Agent", "ops"),
        )
    assert fresh(world, User, world.agent.id).role == Role.AGENT


def test_a_reset_with_lock_stops_the_current_password(world):
    world.agent.password_hash = "scrypt:some-hash"
    world.session.commit()
    staffing.password_reset_sent(
        world.session, world.actor(world.admin), world.now, world.agent.id, lock=True
    )
    assert fresh(world, User, world.agent.id).password_hash is None
    assert len(history(world, "staff.password_reset")) == 1


def test_the_staff_list_counts_open_tickets_per_person(world):
    owned_by_agent(world, 2)
    rows = {r.user.email: r.open_tickets for r in staffing.staff_list(world.session)}
    assert rows["alice@example.com"] == 2 and rows["bob@example.com"] == 0
    assert "carol@example.com" not in rows  # customers are not staff


# ---- deactivation and handover -------------------------------------------------------------


def deactivate(world, tickets, destinations, **kw):
    return handover.deactivate(
        world.session,
        kw.pop("actor", world.actor(world.admin)),
        world.now,
        kw.pop("user_id", world.agent.id),
        destinations,
        kw.pop("seen", seen(tickets)),
    )


def test_tickets_handed_to_a_colleague_go_through_a_transfer_by_the_admin(world):
    tickets = owned_by_agent(world, 2)
    versions = seen(tickets)
    result = deactivate(
        world, tickets, {t.id: Destination(agent_id=world.colleague.id) for t in tickets}
    )
    assert sorted(result.moved) == sorted(t.number for t in tickets)
    for ticket in tickets:
        moved = fresh(world, Ticket, ticket.id)
        assert moved.assignee_id == world.colleague.id and moved.version == versions[ticket.id] + 1
        last = logs(world, ticket)[-1]
        assert (last.event, last.actor_id, last.actor_role) == ("transfer", world.admin.id, "admin")
        assert last.note == "Alice Agent's account was deactivated; the ticket goes to Bob Level2."
        # the colleague's mail is in the outbox, pinned to this very move (its own note)
        [mail] = world.session.scalars(
            select(OutboxMail).where(
                OutboxMail.ticket_id == ticket.id, OutboxMail.recipient_id == world.colleague.id
            )
        ).all()
        assert (mail.kind, mail.recipient_id, mail.log_id) == (
            "assigned",
            world.colleague.id,
            last.id,
        )
    assert fresh(world, User, world.agent.id).is_active is False
    [row] = history(world, "staff.deactivate")
    assert row.summary == "Deactivated Alice Agent; 2 open tickets handed over."


def test_tickets_handed_to_a_team_leave_no_agent_owning_them(world):
    [ticket] = owned_by_agent(world, 1, state="in_progress")
    deactivate(world, [ticket], {ticket.id: Destination(team_id=world.level2.id)})
    moved = fresh(world, Ticket, ticket.id)
    assert (moved.assignee_id, moved.team_id, moved.state) == (None, world.level2.id, "assigned")
    assert logs(world, ticket)[-1].event == "transfer"


def test_a_team_of_another_department_takes_the_ticket_into_its_department(world):
    night = Team(name="Billing night shift", department_id=world.other_department.id)
    world.session.add(night)
    world.session.commit()
    [ticket] = owned_by_agent(world, 1)
    deactivate(world, [ticket], {ticket.id: Destination(team_id=night.id)})
    moved = fresh(world, Ticket, ticket.id)
    assert (moved.team_id, moved.department_id) == (night.id, world.other_department.id)
    assert logs(world, ticket)[-1].data == {
        "team_id": night.id,
        "department_id": world.other_department.id,
    }


def test_back_to_the_unassigned_queue_is_a_logged_handover_in_the_same_state(world):
    [ticket] = owned_by_agent(world, 1, state="in_progress")
    deactivate(world, [ticket], {ticket.id: QUEUE})
    moved = fresh(world, Ticket, ticket.id)
    assert (moved.assignee_id, moved.team_id, moved.state) == (None, None, "in_progress")
    last = logs(world, ticket)[-1]
    assert (last.event, last.from_state, last.to_state) == (
        "staff_handover",
        "in_progress",
        "in_progress",
    )
    assert "unassigned queue" in last.note


def test_a_resolved_ticket_with_no_transfer_still_gets_its_new_owner(world):
    [ticket] = owned_by_agent(world, 1, state="resolved")
    deactivate(world, [ticket], {ticket.id: Destination(agent_id=world.colleague.id)})
    moved = fresh(world, Ticket, ticket.id)
    assert (moved.assignee_id, moved.state) == (world.colleague.id, "resolved")
    assert logs(world, ticket)[-1].event == "staff_handover"


def test_every_ticket_needs_a_destination_and_nothing_changes_until_then(world):
    tickets = owned_by_agent(world, 2)
    with pytest.raises(InvalidInput) as refused:
        deactivate(world, tickets, {tickets[0].id: QUEUE})
    assert refused.value.messages == [f"Choose where ticket #{tickets[1].number} goes."]
    assert fresh(world, User, world.agent.id).is_active is True
    assert fresh(world, Ticket, tickets[0].id).assignee_id == world.agent.id


def test_a_deactivated_agent_cannot_receive_the_tickets(world):
    [ticket] = owned_by_agent(world, 1)
    world.colleague.is_active = False
    world.session.commit()
    with pytest.raises(InvalidInput, match="can no longer receive tickets"):
        deactivate(world, [ticket], {ticket.id: Destination(agent_id=world.colleague.id)})
    with pytest.raises(InvalidInput, match="who is leaving"):
        deactivate(world, [ticket], {ticket.id: Destination(agent_id=world.agent.id)})


def test_one_stale_ticket_leaves_every_ticket_and_the_account_as_they_were(world):
    first, second = owned_by_agent(world, 2)
    stale = {first.id: first.version, second.id: second.version - 1}
    with pytest.raises(StaleTicket):
        deactivate(world, [first, second], {first.id: QUEUE, second.id: QUEUE}, seen=stale)
    assert fresh(world, Ticket, first.id).assignee_id == world.agent.id  # moved, then undone
    assert logs(world, first)[-1].event == "claim"
    assert fresh(world, User, world.agent.id).is_active is True


def test_a_ticket_assigned_after_the_form_was_shown_must_be_decided_too(world):
    first, late = owned_by_agent(world, 2)
    with pytest.raises(handover.TicketsChanged, match=f"received #{late.number}"):
        deactivate(world, [first], {first.id: QUEUE})
    assert fresh(world, User, world.agent.id).is_active is True


def test_an_admin_cannot_deactivate_themselves(world):
    with pytest.raises(PermissionDenied, match="your own account"):
        deactivate(world, [], {}, user_id=world.admin.id)
    assert fresh(world, User, world.admin.id).is_active is True


def test_reactivating_restores_the_account_with_its_memberships(world):
    deactivate(world, [], {}, user_id=world.colleague.id)
    assert fresh(world, User, world.colleague.id).is_active is False
    staffing.reactivate(world.session, world.actor(world.admin), world.now, world.colleague.id)
    bob = fresh(world, User, world.colleague.id)
    assert bob.is_active and [t.name for t in bob.teams] == ["Level 2 Support"]
