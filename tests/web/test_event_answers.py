"""What an agent's page gets back when an event fires over HTMX: only what changed (the
status line, the header and actions replaced out of band, the new thread entries appended in
order, the versions moved on), in a fixed number of statements however long the thread is;
and the page rendered afresh afterwards shows the same thread the answer built."""

from __future__ import annotations

import re

from sqlalchemy import event

from tests.web.helpers import HX, fresh, text
from web.extensions import db
from web.staff import answer_lists
from workflow import prepared, services

REPLY = "<p>Fixed: the toner sensor was dusty. Anything else?</p>"


def appended(html):
    """The thread entries an answer appends, as the text of each <li>."""
    part = html.split('<div id="ticket-thread-list" hx-swap-oob="beforeend">', 1)[1]
    part = part.split("</div>\n", 1)[0] if "</li>" not in part else part.rsplit("</li>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip() for li in part.split("</li>")]


def statements(app, monkeypatch, call):
    """Statements sent while `call` runs: through SQLAlchemy (its cursor event) and through
    workflow.prepared (which bypasses that event, so it is counted by wrapping its runner)."""
    sent = []
    with app.app_context():
        engine = db.engine
    listener = lambda *args: sent.append(args[2])  # noqa: E731
    run = prepared.Prepared._run

    def counted(self, connection, form, values, many=False):
        sent.append(form.sql)
        return run(self, connection, form, values, many)

    monkeypatch.setattr(prepared.Prepared, "_run", counted)
    event.listen(engine, "before_cursor_execute", listener)
    try:
        answer = call()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
        monkeypatch.setattr(prepared.Prepared, "_run", run)
    return answer, sent


def claimed_by_agent(world, ticket):
    services.apply_event(world.session, ticket.id, "claim", world.actor(world.agent), world.now)
    return fresh(world, ticket)


def test_a_resolve_appends_the_reply_then_the_log_entry_and_moves_every_version_on(
    browser, world, ticket
):
    claimed = claimed_by_agent(world, ticket)
    browser.sign_in(world.agent.email)
    page = text(browser.get(f"/staff/tickets/{ticket.number}"))
    assert "Claim: New → Assigned" in page
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/resolve",
        {"version": claimed.version, "reply": REPLY},
        headers=HX,
    )
    assert answer.status_code == 200
    html = text(answer)
    resolved = fresh(world, ticket)
    assert resolved.state == "resolved"
    assert html.startswith(
        f'<p class="flash" role="status">Resolve: #{ticket.number} is now Resolved.</p>'
    )
    assert answer.headers["HX-Retarget"] == "#ticket-status"
    # the new entries only, in the order the page shows them: the reply, then the event
    entries = appended(html)
    assert len(entries) == 2, entries
    assert entries[0].startswith("Alice Agent") and "the toner sensor was dusty" in entries[0]
    assert entries[1].startswith("Alice Agent · Resolve: Assigned → Resolved")
    assert "Claim: New → Assigned" not in html  # what the page already shows is not resent
    # header and actions as they are now, every form on the new version
    assert ">Resolved</span>" in html and "Alice Agent" in html.split("ticket-actions")[0]
    versions = set(re.findall(r'name="version" (?:type="hidden" )?value="(\d+)"', html))
    assert versions == {str(resolved.version)}
    assert f'id="ticket-seen" name="seen" value="{resolved.version}" hx-swap-oob="true"' in html
    # the page rendered afresh ends its thread with the same two entries
    again = text(browser.get(f"/staff/tickets/{ticket.number}"))
    thread = again.split('<ol id="ticket-thread-list">', 1)[1].split("</ol>", 1)[0]
    shown = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip()
        for li in thread.split("</li>")[:-1]
    ]
    assert shown[-2:] == entries


def test_the_actions_are_answered_enabled_or_disabled_with_their_reasons(browser, world, ticket):
    claimed = claimed_by_agent(world, ticket)
    browser.sign_in(world.agent.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/transfer",
        {
            "version": claimed.version,
            "note": "Bob, over to you: you fixed this printer last time. Thanks!",
            "assignee_id": world.colleague.id,
        },
        headers=HX,
    )
    assert answer.status_code == 200, text(answer)
    html = text(answer)
    header, actions = html.split('id="ticket-actions" hx-swap-oob="true"', 1)
    assert world.colleague.name in header  # the new assignee, named from the agents' list
    resolve = actions.split('id="action-resolve"', 1)[1].split("</form>", 1)[0]
    assert 'disabled aria-disabled="true"' in resolve  # only Bob resolves it now
    assert "only for the agent assigned to this ticket" in resolve
    transfer = actions.split('id="action-transfer"', 1)[1].split("</form>", 1)[0]
    assert f'<option value="{world.agent.id}">{world.agent.name}</option>' in transfer
    assert appended(html)[0].startswith(f"{world.agent.name} · Transfer: Assigned → Assigned")


def test_a_fired_event_makes_the_same_statements_with_3_or_50_thread_entries(
    app, browser, world, ticket, monkeypatch
):
    agent = world.actor(world.agent)
    browser.sign_in(world.agent.email)
    with app.test_request_context():
        answer_lists.read()  # the process keeps them for a while: none of the answers reads them
    counts = []
    for notes in (0, 47):
        ticket = world.open()
        services.apply_event(world.session, ticket.id, "claim", agent, world.now)
        for i in range(notes):
            services.add_note(world.session, ticket.id, agent, world.now, f"Looked ({i}).")
        version = fresh(world, ticket).version
        browser.get(f"/staff/tickets/{ticket.number}")
        answer, sent = statements(
            app,
            monkeypatch,
            lambda ticket=ticket, version=version: browser.post(
                f"/staff/tickets/{ticket.number}/events/start", {"version": version}, headers=HX
            ),
        )
        assert answer.status_code == 200 and "Looked (" not in text(answer)
        counts.append(len(sent))
    assert counts[0] == counts[1]
    # the signed-in person; the ticket in sight with the names the answer shows (one
    # statement; its lists are kept by the process, web/staff/answer_lists.py); the ticket's
    # row, its UPDATE and the log row's INSERT. The answer with the whole ticket made 17.
    assert counts[0] <= 5, sent


def test_the_header_names_an_assignee_who_is_no_longer_active(browser, world, ticket):
    services.apply_event(
        world.session,
        ticket.id,
        "assign",
        world.actor(world.admin),
        world.now,
        assignee_id=world.colleague.id,
    )
    world.colleague.is_active = False
    world.session.commit()
    browser.sign_in(world.admin.email)
    browser.get(f"/staff/tickets/{ticket.number}")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/request_info",
        {"version": fresh(world, ticket).version, "reply": "<p>Which printer model is it?</p>"},
        headers=HX,
    )
    assert answer.status_code == 200, text(answer)
    header = text(answer).split('id="ticket-actions"', 1)[0]
    assert world.colleague.name in header  # not in the active agents' list: read by id


def test_an_agent_outside_the_department_gets_404_over_htmx_and_nothing_changes(
    browser, world, ticket
):
    world.colleague.departments.clear()
    world.session.commit()
    browser.sign_in(world.colleague.email)
    browser.get("/staff")
    answer = browser.post(
        f"/staff/tickets/{ticket.number}/events/claim", {"version": ticket.version}, headers=HX
    )
    assert answer.status_code == 404
    assert "Alice" not in text(answer) and world.customer.email not in text(answer)
    after = fresh(world, ticket)
    assert (after.version, after.assignee_id) == (ticket.version, None)
